// PDB: topology (ATOM/HETATM, CONECT, CRYST1) and multi-model trajectories.
// One scan indexes the models (byte ranges, atom counts, cells) and parses the
// topology from the first; frames are then read by byte range, so a long
// multi-model file is streamed chunk by chunk. Coordinates are Å in the file, nm in memory.
// This file holds the reader and the public API; pdb-scan.ts the byte-level parsing, pdb-write.ts the writer.
import type { promises as fsp } from 'fs';
import { fileError, outOfRange } from '../core/errors';
import { positiveInteger } from '../core/validate';
import { field, indexPdb, openRead, parseDecimal, Rec, recordOf, scanLines, type PdbIndex } from './pdb-scan';
import type { FrameChunk, Topology, TrajectoryReader, UnitCell } from './types';

export { createPdb, PdbWriter, writePdb } from './pdb-write';

export interface PdbOpenOptions {
  /** expected atoms per frame (the topology's); a file that differs is an ERR_ATOM_COUNT error */
  atoms?: number;
}

// ---------------------------------------------------------------- reading

export class PdbReader implements TrajectoryReader {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private readonly index: PdbIndex,
  ) {}

  static async open(file: string, options: PdbOpenOptions = {}): Promise<PdbReader> {
    if (options.atoms !== undefined) positiveInteger('options.atoms', options.atoms);
    const fh = await openRead(file);
    try {
      const index = await indexPdb(file, fh, (await fh.stat()).size);
      const atoms = index.topology.atoms.length;
      if (options.atoms !== undefined && options.atoms !== atoms) {
        throw fileError('ERR_ATOM_COUNT', file, `has ${atoms} atoms, topology has ${options.atoms}`);
      }
      return new PdbReader(file, fh, index);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  get atoms(): number {
    return this.index.topology.atoms.length;
  }

  /** The first model's atoms and the CONECT bonds. */
  get topology(): Topology {
    return this.index.topology;
  }

  async frameCount(): Promise<number> {
    return this.index.models.length;
  }

  async read(start: number, count: number): Promise<FrameChunk> {
    if (this.closed) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'reader is closed');
    const frames = this.index.models.length;
    if (!Number.isSafeInteger(start) || start < 0) throw outOfRange('integer >= 0', 'start', start);
    if (!Number.isSafeInteger(count) || count < 0) throw outOfRange('integer >= 0', 'count', count);
    if (start + count > frames) throw outOfRange(`start + count <= ${frames} (models in ${this.path})`, 'start + count', start + count);
    const atoms = this.atoms;
    const coords = new Float32Array(count * atoms * 3);
    const models = this.index.models.slice(start, start + count);
    const withCells = count > 0 && models.every((m) => m.cell);
    const chunk: FrameChunk = { atoms, frames: count, coords, start, cells: withCells ? models.map((m) => ({ ...m.cell! })) : undefined };
    if (count === 0) return chunk;

    const altLoc = this.index.altLoc;
    const file = this.path;
    let k = 0; // coordinate index
    const total = coords.length;
    await scanLines(this.fh, models[0].start, models[count - 1].end, models[0].line, (buf, s, e, line) => {
      if (recordOf(buf, s, e) !== Rec.Atom) return;
      const alt = e - s > 16 ? buf[s + 16] : 32;
      if (alt !== 32 && alt !== altLoc) return;
      if (k >= total) throw fileError('ERR_BAD_FORMAT', file, `line ${line}: more atoms than indexed (file changed while open?)`);
      if (e - s < 54) throw fileError('ERR_BAD_FORMAT', file, `line ${line}: ends at column ${e - s}, before the coordinates end (column 54)`);
      for (let c = 0; c < 3; c++) {
        const a = s + 30 + 8 * c;
        // Å to nm: one more decimal shift
        const v = parseDecimal(buf, a, a + 8, 1);
        if (!Number.isFinite(v)) {
          throw fileError('ERR_BAD_FORMAT', file, `line ${line}: bad ${'xyz'[c]} coordinate ${JSON.stringify(field(buf, s, e, 30 + 8 * c, 38 + 8 * c))} in columns ${31 + 8 * c}-${38 + 8 * c}`);
        }
        coords[k++] = v;
      }
    });
    if (k !== total) throw fileError('ERR_BAD_FORMAT', file, `found ${k / 3} atoms in models ${start + 1}-${start + count}, expected ${total / 3} (file changed while open?)`);
    return chunk;
  }

  async *chunks(chunkFrames = 1024): AsyncIterableIterator<FrameChunk> {
    positiveInteger('chunkFrames', chunkFrames);
    const frames = this.index.models.length;
    for (let start = 0; start < frames; start += chunkFrames) yield await this.read(start, Math.min(chunkFrames, frames - start));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

export function openPdb(file: string, options: PdbOpenOptions = {}): Promise<PdbReader> {
  return PdbReader.open(file, options);
}

/** The topology of a PDB (first model's atoms, CONECT bonds) without reading coordinates. */
export async function topologyFromPdb(file: string): Promise<Topology> {
  const fh = await openRead(file);
  try {
    return (await indexPdb(file, fh, (await fh.stat()).size)).topology;
  } finally {
    await fh.close();
  }
}

/** A whole PDB: topology, every model's coordinates (nm), and the unit cells when it has CRYST1. */
export async function readPdb(file: string): Promise<{ topology: Topology; frames: FrameChunk; cells?: UnitCell[] }> {
  const reader = await PdbReader.open(file);
  try {
    const frames = await reader.read(0, await reader.frameCount());
    return { topology: reader.topology, frames, cells: frames.cells };
  } finally {
    await reader.close();
  }
}

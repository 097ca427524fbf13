// PDB writing: fixed-column atom lines, TER, CRYST1 and CONECT records, one MODEL per frame.
// Coordinates are nm in memory, Å in the file.
import { fileError, invalidType, outOfRange } from '../core/errors';
import { floatArray, positiveInteger } from '../core/validate';
import { openAtomic, type AtomicFile } from './atomic';
import { checkChunk } from './chunk';
import type { FrameChunk, Topology, TrajectoryWriter, UnitCell, WriteOptions } from './types';

/** %8.3f, refusing values the 8 columns cannot hold (as OpenMM does) */
function coordinate(file: string, nm: number, frame: number, atom: number, axis: number): string {
  const text = (nm * 10).toFixed(3);
  if (text.length > 8) {
    throw fileError('ERR_OUT_OF_RANGE', file, `coordinate ${'xyz'[axis]} of atom ${atom} is ${text} Å, which does not fit PDB columns (-999.999 to 9999.999)`, frame);
  }
  return text.padStart(8);
}

function cryst1(cell: UnitCell): string {
  const len = (nm: number) => (nm * 10).toFixed(3).padStart(9);
  const ang = (deg: number) => deg.toFixed(2).padStart(7);
  return `CRYST1${len(cell.a)}${len(cell.b)}${len(cell.c)}${ang(cell.alpha)}${ang(cell.beta)}${ang(cell.gamma)} P 1           1 `;
}

function sameCell(x: UnitCell | undefined, y: UnitCell | undefined): boolean {
  return !!x && !!y && cryst1(x) === cryst1(y);
}

/** The fixed parts of every atom line: columns 1-30 and 55-80, and the TER lines after chain ends. */
interface Layout {
  prefix: string[];
  suffix: string[];
  /** TER line to write after atom i, or undefined */
  ter: (string | undefined)[];
  conect: string[];
}

function checkTopology(topology: unknown, atoms: number): Topology {
  if (typeof topology !== 'object' || topology === null || !Array.isArray((topology as Topology).atoms)) {
    throw invalidType('Topology object', 'options.topology', topology);
  }
  const t = topology as Topology;
  if (t.atoms.length !== atoms) throw outOfRange(`a topology of ${atoms} atoms`, 'options.topology.atoms', t.atoms.length);
  t.atoms.forEach((a, i) => {
    if (typeof a?.name !== 'string' || a.name.length > 4) throw outOfRange('atom name of at most 4 characters', `topology.atoms[${i}].name`, a?.name);
    if (typeof a.resName !== 'string' || a.resName.length > 4) throw outOfRange('residue name of at most 4 characters', `topology.atoms[${i}].resName`, a.resName);
    if (typeof a.chain !== 'string' || a.chain.length > 1) throw outOfRange('chain of at most 1 character', `topology.atoms[${i}].chain`, a.chain);
    if (!Number.isSafeInteger(a.resSeq)) throw outOfRange('integer', `topology.atoms[${i}].resSeq`, a.resSeq);
  });
  if (!Array.isArray(t.bonds)) throw invalidType('array of [i, j] pairs', 'options.topology.bonds', t.bonds);
  t.bonds.forEach((b, k) => {
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => Number.isSafeInteger(x) && x >= 0 && x < atoms) || b[0] === b[1]) {
      throw outOfRange(`a pair of distinct atom indices < ${atoms}`, `topology.bonds[${k}]`, b);
    }
  });
  return t;
}

function layoutOf(topology: Topology): Layout {
  const { atoms, bonds } = topology;
  const n = atoms.length;
  const prefix: string[] = new Array(n);
  const suffix: string[] = new Array(n);
  const ter: (string | undefined)[] = new Array(n);
  const serialOf = new Int32Array(n);
  let serial = 1;
  for (let i = 0; i < n; i++) {
    const a = atoms[i];
    const element = (a.element ?? '').toUpperCase();
    // names shorter than 4 start in column 14 unless the element has two letters (PDB spec, OpenMM)
    const name = a.name.length < 4 && /^[A-Za-z]/.test(a.name) && element.length < 2 ? ` ${a.name}` : a.name;
    const resSeq = String(((a.resSeq % 10000) + 10000) % 10000).padStart(4);
    serialOf[i] = serial;
    prefix[i] = `${a.hetero ? 'HETATM' : 'ATOM  '}${String(serial % 100000).padStart(5)} ${name.padEnd(4)} ${a.resName.padStart(3).padEnd(4)}${a.chain || ' '}${resSeq}    `;
    suffix[i] = `  1.00  0.00          ${element.padStart(2)}  `;
    serial++;
    const next = atoms[i + 1];
    if (!next || next.chain !== a.chain) {
      ter[i] = `TER   ${String(serial % 100000).padStart(5)}      ${a.resName.padStart(3).padEnd(4)}${a.chain || ' '}${resSeq}`;
      serial++;
    }
  }
  // CONECT: each atom lists its partners, four per record; skipped when serials wrapped and would be ambiguous
  const conect: string[] = [];
  if (serial - 1 <= 99999) {
    const partners: number[][] = Array.from({ length: n }, () => []);
    for (const [i, j] of bonds) {
      partners[i].push(j);
      partners[j].push(i);
    }
    partners.forEach((list, i) => {
      list.sort((x, y) => x - y);
      for (let k = 0; k < list.length; k += 4) {
        const fields = list.slice(k, k + 4).map((j) => String(serialOf[j]).padStart(5));
        conect.push(`CONECT${String(serialOf[i]).padStart(5)}${fields.join('')}`);
      }
    });
  }
  return { prefix, suffix, ter, conect };
}

export class PdbWriter implements TrajectoryWriter {
  private frames = 0;
  private lastCell: UnitCell | undefined;
  private finished = false;
  private position = 0;

  private constructor(
    private readonly file: AtomicFile,
    readonly atoms: number,
    private readonly layout: Layout,
  ) {}

  static async create(file: string, options: WriteOptions): Promise<PdbWriter> {
    if (typeof options !== 'object' || options === null) throw invalidType('WriteOptions object', 'options', options);
    const atoms = positiveInteger('options.atoms', options.atoms);
    if (options.topology === undefined) throw invalidType('Topology object (PDB needs atom names)', 'options.topology', options.topology);
    const layout = layoutOf(checkTopology(options.topology, atoms));
    const out = await openAtomic(file);
    const writer = new PdbWriter(out, atoms, layout);
    await writer.append('REMARK   1 CREATED WITH TCBACKMAP\n');
    return writer;
  }

  get path(): string {
    return this.file.path;
  }

  private async append(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'latin1');
    // claim the byte range before awaiting, so overlapping write() calls stay in order
    const at = this.position;
    this.position += bytes.length;
    await this.file.handle.write(bytes, 0, bytes.length, at);
  }

  async write(chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): Promise<void> {
    if (this.finished) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'writer is closed');
    const atoms = this.atoms;
    const { frames, coords, cells } = checkChunk(this.path, atoms, this.frames, chunk);
    const { prefix, suffix, ter } = this.layout;
    const lines: string[] = [];
    let lastCell = this.lastCell;
    // the chunk is formatted completely before anything is written, so a bad value leaves the file as it was
    for (let f = 0; f < frames; f++) {
      const frame = this.frames + f;
      const cell = cells?.[f];
      if (cell) {
        for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) {
          if (!Number.isFinite(cell[k])) throw fileError('ERR_NON_FINITE', this.path, `unit cell ${k} is ${cell[k]}`, frame);
        }
      }
      // CRYST1 goes before MODEL 1 (as the spec has it); a later model whose cell changes repeats it inside the model
      if (cell && frame === 0) lines.push(cryst1(cell));
      lines.push(`MODEL     ${String(frame + 1).padStart(4)}`);
      if (cell && frame > 0 && !sameCell(cell, lastCell)) lines.push(cryst1(cell));
      if (cell) lastCell = cell;
      const base = f * atoms * 3;
      for (let i = 0; i < atoms; i++) {
        const p = base + 3 * i;
        const x = coords[p];
        const y = coords[p + 1];
        const z = coords[p + 2];
        if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) {
          const axis = !Number.isFinite(x) ? 0 : !Number.isFinite(y) ? 1 : 2;
          throw fileError('ERR_NON_FINITE', this.path, `coordinate ${'xyz'[axis]} of atom ${i} is ${coords[p + axis]}`, frame);
        }
        lines.push(prefix[i] + coordinate(this.path, x, frame, i, 0) + coordinate(this.path, y, frame, i, 1) + coordinate(this.path, z, frame, i, 2) + suffix[i]);
        const t = ter[i];
        if (t !== undefined) lines.push(t);
      }
      lines.push('ENDMDL');
    }
    if (frames === 0) return;
    this.frames += frames;
    this.lastCell = lastCell;
    await this.append(lines.join('\n') + '\n');
  }

  /** Writes CONECT and END, then renames the file into place. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const tail = this.layout.conect.length > 0 ? this.layout.conect.join('\n') + '\n' : '';
    await this.file.finish(() => this.append(`${tail}END\n`));
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.file.abort();
  }
}

export function createPdb(file: string, options: WriteOptions): Promise<PdbWriter> {
  return PdbWriter.create(file, options);
}

/** Writes `coords` ([frames, atoms, 3] nm) as one PDB (atomically). */
export async function writePdb(file: string, topology: Topology, coords: Float32Array | Float64Array, cells?: UnitCell[]): Promise<void> {
  const atoms = checkTopology(topology, topology?.atoms?.length).atoms.length;
  const data = floatArray('coords', coords);
  if (atoms === 0 || data.length % (atoms * 3) !== 0) throw outOfRange(`a multiple of ${atoms * 3} values (frames × ${atoms} atoms × 3)`, 'coords', coords);
  const writer = await createPdb(file, { atoms, topology });
  try {
    await writer.write({ coords: data as Float32Array, frames: data.length / (atoms * 3), cells });
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

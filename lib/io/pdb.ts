// PDB: topology (ATOM/HETATM, CONECT, CRYST1) and multi-model trajectories.
// One scan indexes the models (byte ranges, atom counts, cells) and parses the
// topology from the first; frames are then read by byte range, so a long
// multi-model file is streamed chunk by chunk. Coordinates are Å in the file, nm in memory.
import { promises as fsp } from 'fs';
import { fileError, invalidType, outOfRange } from '../errors';
import { floatArray, positiveInteger } from '../validate';
import { openAtomic, type AtomicFile } from './atomic';
import { checkChunk } from './chunk';
import { canonicalElement, guessElement } from './elements';
import type { Atom, FrameChunk, Topology, TrajectoryReader, TrajectoryWriter, UnitCell, WriteOptions } from './types';

export interface PdbOpenOptions {
  /** expected atoms per frame (the topology's); a file that differs is an ERR_ATOM_COUNT error */
  atoms?: number;
}

// ---------------------------------------------------------------- byte-level parsing

const BLOCK_BYTES = 1 << 22;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A fixed-point decimal such as "  -12.345" in bytes [s, e), divided by 10^shift;
 * NaN for blanks or anything else. Integer mantissa / power of ten keeps it one correctly rounded division.
 */
function parseDecimal(buf: Uint8Array, s: number, e: number, shift: number): number {
  while (s < e && buf[s] === 32) s++;
  while (e > s && buf[e - 1] === 32) e--;
  if (s === e) return NaN;
  let negative = false;
  if (buf[s] === 45 || buf[s] === 43) {
    negative = buf[s] === 45;
    s++;
  }
  let mantissa = 0;
  let decimals = -1;
  let digits = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 46 && decimals < 0) {
      decimals = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  const value = mantissa / POW10[Math.max(decimals, 0) + shift];
  return negative ? -value : value;
}

/** A PDB integer field: decimal, or hybrid-36 when it overflows (serials > 99999, resSeq > 9999). NaN when bad or blank. */
function parseIntField(text: string): number {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) return parseInt(t, 10);
  const width = text.length;
  if (t.length !== width || width === 0) return NaN;
  const base = parseInt(t, 36);
  if (/^[A-Z][0-9A-Z]*$/.test(t)) return base - 10 * 36 ** (width - 1) + 10 ** width;
  if (/^[a-z][0-9a-z]*$/.test(t)) return base - 10 * 36 ** (width - 1) + 10 ** width + 26 * 36 ** (width - 1);
  return NaN;
}

/** bytes [s+a, s+b) of a line that ends at e, as text (short lines give short or empty fields) */
function field(buf: Buffer, s: number, e: number, a: number, b: number): string {
  return buf.toString('latin1', Math.min(s + a, e), Math.min(s + b, e));
}

const enum Rec {
  Other,
  Atom,
  Model,
  EndModel,
  End,
  Cryst,
  Conect,
}

function recordOf(buf: Uint8Array, s: number, e: number): Rec {
  const n = e - s;
  if (n < 3) return Rec.Other;
  const c0 = buf[s];
  const c1 = buf[s + 1];
  const c2 = buf[s + 2];
  const c3 = n > 3 ? buf[s + 3] : 32;
  const c4 = n > 4 ? buf[s + 4] : 32;
  const c5 = n > 5 ? buf[s + 5] : 32;
  if (c0 === 65 && c1 === 84 && c2 === 79 && c3 === 77 && c4 === 32 && c5 === 32) return Rec.Atom; // "ATOM  "
  if (c0 === 72 && c1 === 69 && c2 === 84 && c3 === 65 && c4 === 84 && c5 === 77) return Rec.Atom; // "HETATM"
  if (c0 === 77 && c1 === 79 && c2 === 68 && c3 === 69 && c4 === 76 && c5 === 32) return Rec.Model; // "MODEL "
  if (c0 === 69 && c1 === 78 && c2 === 68) {
    if (c3 === 77 && c4 === 68 && c5 === 76) return Rec.EndModel; // "ENDMDL"
    if (c3 === 32 && c4 === 32 && c5 === 32) return Rec.End; // "END"
    return Rec.Other;
  }
  if (c0 === 67 && c1 === 82 && c2 === 89 && c3 === 83 && c4 === 84 && c5 === 49) return Rec.Cryst; // "CRYST1"
  if (c0 === 67 && c1 === 79 && c2 === 78 && c3 === 69 && c4 === 67 && c5 === 84) return Rec.Conect; // "CONECT"
  return Rec.Other;
}

/** Up to 4 bytes from `at` (blank-padded past `e`) as one number: a map key that needs no string. */
function bytesKey(buf: Uint8Array, at: number, e: number): number {
  let key = 0;
  for (let i = 0; i < 4; i++) key = key * 256 + (at + i < e ? buf[at + i] : 32);
  return key;
}

type LineFn = (buf: Buffer, s: number, e: number, line: number, offset: number) => void;

/** Calls `onLine` for each line of bytes [from, to) (1-based line numbers from `firstLine`), reading in bounded blocks. */
async function scanLines(fh: fsp.FileHandle, from: number, to: number, firstLine: number, onLine: LineFn): Promise<void> {
  let buf = Buffer.alloc(Math.min(BLOCK_BYTES, Math.max(1, to - from)));
  let carry = 0; // bytes of an unfinished line kept at the start of buf
  let bufOffset = from; // file offset of buf[0]
  let pos = from;
  let line = firstLine;
  for (;;) {
    if (carry === buf.length) {
      // a line longer than the block: grow once for it
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger, 0, 0, carry);
      buf = bigger;
    }
    const want = Math.min(buf.length - carry, to - pos);
    const bytesRead = want > 0 ? (await fh.read(buf, carry, want, pos)).bytesRead : 0;
    pos += bytesRead;
    const n = carry + bytesRead;
    const eof = bytesRead === 0 || pos >= to;
    let s = 0;
    for (;;) {
      const nl = buf.indexOf(10, s);
      if (nl < 0 || nl >= n) break;
      onLine(buf, s, nl > s && buf[nl - 1] === 13 ? nl - 1 : nl, line++, bufOffset + s);
      s = nl + 1;
    }
    if (eof) {
      if (s < n) onLine(buf, s, buf[n - 1] === 13 ? n - 1 : n, line, bufOffset + s);
      return;
    }
    buf.copy(buf, 0, s, n);
    carry = n - s;
    bufOffset += s;
  }
}

// ---------------------------------------------------------------- the index of a file

interface ModelIndex {
  /** byte offset of its first atom line, and just past its last */
  start: number;
  end: number;
  /** 1-based line number of its first atom line */
  line: number;
  atoms: number;
  cell?: UnitCell;
}

interface PdbIndex {
  topology: Topology;
  models: ModelIndex[];
  /** the alternate location kept (the file's first non-blank altLoc); others are skipped as mdtraj does */
  altLoc: number;
}

function parseCell(file: string, buf: Buffer, s: number, e: number, line: number): UnitCell {
  const num = (a: number, b: number, what: string, shift: number) => {
    const v = parseDecimal(buf, Math.min(s + a, e), Math.min(s + b, e), shift);
    if (!Number.isFinite(v)) throw fileError('ERR_BAD_FORMAT', file, `line ${line}: bad CRYST1 ${what} ${JSON.stringify(field(buf, s, e, a, b))}`);
    return v;
  };
  return {
    a: num(6, 15, 'a', 1),
    b: num(15, 24, 'b', 1),
    c: num(24, 33, 'c', 1),
    alpha: num(33, 40, 'alpha', 0),
    beta: num(40, 47, 'beta', 0),
    gamma: num(47, 54, 'gamma', 0),
  };
}

/** One pass over the file: the first model's topology, CONECT bonds, and where every model lies. */
async function indexPdb(file: string, fh: fsp.FileHandle, size: number): Promise<PdbIndex> {
  const atoms: Atom[] = [];
  const serials: number[] = [];
  const fileElements: string[] = []; // "" where the element columns are blank or unknown
  const conects: [number, number[], number][] = []; // serial, partners, line
  const models: ModelIndex[] = [];
  let open: ModelIndex | undefined;
  let cell: UnitCell | undefined;
  let altLoc = 32;
  const prevResidue = new Uint8Array(10); // columns 18-27: resName, chain, resSeq, iCode of the previous atom
  let residueIndex = -1;
  const names = new Map<number, string>();
  const elements = new Map<number, string>();

  const close = () => {
    if (open && open.atoms > 0) models.push(open);
    open = undefined;
  };

  await scanLines(fh, 0, size, 1, (buf, s, e, line, offset) => {
    switch (recordOf(buf, s, e)) {
      case Rec.Atom: {
        const alt = e - s > 16 ? buf[s + 16] : 32;
        if (alt !== 32) {
          if (altLoc === 32) altLoc = alt;
          else if (alt !== altLoc) return;
        }
        if (!open) open = { start: -1, end: -1, line: -1, atoms: 0, cell };
        if (open.atoms === 0) {
          open.start = offset;
          open.line = line;
          open.cell = cell;
        }
        open.atoms++;
        open.end = offset + (e - s);
        if (models.length > 0) return;
        // the first model defines the topology; strings are made once per residue and once per distinct name
        let sameResidue = atoms.length > 0;
        for (let i = 0; i < 10; i++) {
          const b = s + 17 + i < e ? buf[s + 17 + i] : 32;
          if (b !== prevResidue[i]) sameResidue = false;
          prevResidue[i] = b;
        }
        let resName: string, chain: string, resSeq: number;
        if (sameResidue) {
          ({ resName, chain, resSeq } = atoms[atoms.length - 1]);
        } else {
          resName = field(buf, s, e, 17, 21).trim();
          chain = field(buf, s, e, 21, 22).trim();
          const resSeqText = field(buf, s, e, 22, 26);
          resSeq = resSeqText.trim() === '' ? 0 : parseIntField(resSeqText);
          if (!Number.isFinite(resSeq)) {
            throw fileError('ERR_BAD_FORMAT', file, `line ${line}: bad residue number ${JSON.stringify(resSeqText)} in columns 23-26`);
          }
          residueIndex++;
        }
        const nameKey = bytesKey(buf, s + 12, e);
        let name = names.get(nameKey);
        if (name === undefined) names.set(nameKey, (name = field(buf, s, e, 12, 16).trim()));
        atoms.push({ name, element: '', resName, resSeq, residueIndex, chain, hetero: buf[s] === 72 });
        const serial = parseDecimal(buf, Math.min(s + 6, e), Math.min(s + 11, e), 0);
        serials.push(Number.isInteger(serial) ? serial : parseIntField(field(buf, s, e, 6, 11)));
        const elementKey = bytesKey(buf, s + 76, Math.min(e, s + 78));
        let element = elements.get(elementKey);
        if (element === undefined) elements.set(elementKey, (element = canonicalElement(field(buf, s, e, 76, 78)) ?? ''));
        fileElements.push(element);
        return;
      }
      case Rec.Model:
        close();
        open = { start: -1, end: -1, line: -1, atoms: 0, cell };
        return;
      case Rec.EndModel:
      case Rec.End:
        close();
        return;
      case Rec.Cryst:
        cell = parseCell(file, buf, s, e, line);
        if (open && open.atoms === 0) open.cell = cell;
        return;
      case Rec.Conect: {
        const text = field(buf, s, e, 0, 31);
        const from = parseIntField(text.slice(6, 11));
        const partners: number[] = [];
        for (let a = 11; a + 5 <= text.length; a += 5) {
          const t = text.slice(a, a + 5);
          if (t.trim() === '') continue;
          const v = parseIntField(t);
          if (!Number.isFinite(v)) throw fileError('ERR_BAD_FORMAT', file, `line ${line}: bad CONECT serial ${JSON.stringify(t)}`);
          partners.push(v);
        }
        if (!Number.isFinite(from)) throw fileError('ERR_BAD_FORMAT', file, `line ${line}: bad CONECT serial ${JSON.stringify(text.slice(6, 11))}`);
        conects.push([from, partners, line]);
        return;
      }
      default:
        return;
    }
  });
  close();

  if (models.length === 0) throw fileError('ERR_BAD_FORMAT', file, 'no ATOM or HETATM records');
  const n = models[0].atoms;
  models.forEach((m, k) => {
    if (m.atoms !== n) throw fileError('ERR_ATOM_COUNT', file, `model ${k + 1} (line ${m.line}) has ${m.atoms} atoms, model 1 has ${n}`, k);
  });

  // elements: the file's columns, else the guess from the name (which needs the residue sizes)
  const residueSizes = new Map<number, number>();
  for (const a of atoms) residueSizes.set(a.residueIndex, (residueSizes.get(a.residueIndex) ?? 0) + 1);
  atoms.forEach((a, i) => {
    a.element = fileElements[i] || guessElement(a.name, residueSizes.get(a.residueIndex)!);
  });

  // CONECT serials refer to the first model's atoms; bonds to unknown serials (atoms not in the file) are dropped
  const bySerial = new Map<number, number>();
  serials.forEach((serial, i) => {
    if (Number.isFinite(serial) && !bySerial.has(serial)) bySerial.set(serial, i);
  });
  const seen = new Set<number>();
  const bonds: [number, number][] = [];
  for (const [from, partners] of conects) {
    const i = bySerial.get(from);
    if (i === undefined) continue;
    for (const p of partners) {
      const j = bySerial.get(p);
      if (j === undefined || j === i) continue;
      const lo = Math.min(i, j);
      const hi = Math.max(i, j);
      const key = lo * n + hi;
      if (seen.has(key)) continue;
      seen.add(key);
      bonds.push([lo, hi]);
    }
  }
  bonds.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { topology: { atoms, bonds }, models, altLoc };
}

async function openRead(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError('ERR_FILE_NOT_FOUND', file, code === 'ENOENT' ? 'no such file' : `cannot open (${code})`);
  }
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

// ---------------------------------------------------------------- writing

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

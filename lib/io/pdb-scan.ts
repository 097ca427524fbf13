// PDB reading at the byte level: fixed-column fields, record types, line scanning in bounded
// blocks, and the one pass that indexes a file's models and parses the first one's topology.
import { promises as fsp } from 'fs';
import { fileError } from '../core/errors';
import { canonicalElement, guessElement } from './elements';
import type { Atom, Topology, UnitCell } from './types';

// ---------------------------------------------------------------- byte-level parsing

const BLOCK_BYTES = 1 << 22;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A fixed-point decimal such as "  -12.345" in bytes [s, e), divided by 10^shift;
 * NaN for blanks or anything else. Integer mantissa / power of ten keeps it one correctly rounded division.
 */
export function parseDecimal(buf: Uint8Array, s: number, e: number, shift: number): number {
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
export function field(buf: Buffer, s: number, e: number, a: number, b: number): string {
  return buf.toString('latin1', Math.min(s + a, e), Math.min(s + b, e));
}

export const enum Rec {
  Other,
  Atom,
  Model,
  EndModel,
  End,
  Cryst,
  Conect,
}

export function recordOf(buf: Uint8Array, s: number, e: number): Rec {
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
export async function scanLines(fh: fsp.FileHandle, from: number, to: number, firstLine: number, onLine: LineFn): Promise<void> {
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

export interface ModelIndex {
  /** byte offset of its first atom line, and just past its last */
  start: number;
  end: number;
  /** 1-based line number of its first atom line */
  line: number;
  atoms: number;
  cell?: UnitCell;
}

export interface PdbIndex {
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
export async function indexPdb(file: string, fh: fsp.FileHandle, size: number): Promise<PdbIndex> {
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

export async function openRead(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError('ERR_FILE_NOT_FOUND', file, code === 'ENOENT' ? 'no such file' : `cannot open (${code})`);
  }
}

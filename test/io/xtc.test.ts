// XTC read/write: bit-exact agreement with mdtraj (xdrfile) both ways, round trips,
// random access vs streaming, and one-line errors for bad files and bad frames.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TcbmError } from '../../lib/core/errors';
import { boxToCell, cellToBox, createXtc, openXtc } from '../../lib/io/xtc';
import type { FrameChunk, UnitCell } from '../../lib/io/types';
import { DATA as BUNDLED } from '../support/data';
import { rng } from '../support/helpers';

// the first 1000 frames of the ADP test run, written by mdtraj (scripts/make-sample-data.py)
const TEST_XTC = path.join(BUNDLED, 'adp/test-1000.xtc');
const PYTHON = '/usr/bin/python3';
const hasMdtraj = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import mdtraj'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasMdtraj) console.log('xtc.test: /usr/bin/python3 cannot import mdtraj; the mdtraj comparisons are skipped');

// mdtraj side: decodes XTC files to raw float32/int32 files and encodes raw coordinates to XTC.
const MDTRAJ_SCRIPT = `
import json, sys
import numpy as np
import mdtraj as md
for task in json.load(open(sys.argv[1])):
    if task['op'] == 'decode':
        with md.formats.XTCTrajectoryFile(task['xtc']) as f:
            xyz, time, step, box = f.read()
        p = task['prefix']
        np.ascontiguousarray(xyz, dtype=np.float32).tofile(p + '.xyz')
        np.ascontiguousarray(time, dtype=np.float32).tofile(p + '.time')
        np.ascontiguousarray(step, dtype=np.int32).tofile(p + '.step')
        b = np.zeros((len(xyz), 3, 3), np.float32) if box is None else box
        np.ascontiguousarray(b, dtype=np.float32).tofile(p + '.box')
    else:
        xyz = np.fromfile(task['xyz'], dtype=np.float32).reshape(task['frames'], task['atoms'], 3)
        box = np.fromfile(task['box'], dtype=np.float32).reshape(task['frames'], 3, 3)
        with md.formats.XTCTrajectoryFile(task['out'], 'w') as f:
            f.write(xyz, box=box)
`;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-xtc-'));
  fs.writeFileSync(path.join(tmp, 'mdtraj_io.py'), MDTRAJ_SCRIPT);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Task =
  | { op: 'decode'; xtc: string; prefix: string }
  | { op: 'encode'; xyz: string; box: string; frames: number; atoms: number; out: string };

function runMdtraj(tasks: Task[]): void {
  const job = path.join(tmp, `tasks-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(job, JSON.stringify(tasks));
  execFileSync(PYTHON, [path.join(tmp, 'mdtraj_io.py'), job], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function readRaw(prefix: string) {
  const f32 = (ext: string) => {
    const b = fs.readFileSync(`${prefix}.${ext}`);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  };
  const s = fs.readFileSync(`${prefix}.step`);
  const step = new Int32Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.length));
  return { xyz: f32('xyz'), time: f32('time'), box: f32('box'), step };
}

/** Count of positions where the float32 bit patterns differ (0 = bit-for-bit identical). */
function bitDiffs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

async function readAll(file: string, chunkFrames = 1000, atoms?: number): Promise<FrameChunk[]> {
  const reader = await openXtc(file, { atoms });
  const chunks: FrameChunk[] = [];
  try {
    for await (const c of reader.chunks(chunkFrames)) chunks.push(c);
  } finally {
    await reader.close();
  }
  return chunks;
}

function concat(chunks: FrameChunk[], pick: (c: FrameChunk) => Float32Array | Int32Array | undefined): number[] {
  const out: number[] = [];
  for (const c of chunks) for (const v of pick(c) ?? []) out.push(v);
  return out;
}

function joinCoords(chunks: FrameChunk[]): Float32Array {
  const total = chunks.reduce((s, c) => s + c.coords.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c.coords, o);
    o += c.coords.length;
  }
  return out;
}

interface WriteCase {
  precision?: number;
  cells?: UnitCell[];
  /** frames per write() call */
  split?: number;
}

async function writeXtc(file: string, coords: Float32Array, frames: number, atoms: number, opts: WriteCase = {}) {
  const w = await createXtc(file, { atoms, precision: opts.precision });
  const split = opts.split ?? frames;
  for (let f = 0; f < frames; f += split) {
    const n = Math.min(split, frames - f);
    await w.write({ frames: n, coords: coords.subarray(f * atoms * 3, (f + n) * atoms * 3), cells: opts.cells?.slice(f, f + n) });
  }
  await w.close();
}

async function expectCode(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TcbmError);
  expect((err as TcbmError).code).toBe(code);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toMatch(/\n/);
}

// Synthetic trajectories that exercise every branch of the compressor.
interface Case {
  name: string;
  atoms: number;
  frames: number;
  coords: Float32Array;
  cells?: UnitCell[];
}

function chain(atoms: number, frames: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(frames * atoms * 3);
  const base = [1.2, 0.8, 1.5];
  for (let a = 0; a < atoms; a++) {
    for (let d = 0; d < 3; d++) base[d] += (r() - 0.5) * 0.25;
    for (let f = 0; f < frames; f++) {
      for (let d = 0; d < 3; d++) out[(f * atoms + a) * 3 + d] = base[d] + (r() - 0.5) * 0.02 * (1 + f * 0.1);
    }
  }
  return out;
}

/** Water-like triples (O then two H at 0.1 nm) plus one ion: the run-length/swap path. */
function waters(atoms: number, frames: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(frames * atoms * 3);
  for (let f = 0; f < frames; f++) {
    for (let a = 0; a < atoms; a++) {
      const i = (f * atoms + a) * 3;
      if (a % 3 === 0 || a === atoms - 1) for (let d = 0; d < 3; d++) out[i + d] = r() * 3;
      else for (let d = 0; d < 3; d++) out[i + d] = out[(f * atoms + a - (a % 3)) * 3 + d] + (r() - 0.5) * 0.115;
    }
  }
  return out;
}

function uniformCoords(atoms: number, frames: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(frames * atoms * 3);
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

const cube = (a: number): UnitCell => ({ a, b: a, c: a, alpha: 90, beta: 90, gamma: 90 });

const CASES: Case[] = [
  { name: '22 atoms', atoms: 22, frames: 60, coords: chain(22, 60, 1) },
  {
    name: '166 atoms (waters, box)',
    atoms: 166,
    frames: 25,
    coords: waters(166, 25, 2),
    cells: Array.from({ length: 25 }, (_, f) => cube(3 + 0.001 * f)),
  },
  { name: '5 atoms (plain floats)', atoms: 5, frames: 12, coords: uniformCoords(5, 12, 3, -2, 2) },
  { name: '30 atoms spread over 24 um (wide ranges)', atoms: 30, frames: 6, coords: uniformCoords(30, 6, 4, -12000, 12000) },
  {
    name: '40 atoms, triclinic box',
    atoms: 40,
    frames: 8,
    coords: chain(40, 8, 5),
    cells: Array.from({ length: 8 }, () => ({ a: 4, b: 4.5, c: 5, alpha: 70, beta: 80, gamma: 100 })),
  },
];

describe('boxes', () => {
  test('cell -> box -> cell round trip (orthorhombic and triclinic)', () => {
    const box = new Float32Array(9);
    for (const cell of [cube(3), { a: 4, b: 4.5, c: 5, alpha: 70, beta: 80, gamma: 100 }]) {
      cellToBox(cell, box);
      const back = boxToCell(box);
      for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) expect(back[k]).toBeCloseTo(cell[k], 4);
    }
    cellToBox(cube(3), box);
    expect(Array.from(box)).toEqual([3, 0, 0, 0, 3, 0, 0, 0, 3]);
  });
});

describe('XTC round trips through our writer and reader', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    for (const precision of c.atoms === 22 ? [1000, 100, 12345] : [1000]) {
      const file = path.join(tmp, `rt-${c.atoms}-${precision}.xtc`);
      await writeXtc(file, c.coords, c.frames, c.atoms, { precision, cells: c.cells, split: 7 });
      const chunks = await readAll(file, 10);
      expect(chunks.map((k) => k.frames).reduce((a, b) => a + b, 0)).toBe(c.frames);
      const got = joinCoords(chunks);
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const allowed = c.atoms <= 9 ? 0 : (0.5 / precision) * (1 + 1e-4) + Math.abs(c.coords[i]) * 2 ** -22;
        worst = Math.max(worst, Math.abs(got[i] - c.coords[i]) - allowed);
      }
      expect(worst).toBeLessThanOrEqual(0);
      expect(concat(chunks, (k) => k.times)).toEqual(Array.from({ length: c.frames }, (_, f) => f));
      expect(concat(chunks, (k) => k.steps)).toEqual(Array.from({ length: c.frames }, (_, f) => f));
      if (c.cells) {
        const cells = chunks.flatMap((k) => k.cells ?? []);
        expect(cells).toHaveLength(c.frames);
        for (let f = 0; f < c.frames; f++) {
          for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) expect(cells[f][k]).toBeCloseTo(c.cells[f][k], 3);
        }
      } else {
        expect(chunks.every((k) => k.cells === undefined)).toBe(true);
      }
    }
  });
});

(hasMdtraj ? describe : describe.skip)('agreement with mdtraj on synthetic trajectories', () => {
  const ours = (c: Case) => path.join(tmp, `ours-${c.atoms}.xtc`);
  const theirs = (c: Case) => path.join(tmp, `mdtraj-${c.atoms}.xtc`);
  beforeAll(async () => {
    const tasks: Task[] = [];
    for (const c of CASES) {
      await writeXtc(ours(c), c.coords, c.frames, c.atoms, { cells: c.cells });
      const box = new Float32Array(c.frames * 9);
      if (c.cells) c.cells.forEach((cell, f) => cellToBox(cell, box, 9 * f));
      fs.writeFileSync(path.join(tmp, `in-${c.atoms}.xyz`), c.coords);
      fs.writeFileSync(path.join(tmp, `in-${c.atoms}.box`), box);
      tasks.push({ op: 'decode', xtc: ours(c), prefix: path.join(tmp, `dec-${c.atoms}`) });
      const [xyzFile, boxFile] = [path.join(tmp, `in-${c.atoms}.xyz`), path.join(tmp, `in-${c.atoms}.box`)];
      tasks.push({ op: 'encode', xyz: xyzFile, box: boxFile, frames: c.frames, atoms: c.atoms, out: theirs(c) });
    }
    runMdtraj(tasks);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s: mdtraj decodes our file exactly as we do', async (_name, c) => {
    const mine = await readAll(ours(c));
    const ref = readRaw(path.join(tmp, `dec-${c.atoms}`));
    expect(bitDiffs(joinCoords(mine), ref.xyz)).toBe(0);
    expect(concat(mine, (k) => k.times)).toEqual(Array.from(ref.time));
    expect(concat(mine, (k) => k.steps)).toEqual(Array.from(ref.step));
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s: our bytes equal mdtraj\'s for the same frames', (_name, c) => {
    expect(Buffer.compare(fs.readFileSync(ours(c)), fs.readFileSync(theirs(c)))).toBe(0);
  });
});

describe('adp/test-1000.xtc (written by mdtraj)', () => {
  (hasMdtraj ? test : test.skip)('decodes bit-for-bit like mdtraj (coords, times, steps, no box)', async () => {
    const prefix = path.join(tmp, 'adp-ref');
    runMdtraj([{ op: 'decode', xtc: TEST_XTC, prefix }]);
    const ref = readRaw(prefix);
    const chunks = await readAll(TEST_XTC, 250, 22);
    expect(chunks.map((c) => c.frames)).toEqual([250, 250, 250, 250]);
    expect(chunks.map((c) => c.start)).toEqual([0, 250, 500, 750]);
    const coords = joinCoords(chunks);
    expect(coords.length).toBe(1000 * 22 * 3);
    expect(bitDiffs(coords, ref.xyz)).toBe(0);
    expect(concat(chunks, (c) => c.times)).toEqual(Array.from(ref.time));
    expect(concat(chunks, (c) => c.steps)).toEqual(Array.from(ref.step));
    expect(ref.box.every((v) => v === 0)).toBe(true);
    expect(chunks.every((c) => c.cells === undefined)).toBe(true);
  });

  test('re-encoding its frames reproduces the file byte for byte', async () => {
    const chunks = await readAll(TEST_XTC, 700);
    const out = path.join(tmp, 'adp-copy.xtc');
    const w = await createXtc(out, { atoms: 22, dtPs: 1 });
    for (const c of chunks) await w.write(c);
    await w.close();
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(TEST_XTC))).toBe(0);
  });

  test('read(start, count) equals the same frames from chunks()', async () => {
    const all = joinCoords(await readAll(TEST_XTC, 333));
    const reader = await openXtc(TEST_XTC, { atoms: 22 });
    try {
      expect(await reader.frameCount()).toBe(1000);
      for (const [start, count] of [
        [0, 1],
        [123, 100],
        [990, 10],
        [77, 777],
        [0, 1000],
      ]) {
        const c = await reader.read(start, count);
        expect(c.start).toBe(start);
        expect(c.frames).toBe(count);
        expect(bitDiffs(c.coords, all.subarray(start * 66, (start + count) * 66))).toBe(0);
        expect(Array.from(c.steps!)).toEqual(Array.from({ length: count }, (_, k) => start + k));
      }
      expect((await reader.read(1000, 0)).frames).toBe(0);
      await expect(reader.read(999, 2)).rejects.toThrow(/start \+ count <= 1000/);
    } finally {
      await reader.close();
    }
  });
});

describe('errors', () => {
  let good: string;
  let goodBytes: Buffer;
  const FRAMES = 20;
  beforeAll(async () => {
    good = path.join(tmp, 'good.xtc');
    await writeXtc(good, chain(22, FRAMES, 9), FRAMES, 22);
    goodBytes = fs.readFileSync(good);
  });

  /** File offsets of each frame of `good` (frames have different compressed sizes). */
  function frameOffsets(bytes: Buffer): number[] {
    const offs: number[] = [];
    for (let o = 0; o < bytes.length; o += 92 + ((bytes.readInt32BE(o + 88) + 3) & ~3)) offs.push(o);
    return offs;
  }

  function variant(name: string, edit: (b: Buffer) => Buffer): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, edit(Buffer.from(goodBytes)));
    return file;
  }

  test('missing file', async () => {
    await expectCode(openXtc(path.join(tmp, 'nope.xtc')), 'ERR_FILE_NOT_FOUND', /nope\.xtc: cannot open \(ENOENT\)/);
  });

  test('truncated file', async () => {
    const file = variant('trunc.xtc', (b) => b.subarray(0, b.length - 10));
    const reader = await openXtc(file);
    await expectCode(reader.frameCount(), 'ERR_TRUNCATED', new RegExp(`trunc\\.xtc: frame ${FRAMES - 1}: file ends inside the frame`));
    await reader.close();
    await expectCode(readAll(file), 'ERR_TRUNCATED', new RegExp(`frame ${FRAMES - 1}: file ends inside the frame`));
    const stub = variant('stub.xtc', (b) => b.subarray(0, 6));
    await expectCode(openXtc(stub), 'ERR_TRUNCATED', /stub\.xtc: frame 0: file ends inside the frame header/);
  });

  test('wrong magic number', async () => {
    const first = variant('magic0.xtc', (b) => {
      b.writeInt32BE(1234, 0);
      return b;
    });
    await expectCode(openXtc(first), 'ERR_BAD_FORMAT', /magic0\.xtc: frame 0: bad magic number 1234, not an XTC file/);
    const offs = frameOffsets(goodBytes);
    const later = variant('magic3.xtc', (b) => {
      b.writeInt32BE(1234, offs[3]);
      return b;
    });
    await expectCode(readAll(later, 2), 'ERR_BAD_FORMAT', /frame 3: bad magic number 1234/);
  });

  test('atom count differs from the expected one or between frames', async () => {
    await expectCode(openXtc(good, { atoms: 21 }), 'ERR_ATOM_COUNT', /good\.xtc: frame 0: 22 atoms, expected 21/);
    const small = path.join(tmp, 'small.xtc');
    await writeXtc(small, uniformCoords(5, 3, 1, 0, 1), 3, 5);
    const mixed = path.join(tmp, 'mixed.xtc');
    fs.writeFileSync(mixed, Buffer.concat([goodBytes, fs.readFileSync(small)]));
    const reader = await openXtc(mixed);
    await expectCode(reader.frameCount(), 'ERR_ATOM_COUNT', new RegExp(`mixed\\.xtc: frame ${FRAMES}: 5 atoms, but frame 0 has 22`));
    await reader.close();
    const w = await createXtc(path.join(tmp, 'count.xtc'), { atoms: 22 });
    const short = w.write({ frames: 1, coords: new Float32Array(21 * 3) });
    await expectCode(short, 'ERR_ATOM_COUNT', /chunk has 21 atoms per frame, expected 22/);
    await w.abort();
  });

  test('non-finite coordinates are refused naming the frame; abort leaves nothing', async () => {
    const dest = path.join(tmp, 'nan.xtc');
    const w = await createXtc(dest, { atoms: 22 });
    await w.write({ frames: 10, coords: chain(22, 10, 1) });
    const bad = chain(22, 5, 2);
    bad[(3 * 22 + 7) * 3 + 1] = NaN;
    const nan = /nan\.xtc: frame 13: atom 7 has a non-finite coordinate \(NaN\)/;
    await expectCode(w.write({ frames: 5, coords: bad }), 'ERR_NON_FINITE', nan);
    const inf = chain(22, 1, 3);
    inf[0] = Infinity;
    await expectCode(w.write({ frames: 1, coords: inf }), 'ERR_NON_FINITE', /frame 10: atom 0/);
    await w.abort();
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('nan.xtc'))).toEqual([]);
  });

  test('coordinates too large for the precision', async () => {
    const w = await createXtc(path.join(tmp, 'huge.xtc'), { atoms: 22, precision: 1e6 });
    const c = chain(22, 2, 1);
    c[22 * 3 + 5] = 5000;
    await expectCode(w.write({ frames: 2, coords: c }), 'ERR_OUT_OF_RANGE', /frame 1: atom 1: coordinate 5000\.0+ nm is too large/);
    await w.abort();
  });

  test('corrupt compressed data is reported, never crashes', async () => {
    const offs = frameOffsets(goodBytes);
    const idx = variant('smallidx.xtc', (b) => {
      b.writeInt32BE(200, offs[2] + 84);
      return b;
    });
    await expectCode(readAll(idx), 'ERR_BAD_FORMAT', /smallidx\.xtc: frame 2: compression index 200 outside the table/);
    const size = variant('nbytes.xtc', (b) => {
      b.writeInt32BE(1 << 30, offs[4] + 88);
      return b;
    });
    await expectCode(readAll(size), 'ERR_BAD_FORMAT', /frame 4: compressed size 1073741824 bytes is impossible for 22 atoms/);
    const range = variant('range.xtc', (b) => {
      b.writeInt32BE(-5, offs[1] + 72);
      b.writeInt32BE(5, offs[1] + 60);
      return b;
    });
    await expectCode(readAll(range), 'ERR_BAD_FORMAT', /frame 1: coordinate range maxint < minint/);

    // Random byte corruption anywhere: every outcome is data or a coded one-line error.
    const r = rng(77);
    const outcomes = new Set<string>();
    for (let trial = 0; trial < 300; trial++) {
      const b = Buffer.from(goodBytes);
      for (let k = 0; k < 1 + (trial % 4); k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const file = path.join(tmp, 'fuzz.xtc');
      fs.writeFileSync(file, b);
      try {
        await readAll(file, 8);
        outcomes.add('ok');
      } catch (err) {
        expect(err).toBeInstanceOf(TcbmError);
        expect(['ERR_BAD_FORMAT', 'ERR_TRUNCATED', 'ERR_ATOM_COUNT']).toContain((err as TcbmError).code);
        expect((err as Error).message).not.toMatch(/\n/);
        outcomes.add((err as TcbmError).code);
      }
    }
    expect(outcomes.has('ERR_BAD_FORMAT')).toBe(true);
  });
});

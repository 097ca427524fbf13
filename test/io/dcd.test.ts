// DCD: OpenMM files against mdtraj, round trips, both byte orders, random access, and one-line errors.
import * as fs from 'fs';
import * as path from 'path';
import { TcbmError } from '../../lib/core/errors';
import { AKMA_PS, createDcd, openDcd } from '../../lib/io/dcd';
import type { FrameChunk, UnitCell } from '../../lib/io/types';
import { maxAbsDiff, tempDir, uniform } from '../support/helpers';
import { DATA } from '../support/data';
import { hasPython, hasSharedData, python, sharedData } from '../support/python';

const dir = tempDir('tcbm-dcd-');

// the bundled first 1000 frames of the ADP test run, as mdtraj wrote them (scripts/make-sample-data.py)
const TEST_DCD = path.join(DATA, 'adp', 'test-1000.dcd');
const ADP_PDB = path.join(DATA, 'adp', 'adp.pdb');
const withData = test;
const withMdtraj = hasPython('mdtraj') ? test : test.skip;
const withTrain = hasSharedData ? test : test.skip;
const withMdtrajOnly = hasPython('mdtraj') ? test : test.skip;

/** mdtraj's xyz (nm, float32) and unit cells for a DCD, through a raw float32 file. */
function mdtrajLoad(dcd: string, top: string): { xyz: Float32Array; frames: number; lengths?: Float32Array; angles?: Float32Array } {
  const out = path.join(dir, `md-${path.basename(dcd)}.bin`);
  const meta = python(
    `import sys, json, numpy as np, mdtraj as md
t = md.load(sys.argv[1], top=sys.argv[2])
parts = [t.xyz.astype(np.float32)]
cell = t.unitcell_lengths is not None
if cell: parts += [t.unitcell_lengths.astype(np.float32), t.unitcell_angles.astype(np.float32)]
with open(sys.argv[3], 'wb') as f:
    for p in parts: f.write(np.ascontiguousarray(p).tobytes())
print(json.dumps({'frames': t.n_frames, 'atoms': t.n_atoms, 'cell': cell}))`,
    [dcd, top, out],
  );
  const { frames, atoms, cell } = JSON.parse(meta);
  const raw = fs.readFileSync(out);
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const n = frames * atoms * 3;
  return {
    frames,
    xyz: all.subarray(0, n),
    lengths: cell ? all.subarray(n, n + 3 * frames) : undefined,
    angles: cell ? all.subarray(n + 3 * frames, n + 6 * frames) : undefined,
  };
}

/** A minimal PDB with `atoms` carbon atoms so mdtraj can load a synthetic DCD. */
function carbonPdb(atoms: number): string {
  const file = path.join(dir, `c${atoms}.pdb`);
  const lines = Array.from({ length: atoms }, (_, i) => `HETATM${String(i + 1).padStart(5)}  C   UNK A   1       0.000   0.000   0.000  1.00  0.00           C  `);
  fs.writeFileSync(file, `${lines.join('\n')}\nEND\n`);
  return file;
}

async function writeDcd(file: string, chunks: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>[], atoms: number, dtPs?: number) {
  const w = await createDcd(file, { atoms, dtPs });
  for (const c of chunks) await w.write(c);
  await w.close();
}

async function readAll(file: string, chunkFrames?: number): Promise<FrameChunk[]> {
  const r = await openDcd(file);
  const out: FrameChunk[] = [];
  try {
    for await (const c of r.chunks(chunkFrames)) out.push(c);
  } finally {
    await r.close();
  }
  return out;
}

function concat(chunks: FrameChunk[]): Float32Array {
  const n = chunks.reduce((s, c) => s + c.coords.length, 0);
  const all = new Float32Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c.coords, at);
    at += c.coords.length;
  }
  return all;
}

/** What an awaited call throws, for inspecting code and message. */
async function failure(p: Promise<unknown> | (() => Promise<unknown>)): Promise<TcbmError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as TcbmError;
  }
  throw new Error('expected a rejection');
}

function expectOneLine(err: Error, file: string): void {
  expect(err.message).not.toMatch(/\n/);
  expect(err.message.startsWith(`${file}: `)).toBe(true);
}

const ATOMS = 13;
const FRAMES = 37;
const coordsA = uniform(Float32Array, FRAMES * ATOMS * 3, -4, 4, 7);
const cellsA: UnitCell[] = Array.from({ length: FRAMES }, (_, f) => ({ a: 3 + f * 0.01, b: 4, c: 5, alpha: 80, beta: 70, gamma: 60 }));

describe('OpenMM files (adp)', () => {
  withData('test-1000.dcd: 1000 frames of 22 atoms, no unit cell', async () => {
    const r = await openDcd(TEST_DCD, { atoms: 22 });
    expect(await r.frameCount()).toBe(1000);
    expect(r.atoms).toBe(22);
    expect(r.header.hasCell).toBe(false);
    expect(r.header.littleEndian).toBe(true);
    expect(r.header.nset).toBe(1000);
    // mdtraj's save_dcd writes a time step of one AKMA unit (0.04888821 ps), not the run's 1 ps
    expect(r.dtPs).toBeCloseTo(0.04888821, 6);
    await r.close();
  });

  withMdtraj('coordinates equal mdtraj.load (float32 nm; tolerance 1e-6 nm, in fact bit-identical)', async () => {
    const ours = concat(await readAll(TEST_DCD, 999));
    const ref = mdtrajLoad(TEST_DCD, ADP_PDB);
    expect(ref.frames).toBe(1000);
    // mdtraj multiplies float32 Å by float32(0.1); we do the same, so the values agree exactly
    expect(maxAbsDiff(ours, ref.xyz)).toBeLessThanOrEqual(1e-6);
    expect(Buffer.compare(Buffer.from(ours.buffer), Buffer.from(ref.xyz.buffer, ref.xyz.byteOffset, ref.xyz.byteLength))).toBe(0);
  });

  withData('random access read(start, count) equals the frames chunks() streams', async () => {
    const all = concat(await readAll(TEST_DCD, 256));
    const r = await openDcd(TEST_DCD);
    for (const [start, count] of [[0, 1], [511, 3], [500, 100], [999, 1], [17, 0]]) {
      const c = await r.read(start, count);
      expect(c.start).toBe(start);
      expect(c.frames).toBe(count);
      expect(Array.from(c.coords)).toEqual(Array.from(all.subarray(start * 66, (start + count) * 66)));
    }
    await expect(r.read(999, 2)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await r.close();
  });

  (hasSharedData && hasPython('mdtraj') ? test : test.skip)('read speed: chunks() over ../shared/data train.dcd vs mdtraj.load (printed, not asserted)', async () => {
    const train = sharedData('adp', 'train.dcd');
    const r = await openDcd(train);
    let frames = 0;
    await (async () => {
      for await (const c of r.chunks()) frames += c.frames; // warm-up
    })();
    const t0 = process.hrtime.bigint();
    frames = 0;
    for await (const c of r.chunks()) frames += c.frames;
    const ours = Number(process.hrtime.bigint() - t0) / 1e9;
    await r.close();
    const md = JSON.parse(
      python(
        `import sys, time, json, mdtraj as md
top = md.load_topology(sys.argv[2]); md.load_dcd(sys.argv[1], top=top)
t = time.perf_counter(); x = md.load_dcd(sys.argv[1], top=top); s = time.perf_counter() - t
print(json.dumps({'frames': x.n_frames, 'seconds': s}))`,
        [train, ADP_PDB],
      ),
    );
    expect(frames).toBe(20000);
    console.log(
      `DCD read, adp/train.dcd (${frames} frames × 22 atoms): tcbackmap chunks() ${(frames / ours / 1e6).toFixed(2)} M frames/s ` +
        `(${(ours * 1000).toFixed(1)} ms), mdtraj.load_dcd ${(md.frames / md.seconds / 1e6).toFixed(2)} M frames/s (${(md.seconds * 1000).toFixed(1)} ms)`,
    );
  });
});

describe('round trip', () => {
  const file = path.join(dir, 'rt.dcd');

  beforeAll(async () => {
    const split = 20 * ATOMS * 3;
    await writeDcd(
      file,
      [
        { coords: coordsA.subarray(0, split), frames: 20, cells: cellsA.slice(0, 20) },
        { coords: coordsA.subarray(split), frames: FRAMES - 20, cells: cellsA.slice(20) },
      ],
      ATOMS,
      2,
    );
  });

  test('write → read: coordinates to 1e-6 nm (float32 Å), unit cells, header counts', async () => {
    const r = await openDcd(file);
    expect(await r.frameCount()).toBe(FRAMES);
    expect(r.header).toMatchObject({ atoms: ATOMS, nset: FRAMES, hasCell: true, charmm: true, littleEndian: true, title: 'Created by tcbackmap' });
    expect(r.header.delta).toBeCloseTo(2 / AKMA_PS, 4);
    expect(r.dtPs).toBeCloseTo(2, 5);
    const c = await r.read(0, FRAMES);
    expect(maxAbsDiff(c.coords, coordsA)).toBeLessThanOrEqual(1e-6);
    for (let f = 0; f < FRAMES; f++) {
      const got = c.cells![f];
      const want = cellsA[f];
      for (const k of ['a', 'b', 'c'] as const) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-12);
      for (const k of ['alpha', 'beta', 'gamma'] as const) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-9);
    }
    await r.close();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a file without unit cells has no cell records and no cells', async () => {
    const f = path.join(dir, 'nocell.dcd');
    await writeDcd(f, [{ coords: coordsA, frames: FRAMES }], ATOMS);
    expect(fs.statSync(f).size).toBe(196 + FRAMES * 3 * (8 + 4 * ATOMS));
    const [c] = await readAll(f, FRAMES);
    expect(c.cells).toBeUndefined();
    expect(maxAbsDiff(c.coords, coordsA)).toBeLessThanOrEqual(1e-6);
  });

  withMdtrajOnly('mdtraj reads the written file: same coordinates and unit cell', async () => {
    const ref = mdtrajLoad(file, carbonPdb(ATOMS));
    expect(ref.frames).toBe(FRAMES);
    expect(maxAbsDiff(ref.xyz, coordsA)).toBeLessThanOrEqual(1e-6);
    for (let f = 0; f < FRAMES; f++) {
      expect(ref.lengths![3 * f]).toBeCloseTo(cellsA[f].a, 5);
      expect(ref.lengths![3 * f + 2]).toBeCloseTo(5, 5);
      expect(Array.from(ref.angles!.subarray(3 * f, 3 * f + 3)).map((x) => Math.round(x * 1e4) / 1e4)).toEqual([80, 70, 60]);
    }
  });

  test('a big-endian copy reads identically', async () => {
    const be = path.join(dir, 'big.dcd');
    fs.writeFileSync(be, toBigEndian(fs.readFileSync(file)));
    const r = await openDcd(be);
    expect(r.header.littleEndian).toBe(false);
    expect(await r.frameCount()).toBe(FRAMES);
    const [little] = await readAll(file, FRAMES);
    const big = await r.read(0, FRAMES);
    expect(Array.from(big.coords)).toEqual(Array.from(little.coords));
    expect(big.cells).toEqual(little.cells);
    const streamed = [];
    for await (const c of r.chunks(8)) streamed.push(c);
    expect(streamed.map((c) => c.start)).toEqual([0, 8, 16, 24, 32]);
    expect(Array.from(concat(streamed))).toEqual(Array.from(little.coords));
    await r.close();
  });

  test('chunks() of any size and read(start, count) give the same frames', async () => {
    const r = await openDcd(file);
    const whole = await r.read(0, FRAMES);
    for (const size of [1, 5, 36, 37, 1024]) {
      const chunks: FrameChunk[] = [];
      for await (const c of r.chunks(size)) chunks.push(c);
      expect(chunks.length).toBe(Math.ceil(FRAMES / size));
      expect(Array.from(concat(chunks))).toEqual(Array.from(whole.coords));
      expect(chunks.flatMap((c) => c.cells)).toEqual(whole.cells);
    }
    const mid = await r.read(11, 9);
    expect(Array.from(mid.coords)).toEqual(Array.from(whole.coords.subarray(11 * ATOMS * 3, 20 * ATOMS * 3)));
    expect(mid.cells).toEqual(whole.cells!.slice(11, 20));
    await r.close();
  });
});

/** Byte-swaps a little-endian DCD record by record: int32/float32 words, float64 unit-cell values; text stays. */
function toBigEndian(le: Buffer): Buffer {
  const out = Buffer.from(le);
  let p = 0;
  let record = 0;
  while (p < le.length) {
    const n = le.readInt32LE(p);
    out.writeInt32BE(n, p);
    out.writeInt32BE(n, p + 4 + n);
    const body = p + 4;
    if (record === 0) {
      for (let i = 4; i < n; i += 4) out.writeInt32BE(le.readInt32LE(body + i), body + i); // after "CORD"
    } else if (record === 1) {
      out.writeInt32BE(le.readInt32LE(body), body); // NTITLE; the title text is bytes
    } else if (n === 48) {
      for (let i = 0; i < n; i += 8) out.writeDoubleBE(le.readDoubleLE(body + i), body + i);
    } else {
      for (let i = 0; i < n; i += 4) out.writeInt32BE(le.readInt32LE(body + i), body + i);
    }
    p += n + 8;
    record++;
  }
  return out;
}

describe('errors: one line, naming the file and the frame', () => {
  const good = path.join(dir, 'good.dcd');
  const frameBytes = 3 * (8 + 4 * ATOMS);
  beforeAll(() => writeDcd(good, [{ coords: coordsA, frames: FRAMES }], ATOMS));

  test('a DCD cut inside frame 10: its frame count and reading frame 10 are ERR_TRUNCATED naming it; frames 0-9 still read', async () => {
    const cut = path.join(dir, 'cut.dcd');
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 196 + 10 * frameBytes + 70));
    const r = await openDcd(cut);
    // whoever sizes work by the count must not drop the cut frame silently
    const counted = await failure(r.frameCount());
    expect(counted.code).toBe('ERR_TRUNCATED');
    expect(counted.message).toBe(`${cut}: frame 10: file ends inside this frame (70 of ${frameBytes} bytes present)`);
    expect((await r.read(0, 10)).frames).toBe(10);
    const err = await failure(r.read(8, 3));
    expect(err.code).toBe('ERR_TRUNCATED');
    expect(err.message).toBe(`${cut}: frame 10: file ends inside this frame (70 of ${frameBytes} bytes present)`);
    expectOneLine(err, cut);
    const seen: number[] = [];
    const streamed = await failure(async () => {
      for await (const c of r.chunks(4)) seen.push(c.frames);
    });
    expect(seen).toEqual([4, 4, 2]);
    expect(streamed.code).toBe('ERR_TRUNCATED');
    expect(streamed.message).toMatch(/: frame 10: /);
    await r.close();
  });

  test('a DCD cut inside its header is ERR_TRUNCATED', async () => {
    const cut = path.join(dir, 'cuthead.dcd');
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 150));
    const err = await failure(openDcd(cut));
    expect(err.code).toBe('ERR_TRUNCATED');
    expectOneLine(err, cut);
  });

  test('random bytes named .dcd: ERR_BAD_FORMAT "not a DCD file: first record marker is …"', async () => {
    const junk = path.join(dir, 'junk.dcd');
    fs.writeFileSync(junk, Buffer.from(uniform(Float32Array, 256, 0, 1, 3).buffer));
    const err = await failure(openDcd(junk));
    expect(err.code).toBe('ERR_BAD_FORMAT');
    expect(err.message).toMatch(/: not a DCD file: first record marker is -?\d+ \(expected 84\)$/);
    expectOneLine(err, junk);
    const wrongMagic = path.join(dir, 'veld.dcd');
    const bytes = fs.readFileSync(good);
    bytes.write('VELD', 4, 'latin1');
    fs.writeFileSync(wrongMagic, bytes);
    expect((await failure(openDcd(wrongMagic))).message).toMatch(/magic is "VELD"/);
  });

  test('a corrupt record marker inside a frame is ERR_BAD_FORMAT naming the frame', async () => {
    const bad = path.join(dir, 'badmarker.dcd');
    const bytes = fs.readFileSync(good);
    bytes.writeInt32LE(12345, 196 + 3 * frameBytes + (8 + 4 * ATOMS)); // frame 3, Y record start
    fs.writeFileSync(bad, bytes);
    const r = await openDcd(bad);
    const err = await failure(r.read(0, 5));
    expect(err.code).toBe('ERR_BAD_FORMAT');
    expect(err.message).toBe(`${bad}: frame 3: Y record marker is 12345 (expected ${4 * ATOMS})`);
    await r.close();
  });

  test('atom count differing from the topology: ERR_ATOM_COUNT "has 13 atoms, topology has 12"', async () => {
    const err = await failure(openDcd(good, { atoms: 12 }));
    expect(err.code).toBe('ERR_ATOM_COUNT');
    expect(err.message).toBe(`${good}: has 13 atoms, topology has 12`);
  });

  test('fixed atoms (NAMNF != 0) are ERR_UNSUPPORTED', async () => {
    const fixed = path.join(dir, 'fixed.dcd');
    const bytes = fs.readFileSync(good);
    bytes.writeInt32LE(3, 8 + 4 * 8);
    fs.writeFileSync(fixed, bytes);
    const err = await failure(openDcd(fixed));
    expect(err.code).toBe('ERR_UNSUPPORTED');
    expect(err.message).toMatch(/fixed atoms \(NAMNF = 3\)/);
  });

  test('a missing file is ERR_FILE_NOT_FOUND', async () => {
    const err = await failure(openDcd(path.join(dir, 'nope.dcd')));
    expect(err.code).toBe('ERR_FILE_NOT_FOUND');
    expectOneLine(err, path.join(dir, 'nope.dcd'));
  });

  test('NaN on write is ERR_NON_FINITE naming the frame; abort leaves neither output nor temp file', async () => {
    const out = path.join(dir, 'nan.dcd');
    const w = await createDcd(out, { atoms: ATOMS });
    await w.write({ coords: coordsA.subarray(0, 4 * ATOMS * 3), frames: 4 });
    const bad = coordsA.slice(0, 3 * ATOMS * 3);
    bad[2 * ATOMS * 3 + 5 * 3 + 1] = NaN; // chunk frame 2 = file frame 6, atom 5, y
    const err = await failure(w.write({ coords: bad, frames: 3 }));
    expect(err.code).toBe('ERR_NON_FINITE');
    expect(err.message).toBe(`${out}: frame 6: coordinate y of atom 5 is NaN`);
    await w.abort();
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('nan.dcd'))).toEqual([]);
  });

  test('the output appears only on close()', async () => {
    const out = path.join(dir, 'late.dcd');
    const w = await createDcd(out, { atoms: ATOMS });
    await w.write({ coords: coordsA, frames: FRAMES });
    expect(fs.existsSync(out)).toBe(false);
    await w.close();
    expect(fs.existsSync(out)).toBe(true);
    const empty = path.join(dir, 'empty.dcd');
    await (await createDcd(empty, { atoms: 4 })).close();
    const r = await openDcd(empty);
    expect(await r.frameCount()).toBe(0);
    expect(r.atoms).toBe(4);
    await r.close();
  });

  test('wrong chunk shapes are rejected with expected-vs-received messages', async () => {
    const w = await createDcd(path.join(dir, 'shape.dcd'), { atoms: ATOMS });
    await expect(w.write({ coords: new Float32Array(10), frames: 1 })).rejects.toThrow(
      /frame 0: chunk has 10 coordinates, expected 39 \(1 frames × 13 atoms × 3\)/,
    );
    await w.write({ coords: coordsA.subarray(0, 39), frames: 1, cells: cellsA.slice(0, 1) });
    await expect(w.write({ coords: coordsA.subarray(0, 39), frames: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await w.abort();
  });
});

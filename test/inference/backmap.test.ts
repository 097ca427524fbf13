// Inference: seeding, rollout order, segments, determinism, cancellation, bad input.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NativeModel } from '../../binding';
import { Backmapper, chooseSeed } from '../../lib/inference/backmap';
import { readModelFile } from '../../lib/inference/modelinfo';
import { SpreadAccumulator, sampleFile } from '../../lib/inference/ensemble';
import { createTrajectory, openTrajectory, readTrajectory } from '../../lib/io/trajectory';
import type { Relaxer, RelaxOptions } from '../../lib/inference/relax';
import { presetMapping } from '../../lib/model/mapping';
import { Trainer } from '../../lib/model/train';
import { adpSample, DATA } from '../support/data';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-backmap-'));
const modelFile = path.join(dir, 'tiny.tcbm');
const cgFile = path.join(dir, 'cg.dcd');
const FRAMES = 30;
let bm: Backmapper;

beforeAll(async () => {
  const adp = await adpSample(200);
  const mapping = presetMapping('adp', adp.topology);
  const trainer = Trainer.create(
    { topology: adp.topology, mapping, trajectories: [adp.coords.slice(0, 100 * 66), adp.coords.slice(100 * 66)] },
    { preset: 'tiny', seed: 2, threads: 2 },
  );
  for await (const _ of trainer.run(15));
  await trainer.finalize(modelFile, { posteriorPairs: 200, seedFrames: 50 });
  bm = await Backmapper.load(modelFile, { threads: 2 });
  // CG frames shifted by 1 nm more along x each frame: the frame order is visible in the output.
  const cg = bm.coarseGrain(adp.coords.slice(0, FRAMES * 66), FRAMES);
  for (let f = 0; f < FRAMES; f++) for (let b = 0; b < 6; b++) cg[(f * 6 + b) * 3] += f;
  const w = await createTrajectory(cgFile, { atoms: 6 });
  await w.write({ frames: FRAMES, coords: cg });
  await w.close();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function centroidX(coords: Float32Array, frame: number, atoms: number): number {
  let x = 0;
  for (let a = 0; a < atoms; a++) x += coords[(frame * atoms + a) * 3];
  return x / atoms;
}

test('the model file holds topology, mapping, mixture and seed bank', async () => {
  const { info } = await readModelFile(modelFile);
  expect(info.topology.atoms.length).toBe(22);
  expect(info.mapping.beads).toBe(6);
  expect(info.mixture.k).toBe(10);
  expect(info.seedFrames).toBe(50);
});

test.each([1, 3, 7])('segments=%i: output frame count and order equal the input', async (segments) => {
  const out = path.join(dir, `out-${segments}.dcd`);
  const summary = await bm.backmapFile(cgFile, out, { segments, seed: 5 });
  expect(summary.frames).toBe(FRAMES);
  expect(summary.seams.length).toBe(segments - 1);
  const back = await readTrajectory(out);
  expect(back.frames).toBe(FRAMES);
  for (let f = 0; f < FRAMES; f++) expect(Math.abs(centroidX(back.coords, f, 22) - centroidX(await cgCoords(), f, 6))).toBeLessThan(0.5);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

let cgCache: Float32Array | undefined;
async function cgCoords(): Promise<Float32Array> {
  cgCache ??= (await readTrajectory(cgFile)).coords;
  return cgCache;
}

async function backmapAll(options: { seed: number; exactCg?: boolean; precision?: 'fp32' | 'bf16' }): Promise<Float32Array> {
  const reader = await openTrajectory(cgFile);
  const out = new Float32Array(FRAMES * 66);
  try {
    for await (const c of bm.backmap(reader, options)) out.set(c.coords, c.start * 66);
  } finally {
    await reader.close();
  }
  return out;
}

test('exactCg: each frame maps exactly onto its CG frame, substituents moving with their bead atom; the default raw output does not', async () => {
  const cg = await cgCoords();
  const exact = await backmapAll({ seed: 3, exactCg: true });
  const raw = await backmapAll({ seed: 3 });
  const off = (x: Float32Array) => bm.coarseGrain(x, FRAMES).reduce((m, v, i) => Math.max(m, Math.abs(v - cg[i])), 0);
  expect(off(exact)).toBeLessThan(1e-4); // nm; float32 coordinates up to 30 nm
  expect(off(raw)).toBeGreaterThan(1e-3);
  // Frame 0 has the same input on both paths: exact = raw + d. An atom bonded to
  // a bead atom and nothing else (a hydrogen, a carbonyl O) moves as that atom.
  const beads = new Set(bm.info.mapping.indices);
  const neighbours = new Map<number, number[]>();
  for (const [i, j] of bm.info.topology.bonds) {
    neighbours.set(i, [...(neighbours.get(i) ?? []), j]);
    neighbours.set(j, [...(neighbours.get(j) ?? []), i]);
  }
  const d = (a: number, x: number) => exact[a * 3 + x] - raw[a * 3 + x];
  const hangers = [...neighbours].filter(([a, n]) => !beads.has(a) && n.length === 1 && beads.has(n[0]));
  expect(hangers.length).toBeGreaterThan(0);
  for (const [a, [b]] of hangers) for (let x = 0; x < 3; x++) expect(Math.abs(d(a, x) - d(b, x))).toBeLessThan(1e-4);
  expect(Math.max(...[...beads].map((b) => Math.hypot(d(b, 0), d(b, 1), d(b, 2))))).toBeGreaterThan(1e-3); // it did move them
});

test('a bond outside the model is refused with a clear error', () => {
  const model = (bm as unknown as { model: { setCgProjection(o: { bonds: Int32Array; count: number }): void } }).model;
  expect(() => model.setCgProjection({ bonds: Int32Array.from([0, 99]), count: 1 })).toThrow(/bond 0 \(0, 99\) is not a pair of distinct atoms of 22/);
  expect(() => model.setCgProjection({ bonds: Int32Array.from([0, 1]), count: 2 })).toThrow(/expected 4 elements/);
});

test('the same seed gives the same output; another seed another', async () => {
  const a = path.join(dir, 'a.dcd');
  const b = path.join(dir, 'b.dcd');
  const c = path.join(dir, 'c.dcd');
  await bm.backmapFile(cgFile, a, { seed: 11, segments: 2 });
  await bm.backmapFile(cgFile, b, { seed: 11, segments: 2 });
  await bm.backmapFile(cgFile, c, { seed: 12, segments: 2 });
  expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
  expect(fs.readFileSync(a).equals(fs.readFileSync(c))).toBe(false);
});

test.each([1, 3])('samples=3, segments=%i: sample i is the run of seed + i alone (to float32 rounding), run in lockstep', async (segments) => {
  const out = path.join(dir, `ens-${segments}.dcd`);
  const r = await bm.backmapFile(cgFile, out, { seed: 20, samples: 3, segments, chunkFrames: 8 });
  expect(r.outputs).toEqual([0, 1, 2].map((i) => path.join(dir, `ens-${segments}.${i}.dcd`)));
  expect(fs.existsSync(out)).toBe(false);
  for (let i = 0; i < 3; i++) {
    const alone = path.join(dir, `alone-${segments}-${i}.dcd`);
    await bm.backmapFile(cgFile, alone, { seed: 20 + i, segments, chunkFrames: 8 });
    // libtorch's CPU kernels may round a row of a batch of 3 differently from a batch of 1
    const [x, y] = [await readTrajectory(r.outputs[i]), await readTrajectory(alone)];
    expect(x.frames).toBe(y.frames);
    expect(x.coords.reduce((m, v, j) => Math.max(m, Math.abs(v - y.coords[j])), 0)).toBeLessThan(1e-5);
  }
  // different seeds, different frames; the beads hold all of them to the same CG frames
  const [a, b] = await Promise.all(r.outputs.slice(0, 2).map((f) => readTrajectory(f)));
  expect(a.frames).toBe(FRAMES);
  expect(a.coords.some((v, i) => v !== b.coords[i])).toBe(true);
  expect(r.samples).toBe(3);
  expect(r.spread?.frames).toBe(FRAMES);
  expect(r.spread?.bead?.rms).toBeGreaterThanOrEqual(0);
  expect(r.spread?.nonBead?.rms).toBeGreaterThan(0);
  expect(r.spread!.nonBead!.max).toBeGreaterThanOrEqual(r.spread!.nonBead!.rms);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.includes('tcbm-segments-'))).toEqual([]);
});

test('the spread across samples is each atom\'s RMS distance from the samples\' mean', () => {
  // 2 atoms (atom 0 a bead), 2 frames, 3 samples
  const acc = new SpreadAccumulator(3, 2, [0]);
  const frame = (x0: number, x1: number) => Float32Array.from([x0, 0, 0, x1, 0, 0, x0, 0, 0, x1, 2 * x1, 0]);
  acc.add([frame(0, 0), frame(0, 1), frame(0, 2)], 2, 10);
  const r = acc.result();
  expect(r.bead).toEqual({ rms: 0, max: 0, maxFrame: 10 });
  // atom 1: frame 10 at x = 0, 1, 2 (spread sqrt(2/3)); frame 11 at (0,0), (1,2), (2,4) (spread sqrt(10/3))
  expect(r.nonBead!.rms).toBeCloseTo(Math.sqrt((2 / 3 + 10 / 3) / 2), 6);
  expect(r.nonBead!.max).toBeCloseTo(Math.sqrt(10 / 3), 6);
  expect(r.nonBead!.maxFrame).toBe(11);
  expect(sampleFile('/x/run.dcd', 2)).toBe('/x/run.2.dcd');
  expect(sampleFile('run', 0)).toBe('run.0');
});

test('a bad sample count is refused before anything is written', async () => {
  for (const samples of [0, 1.5, -2]) {
    await expect(bm.backmapFile(cgFile, path.join(dir, 'bad.dcd'), { samples })).rejects.toThrow(/Expected a positive integer for samples/);
  }
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('bad.'))).toEqual([]);
});

test('precision bf16: the decoder in bf16 stays within bf16 rounding of fp32, deterministically; a bad precision is refused', async () => {
  const fp32 = await backmapAll({ seed: 6 });
  const bf16 = await backmapAll({ seed: 6, precision: 'bf16' });
  const again = await backmapAll({ seed: 6, precision: 'bf16' });
  expect(bf16).toEqual(again);
  let worst = 0;
  for (let i = 0; i < fp32.length; i++) worst = Math.max(worst, Math.abs(fp32[i] - bf16[i]));
  expect(worst).toBeGreaterThan(0); // it did run in bf16
  expect(worst).toBeLessThan(0.05); // nm over 30 frames of an untrained tiny model
  await expect(bm.backmapFile(cgFile, path.join(dir, 'bad.dcd'), { precision: 'fp16' as 'bf16' })).rejects.toThrow(/Expected "fp32" or "bf16" for precision/);
});

test('seed selection returns the frame preceding the nearest CG frame, aligned onto the target', () => {
  // three seed pairs; the target is seed 1's CG frame rotated 90 degrees about z and moved
  const beads = 3;
  const atoms = 2;
  const seedCg = Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, /**/ 0, 0, 0, 2, 0, 0, 0, 0.5, 0, /**/ 0, 0, 0, 1, 1, 0, 0, 0, 3]);
  const seedPrevAa = Float32Array.from([9, 9, 9, 9, 9, 9, /**/ 1, 0, 0, 0, 0, 1, /**/ 7, 7, 7, 7, 7, 7]);
  const rot = (x: number, y: number, z: number) => [-y + 5, x - 2, z + 1];
  const target = [rot(0, 0, 0), rot(2, 0, 0), rot(0, 0.5, 0)].flat();
  const choice = chooseSeed(seedCg, seedPrevAa, beads, atoms, target);
  expect(choice.index).toBe(1);
  expect(choice.rmsd).toBeLessThan(1e-6);
  const expected = [rot(1, 0, 0), rot(0, 0, 1)].flat();
  expected.forEach((v, i) => expect(choice.frame[i]).toBeCloseTo(v, 5));
});

test('a trajectory whose particle count is not the model bead count is refused clearly', async () => {
  await expect(bm.backmapFile(path.join(DATA, 'adp/test-1000.dcd'), path.join(dir, 'x.dcd'))).rejects.toThrow(
    /test-1000.dcd: has 22 particles per frame, the model's adp mapping has 6 beads/,
  );
  expect(fs.existsSync(path.join(dir, 'x.dcd'))).toBe(false);
});

test('cancelling stops cleanly and leaves no partial output', async () => {
  const out = path.join(dir, 'cancelled.xtc');
  const abort = new AbortController();
  const run = bm.backmapFile(cgFile, out, { segments: 2, chunkFrames: 4, signal: abort.signal, onProgress: (done) => done >= 6 && abort.abort() });
  await expect(run).rejects.toThrow(/cancelled/);
  expect(fs.existsSync(out)).toBe(false);
  // neither the atomic writer's temporary file nor the segments' scratch folder (beside the output) is left
  expect(fs.readdirSync(dir).filter((f) => f.includes('cancelled') || f.includes('tcbm-segments-'))).toEqual([]);
});

test('foreign, truncated and checkpoint files are refused with a clear error', async () => {
  const foreign = path.join(dir, 'foreign.tcbm');
  fs.writeFileSync(foreign, 'hello, not a model');
  await expect(readModelFile(foreign)).rejects.toThrow(/not a tcbackmap model file/);
  const truncated = path.join(dir, 'truncated.tcbm');
  const bytes = fs.readFileSync(modelFile);
  fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 1000));
  await expect(readModelFile(truncated)).rejects.toThrow(/truncated/);
  const corrupt = path.join(dir, 'corrupt.tcbm');
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 10] ^= 0xff;
  fs.writeFileSync(corrupt, flipped);
  await expect(readModelFile(corrupt)).rejects.toThrow(/fails its checksum/);
  await expect(readModelFile(path.join(dir, 'missing.tcbm'))).rejects.toThrow(/no such model file/);
});

// --relax with the refined frame conditioning the next step refines inside the native
// rollout; what a call leaves (seeds, per-trajectory energy statistics, the last
// refined frame) carries into the next call, so how the steps are cut into calls
// changes nothing.
test('a refined rollout cut into two native calls equals one call', async () => {
  const refined = await Backmapper.load(modelFile, { threads: 1 });
  await refined.useSystem(path.join(DATA, 'adp', 'system-vacuum.xml'));
  // the native model and the refinement, as backmapFile uses them (private API)
  const internals = refined as unknown as { model: NativeModel; relaxer(o: RelaxOptions): Promise<Relaxer> };
  const T = 14, cut = 9, N = 22, n = 6, L = refined.info.preset.architecture.latent;
  const adp = await adpSample(T);
  const cg = refined.coarseGrain(adp.coords, T);
  const prev = refined.info.seedPrevAa.slice(0, N * 3);
  const z = Float32Array.from({ length: T * L }, (_, i) => Math.sin(i));
  const options: RelaxOptions = { temperature: 300, steps: 20, thermalSteps: 10 };
  const rollout = (p: Float32Array, t0: number, t1: number) => ({
    prev: p, cg: cg.slice(t0 * n * 3, t1 * n * 3), z: z.slice(t0 * L, t1 * L), steps: t1 - t0, batch: 1, threads: 1,
  });
  const one = await (await internals.relaxer(options)).rollout(internals.model, rollout(prev, 0, T), new Int32Array(1), false);
  const relaxer = await internals.relaxer(options);
  const first = await relaxer.rollout(internals.model, rollout(prev, 0, cut), new Int32Array(1), false);
  const second = await relaxer.rollout(internals.model, rollout(first.next.slice((cut - 1) * N * 3), cut, T), new Int32Array(1), true);
  expect(relaxer.options.timestep).toBe(2); // the System's X–H bonds are rigid in the seed frames
  expect(Array.from(first.coords).concat(Array.from(second.coords))).toEqual(Array.from(one.coords));
  expect(Array.from(first.after).concat(Array.from(second.after))).toEqual(Array.from(one.after));
  expect(one.after.every(Number.isFinite)).toBe(true);
});

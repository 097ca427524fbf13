// Canonical orientation: every sample's C(t) superposed on one reference CG frame
// instead of random rotations; the reference travels through model files and
// checkpoints, and the native rollout turns each step onto it and back, so the
// output is rotation-equivariant by construction.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Backmapper } from '../../lib/inference/backmap';
import { readModelFile } from '../../lib/inference/modelinfo';
import { createTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { applyMapping, presetMapping } from '../../lib/model/mapping';
import { PRESETS, type Preset } from '../../lib/model/presets';
import { Rng, quaternionRotation } from '../../lib/core/rng';
import { Trainer, resolvePreset, type TrainingData } from '../../lib/model/train';
import { adpSample, adpTwoTrajectories } from '../support/data';

let data: TrainingData;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-canonical-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  data = await adpTwoTrajectories(); // frames 0-19 and 20-39
});

// The tiny preset under canonical orientation, centred as `centring` says.
function canonical(centring: 'own' | 'cg' = 'own'): Preset {
  return { ...PRESETS.tiny, name: `tiny-canonical-${centring}`, architecture: { ...PRESETS.tiny.architecture, centring, orientation: 'canonical' } };
}

// x (count points at offset) rotated by row-major r about the origin, as a new array.
function rotate(r: ArrayLike<number>, x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 3) {
    for (let k = 0; k < 3; k++) out[i + k] = r[3 * k] * x[i] + r[3 * k + 1] * x[i + 1] + r[3 * k + 2] * x[i + 2];
  }
  return out;
}

// RMSD between n points of a and b, both as they are (no fitting).
function rmsd(a: ArrayLike<number>, aOffset: number, b: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let i = 0; i < 3 * n; i++) sum += (a[aOffset + i] - b[i]) ** 2;
  return Math.sqrt(sum / n);
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test("the reference is the first training pair's CG frame, centred; random orientation has none", () => {
  const t = Trainer.create(data, { preset: canonical(), seed: 1, threads: 2 });
  const cg = applyMapping(data.mapping, data.trajectories[0].subarray(66, 132), 1); // pair (0, 1): C(1)
  const c = [0, 1, 2].map((k) => (cg[k] + cg[3 + k] + cg[6 + k] + cg[9 + k] + cg[12 + k] + cg[15 + k]) / 6);
  expect(t.reference).toBeDefined();
  expect(maxDiff(t.reference!, cg.map((x, i) => x - c[i % 3]))).toBeLessThan(1e-6);
  expect(Trainer.create(data, { preset: 'tiny', seed: 1, threads: 2 }).reference).toBeUndefined();
  // two beads fix no orientation (a rotation about their axis is free)
  const matrix = new Float32Array(2 * 22);
  matrix[4] = matrix[22 + 8] = 1;
  const twoBeads = { ...data, mapping: { name: 'two', atoms: 22, beads: 2, beadNames: ['A', 'B'], matrix } };
  expect(() => Trainer.create(twoBeads, { preset: canonical(), seed: 1, threads: 2 })).toThrow(/needs at least 3 CG beads/);
});

test('a canonical model trains, saves, loads and backmaps; the reference survives the model file and a checkpoint resume', async () => {
  const preset = canonical();
  const straight = Trainer.create(data, { preset, seed: 21, threads: 2 });
  const all = [];
  for await (const s of straight.run(6)) all.push(s.total);

  // augment: false changes nothing: canonical orientation draws no random rotations
  const first = Trainer.create(data, { preset, seed: 21, threads: 2, augment: false });
  const head = [];
  for await (const s of first.run(3)) head.push(s.total);
  const checkpoint = path.join(dir, 'run.ckpt');
  await first.saveCheckpoint(checkpoint);
  const resumed = await Trainer.resumeFrom(checkpoint, data, { threads: 2 });
  expect(Array.from(resumed.reference!)).toEqual(Array.from(first.reference!));
  const tail = [];
  for await (const s of resumed.run(6)) tail.push(s.total);
  expect([...head, ...tail]).toEqual(all);

  const file = path.join(dir, 'canonical.tcbm');
  await resumed.finalize(file, { posteriorPairs: 38, seedFrames: 10 });
  const { info } = await readModelFile(file);
  expect(info.preset.architecture.orientation).toBe('canonical');
  expect(Array.from(info.canonicalReference!)).toEqual(Array.from(first.reference!));

  const bm = await Backmapper.load(file, { threads: 2 });
  const frames = 6;
  const cgFile = path.join(dir, 'cg.dcd');
  const w = await createTrajectory(cgFile, { atoms: 6 });
  await w.write({ frames, coords: bm.coarseGrain(data.trajectories[1].slice(0, frames * 66), frames) });
  await w.close();
  const out = path.join(dir, 'out.dcd');
  const summary = await bm.backmapFile(cgFile, out, { seed: 4, segments: 2 });
  expect(summary.frames).toBe(frames);
  const back = await readTrajectory(out);
  expect(back.frames).toBe(frames);
  expect(back.coords.every(Number.isFinite)).toBe(true);
});

test('a preset file turns canonical orientation on; an unknown orientation is refused', () => {
  const file = (orientation: string) => {
    const f = path.join(dir, `${orientation}.json`);
    fs.writeFileSync(f, JSON.stringify({ base: 'tiny', architecture: { orientation } }));
    return f;
  };
  expect(resolvePreset(file('canonical')).architecture).toEqual({ ...PRESETS.tiny.architecture, orientation: 'canonical' });
  expect(() => resolvePreset(file('canonicle'))).toThrow(/"orientation" must be "random" or "canonical"/);
});

test('a preset file sets the training precision and CG noise; bad values are refused with the file named', () => {
  const file = (name: string, training: object) => {
    const f = path.join(dir, `${name}.json`);
    fs.writeFileSync(f, JSON.stringify({ base: 'tiny', training }));
    return f;
  };
  const good = resolvePreset(file('bf16-noise', { precision: 'bf16', cgNoise: 0.02 }));
  expect(good.training).toEqual({ ...PRESETS.tiny.training, precision: 'bf16', cgNoise: 0.02 });
  expect(() => resolvePreset(file('fp16', { precision: 'fp16' }))).toThrow(/fp16\.json: "precision" must be "fp32" or "bf16"/);
  expect(() => resolvePreset(file('loud', { cgNoise: -1 }))).toThrow(/loud\.json: "cgNoise" must be a number of nm in \[0, 1\)/);
  expect(() => resolvePreset(file('word', { cgNoise: 'lots' }))).toThrow(/"cgNoise" must be/);
  const decay = { perThousand: 0.7, from: 3000, floor: 1e-5 };
  expect(resolvePreset(file('decay', { learningRateDecay: decay })).training.learningRateDecay).toEqual(decay);
  expect(() => resolvePreset(file('grow', { learningRateDecay: { perThousand: 2 } }))).toThrow(/grow\.json: "learningRateDecay" must be/);
  expect(resolvePreset(file('average', { average: { from: 16000, every: 5 } })).training.average).toEqual({ from: 16000, every: 5 });
  expect(() => resolvePreset(file('average-bad', { average: { from: 16000, every: 0 } }))).toThrow(/average-bad\.json: "average" must be/);
  expect(() => resolvePreset(file('average-none', { average: true }))).toThrow(/"average" must be \{"from"/);
  expect(resolvePreset(file('local', { localWeight: 100 })).training.localWeight).toBe(100);
  expect(() => resolvePreset(file('negative', { localWeight: -1 }))).toThrow(/negative\.json: "localWeight" must be a number >= 0/);
  expect(resolvePreset(file('moments', { localWeight: 30, localMode: 'moments' })).training.localMode).toBe('moments');
  expect(() => resolvePreset(file('mode', { localMode: 'pairs' }))).toThrow(/mode\.json: "localMode" must be "frame" or "moments"/);
  expect(resolvePreset(file('floor', { floorWeight: 10 })).training.floorWeight).toBe(10);
  expect(() => resolvePreset(file('floor-bad', { floorWeight: -1 }))).toThrow(/floor-bad\.json: "floorWeight" must be a number >= 0/);
  expect(resolvePreset(file('cg-weight', { cgWeight: 10, cgWeightFrom: 10000 })).training).toMatchObject({ cgWeight: 10, cgWeightFrom: 10000 });
  expect(() => resolvePreset(file('cg-weight-bad', { cgWeight: 'x' }))).toThrow(/cg-weight-bad\.json: "cgWeight" must be a number >= 0/);
  expect(() => resolvePreset(file('cg-from-bad', { cgWeightFrom: -3 }))).toThrow(/cg-from-bad\.json: "cgWeightFrom" must be an integer step >= 0/);
  expect(resolvePreset(file('steric', { floorWeight: 1, floorPairs: 'steric', floorVdw: 0.9 })).training).toMatchObject({ floorPairs: 'steric', floorVdw: 0.9 });
  expect(() => resolvePreset(file('pairs-bad', { floorPairs: 'heavy' }))).toThrow(/pairs-bad\.json: "floorPairs" must be "all" or "steric"/);
  expect(() => resolvePreset(file('vdw-bad', { floorVdw: 0 }))).toThrow(/vdw-bad\.json: "floorVdw" must be a number in \(0, 2\)/);
  expect(resolvePreset(file('warm', { latentWarmup: { steps: 1000, ramp: 500 } })).training.latentWarmup).toEqual({ steps: 1000, ramp: 500 });
  expect(() => resolvePreset(file('cold', { latentWarmup: { steps: -1 } }))).toThrow(/cold\.json: "latentWarmup" must be/);
  expect(() => resolvePreset(file('tepid', { latentWarmup: 1000 }))).toThrow(/tepid\.json: "latentWarmup" must be/);
  expect(resolvePreset(file('restart', { optimizerRestarts: [8000] })).training.optimizerRestarts).toEqual([8000]);
  expect(() => resolvePreset(file('restart-bad', { optimizerRestarts: 8000 }))).toThrow(/restart-bad\.json: "optimizerRestarts" must be an array of integer steps > 0/);
  expect(() => resolvePreset(file('restart-zero', { optimizerRestarts: [0] }))).toThrow(/"optimizerRestarts" must be/);
  expect(resolvePreset(file('noise-later', { cgNoise: 0.02, cgNoiseFrom: 10000 })).training.cgNoiseFrom).toBe(10000);
  expect(resolvePreset(file('noise-share', { cgNoise: 0.02, cgNoiseShare: 0.25 })).training.cgNoiseShare).toBe(0.25);
  expect(() => resolvePreset(file('noise-share-bad', { cgNoiseShare: 0 }))).toThrow(/noise-share-bad\.json: "cgNoiseShare" must be a number in \(0, 1\]/);
  expect(resolvePreset(file('lag', { prevLag: { share: 0.25, max: 3 } })).training.prevLag).toEqual({ share: 0.25, max: 3 });
  for (const bad of [{ share: 0, max: 3 }, { share: 0.5, max: 1 }, { share: 0.5, max: 2.5 }, { share: 0.5, max: 3, from: -1 }, 3]) {
    expect(() => resolvePreset(file('lag-bad', { prevLag: bad }))).toThrow(/lag-bad\.json: "prevLag" must be \{"share": number in \(0, 1\], "max": integer >= 2, "from": integer step >= 0\}/);
  }
  expect(resolvePreset(file('feed', { selfFeed: { share: 0.5, steps: 4, from: 100 } })).training.selfFeed).toEqual({ share: 0.5, steps: 4, from: 100 });
  for (const bad of [{ share: 0 }, { share: 1.5 }, { share: 0.5, steps: 0 }, { share: 0.5, steps: 2.5 }, { share: 0.5, steps: 65 }, { share: 0.5, from: -1 }, 0.5]) {
    expect(() => resolvePreset(file('feed-bad', { selfFeed: bad }))).toThrow(/feed-bad\.json: "selfFeed" must be \{"share": number in \(0, 1\], "steps": integer in 1 … 64, "from": integer step >= 0\}/);
  }
  expect(resolvePreset(file('prior', { priorDecode: { weight: 0.5, from: 100, draws: 4, energy: false } })).training.priorDecode).toEqual({ weight: 0.5, from: 100, draws: 4, energy: false });
  expect(resolvePreset(file('prior-above', { priorDecode: { weight: 1, energy: 'above', energyMargin: 27 } })).training.priorDecode).toEqual({ weight: 1, energy: 'above', energyMargin: 27 });
  const noisyMargin = { weight: 1, energy: 'above', cgNoise: 0.02, noisyEnergyMargin: 100 };
  expect(resolvePreset(file('prior-noisy', { priorDecode: noisyMargin })).training.priorDecode).toEqual(noisyMargin);
  expect(resolvePreset(file('prior-band', { priorDecode: { ...noisyMargin, energy: 'band', energyMargin: 27 } })).training.priorDecode).toMatchObject({ energy: 'band', energyMargin: 27 });
  expect(resolvePreset(file('prior-noisy-cg', { priorDecode: { ...noisyMargin, noisyCgWeight: 1 } })).training.priorDecode).toMatchObject({ noisyCgWeight: 1 });
  for (const bad of [{ weight: 0 }, { weight: -1 }, { weight: 1, from: 1.5 }, { from: 3 }, 1, { weight: 1, draws: 0 }, { weight: 1, draws: 2.5 }, { weight: 1, energy: 'no' }, { weight: 1, energy: 'below' }, { weight: 1, cgNoise: -0.02 }, { weight: 1, energyMargin: 10 }, { weight: 1, energy: 'above', energyMargin: -1 }, { weight: 1, cgTarget: 'noisy' },
    { ...noisyMargin, noisyEnergyMargin: -1 }, { ...noisyMargin, cgNoise: 0 }, { ...noisyMargin, energy: true },
    { ...noisyMargin, noisyCgWeight: -1 }, { weight: 1, noisyCgWeight: 1 }, { ...noisyMargin, noisyCgWeight: '1' }]) {
    expect(() => resolvePreset(file('prior-bad', { priorDecode: bad }))).toThrow(/prior-bad\.json: "priorDecode" must be \{"weight": number > 0, "from": integer step >= 0, "draws": integer >= 1, "energy": boolean, "above" or "band", "energyMargin": kJ\/mol >= 0 \(with "above" or "band"\), "cgNoise": nm in \[0, 1\), "noisyEnergyMargin": kJ\/mol >= 0 \(with "above" or "band", and cgNoise > 0\), "noisyCgWeight": number >= 0 \(with cgNoise > 0\), "cgTarget": "clean" or "condition"\}/);
  }
  expect(() => resolvePreset(file('noise-never', { cgNoiseFrom: -1 }))).toThrow(/noise-never\.json: "cgNoiseFrom" must be an integer step >= 0/);
  expect(resolvePreset(file('binary-from', { binaryFrom: 11750 })).training.binaryFrom).toBe(11750);
  expect(() => resolvePreset(file('binary-from-bad', { binaryFrom: 1.5 }))).toThrow(/binary-from-bad\.json: "binaryFrom" must be an integer step >= 0/);
  const arch = (name: string, architecture: object) => {
    const f = path.join(dir, `${name}.json`);
    fs.writeFileSync(f, JSON.stringify({ base: 'tiny', architecture }));
    return f;
  };
  expect(resolvePreset(arch('told', { noiseInput: true })).architecture).toEqual({ ...PRESETS.tiny.architecture, noiseInput: true });
  expect(() => resolvePreset(arch('told-bad', { noiseInput: 'yes' }))).toThrow(/told-bad\.json: "noiseInput" must be true or false/);
  expect(resolvePreset(arch('binary', { binaryLatent: 8 })).architecture.binaryLatent).toBe(8);
  for (const bad of [9, -1, 2.5, '4']) {
    expect(() => resolvePreset(arch('binary-bad', { binaryLatent: bad }))).toThrow(/binary-bad\.json: "binaryLatent" must be an integer from 0 to the latent dimension \(8\)/);
  }
});

test('a model file whose canonical orientation lacks its reference is refused', async () => {
  const t = Trainer.create(data, { preset: canonical(), seed: 2, threads: 2 });
  const file = path.join(dir, 'no-reference.tcbm');
  (t as unknown as { reference?: Float32Array }).reference = undefined;
  await t.finalize(file, { posteriorPairs: 16, seedFrames: 4 });
  await expect(readModelFile(file)).rejects.toThrow(/canonical reference does not fit its header \(orientation canonical, 6 beads\)/);
});

test.each(['own', 'cg'] as const)('centring %s: rolling out Q·CG from Q·seed gives Q·output (exact rotation equivariance)', async (centring) => {
  const t = Trainer.create(data, { preset: canonical(centring), seed: 5, threads: 2 });
  for await (const _ of t.run(2));
  const T = 4, K = 3, N = 66, n = 18, L = PRESETS.tiny.architecture.latent; // N, n: floats per frame; K = 3: grouped CPU rollout
  const traj = data.trajectories[0];
  const prev = traj.slice(0, K * N);
  const cg = new Float32Array(T * K * n);
  for (let s = 0; s < T; s++) for (let k = 0; k < K; k++) cg.set(applyMapping(data.mapping, traj.subarray((1 + s + 4 * k) * N, (2 + s + 4 * k) * N), 1), (s * K + k) * n);
  const z = new Rng(3).normals(new Float32Array(T * K * L));
  const q = new Rng(17).rotation();
  const roll = (p: Float32Array, c: Float32Array) => t.model.rollout({ prev: p, cg: c, z, steps: T, batch: K, threads: 2 });
  const out = await roll(prev, cg);
  const turned = await roll(rotate(q, prev), rotate(q, cg));
  expect(maxDiff(turned, rotate(q, out))).toBeLessThan(1e-4); // nm
  expect(maxDiff(out, rotate(q, out))).toBeGreaterThan(0.1); // Q moves the frames

  // The same network in the lab frame (no reference) is not equivariant.
  t.model.setCanonicalReference(null);
  const lab = await roll(prev, cg);
  const labTurned = await roll(rotate(q, prev), rotate(q, cg));
  expect(maxDiff(labTurned, rotate(q, lab))).toBeGreaterThan(1e-2);
});

// A rotation by `angle` about a random axis.
function rotationBy(rng: Rng, angle: number): Float64Array {
  const axis = [rng.normal(), rng.normal(), rng.normal()];
  const norm = Math.hypot(...axis);
  const s = Math.sin(angle / 2) / norm;
  return quaternionRotation(Math.cos(angle / 2), s * axis[0], s * axis[1], s * axis[2]);
}

test("a canonical trainer's batch has every C(t) superposed on the reference, A(t) turned with it", () => {
  const t = Trainer.create(data, { preset: canonical(), seed: 9, threads: 2 });
  const ref = t.reference!;
  const B = PRESETS.tiny.training.batch, F = 66, n = 6; // F: floats per atomistic frame
  const { aaT, cgT } = (t as unknown as { batch(): { aaT: Float32Array; cgT: Float32Array } }).batch();
  // validation and the posterior fit place pairs the same way
  const placed = { aaT: new Float32Array(F), aaPrev: new Float32Array(F), cgT: new Float32Array(n * 3) };
  t.placePair(data.trajectories[1], applyMapping(data.mapping, data.trajectories[1], 20), 7, 0, placed.aaT, placed.aaPrev, placed.cgT);
  const rng = new Rng(4);
  const others = [...[0.003, 0.03, 0.3].map((a) => rotationBy(rng, a)), rng.rotation(), rng.rotation(), Float64Array.of(-1, 0, 0, 0, -1, 0, 0, 0, 1)];
  const cases = [...Array.from({ length: B }, (_, b) => ({ aa: aaT.subarray(b * F, (b + 1) * F), cg: cgT.subarray(b * n * 3, (b + 1) * n * 3) })), { aa: placed.aaT, cg: placed.cgT }];
  for (const { aa, cg } of cases) {
    const best = rmsd(cg, 0, ref, n);
    for (const r of others) expect(rmsd(rotate(r, cg), 0, ref, n)).toBeGreaterThanOrEqual(best - 1e-6);
    // A(t) is centred on its own mean ('own'): its beads, centred, are C(t) as placed.
    const mapped = applyMapping(data.mapping, aa, 1);
    const c = [0, 1, 2].map((k) => mapped.filter((_, i) => i % 3 === k).reduce((a, x) => a + x, 0) / n);
    expect(maxDiff(mapped.map((x, i) => x - c[i % 3]), cg)).toBeLessThan(1e-5);
  }
});

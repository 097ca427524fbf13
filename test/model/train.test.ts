// The cVAE and its training loop: capacity, gradients, serialisation, resume.
import { presetMapping } from '../../lib/model/mapping';
import { withConditionNoise } from '../../lib/model/noise';
import { PRESETS } from '../../lib/model/presets';
import { Rng } from '../../lib/core/rng';
import { DEFAULT_FLOOR_VDW, pairFloors, stericFloors } from '../../lib/model/geometry-terms';
import { VDW_RADII } from '../../lib/analysis/clashes';
import { Trainer, framePairs, localPairs, type TrainingData } from '../../lib/model/train';
import { pairGap } from '../../lib/model/picks';
import { applySelfFeed, planSelfFeed } from '../../lib/model/selffeed';
import { IDENTITY } from '../../lib/model/placement';
import { applyMapping } from '../../lib/model/mapping';
import { adpDataset, adpSample, adpTwoTrajectories } from '../support/data';
import { trainerStateFromModel } from '../../lib/inference/init';
import { readModelFile } from '../../lib/inference/modelinfo';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-train-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let data: TrainingData;

beforeAll(async () => {
  data = await adpTwoTrajectories(); // frames 0-19 and 20-39
});

/** Pairs (t − 1, t) for t = 1 … 4 of the first trajectory, uncentred, with their ADP bead positions as C(t). */
function fourPairs(): { aaT: Float32Array; aaPrev: Float32Array; cgT: Float32Array } {
  const B = 4;
  const aaT = data.trajectories[0].slice(66, 66 * (1 + B));
  const aaPrev = data.trajectories[0].slice(0, 66 * B);
  const cgT = new Float32Array(B * 18);
  for (let b = 0; b < B; b++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cgT.set(aaT.subarray(b * 66 + a * 3, b * 66 + a * 3 + 3), b * 18 + k * 3));
  return { aaT, aaPrev, cgT };
}

test('pairs never cross a trajectory boundary', () => {
  const pairs = framePairs([3, 1, 2]);
  expect(pairs).toEqual([
    { trajectory: 0, frame: 1 },
    { trajectory: 0, frame: 2 },
    { trajectory: 2, frame: 1 },
  ]);
});

test('the paper presets have 1.2M (ADP) and 4.9M (CLN) parameters within 25 %', () => {
  const count = (name: string, atoms: number, beads: number) =>
    Trainer.create(
      {
        topology: { atoms: Array.from({ length: atoms }, () => ({ name: 'C', element: 'C', resName: 'X', resSeq: 1, residueIndex: 0, chain: '', hetero: false })), bonds: [] },
        mapping: { name: 'x', atoms, beads, beadNames: [], matrix: new Float32Array(atoms * beads) },
        trajectories: [new Float32Array(2 * atoms * 3)],
      },
      { preset: name },
    ).parameterCount;
  const adp = count('adp', 22, 6);
  const cln = count('cln', 166, 10);
  expect(adp / 1.2e6).toBeGreaterThan(0.75);
  expect(adp / 1.2e6).toBeLessThan(1.25);
  expect(cln / 4.9e6).toBeGreaterThan(0.75);
  expect(cln / 4.9e6).toBeLessThan(1.25);
});

test('the tiny preset overfits 8 frames: coordinate loss falls >= 20x in <= 300 steps', async () => {
  const eight: TrainingData = { ...data, trajectories: [data.trajectories[0].slice(0, 8 * 66)] };
  // Fixed inputs (no rotations): this checks capacity and gradient flow, not generalisation.
  const t = Trainer.create(eight, { preset: 'tiny', seed: 3, augment: false, threads: 2 });
  let first = NaN;
  let best = Infinity;
  for await (const s of t.run(300)) {
    if (s.step === 0) first = s.coord;
    best = Math.min(best, s.coord);
  }
  expect(first / best).toBeGreaterThanOrEqual(20);
});

test('every parameter gets a non-zero gradient', async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 5, threads: 2 });
  const B = PRESETS.tiny.training.batch;
  const rng = new Rng(9);
  const aa = data.trajectories[0].slice(66, 66 * (1 + B));
  const prev = data.trajectories[0].slice(0, 66 * B);
  const cg = new Float32Array(B * 18);
  for (let b = 0; b < B; b++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cg.set(aa.subarray(b * 66 + a * 3, b * 66 + a * 3 + 3), b * 18 + k * 3));
  const norms = await t.model.parameterGradients({
    batch: B, aaT: aa, aaPrev: prev, cgT: cg, eps: rng.normals(new Float32Array(B * 8)), gamma: 0, beta: 1, threads: 2,
  });
  const names = Object.keys(norms);
  expect(names.length).toBeGreaterThan(20);
  const zero = names.filter((n) => !(norms[n] > 0));
  expect(zero).toEqual([]);
});

test('save -> load gives identical decoder outputs for the same z', async () => {
  const a = Trainer.create(data, { preset: 'tiny', seed: 11, threads: 2 });
  for await (const _ of a.run(3));
  const state = await a.checkpoint();
  const b = await Trainer.resume(data, state, { threads: 2 });
  const B = 4;
  const z = new Rng(1).normals(new Float32Array(B * 8));
  const prev = data.trajectories[1].slice(0, B * 66);
  const cg = new Float32Array(B * 18).fill(0.01);
  const outA = await a.model.decode({ batch: B, aaPrev: prev, cgT: cg, z });
  const outB = await b.model.decode({ batch: B, aaPrev: prev, cgT: cg, z });
  expect(outA.length).toBe(B * 66);
  expect(Array.from(outB)).toEqual(Array.from(outA));
});

test('resume equals the uninterrupted run (identical loss sequence)', async () => {
  const losses = (reports: { total: number }[]) => reports.map((r) => r.total);
  const straight = Trainer.create(data, { preset: 'tiny', seed: 21, threads: 2 });
  const all = [];
  for await (const s of straight.run(8)) all.push(s);

  const first = Trainer.create(data, { preset: 'tiny', seed: 21, threads: 2 });
  const head = [];
  for await (const s of first.run(4)) head.push(s);
  const resumed = await Trainer.resume(data, await first.checkpoint(), { threads: 2 });
  const tail = [];
  for await (const s of resumed.run(8)) tail.push(s);

  expect(tail.map((s) => s.step)).toEqual([4, 5, 6, 7]);
  expect(losses([...head, ...tail])).toEqual(losses(all));
});

test('resume under another schedule: same architecture only, settings replaced from the checkpoint step', async () => {
  const a = Trainer.create(data, { preset: 'tiny', seed: 31, threads: 2 });
  for await (const _ of a.run(2));
  const state = await a.checkpoint();
  const longer = { ...PRESETS.tiny, name: 'tiny-energy', training: { ...PRESETS.tiny.training, steps: 9, gamma: { n0: 2, n1: 4, start: 1e-4, end: 1e-2 } } };
  const b = await Trainer.resume(data, state, { threads: 2, preset: longer });
  expect(b.step).toBe(2);
  expect(b.settings.steps).toBe(9);
  expect(b.preset.name).toBe('tiny-energy');
  const c = await Trainer.resume(data, state, { threads: 2, training: { steps: 5 } });
  expect(c.settings.steps).toBe(5);
  expect(c.settings.gamma).toEqual(PRESETS.tiny.training.gamma);
  await expect(Trainer.resume(data, state, { threads: 2, preset: PRESETS['adp-cpu'] })).rejects.toThrow(/architectures differ/);
});

test('optimizerRestarts: Adam afresh at that step, as a run continued from its weights alone (train --init); the checkpoint before it resumes into it', async () => {
  const losses = (reports: { total: number }[]) => reports.map((r) => r.total);
  const tiny = (optimizerRestarts?: number[]) => ({ ...PRESETS.tiny, training: { ...PRESETS.tiny.training, optimizerRestarts } });
  const run = async (t: Trainer, until: number) => {
    const out = [];
    for await (const s of t.run(until)) out.push(s);
    return out;
  };
  const restarted = await run(Trainer.create(data, { preset: tiny([3]), seed: 23, threads: 2 }), 6);

  const head = Trainer.create(data, { preset: tiny(), seed: 23, threads: 2 });
  const first = await run(head, 3);
  const weightsOnly = { ...(await head.checkpoint()), weights: await head.model.save({ optimizer: false }), optimizer: false };
  const fresh = await run(await Trainer.resume(data, weightsOnly, { threads: 2 }), 6);
  expect(losses(restarted)).toEqual(losses([...first, ...fresh]));

  const kept = await run(Trainer.create(data, { preset: tiny(), seed: 23, threads: 2 }), 6);
  expect(losses(kept).slice(0, 4)).toEqual(losses(restarted).slice(0, 4));
  expect(losses(kept).slice(4)).not.toEqual(losses(restarted).slice(4));

  const before = Trainer.create(data, { preset: tiny([3]), seed: 23, threads: 2 });
  await run(before, 3);
  const resumed = await run(await Trainer.resume(data, await before.checkpoint(), { threads: 2 }), 6);
  expect(losses(resumed)).toEqual(losses(restarted).slice(3));
});

test('average: models hold the running mean of the weights past `from`, training goes on from the last ones, and checkpoints carry the mean', async () => {
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, average: { from: 2, every: 2 } } };
  const t = Trainer.create(data, { preset, seed: 41, threads: 2 });
  const after: Float32Array[] = [];
  for await (const _ of t.run(8)) after.push(await t.model.parameters({}));
  // the weights after steps 4, 6 and 8 (every 2nd step past step 2) join the mean
  const mean = after[3].map((x, i) => (x + after[5][i] + after[7][i]) / 3);
  const file = path.join(dir, 'averaged.tcbm');
  await t.finalize(file, { posteriorPairs: 20, seedFrames: 5 });
  expect(await t.model.parameters({})).toEqual(after[7]);
  const written = await Trainer.resume(data, await trainerStateFromModel(file), { threads: 2 });
  const w = await written.model.parameters({});
  expect(Math.max(...w.map((x, i) => Math.abs(x - mean[i])))).toBeLessThan(1e-6);
  expect(Math.max(...w.map((x, i) => Math.abs(x - after[7][i])))).toBeGreaterThan(1e-5);
  expect((await readModelFile(file)).info.training).toMatchObject({ steps: 8, averaged: 3 });

  // stopped after step 5 (one step in the mean) and resumed from its checkpoint: the same mean
  const first = Trainer.create(data, { preset, seed: 41, threads: 2 });
  for await (const _ of first.run(5));
  const checkpoint = path.join(dir, 'averaged.ckpt');
  await first.saveCheckpoint(checkpoint);
  const resumed = await Trainer.resumeFrom(checkpoint, data, { threads: 2 });
  for await (const _ of resumed.run(8));
  const again = path.join(dir, 'averaged-again.tcbm');
  await resumed.finalize(again, { posteriorPairs: 20, seedFrames: 5 });
  const w2 = await (await Trainer.resume(data, await trainerStateFromModel(again), { threads: 2 })).model.parameters({});
  expect(w2).toEqual(w);

  // resumed without averaging in its settings: the last weights are written
  const plain = await Trainer.resumeFrom(checkpoint, data, { threads: 2, preset: PRESETS.tiny });
  await plain.finalize(again, { posteriorPairs: 20, seedFrames: 5 });
  const w3 = await (await Trainer.resume(data, await trainerStateFromModel(again), { threads: 2 })).model.parameters({});
  expect(w3).toEqual(await plain.model.parameters({}));
  expect(() => t.model.setParameters({ values: new Float32Array(3) })).toThrow(/setParameters: expected \d+ values, got 3/);
});

/** An untrained tiny ADP trainer with the energy, and one pair (frames 0 → 1) as a batch whose loss decodes the posterior mean (eps = 0). */
async function oneFrameEnergyCase() {
  const d = await adpDataset();
  const t = Trainer.create({ ...d, trajectories: [d.trajectories[0].slice(0, 3 * 66)] }, { preset: 'tiny', seed: 3, threads: 2, energy: d.energy });
  const batch = { batch: 1, aaT: d.trajectories[0].slice(66, 132), aaPrev: d.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 1, beta: 1, energyClamp: 0, threads: 2 };
  for (let k = 0; k < 6; k++) batch.cgT.set(batch.aaT.subarray([4, 6, 8, 14, 16, 10][k] * 3, [4, 6, 8, 14, 16, 10][k] * 3 + 3), k * 3);
  return { energy: d.energy!, t, batch };
}

test('the robust energy loss is log(1 + (dE/scale)^2) of the plain (dE)^2', async () => {
  const { t, batch } = await oneFrameEnergyCase();
  const plain = (await t.model.evaluate(batch)).energy; // (E_rec - E_true)^2 of one frame, (kJ/mol)^2
  expect(plain).toBeGreaterThan(1); // an untrained decoder is far off
  for (const scale of [55, 1000]) {
    const robust = (await t.model.evaluate({ ...batch, energyScale: scale })).energy;
    expect(robust).toBeCloseTo(Math.log1p(plain / scale ** 2), 4);
  }
});

test('energyTerms: the energy loss is the sum over force-field terms of each one\'s squared error, not the total\'s', async () => {
  const { energy, t, batch } = await oneFrameEnergyCase();
  const { aaT, aaPrev, cgT } = batch;
  // with eps = 0 the loss decodes the posterior mean: the frame decode(z = mu) gives
  const { mu } = await t.model.encode({ batch: 1, aaT, aaPrev, cgT, threads: 2 });
  const decoded = await t.model.decode({ batch: 1, aaPrev, cgT, z: mu, threads: 2 });
  const [rec, ref] = await Promise.all([decoded, aaT].map((x) => energy.evaluate({ data: x, shape: [1, 22, 3] }, { threads: 2 })));
  const errors = rec.terms ? Object.keys(rec.terms).map((k) => rec.terms[k][0] - ref.terms[k][0]) : [];
  expect(errors).toHaveLength(4);
  const sum = errors.reduce((a, e) => a + e, 0);
  const perTerm = (await t.model.evaluate({ ...batch, energyTerms: true })).energy;
  const onTotal = (await t.model.evaluate(batch)).energy;
  expect(onTotal / sum ** 2).toBeCloseTo(1, 3);
  expect(perTerm / errors.reduce((a, e) => a + e * e, 0)).toBeCloseTo(1, 3);
  expect(perTerm).not.toBeCloseTo(onTotal, 0);
  // on the robust scale: each term's error on its own scale, or on the total's without one
  const robust = (o: object) => t.model.evaluate({ ...batch, energyTerms: true, energyScale: 55, ...o }).then((r) => r.energy);
  expect(await robust({ energyTermsScale: 5 })).toBeCloseTo(errors.reduce((a, e) => a + Math.log1p((e / 5) ** 2), 0), 4);
  expect(await robust({})).toBeCloseTo(errors.reduce((a, e) => a + Math.log1p((e / 55) ** 2), 0), 4);
});

test("the KL weight is β · batch / training pairs under the reference's convention, β alone without it", async () => {
  const pairs = 19 + 19; // two 20-frame trajectories
  for (const batch of [4, 8]) {
    const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, batch, klPerPair: true } };
    const t = Trainer.create(data, { preset, seed: 1, threads: 2 });
    expect(t.pairCount).toBe(pairs);
    expect(t.klFactor).toBeCloseTo(batch / pairs, 15);
    const report = await t.next();
    expect(report.beta).toBe(1e-3); // tiny's constant β
    expect(report.klWeight).toBeCloseTo(1e-3 * (batch / pairs), 15);
  }
  const longer = { ...data, trajectories: [...data.trajectories, data.trajectories[0]] };
  const t3 = Trainer.create(longer, { preset: { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, klPerPair: true } }, seed: 1, threads: 2 });
  expect(t3.klFactor).toBeCloseTo(PRESETS.tiny.training.batch / (pairs + 19), 15);
  const plain = Trainer.create(data, { preset: { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, klPerPair: false } }, seed: 1, threads: 2 });
  expect(plain.klFactor).toBe(1);
  expect((await plain.next()).klWeight).toBe(1e-3);
});

test("the reference's energy term: ((E_rec − E_true)/E_std)² clamped at 1, and E_std from the training frames", async () => {
  const d = await adpDataset();
  const t = Trainer.create(d, { preset: 'tiny', seed: 3, threads: 2, energy: d.energy });
  const stats = await t.trainingEnergy();
  const all = (await d.energy.evaluate({ data: d.trajectories[0], shape: [1000, 22, 3] })).total;
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  expect(stats!.frames).toBe(1000);
  expect(stats!.mean).toBeCloseTo(mean, 6);
  expect(stats!.std).toBeGreaterThan(5); // ~13.5 kJ/mol at 300 K
  const batch = { batch: 1, aaT: d.trajectories[0].slice(66, 132), aaPrev: d.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 1, beta: 1, energyClamp: 0, threads: 2 };
  const plain = (await t.model.evaluate(batch)).energy; // (ΔE)² of an untrained decoder: huge
  const standardised = (await t.model.evaluate({ ...batch, energyStd: stats!.std })).energy;
  expect(standardised / (plain / stats!.std ** 2)).toBeCloseTo(1, 5);
  expect((await t.model.evaluate({ ...batch, energyStd: stats!.std, energyErrorClamp: 1 })).energy).toBe(1);
});

test("the reference network's layers (5³ encoder stem, z as (latent/8, 2, 2, 2) padded to the grid) train and are checked", async () => {
  const layers = { encoderStem: 5, latentPath: 'reference' } as const;
  const preset = { ...PRESETS.tiny, architecture: { ...PRESETS.tiny.architecture, ...layers } };
  const t = Trainer.create(data, { preset, seed: 4, threads: 2 });
  const plain = Trainer.create(data, { preset: 'tiny', seed: 4, threads: 2 });
  // the stem grows by (125 − 27) weights per input-output channel pair; the latent stem changes shape
  expect(t.parameterCount).toBeGreaterThan(plain.parameterCount);
  const first = await t.next();
  const second = await t.next();
  expect(Number.isFinite(first.total) && Number.isFinite(second.total)).toBe(true);
  const bad = { ...PRESETS.tiny, architecture: { ...PRESETS.tiny.architecture, ...layers, latent: 12 } };
  expect(() => Trainer.create(data, { preset: bad, seed: 4, threads: 2 })).toThrow(/latent dimension divisible by 8, got 12/);
});

test('bf16 training: the same loss as fp32 to bf16 rounding, fp32 weights that train, and the choice kept in the settings', async () => {
  const d = await adpDataset();
  const sample = { ...d, trajectories: [d.trajectories[0].slice(0, 40 * 66)] };
  const fp32 = Trainer.create(sample, { preset: 'adp-cpu', seed: 5, threads: 2 });
  // the training run on the tiny network: without AVX512-BF16 or AMX, oneDNN emulates
  // bf16 and an adp-cpu step takes ~12 s (an AVX2-only EPYC)
  const bf16 = Trainer.create(sample, { preset: 'tiny', training: { precision: 'bf16' }, seed: 5, threads: 2 });
  expect(bf16.settings.precision).toBe('bf16');
  const batch = { batch: 2, aaT: d.trajectories[0].slice(66, 198), aaPrev: d.trajectories[0].slice(0, 132), cgT: new Float32Array(36), eps: new Float32Array(32), gamma: 0, beta: 1, energyClamp: 0, threads: 2 };
  for (let f = 0; f < 2; f++) {
    for (let k = 0; k < 6; k++) batch.cgT.set(batch.aaT.subarray(f * 66 + [4, 6, 8, 14, 16, 10][k] * 3, f * 66 + [4, 6, 8, 14, 16, 10][k] * 3 + 3), f * 18 + k * 3);
  }
  const a = await fp32.model.evaluate(batch);
  const b = await fp32.model.evaluate({ ...batch, bf16: true }); // the same weights under autocast
  for (const term of ['voxel', 'coord', 'edm'] as const) expect(Math.abs(b[term] / a[term] - 1)).toBeLessThan(0.05);
  expect(b.voxel).not.toBe(a.voxel); // bf16 arithmetic really ran
  const first = await bf16.next();
  let last = first;
  for (let k = 0; k < 30; k++) last = await bf16.next();
  expect(Number.isFinite(last.total)).toBe(true);
  expect(last.coord).toBeLessThan(first.coord);
});

test('CG noise: the network is conditioned on cgCondition while the CG loss keeps the clean target', async () => {
  const batch = { batch: 1, aaT: data.trajectories[0].slice(66, 132), aaPrev: data.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 0, beta: 1, energyClamp: 0, threads: 2 };
  for (let k = 0; k < 6; k++) batch.cgT.set(batch.aaT.subarray([4, 6, 8, 14, 16, 10][k] * 3, [4, 6, 8, 14, 16, 10][k] * 3 + 3), k * 3);
  const t = Trainer.create(data, { preset: 'tiny', seed: 6, threads: 2 });
  const clean = await t.model.evaluate(batch);
  expect(await t.model.evaluate({ ...batch, cgCondition: batch.cgT.slice() })).toEqual(clean);
  const shifted = batch.cgT.map((x, i) => x + (i % 3 === 0 ? 0.05 : 0));
  const noisy = await t.model.evaluate({ ...batch, cgCondition: shifted });
  expect(noisy.voxel).not.toBe(clean.voxel); // the condition changed the decoded frame
  expect(noisy.kl).not.toBe(clean.kl); // the encoder sees the same condition
  expect(() => t.model.evaluate({ ...batch, cgCondition: new Float32Array(3) })).toThrow(/cgCondition: expected 18 elements/);
  // Trainer: the noise is drawn only when asked for, so runs without it are unchanged
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, cgNoise: 0.02 } };
  const plain = [await Trainer.create(data, { preset: 'tiny', seed: 6, threads: 2 }).next()];
  const withNoise = Trainer.create(data, { preset, seed: 6, threads: 2 });
  const report = await withNoise.next();
  expect(report.total).not.toBe(plain[0].total);
  expect(Number.isFinite(report.total)).toBe(true);
  // before cgNoiseFrom no noise is drawn: the step is the plain run's
  const later = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, cgNoise: 0.02, cgNoiseFrom: 1 } };
  expect((await Trainer.create(data, { preset: later, seed: 6, threads: 2 }).next()).total).toBe(plain[0].total);
  // the noise per sample: fixed at cgNoise, or under 'mixed' half clean and the rest uniform in (0, cgNoise],
  // under 'half' half clean and the rest at cgNoise
  const levels = async (cgNoiseLevels: 'fixed' | 'mixed' | 'half', cgNoiseShare?: number) => {
    const p = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, batch: 64, cgNoise: 0.02, cgNoiseLevels, cgNoiseShare } };
    const trainer = Trainer.create(data, { preset: p, seed: 9, threads: 2 });
    const seen: number[] = [];
    const model = trainer.model;
    const spy: typeof model.trainStep = (o) => {
      for (let b = 0; b < o.batch; b++) {
        let sq = 0;
        for (let i = b * 18; i < (b + 1) * 18; i++) sq += (o.cgCondition![i] - o.cgT[i]) ** 2;
        seen.push(Math.sqrt(sq / 18));
        // each sample's level goes with it (for a decoder told it): 0 exactly where the condition is clean
        expect(o.cgLevel![b] === 0).toBe(sq === 0);
        if (cgNoiseLevels !== 'mixed') expect(o.cgLevel![b]).toBe(sq === 0 ? 0 : Math.fround(0.02));
      }
      return model.trainStep(o);
    };
    // the native object's methods are read-only: look through a proxy that sees every step's batch
    Object.assign(trainer, { model: new Proxy(model, { get: (t, k) => (k === 'trainStep' ? spy : Reflect.get(t, k)) }) });
    await trainer.next();
    return seen;
  };
  const fixed = await levels('fixed');
  expect(Math.min(...fixed)).toBeGreaterThan(0.005);
  const mixed = await levels('mixed');
  const cleanSamples = mixed.filter((x) => x === 0).length;
  expect(cleanSamples).toBeGreaterThan(16);
  expect(cleanSamples).toBeLessThan(48);
  expect(Math.max(...mixed)).toBeLessThan(0.05);
  expect(mixed.filter((x) => x > 0 && x < 0.004).length).toBeGreaterThan(0); // faint noise occurs
  const half = await levels('half');
  const halfClean = half.filter((x) => x === 0).length;
  expect(halfClean).toBeGreaterThan(16);
  expect(halfClean).toBeLessThan(48);
  expect(Math.min(...half.filter((x) => x > 0))).toBeGreaterThan(0.005); // no faint noise
  // cgNoiseShare: a quarter noised, three quarters clean
  const quarterClean = (await levels('mixed', 0.25)).filter((x) => x === 0).length;
  expect(quarterClean).toBeGreaterThan(40);
  expect(quarterClean).toBeLessThan(58);
});

test('prevLag: a share of the pairs is (t − k, t) with k in 2 … max, within one trajectory; without it the random stream is unchanged', async () => {
  const N = data.topology.atoms.length;
  // every frame of both trajectories centred on its own atoms, as the tiny preset places them
  const centred = data.trajectories.flatMap((t, trajectory) => Array.from({ length: t.length / (N * 3) }, (_, frame) => {
    const x = t.slice(frame * N * 3, (frame + 1) * N * 3);
    for (let c = 0; c < 3; c++) {
      let m = 0;
      for (let a = 0; a < N; a++) m += x[3 * a + c] / N;
      for (let a = 0; a < N; a++) x[3 * a + c] -= m;
    }
    return { trajectory, frame, x };
  }));
  const which = (y: Float32Array) => centred.find((f) => f.x.every((v, i) => Math.abs(v - y[i]) < 1e-5))!;
  const gaps = async (prevLag?: { share: number; max: number }) => {
    const p = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, batch: 64, prevLag } };
    const trainer = Trainer.create(data, { preset: p, seed: 9, threads: 2, augment: false });
    const seen: number[] = [];
    const model = trainer.model;
    const spy: typeof model.trainStep = (o) => {
      for (let b = 0; b < o.batch; b++) {
        const [t, prev] = [which(o.aaT.subarray(b * N * 3, (b + 1) * N * 3)), which(o.aaPrev.subarray(b * N * 3, (b + 1) * N * 3))];
        expect(prev.trajectory).toBe(t.trajectory);
        seen.push(t.frame - prev.frame);
      }
      return model.trainStep(o);
    };
    Object.assign(trainer, { model: new Proxy(model, { get: (t, k) => (k === 'trainStep' ? spy : Reflect.get(t, k)) }) });
    return { report: await trainer.next(), seen };
  };
  const plain = await gaps();
  expect(plain.seen.every((k) => k === 1)).toBe(true);
  const lagged = await gaps({ share: 0.5, max: 3 });
  const longer = lagged.seen.filter((k) => k > 1);
  expect(lagged.seen.every((k) => k >= 1 && k <= 3)).toBe(true);
  expect(longer.length).toBeGreaterThan(16);
  expect(longer.length).toBeLessThan(48);
  expect(longer.some((k) => k === 2) && longer.some((k) => k === 3)).toBe(true);
  expect(lagged.report.total).not.toBe(plain.report.total);
  // before prevLag.from no gap is drawn: the step is the plain run's
  expect((await gaps({ share: 0.5, max: 3, from: 1 })).report.total).toBe(plain.report.total);
  // a lag never reaches before the trajectory's first frame
  expect([1, 2, 3, 5].map((frame) => pairGap(frame, () => 0, { share: 1, max: 6 }))).toEqual([1, 2, 2, 2]);
  expect([1, 2, 3, 5].map((frame) => pairGap(frame, () => 0.99, { share: 1, max: 6 }))).toEqual([1, 2, 3, 5]);
});

test("priorDecode: a second decode from the prior z adds weight x its CG, floor and energy terms, of each condition's worst draw; drawn only when on", async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 11, threads: 2 });
  const B = 4, L = PRESETS.tiny.architecture.latent;
  const { aaT, aaPrev, cgT } = fourPairs();
  const rng = new Rng(12);
  const eps = rng.normals(new Float32Array(B * L));
  const [epsPrior, otherPrior] = [rng.normals(new Float32Array(B * L)), rng.normals(new Float32Array(B * L))];
  const loss = (o: object) => t.model.evaluate({ batch: B, aaT, aaPrev, cgT, eps, gamma: 0, beta: 1, threads: 2, ...o });
  const plain = await loss({});
  expect(plain.prior).toBeUndefined();
  expect((await loss({ epsPrior })).prior).toBeUndefined(); // weight 0: off
  const on = await loss({ epsPrior, priorWeight: 3 });
  expect(on.prior).toBeGreaterThan(0); // an untrained decoder misplaces the beads
  expect((on.total - plain.total) / (3 * on.prior!)).toBeCloseTo(1, 4);
  expect(on.coord).toBe(plain.coord); // the posterior decode is untouched
  // cgWeight weighs the CG term of both decodes (the reported cg stays unweighted)
  const weighted = await loss({ epsPrior, priorWeight: 3, cgWeight: 4 });
  expect(weighted.prior! / on.prior!).toBeCloseTo(4, 4);
  expect((weighted.total - on.total) / (3 * plain.cg + 3 * (weighted.prior! - on.prior!))).toBeCloseTo(1, 3);
  expect(() => loss({ cgWeight: -1 })).toThrow(/cgWeight must be a number >= 0/);
  // priorNoisyCgWeight: the CG weight of the samples with a noisy prior condition (priorCgLevel > 0)
  const noisyAt = (priorCgLevel: Float32Array, priorNoisyCgWeight?: number) =>
    loss({ epsPrior, priorWeight: 3, cgWeight: 4, priorCgLevel, ...(priorNoisyCgWeight === undefined ? {} : { priorNoisyCgWeight }) });
  const [odd, even, all] = [Float32Array.of(0.02, 0, 0.02, 0), Float32Array.of(0, 0.02, 0, 0.02), new Float32Array(B).fill(0.02)];
  expect(await noisyAt(odd)).toEqual(weighted); // unset: cgWeight for every sample
  expect((await loss({ epsPrior, priorWeight: 3, cgWeight: 4, priorNoisyCgWeight: 1 })).prior).toBe(weighted.prior); // no levels: all clean
  expect((await noisyAt(all, 1)).prior! / on.prior!).toBeCloseTo(1, 4); // all noisy: weight 1 throughout
  // each sample takes 1 in one half and 4 in the other: the two halves sum to 5 x the unweighted term
  const [a, b] = [(await noisyAt(odd, 1)).prior!, (await noisyAt(even, 1)).prior!];
  expect((a + b) / (5 * on.prior!)).toBeCloseTo(1, 4);
  expect(a).not.toBeCloseTo(b, 8); // and the samples differ, so the weight went to the right ones
  expect(() => loss({ priorNoisyCgWeight: -1 })).toThrow(/priorNoisyCgWeight must be a number >= 0/);
  expect((await loss({ epsPrior: otherPrior, priorWeight: 3 })).prior).not.toBeCloseTo(on.prior!, 8); // z reaches the decoder
  // several draws per condition (draw-major): each condition's worst draw is the one trained
  const priorOf = async (z: Float32Array, b?: number) => {
    if (b === undefined) return (await loss({ epsPrior: z, priorWeight: 1 })).prior!;
    const row = (x: Float32Array, width: number) => x.slice(b * width, (b + 1) * width);
    const one = { batch: 1, aaT: row(aaT, 66), aaPrev: row(aaPrev, 66), cgT: row(cgT, 18), eps: row(eps, L), epsPrior: row(z, L) };
    return (await t.model.evaluate({ ...one, priorWeight: 1, gamma: 0, beta: 1, threads: 2 })).prior!;
  };
  let worst = 0;
  for (let b = 0; b < B; b++) worst += Math.max(await priorOf(epsPrior, b), await priorOf(otherPrior, b)) / B;
  expect((await priorOf(new Float32Array([...epsPrior, ...otherPrior]))) / worst).toBeCloseTo(1, 5);
  expect(await priorOf(new Float32Array([...otherPrior, ...otherPrior]))).toBeCloseTo(await priorOf(otherPrior), 6);
  // more draws than one batch decodes at once (16 frames: 4 draws of 4): the worst is found across the batches
  const six = new Float32Array([...otherPrior, ...otherPrior, ...otherPrior, ...otherPrior, ...epsPrior, ...otherPrior]);
  expect((await priorOf(six)) / worst).toBeCloseTo(1, 5);
  expect(() => loss({ epsPrior: epsPrior.subarray(1), priorWeight: 1 })).toThrow(/evaluate: epsPrior must hold draws x batch x latent \(32 per draw\) numbers, got 31/);
  // with pair floors the prior decode's floor term joins its CG term
  t.model.setPairFloors(pairFloors(data.trajectories, 22));
  const floored = await loss({ epsPrior, priorWeight: 3, floorWeight: 10 });
  expect(floored.prior! - on.prior!).toBeGreaterThan(0);
  t.model.setPairFloors(null);
  // and with an energy, γ times the prior decode's energy error against its pair's
  const d = await adpDataset();
  const te = Trainer.create({ ...d, trajectories: [d.trajectories[0].slice(0, 3 * 66)] }, { preset: 'tiny', seed: 3, threads: 2, energy: d.energy });
  const priorAt = async (gamma: number, priorEnergy = true) =>
    (await te.model.evaluate({ batch: B, aaT, aaPrev, cgT, eps, epsPrior, priorWeight: 1, priorEnergy, gamma, beta: 1, energyClamp: 0, energyScale: 55, threads: 2 })).prior!;
  const [p0, p1, p2] = [await priorAt(0), await priorAt(1), await priorAt(2)];
  expect(p1 - p0).toBeGreaterThan(0);
  expect((p2 - p0) / (p1 - p0)).toBeCloseTo(2, 4);
  expect(await priorAt(1, false)).toBe(p0); // priorEnergy false: its CG and floor terms only
  // one-sided (priorEnergySide above): a sample decoded cooler than its pair adds nothing, a hotter one its whole term.
  // Samples 0 and 2 get a pair 0.01 nm from a clash (far hotter than any decode), 1 and 3 stay as they were.
  const hot = aaT.slice();
  for (const b of [0, 2]) for (let c = 0; c < 3; c++) hot[b * 66 + c] = hot[b * 66 + 16 * 3 + c] + 0.01;
  type Side = 'both' | 'above' | 'band';
  const sample = async (b: number, gamma: number, priorEnergySide: Side, priorEnergyMargin = 0, noisy: { priorCgLevel?: Float32Array; priorNoisyEnergyMargin?: number } = {}) => {
    const row = (x: Float32Array, width: number) => x.slice(b * width, (b + 1) * width);
    const one = { batch: 1, aaT: row(hot, 66), aaPrev: row(aaPrev, 66), cgT: row(cgT, 18), eps: row(eps, L), epsPrior: row(epsPrior, L) };
    return (await te.model.evaluate({ ...one, ...noisy, priorWeight: 1, priorEnergySide, priorEnergyMargin, gamma, beta: 1, energyClamp: 0, energyScale: 55, threads: 2 })).prior!;
  };
  // the term is log1p((ΔE / 55)²): the energy difference ΔE it was given
  const difference = (term: number) => 55 * Math.sqrt(Math.expm1(term));
  for (let b = 0; b < B; b++) {
    const [none, both, above, band] = [await sample(b, 0, 'both'), await sample(b, 1, 'both'), await sample(b, 1, 'above'), await sample(b, 1, 'band')];
    expect(both - none).toBeGreaterThan(0);
    expect(above - none).toBeCloseTo(b % 2 === 0 ? 0 : both - none, 5);
    expect(band).toBe(both); // no margin: the band is the two-sided term
    // with a margin of half the difference, the band counts half of it on either side; above, only a hotter decode
    const gap = difference(both - none);
    expect((await sample(b, 1, 'band', gap / 2)) - none).toBeCloseTo(Math.log1p((gap / 2 / 55) ** 2), 4);
    expect(await sample(b, 1, 'both', gap / 2)).toBe(both); // the margin is for the one-sided and band terms only
    if (b % 2 === 0) {
      expect(await sample(b, 1, 'above', gap / 2)).toBe(none);
      continue;
    }
    expect((await sample(b, 1, 'above', gap / 2)) - none).toBeCloseTo(Math.log1p((gap / 2 / 55) ** 2), 4);
    // a noisy prior condition (priorCgLevel > 0) takes priorNoisyEnergyMargin, a clean one the common margin
    const level = (x: number) => ({ priorCgLevel: Float32Array.of(x), priorNoisyEnergyMargin: gap / 2 });
    expect(await sample(b, 1, 'above', 0, level(0.02))).toBe(await sample(b, 1, 'above', gap / 2));
    expect(await sample(b, 1, 'above', 0, level(0))).toBe(above);
    expect(await sample(b, 1, 'above', 0, { priorNoisyEnergyMargin: gap / 2 })).toBe(above); // no levels: all clean
  }
  await expect(sample(1, 1, 'above', 0, { priorCgLevel: Float32Array.of(-1) })).rejects.toThrow(/priorCgLevel must hold finite noise levels >= 0 nm/);
  await expect(sample(1, 1, 'above', -1)).rejects.toThrow(/priorEnergyMargin must be a number of kJ\/mol >= 0/);
  await expect(sample(1, 1, 'above', 0, { priorNoisyEnergyMargin: -1 })).rejects.toThrow(/priorNoisyEnergyMargin must be a number of kJ\/mol >= 0/);
  await expect(sample(1, 1, 'below' as Side)).rejects.toThrow(/priorEnergySide must be "both", "above" or "band", got "below"/);

  // in training, epsPrior is drawn last and only from priorDecode.from on: earlier steps are the plain run's
  const first = async (priorDecode?: { weight: number; from?: number; draws?: number }) =>
    Trainer.create(data, { preset: { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, priorDecode } }, seed: 13, threads: 2 }).next();
  const base = await first();
  expect((await first({ weight: 1, from: 1 })).total).toBe(base.total);
  const drawn = await first({ weight: 1 });
  expect(drawn.prior).toBeGreaterThan(0);
  expect(drawn.coord).toBe(base.coord);
  // three draws: the first is the one-draw run's (the same stream), so the worst of three is no better
  expect((await first({ weight: 1, draws: 3 })).prior).toBeGreaterThan(drawn.prior!);
});

test("the learning-rate schedule reaches Adam: a vanishing rate leaves the weights as they were", async () => {
  const batch = { batch: 1, aaT: data.trajectories[0].slice(66, 132), aaPrev: data.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 0, beta: 1, energyClamp: 0, threads: 2 };
  const after = async (learningRateDecay?: { perThousand: number; from: number }) => {
    const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, learningRateDecay } };
    const t = Trainer.create(data, { preset, seed: 8, threads: 2 });
    const before = await t.model.evaluate(batch);
    const reports = [await t.next(), await t.next()];
    return { before, after: await t.model.evaluate(batch), reports };
  };
  const frozen = await after({ perThousand: 1e-30, from: -1000 });
  expect(frozen.reports[0].learningRate).toBeCloseTo(PRESETS.tiny.training.learningRate * 1e-30, 40);
  expect(frozen.after).toEqual(frozen.before);
  const plain = await after();
  expect(plain.reports[1].learningRate).toBe(PRESETS.tiny.training.learningRate);
  expect(plain.after.voxel).not.toBe(plain.before.voxel);
});

test('latentWarmup: the decoder gets the posterior mean (zero noise) first, then the noise ramps in', async () => {
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, latentWarmup: { steps: 2, ramp: 2 } } };
  const t = Trainer.create(data, { preset, seed: 12, threads: 2 });
  const plain = Trainer.create(data, { preset: 'tiny', seed: 12, threads: 2 });
  const eps = (x: Trainer) => (x as unknown as { batch(): { eps: Float32Array } }).batch().eps;
  const norm = (e: Float32Array) => Math.hypot(...e);
  const at = (x: Trainer, step: number) => ((x as unknown as { step: number }).step = step);
  for (const [step, scale] of [[0, 0], [1, 0], [3, 0.5], [4, 1]] as const) {
    at(t, step);
    at(plain, step);
    // same RNG stream: the draw is the same, only scaled
    expect(norm(eps(t))).toBeCloseTo(scale * norm(eps(plain)), 4);
  }
});

test('local geometry: the 1-2 and 1-3 pairs of the bond graph, matched in distance to the target when weighted', async () => {
  // a chain 0-1-2-3 with a branch 1-4: bonds 01 12 23 14; angles 02 04 24 13
  const pairs = Array.from(localPairs([[0, 1], [1, 2], [2, 3], [1, 4]], 5));
  const asSet = new Set(Array.from({ length: pairs.length / 2 }, (_, k) => `${pairs[2 * k]}-${pairs[2 * k + 1]}`));
  expect(asSet).toEqual(new Set(['0-1', '1-2', '2-3', '1-4', '0-2', '0-4', '2-4', '1-3']));
  expect(pairs.length / 2).toBe(asSet.size); // each once

  const batch = { batch: 1, aaT: data.trajectories[0].slice(66, 132), aaPrev: data.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 0, beta: 1, energyClamp: 0, threads: 2 };
  const plain = Trainer.create(data, { preset: 'tiny', seed: 10, threads: 2 });
  expect((await plain.model.evaluate(batch)).local).toBeUndefined(); // no pairs: neither trained nor reported
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, localWeight: 50 } };
  const t = Trainer.create(data, { preset, seed: 10, threads: 2 });
  const off = await t.model.evaluate(batch);
  const on = await t.model.evaluate({ ...batch, localWeight: 50 });
  expect(off.local).toBeGreaterThan(0);
  expect(on.local).toBe(off.local);
  expect((on.total - off.total) / (50 * off.local!)).toBeCloseTo(1, 4); // float32 sums
  expect(() => t.model.setLocalPairs(new Int32Array([0, 99]))).toThrow(/atom index out of range/);
  expect((await t.next()).local).toBeGreaterThan(0);

  // localMoments: each distance's batch mean and spread against the targets'. With one
  // frame there is no spread: the per-frame term. With two it is bounded by twice it
  // (|σa − σb| ≤ σ(a−b), and bias² + var(a−b) with n − 1 = 1 is at most 2 × the MSE).
  const single = (await t.model.evaluate({ ...batch, localWeight: 50 })).local; // the weights moved with next()
  expect((await t.model.evaluate({ ...batch, localWeight: 50, localMoments: true })).local).toBe(single);
  const two = {
    ...batch, batch: 2, aaT: data.trajectories[0].slice(66, 198), aaPrev: data.trajectories[0].slice(0, 132),
    cgT: new Float32Array(36), eps: new Float32Array(16),
  };
  const frame = (await t.model.evaluate({ ...two, localWeight: 50 })).local!;
  const moments = (await t.model.evaluate({ ...two, localWeight: 50, localMoments: true })).local!;
  expect(moments).toBeGreaterThan(0);
  expect(moments).not.toBeCloseTo(frame, 8);
  expect(moments).toBeLessThanOrEqual(2 * frame * (1 + 1e-5));
});

test('localFrom, cgWeightFrom: the local term and the CG weight are trained on from that step', async () => {
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, localWeight: 30, localMode: 'moments' as const, localFrom: 2, cgWeight: 10, cgWeightFrom: 2 } };
  const t = Trainer.create(data, { preset, seed: 10, threads: 2 });
  const weights = () => t['lossWeights']();
  expect(await weights()).toMatchObject({ localWeight: 0, localMoments: true, cgWeight: 1 });
  for await (const _ of t.run(2));
  expect(await weights()).toMatchObject({ localWeight: 30, localMoments: true, cgWeight: 10 });
  expect(PRESETS['adp-cpu'].training).toMatchObject({ steps: 13750, localWeight: 30, localMode: 'moments', localFrom: 6000, optimizerRestarts: [8000, 10000, 11750] });
  // the shipped model's (Y81) last phase: every latent dimension decoded as its sign from 11,750
  expect(PRESETS['adp-cpu']).toMatchObject({ architecture: { latent: 16, binaryLatent: 16 }, training: { binaryFrom: 11750 } });
  // the shipped model's (Y52) last 2,000 steps: the prior decode and the weighted CG term
  expect(PRESETS['adp-cpu'].training).toMatchObject({ cgWeight: 10, cgWeightFrom: 10000, priorDecode: { weight: 10, from: 10000, draws: 8, energy: 'above', energyMargin: 27, cgNoise: 0.02, noisyEnergyMargin: 100, cgTarget: 'condition' } });
});

test('pair floors: each pair\'s closest distance over the frames; the floor term pushes apart only pairs below it', async () => {
  // 3 atoms, 2 frames: pair 0-1 is 0.1 then 0.3 nm apart, 0-2 0.5 then 0.4, 1-2 0.51 then 0.5
  const frames = new Float32Array([0, 0, 0, 0.1, 0, 0, 0, 0.5, 0, /**/ 0, 0, 0, 0.3, 0, 0, 0, 0.4, 0]);
  const f = pairFloors([frames], 3);
  const at = (i: number, j: number) => f[i * 3 + j];
  expect([at(0, 0), at(1, 1), at(2, 2)]).toEqual([0, 0, 0]);
  expect(at(0, 1)).toBeCloseTo(0.1, 6);
  expect(at(0, 2)).toBeCloseTo(0.4, 6);
  expect(at(1, 2)).toBeCloseTo(0.5, 6); // frame 1: hypot(0.3, 0.4), below hypot(0.1, 0.5)
  expect(at(2, 1)).toBe(at(1, 2));

  const batch = { batch: 1, aaT: data.trajectories[0].slice(66, 132), aaPrev: data.trajectories[0].slice(0, 66), cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 0, beta: 1, energyClamp: 0, threads: 2 };
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, floorWeight: 10 } };
  const t = Trainer.create(data, { preset, seed: 10, threads: 2 });
  const off = await t.model.evaluate(batch);
  const on = await t.model.evaluate({ ...batch, floorWeight: 10 });
  expect(off.floor).toBeGreaterThan(0); // an untrained decoder puts atoms closer than the data ever has
  expect((on.total - off.total) / (10 * off.floor!)).toBeCloseTo(1, 4);
  // floors of 0 everywhere: nothing below them
  t.model.setPairFloors(new Float32Array(22 * 22));
  expect((await t.model.evaluate(batch)).floor).toBe(0);
  expect(() => t.model.setPairFloors(new Float32Array(10))).toThrow(/setPairFloors: floors/);
  t.model.setPairFloors(null);
  expect((await t.model.evaluate(batch)).floor).toBeUndefined();
});


test('steric floors: only heavy-atom pairs more than three bonds apart, each at least floorVdw x its vdW sum', () => {
  const top = data.topology;
  const n = top.atoms.length;
  const floors = pairFloors(data.trajectories, n);
  const steric = stericFloors(floors, top, DEFAULT_FLOOR_VDW);
  const adj: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of top.bonds) adj[a].push(b), adj[b].push(a);
  const within3 = (a: number, b: number) => {
    let front = new Set([a]);
    const seen = new Set([a]);
    for (let d = 0; d < 3; d++) {
      const next = new Set<number>();
      for (const v of front) for (const w of adj[v]) if (!seen.has(w)) seen.add(w), next.add(w);
      front = next;
    }
    return seen.has(b);
  };
  let kept = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const f = steric[i * n + j];
      expect(f).toBe(steric[j * n + i]);
      const heavy = top.atoms[i].element !== 'H' && top.atoms[j].element !== 'H';
      if (i === j || !heavy || within3(i, j)) {
        expect(f).toBe(0);
        continue;
      }
      kept++;
      const vdw = DEFAULT_FLOOR_VDW * (VDW_RADII[top.atoms[i].element] + VDW_RADII[top.atoms[j].element]);
      expect(f).toBeCloseTo(Math.max(vdw, floors[i * n + j]), 6);
    }
  }
  expect(kept / 2).toBeGreaterThan(0); // ADP's backbone ends are more than three bonds apart
  // a margin above the data's closest approach raises the floor to it
  const raised = stericFloors(floors, top, 1.5);
  const i = steric.findIndex((f) => f > 0);
  expect(raised[i]).toBeGreaterThan(steric[i]);
});

test('decodes: "displacement": the decoded frame is A(t−1) plus the collapse; it needs the previous frame', async () => {
  const tiny = PRESETS.tiny;
  const make = (decodes: 'frame' | 'displacement', frameBased = false) =>
    Trainer.create(data, { preset: { ...tiny, architecture: { ...tiny.architecture, decodes } }, seed: 4, threads: 2, previousFrame: !frameBased });
  const B = 2;
  const z = new Rng(2).normals(new Float32Array(B * 8));
  const prev = data.trajectories[0].slice(0, B * 66);
  prev[3 * 5] += 10; // atom 5 of the first frame 10 nm out along x, far outside the 1.8 nm grid
  const cg = new Float32Array(B * 18).fill(0.01);
  const half = tiny.architecture.width / 2;
  const frame = await make('frame').model.decode({ batch: B, aaPrev: prev, cgT: cg, z });
  const displaced = await make('displacement').model.decode({ batch: B, aaPrev: prev, cgT: cg, z });
  // a frame decoder's atoms are densities' centroids: inside the grid
  expect(Math.max(...Array.from(frame).map(Math.abs))).toBeLessThanOrEqual(half + 1e-6);
  // a displacement decoder moves each atom of A(t−1) by at most the grid's half-width
  for (let i = 0; i < B * 66; i++) expect(Math.abs(displaced[i] - prev[i])).toBeLessThanOrEqual(half + 1e-6);
  expect(displaced[3 * 5]).toBeGreaterThan(10 - half);
  expect(() => make('displacement', true)).toThrow(/previous frame/);
});

test('prevNoise: A(t−1) conditioned on gets Gaussian noise of that size, the target stays clean, and no draw is made when it is off', () => {
  const B = 4, N = 22;
  const clean = { aaT: new Float32Array(B * N * 3).fill(1), aaPrev: new Float32Array(B * N * 3).fill(2), cgT: new Float32Array(B * 18), eps: new Float32Array(B * 8) };
  const settings = { ...PRESETS['adp-cpu'].training, prevNoise: 0.05 };
  const noisy = withConditionNoise(clean, B, settings, new Rng(5));
  expect(noisy.aaT).toBe(clean.aaT);
  expect(noisy.cgCondition).toBeUndefined();
  const d = Array.from(noisy.aaPrev, (v, i) => v - clean.aaPrev[i]);
  const sd = Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length);
  expect(sd).toBeGreaterThan(0.04);
  expect(sd).toBeLessThan(0.06);
  const a = new Rng(5), b = new Rng(5);
  expect(withConditionNoise(clean, B, PRESETS['adp-cpu'].training, a)).toEqual(clean);
  expect(a.uniform()).toBe(b.uniform());
});

test('freeBits: each latent dimension\'s batch-mean KL is floored in the trained term, the reported KL stays plain', async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 6, threads: 2 });
  const B = 4, L = PRESETS.tiny.architecture.latent;
  const { aaT, aaPrev, cgT } = fourPairs();
  const eps = new Rng(4).normals(new Float32Array(B * L));
  const loss = (freeBits: number) => t.model.evaluate({ batch: B, aaT, aaPrev, cgT, eps, gamma: 0, beta: 1, freeBits, threads: 2 });
  const plain = await loss(0);
  const floored = await loss(100); // far above any dimension's KL: the trained term is L * 100
  expect(floored.kl).toBeCloseTo(plain.kl, 6);
  expect(floored.total - plain.total).toBeCloseTo(L * 100 - plain.kl, 3);
});

test("selfFeed: a share of the samples' A(t-1) is the model's own rollout of the frames before t, placed as the data's would be; drawn only when on", async () => {
  const N = data.topology.atoms.length;
  const n = data.mapping.beads;
  const L = PRESETS.tiny.architecture.latent;
  const make = (selfFeed?: { share: number; steps?: number; from?: number }) =>
    Trainer.create(data, { preset: { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, batch: 32, selfFeed } }, seed: 21, threads: 2, augment: false });
  // the plan and its application, against a rollout made here
  const t = make();
  const cg = data.trajectories.map((x) => applyMapping(data.mapping, x, x.length / (N * 3)));
  const rows = [{ trajectory: 0, frame: 6, previous: 5 }, { trajectory: 1, frame: 2, previous: 1 }, { trajectory: 1, frame: 9, previous: 7 }].map((r) => ({ ...r, rotation: IDENTITY }));
  const plan = planSelfFeed({ share: 1, steps: 2 }, rows, data.trajectories, cg, t.layout, L, new Rng(3));
  expect([...plan.feedRows]).toEqual([1, 0, 1]); // row 1's previous frame has only one frame before it
  const batch = { aaT: new Float32Array(3 * N * 3), aaPrev: new Float32Array(3 * N * 3).fill(7), cgT: new Float32Array(3 * n * 3), eps: new Float32Array(3 * L), ...plan };
  const fed = await applySelfFeed(t.model, batch, 2, t.layout, L, { threads: 2, bf16: false });
  expect(Object.keys(fed).filter((k) => k.startsWith('feed'))).toEqual([]);
  expect(fed.aaPrev.subarray(N * 3, 2 * N * 3).every((v) => v === 7)).toBe(true); // not fed: untouched
  const z = new Float32Array(2 * L);
  z.set(plan.feedZ.subarray(0, L), 0);
  z.set(plan.feedZ.subarray(L, 2 * L), L);
  const own = await t.model.rollout({ prev: data.trajectories[0].slice(3 * N * 3, 4 * N * 3), cg: cg[0].slice(4 * n * 3, 6 * n * 3), z, steps: 2, batch: 1, threads: 2 });
  const last = own.subarray(N * 3);
  const c = [0, 1, 2].map((k) => last.filter((_, i) => i % 3 === k).reduce((a, v) => a + v, 0) / N);
  fed.aaPrev.subarray(0, N * 3).forEach((v, i) => expect(v).toBeCloseTo(last[i] - c[i % 3], 4));
  // in training: every fed sample's A(t-1) is no frame of the data; before `from`, the plain run's step
  const plain = await make().next();
  expect((await make({ share: 1, steps: 2, from: 1 }).next()).total).toBe(plain.total);
  const trainer = make({ share: 0.5, steps: 1 });
  const model = trainer.model;
  let notData = 0;
  const spy: typeof model.trainStep = (o) => {
    expect(Object.keys(o).filter((k) => k.startsWith('feed'))).toEqual([]);
    for (let b = 0; b < o.batch; b++) {
      const prev = o.aaPrev.subarray(b * N * 3, (b + 1) * N * 3);
      const inData = data.trajectories.some((x) => {
        for (let f = 0; f < x.length / (N * 3); f++) {
          const m = [0, 1, 2].map((k) => { let s = 0; for (let a = 0; a < N; a++) s += x[(f * N + a) * 3 + k] / N; return s; });
          if (prev.every((v, i) => Math.abs(v - (x[f * N * 3 + i] - m[i % 3])) < 1e-5)) return true;
        }
        return false;
      });
      if (!inData) notData++;
    }
    return model.trainStep(o);
  };
  Object.assign(trainer, {
    model: new Proxy(model, { get: (m, k) => { const v = Reflect.get(m, k); return k === 'trainStep' ? spy : typeof v === 'function' ? v.bind(m) : v; } }),
  });
  const report = await trainer.next();
  expect(notData).toBeGreaterThan(6);
  expect(notData).toBeLessThan(26);
  expect(report.total).not.toBe(plain.total);
});

// The prior decode's own CG condition (training priorDecode.cgNoise): half the
// conditions noisy and then denoised as a rollout would, the clean ones exact.
import { bondLengths } from '../../lib/analysis/geometry';
import { Rng } from '../../lib/core/rng';
import { applyMapping } from '../../lib/model/mapping';
import { cgBondTree } from '../../lib/model/noise';
import { PRESETS, type Preset } from '../../lib/model/presets';
import { PRIOR_NOISY_SHARE, priorConditionOf } from '../../lib/model/priorcondition';
import { Trainer, type TrainingData } from '../../lib/model/train';
import { adpDataset } from '../support/data';

let data: TrainingData;
let cg: Float32Array[];

beforeAll(async () => {
  // 40 bundled frames as two 20-frame runs, with the System's bonds (the CG bond tree needs them)
  const d = await adpDataset();
  data = { ...d, trajectories: [d.trajectories[0].slice(0, 20 * 66), d.trajectories[0].slice(20 * 66, 40 * 66)] };
  cg = data.trajectories.map((t) => applyMapping(data.mapping, t, t.length / 66));
});

const withPrior = (priorDecode: object, architecture: object = {}): Preset => ({
  ...PRESETS.tiny,
  architecture: { ...PRESETS.tiny.architecture, ...architecture },
  training: { ...PRESETS.tiny.training, priorDecode: priorDecode as Preset['training']['priorDecode'] },
});

test('the native prior decode takes its own CG condition: the same frames change nothing, others change only it', async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 5, threads: 2 });
  const B = 3, L = PRESETS.tiny.architecture.latent;
  const aaT = data.trajectories[0].slice(66, 66 * (1 + B)), aaPrev = data.trajectories[0].slice(0, 66 * B);
  const cgT = cg[0].slice(18, 18 * (1 + B));
  for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) {
    // centred on its beads, as training places every sample
    let m = 0;
    for (let k = 0; k < 6; k++) m += cgT[b * 18 + k * 3 + c] / 6;
    for (let k = 0; k < 6; k++) cgT[b * 18 + k * 3 + c] -= m;
  }
  const rng = new Rng(6);
  const [eps, epsPrior] = [rng.normals(new Float32Array(B * L)), rng.normals(new Float32Array(B * L))];
  const loss = (o: object) => t.model.evaluate({ batch: B, aaT, aaPrev, cgT, eps, epsPrior, priorWeight: 1, gamma: 0, beta: 1, threads: 2, ...o });
  const own = await loss({});
  expect((await loss({ priorCgCondition: cgT.slice() })).prior).toBe(own.prior);
  const moved = cgT.map((x, i) => x + (i % 18 === 0 ? 0.05 : 0)); // each sample's first bead, along x
  const other = await loss({ priorCgCondition: moved });
  expect(other.prior).not.toBeCloseTo(own.prior!, 6);
  expect(other.coord).toBe(own.coord); // the posterior decode keeps its condition
  expect(() => loss({ priorCgCondition: moved.subarray(3) })).toThrow(/evaluate: priorCgCondition/);
  // following its condition, the prior decode's CG target is that condition, centred: the same frames (or
  // the same moved rigidly) change nothing, and moved beads are the target (a decoder cannot match both)
  expect((await loss({ priorCgCondition: cgT.slice(), priorFollowsCondition: true })).prior).toBeCloseTo(own.prior!, 7);
  expect((await loss({ priorCgCondition: cgT.map((x) => x + 0.3), priorFollowsCondition: true })).prior).toBeCloseTo(
    (await loss({ priorCgCondition: cgT.map((x) => x + 0.3) })).prior!, 7);
  expect((await loss({ priorFollowsCondition: true })).prior).toBe(own.prior); // without a condition of its own: cgT
  const follows = await loss({ priorCgCondition: moved, priorFollowsCondition: true });
  expect(follows.prior).not.toBeCloseTo(other.prior!, 6);
  expect(follows.coord).toBe(own.coord);
});

test('half the prior conditions are noisy, denoised towards the training bond lengths; the clean ones are exact', async () => {
  const level = 0.02;
  const pc = priorConditionOf(PRESETS.tiny.architecture, { ...PRESETS.tiny.training, priorDecode: { weight: 1, cgNoise: level } }, data.topology, data.mapping, cg)!;
  expect(priorConditionOf(PRESETS.tiny.architecture, PRESETS.tiny.training, data.topology, data.mapping, cg)).toBeUndefined();
  const B = 40;
  const cgT = new Float32Array(B * 18);
  for (let b = 0; b < B; b++) cgT.set(cg[b % 2].subarray((b % 20) * 18, (b % 20 + 1) * 18), b * 18);
  const drawn = pc.draw({ aaT: new Float32Array(0), aaPrev: new Float32Array(0), cgT, eps: new Float32Array(0) }, B, new Rng(9));
  const levels = drawn.priorCgLevel!;
  const noisy = [...levels.keys()].filter((b) => levels[b] > 0);
  expect(noisy.length).toBeGreaterThan(B * PRIOR_NOISY_SHARE - 10);
  expect(noisy.length).toBeLessThan(B * PRIOR_NOISY_SHARE + 10);
  const frame = (x: Float32Array, b: number) => x.subarray(b * 18, (b + 1) * 18);
  let sq = 0;
  for (let b = 0; b < B; b++) {
    if (levels[b] === 0) expect(frame(drawn.priorCgCondition!, b)).toEqual(frame(cgT, b));
    else for (let i = 0; i < 18; i++) sq += (frame(drawn.priorCgCondition!, b)[i] - frame(cgT, b)[i]) ** 2;
  }
  expect(Math.sqrt(sq / (noisy.length * 18)) / level).toBeCloseTo(1, 0);

  const ready = await pc.denoised(drawn, 2);
  expect(ready.priorCgLevel).toBe(levels); // kept: it picks the noisy samples' energy margin
  for (let b = 0; b < B; b++) if (levels[b] === 0) expect(frame(ready.priorCgCondition!, b)).toEqual(frame(cgT, b));
  // the CG bond lengths' error against the clean frames': denoising shrinks it
  const tree = cgBondTree(data.topology, data.mapping);
  const bonds = Array.from(tree.order).filter((b) => tree.parent[b] >= 0).map((b) => [tree.parent[b], b]);
  const pick = (x: Float32Array) => Float32Array.from(noisy.flatMap((b) => [...frame(x, b)]));
  const lengths = (x: Float32Array) => bondLengths({ coords: pick(x), frames: noisy.length, atoms: 6 }, bonds);
  const [clean, raw, denoised] = [lengths(cgT), lengths(drawn.priorCgCondition!), lengths(ready.priorCgCondition!)];
  const rms = (x: Float64Array) => Math.sqrt(x.reduce((s, v, i) => s + (v - clean[i]) ** 2, 0) / x.length);
  expect(rms(denoised)).toBeLessThan(0.6 * rms(raw));
});

test('in training the prior condition is drawn after the prior z, so the posterior decode is the plain run’s', async () => {
  const first = (priorDecode: object) => Trainer.create(data, { preset: withPrior(priorDecode), seed: 13, threads: 2 }).next();
  const plain = await first({ weight: 1 });
  const noisy = await first({ weight: 1, cgNoise: 0.02 });
  expect(noisy.coord).toBe(plain.coord);
  expect(noisy.prior).not.toBeCloseTo(plain.prior!, 8);
  expect(() => Trainer.create(data, { preset: withPrior({ weight: 1, cgNoise: 0.02 }, { noiseInput: true }), threads: 2 })).toThrow(
    /priorDecode\.cgNoise needs a decoder not told its noise level \(architecture noiseInput false\)/,
  );
  const bondless = { ...data, topology: { ...data.topology, bonds: [] } };
  expect(() => Trainer.create(bondless, { preset: withPrior({ weight: 1, cgNoise: 0.02 }), threads: 2 })).toThrow(/priorDecode\.cgNoise: CG bead ALA:N has no chain of bonds to bead ACE:C/);
});

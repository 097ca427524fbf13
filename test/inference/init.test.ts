// train --init's state: a finished model's weights, settings and step, with a fresh optimiser.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { trainerStateFromModel } from '../../lib/inference/init';
import { PRESETS } from '../../lib/model/presets';
import { Trainer } from '../../lib/model/train';
import { adpTwoTrajectories } from '../support/data';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-init-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a trainer started from a model decodes as the model did, at its step, and trains on', async () => {
  const data = await adpTwoTrajectories();
  const { tiny } = PRESETS;
  const preset = { ...tiny, name: 'tiny-canonical', architecture: { ...tiny.architecture, orientation: 'canonical' as const }, training: { ...tiny.training, cgNoise: 0.01 } };
  const trained = Trainer.create(data, { preset, seed: 3, threads: 1 });
  for await (const _ of trained.run(6));
  const file = path.join(dir, 'm.tcbm');
  await trained.finalize(file, { posteriorPairs: 20, seedFrames: 5 });

  const state = await trainerStateFromModel(file, 9);
  expect(state).toMatchObject({ step: 6, seed: 9, optimizer: false, settings: { cgNoise: 0.01 } });
  expect(state.canonical!.reference).toEqual(Array.from(trained.reference!));
  const init = await Trainer.resume(data, state, { threads: 1 });
  expect(init.step).toBe(6);
  const B = 2;
  const batch = { batch: B, aaT: data.trajectories[0].slice(66, 66 * 3), aaPrev: data.trajectories[0].slice(0, 66 * 2), cgT: new Float32Array(B * 18).fill(0.1), eps: new Float32Array(B * 8), gamma: 0, beta: 1, energyClamp: 0, threads: 1 };
  expect(await init.model.evaluate(batch)).toEqual(await trained.model.evaluate(batch));
  const reports = [];
  for await (const r of init.run(8)) reports.push(r);
  expect(reports.map((r) => r.step)).toEqual([6, 7]);
  expect(reports.every((r) => Number.isFinite(r.total))).toBe(true);
  await trained.saveCheckpoint(path.join(dir, 'c.ckpt'));
  await expect(trainerStateFromModel(path.join(dir, 'c.ckpt'))).rejects.toThrow(/is a training checkpoint, not a model/);
});

/** A `tiny` model trained 4 steps on seed `seed`, written to `name`.tcbm: what train --init starts from. */
async function tinyModel(name: string, seed: number) {
  const data = await adpTwoTrajectories();
  const trained = Trainer.create(data, { preset: PRESETS.tiny, seed, threads: 1 });
  for await (const _ of trained.run(4));
  const file = path.join(dir, `${name}.tcbm`);
  await trained.finalize(file, { posteriorPairs: 20, seedFrames: 5 });
  return { data, trained, file };
}

test('a noise input grown on a model (train --init) starts silent, learns what the level means, and only from weights alone', async () => {
  const { tiny } = PRESETS;
  const { data, trained, file } = await tinyModel('plain', 3);
  const grownPreset = { ...tiny, architecture: { ...tiny.architecture, noiseInput: true } };
  const grown = await Trainer.resume(data, await trainerStateFromModel(file, 9), {
    threads: 1, preset: grownPreset, training: { cgNoise: 0.02, cgNoiseLevels: 'half' },
  });
  expect(grown.parameterCount).toBe(trained.parameterCount + 3 * tiny.architecture.decoderWidth); // two shifts: w and 2w channels

  const B = 2;
  const batch = { batch: B, aaT: data.trajectories[0].slice(66, 66 * 3), aaPrev: data.trajectories[0].slice(0, 66 * 2), cgT: new Float32Array(B * 18).fill(0.1), eps: new Float32Array(B * 8), gamma: 0, beta: 1, energyClamp: 0, threads: 1 };
  const decode = (t: Trainer, cgNoise: number) => t.model.decode({ batch: B, aaPrev: batch.aaPrev, cgT: batch.cgT, z: batch.eps, cgNoise, threads: 1 });
  // silent at first: any level decodes as the model it grew from
  expect(await grown.model.evaluate({ ...batch, cgLevel: new Float32Array([0.02, 0.01]) })).toEqual(await trained.model.evaluate(batch));
  expect(await decode(grown, 0.02)).toEqual(await decode(trained, 0));
  for await (const _ of grown.run(8));
  const [clean, rough] = [await decode(grown, 0), await decode(grown, 0.02)];
  expect(Math.max(...clean.map((x, i) => Math.abs(x - rough[i])))).toBeGreaterThan(1e-6);
  // level 0 adds nothing: a level of 0 and no level at all are one input
  expect(await grown.model.evaluate({ ...batch, cgLevel: new Float32Array(B) })).toEqual(await grown.model.evaluate(batch));
  expect(() => grown.model.evaluate({ ...batch, cgLevel: new Float32Array([0.01, -0.01]) })).toThrow(/cgLevel must hold finite noise levels >= 0 nm/);

  // a checkpoint's optimiser has no moments for the new weights: it cannot grow one
  await expect(Trainer.resume(data, await trained.checkpoint(), { threads: 1, preset: grownPreset })).rejects.toThrow(/architectures differ/);
  // the grown model's own file loads as it is
  const grownFile = path.join(dir, 'grown.tcbm');
  await grown.finalize(grownFile, { posteriorPairs: 20, seedFrames: 5 });
  const again = await Trainer.resume(data, await trainerStateFromModel(grownFile, 9), { threads: 1 });
  expect(await decode(again, 0.02)).toEqual(rough);
});

test('binary latent dimensions decode any z of the same signs alike, train through the sign, and change only from weights alone', async () => {
  const { tiny } = PRESETS;
  const { data, trained, file } = await tinyModel('continuous', 4);
  const binaryPreset = { ...tiny, architecture: { ...tiny.architecture, binaryLatent: 5 } };
  const binary = await Trainer.resume(data, await trainerStateFromModel(file, 9), { threads: 1, preset: binaryPreset });
  expect(binary.parameterCount).toBe(trained.parameterCount); // no weights of its own

  const B = 2;
  const aaPrev = data.trajectories[0].slice(0, 66 * 2);
  const cgT = new Float32Array(B * 18).fill(0.1);
  const decode = (t: Trainer, z: number[]) => t.model.decode({ batch: B, aaPrev, cgT, z: Float32Array.from(z), threads: 1 });
  // 8 latent dimensions, the first 5 binary: only their signs reach the decoder (0 counts as +)
  const z = [0.3, -1.2, 2.0, -0.01, 0, 0.5, -0.7, 1.1, /* second frame */ -0.4, 0.9, 1.5, -2.2, 0.2, -0.3, 0.8, 0.1];
  const sameSigns = z.map((v, i) => (i % 8 < 5 ? (v >= 0 ? 1 : -1) : v));
  expect(await decode(binary, z)).toEqual(await decode(binary, sameSigns));
  expect(await decode(binary, sameSigns)).toEqual(await decode(trained, sameSigns)); // the same weights
  // a continuous dimension still moves the output; one of a binary dimension's sign flipped does too
  const moved = async (w: number[]) => {
    const [a, b] = [await decode(binary, z), await decode(binary, w)];
    return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  };
  expect(await moved(z.map((v, i) => (i === 6 ? v + 1 : v)))).toBeGreaterThan(1e-6);
  expect(await moved(z.map((v, i) => (i === 1 ? -v : v)))).toBeGreaterThan(1e-6);
  expect(await moved(z.map((v, i) => (i === 1 ? 3 * v : v)))).toBe(0);
  // the encoder still learns through the sign (straight-through): training runs and changes it
  const before = await binary.checkpoint();
  const reports = [];
  for await (const r of binary.run(10)) reports.push(r);
  expect(reports.every((r) => Number.isFinite(r.total) && r.kl >= 0)).toBe(true);
  expect((await binary.checkpoint()).weights).not.toEqual(before.weights);
  // its own file keeps the setting; a checkpoint (with its optimiser) cannot change it
  const binaryFile = path.join(dir, 'binary.tcbm');
  await binary.finalize(binaryFile, { posteriorPairs: 20, seedFrames: 5 });
  const again = await Trainer.resume(data, await trainerStateFromModel(binaryFile, 9), { threads: 1 });
  expect(again.preset.architecture.binaryLatent).toBe(5);
  expect(await decode(again, z)).toEqual(await decode(binary, z));
  await expect(Trainer.resume(data, await trained.checkpoint(), { threads: 1, preset: binaryPreset })).rejects.toThrow(/architectures differ/);
  expect(() => Trainer.create(data, { preset: { ...tiny, architecture: { ...tiny.architecture, binaryLatent: 9 } }, threads: 1 })).toThrow(/binaryLatent must be an integer 0 \.\.\. latent \(8\)/);
});

test('binaryFrom switches the binary latent dimensions on at its step, and a model written before it records none', async () => {
  const data = await adpTwoTrajectories();
  const { tiny } = PRESETS;
  const preset = { ...tiny, architecture: { ...tiny.architecture, binaryLatent: 8 }, training: { ...tiny.training, binaryFrom: 3 } };
  const t = Trainer.create(data, { preset, seed: 5, threads: 1 });
  const B = 2;
  const aaPrev = data.trajectories[0].slice(0, 66 * 2);
  const cgT = new Float32Array(B * 18).fill(0.1);
  const z = Float32Array.from({ length: B * 8 }, (_, i) => (i % 3) - 0.7);
  const doubled = z.map((v) => 2 * v);
  const decode = (w: Float32Array) => t.model.decode({ batch: B, aaPrev, cgT, z: w, threads: 1 });
  for await (const _ of t.run(2));
  expect(t.binaryLatent).toBe(0);
  expect(await decode(z)).not.toEqual(await decode(doubled)); // continuous before step 3
  const early = path.join(dir, 'early.tcbm');
  await t.finalize(early, { posteriorPairs: 20, seedFrames: 5 });
  for await (const _ of t.run(5));
  expect(t.binaryLatent).toBe(8);
  expect(await decode(z)).toEqual(await decode(doubled)); // only the signs from step 3 on
  const late = path.join(dir, 'late.tcbm');
  await t.finalize(late, { posteriorPairs: 20, seedFrames: 5 });
  const recorded = async (f: string) => (await trainerStateFromModel(f, 1)).preset.architecture.binaryLatent;
  expect(await recorded(early)).toBe(0);
  expect(await recorded(late)).toBe(8);
});

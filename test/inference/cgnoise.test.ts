// The CG input's noise level: estimated from its bond lengths against the
// model's training frames, or given; checked against what the model can take.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cgNoiseLevel, estimateCgNoise } from '../../lib/inference/cgnoise';
import { denoiseCg, fitCgPrior } from '../../lib/inference/cgdenoise';
import { chiralVolumes } from '../../lib/analysis/geometry';
import { cgBondTree } from '../../lib/model/noise';
import { readModelFile, type ModelInfo } from '../../lib/inference/modelinfo';
import { createTrajectory, openTrajectory } from '../../lib/io/trajectory';
import { Rng } from '../../lib/core/rng';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-cgnoise-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let info: ModelInfo;
beforeAll(async () => {
  info = (await readModelFile(path.join(__dirname, '../../models/adp-cpu.tcbm'))).info;
});

/** The model's own training CG frames (its seed bank) with Gaussian noise of `sd` nm per coordinate, as a DCD. */
async function noisyCg(sd: number, name: string): Promise<string> {
  const rng = new Rng(7);
  const coords = info.seedCg.map((x) => x + sd * rng.normal());
  const file = path.join(dir, `${name}.dcd`);
  const w = await createTrajectory(file, { atoms: info.mapping.beads });
  await w.write({ coords, frames: info.seedFrames });
  await w.close();
  return file;
}

test('the estimate recovers the noise added to training-like CG frames, and finds none in them as they are', async () => {
  // 0.001 nm widens the bond lengths by less than their own spread: no evidence of noise, level 0
  for (const [sd, within] of [[0, 0], [0.001, 0.001], [0.01, 0.001], [0.02, 0.0015]] as const) {
    const reader = await openTrajectory(await noisyCg(sd, `n${sd}`));
    try {
      const e = await estimateCgNoise(reader, info);
      expect(e.estimated).toBe(true);
      if (sd < 0.002) expect(e.level).toBe(0);
      else expect(Math.abs(e.level - sd)).toBeLessThan(within);
      expect(e.trainingBondStd).toBeGreaterThan(0);
      // isotropic noise sd on both beads adds 2 sd² to a bond length's variance (to first
      // order: the noise across the bond adds ~4 sd⁴ / length², 3 % at 0.02 nm)
      const expected = e.trainingBondStd! ** 2 + 2 * sd * sd;
      expect(Math.abs(e.inputBondStd! ** 2 - expected)).toBeLessThan(0.1 * expected);
    } finally {
      await reader.close();
    }
  }
});

test('rough input is denoised for a model not told its level, and told to one that is; bad levels are refused', async () => {
  const reader = await openTrajectory(await noisyCg(0, 'clean'));
  const rough = await openTrajectory(await noisyCg(0.02, 'rough'));
  try {
    const told = (noiseInput: boolean) => ({ ...info, preset: { ...info.preset, architecture: { ...info.preset.architecture, noiseInput } } });
    const plain = told(false);
    expect(await cgNoiseLevel('auto', reader, plain)).toMatchObject({ level: 0, estimated: true, denoised: false });
    expect(await cgNoiseLevel(0, rough, plain)).toEqual({ level: 0, estimated: false, denoised: false });
    expect(await cgNoiseLevel('auto', rough, plain)).toMatchObject({ estimated: true, denoised: true });
    expect(await cgNoiseLevel(0.02, reader, plain)).toEqual({ level: 0.02, estimated: false, denoised: true });
    const noisy = told(true);
    expect(await cgNoiseLevel(0.015, reader, noisy)).toEqual({ level: 0.015, estimated: false, denoised: false });
    expect(await cgNoiseLevel(undefined, rough, noisy)).toMatchObject({ estimated: true, denoised: false });
    // a topology without bonds: nothing to estimate or denoise with
    const bondless = { ...plain, topology: { ...plain.topology, bonds: [] } };
    expect(await cgNoiseLevel('auto', rough, bondless)).toEqual({ level: 0, estimated: false, denoised: false });
    await expect(cgNoiseLevel(0.02, rough, bondless)).rejects.toThrow(/no bonds joining its CG beads, so its input cannot be denoised/);
    await expect(cgNoiseLevel('auto', rough, { ...noisy, topology: bondless.topology })).rejects.toThrow(/cannot be estimated; give it/);
    for (const bad of [-0.01, 1, NaN, '0.02', 'loud']) await expect(cgNoiseLevel(bad, reader, noisy)).rejects.toThrow(/cgNoise must be "auto" or a noise level in nm/);
  } finally {
    await Promise.all([reader.close(), rough.close()]);
  }
});

test('denoising restores bond lengths, angles and handedness, keeps dihedrals, and leaves level 0 alone', async () => {
  const prior = fitCgPrior(info.seedCg, info.seedFrames, cgBondTree(info.topology, info.mapping));
  expect(prior.bonds).toHaveLength(info.mapping.beads - 1);
  expect(prior.volumes).toHaveLength(1); // ADP's CA: N, C and CB
  const F = 400, n = info.mapping.beads;
  const clean = info.seedCg.slice(0, F * n * 3);
  const rng = new Rng(11);
  const noisy = clean.map((x) => x + 0.02 * rng.normal());
  expect(await denoiseCg(noisy, F, prior, 0)).toEqual(noisy);
  const kept = noisy.slice();
  const out = await denoiseCg(noisy, F, prior, 0.02, { threads: 2 });
  expect(noisy).toEqual(kept); // the input is not written
  // frames are independent: any thread count, the same frames
  expect(await denoiseCg(noisy, F, prior, 0.02, { threads: 1 })).toEqual(out);
  const prior0 = fitCgPrior(out, F, cgBondTree(info.topology, info.mapping));
  const noisy0 = fitCgPrior(noisy, F, cgBondTree(info.topology, info.mapping));
  prior.bonds.forEach((b, i) => {
    expect(Math.abs(prior0.bonds[i].mean - b.mean)).toBeLessThan(0.003);
    expect(prior0.bonds[i].std).toBeLessThan(b.std); // pulled to the training lengths, not beyond their spread
    expect(noisy0.bonds[i].std).toBeGreaterThan(5 * b.std);
  });
  prior.angles.forEach((a, i) => expect(prior0.angles[i].std).toBeLessThan(1.5 * a.std)); // noise made them ~5x wider
  // every frame right-handed again, though 0.02 nm of noise mirrors some
  const v = prior.volumes[0];
  const signs = (x: Float32Array) => Array.from({ length: F }, (_, f) => Math.sign(chiralVolumes({ coords: x.subarray(f * n * 3, (f + 1) * n * 3), frames: 1, atoms: n }, [{ n: v.i, ca: v.j, c: v.k, cb: v.l }])[0]));
  expect(signs(noisy).filter((s) => s !== Math.sign(v.mean)).length).toBeGreaterThan(0);
  expect(signs(out).every((s) => s === Math.sign(v.mean))).toBe(true);
  // the beads move by about what the noise moved them, not by a conformational change
  let moved = 0;
  for (let i = 0; i < out.length; i++) moved += (out[i] - clean[i]) ** 2;
  expect(Math.sqrt(moved / (F * n))).toBeLessThan(0.02 * Math.sqrt(3));
});

test('the native denoiser refuses a prior that names a missing bead, and NaN frames, with one line', async () => {
  const prior = fitCgPrior(info.seedCg, info.seedFrames, cgBondTree(info.topology, info.mapping));
  const frame = info.seedCg.slice(0, 18);
  const bad = { ...prior, bonds: [...prior.bonds, { i: 0, j: 9, mean: 0.15, std: 0.003 }] };
  const err = await denoiseCg(frame, 1, bad, 0.02).catch((e: Error) => e);
  expect((err as Error).message).toMatch(/prior names bead 9 of 6/);
  expect((err as Error).message).not.toMatch(/\n/);
  const nan = frame.slice();
  nan[4] = NaN;
  await expect(denoiseCg(nan, 1, prior, 0.02)).rejects.toThrow(/denoiseCg: coords.*(NaN|not finite)/i);
});

// The CG input's noise level: estimated from its bond lengths against the
// model's training frames, or given; checked against what the model can take.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cgNoiseLevel, estimateCgNoise } from '../../lib/inference/cgnoise';
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
  for (const [sd, within] of [[0, 0.002], [0.01, 0.001], [0.02, 0.0015]] as const) {
    const reader = await openTrajectory(await noisyCg(sd, `n${sd}`));
    try {
      const e = await estimateCgNoise(reader, info);
      expect(e.estimated).toBe(true);
      expect(Math.abs(e.level - sd)).toBeLessThan(within);
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

test('a model without a noise input takes no level; bad levels are refused', async () => {
  const reader = await openTrajectory(await noisyCg(0, 'clean'));
  try {
    const told = (noiseInput: boolean) => ({ ...info, preset: { ...info.preset, architecture: { ...info.preset.architecture, noiseInput } } });
    const plain = told(false);
    expect(await cgNoiseLevel('auto', reader, plain)).toBeUndefined();
    expect(await cgNoiseLevel(0, reader, plain)).toBeUndefined();
    await expect(cgNoiseLevel(0.02, reader, plain)).rejects.toThrow(/not trained with a noise input and takes no noise level/);
    const noisy = told(true);
    expect(await cgNoiseLevel(0.015, reader, noisy)).toEqual({ level: 0.015, estimated: false });
    expect((await cgNoiseLevel(undefined, reader, noisy))!.estimated).toBe(true);
    for (const bad of [-0.01, 1, NaN, '0.02', 'loud']) await expect(cgNoiseLevel(bad, reader, noisy)).rejects.toThrow(/cgNoise must be "auto" or a noise level in nm/);
  } finally {
    await reader.close();
  }
});

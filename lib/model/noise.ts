// Noise on what the network is conditioned on, drawn per training batch: on the
// CG frame (cgNoise: for CG input rougher than the training frames) and on
// A(t−1) (prevNoise: for a rollout that feeds on its own, imperfect frames).
import type { Rng } from '../core/rng';
import type { TrainingSettings } from './presets';

// a type, not an interface: batches are also Records of arrays (distributed shareOf)
export type ConditionedBatch = {
  aaT: Float32Array;
  aaPrev: Float32Array;
  cgT: Float32Array;
  eps: Float32Array;
  cgCondition?: Float32Array;
};

/**
 * `batch` (B samples) with its conditions noised as `settings` ask: cgCondition,
 * the CG frame with noise (the CG loss keeps the clean cgT), and aaPrev replaced
 * by a noisy copy (A(t−1) with Gaussian noise of prevNoise nm per atom and
 * component; the target A(t) stays clean, so a decoder of displacements learns
 * to undo the noise). No draw is made for a noise that is off.
 */
export function withConditionNoise(batch: ConditionedBatch, B: number, settings: TrainingSettings, rng: Rng): ConditionedBatch {
  const out = { ...batch };
  const noise = settings.cgNoise ?? 0;
  if (noise > 0) {
    const cgCondition = rng.normals(new Float32Array(batch.cgT.length));
    const perSample = batch.cgT.length / B;
    for (let b = 0; b < B; b++) {
      const level = settings.cgNoiseLevels === 'mixed' ? (rng.uniform() < 0.5 ? 0 : noise * (1 - rng.uniform())) : noise;
      for (let i = b * perSample; i < (b + 1) * perSample; i++) cgCondition[i] = batch.cgT[i] + level * cgCondition[i];
    }
    out.cgCondition = cgCondition;
  }
  const prev = settings.prevNoise ?? 0;
  if (prev > 0) {
    const aaPrev = rng.normals(new Float32Array(batch.aaPrev.length));
    for (let i = 0; i < aaPrev.length; i++) aaPrev[i] = batch.aaPrev[i] + prev * aaPrev[i];
    out.aaPrev = aaPrev;
  }
  return out;
}

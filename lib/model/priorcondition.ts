// The prior decode's own CG condition (training `priorDecode.cgNoise`): half the
// conditions are the clean CG frame with Gaussian noise, denoised as a rollout
// denoises rough input it is not told the level of (cgdenoise.ts). The decoder
// then meets, at the z a rollout draws, the beads it is given when users feed
// it noisy CG or a CG simulation: bond lengths restored, each bead a little off
// where the atoms' mapping puts it. The CG target is the clean frame, or with
// `cgTarget: "condition"` the beads given: what is trained is to place such
// beads' atoms without straining the molecule.
import { TcbmError } from '../core/errors';
import type { Rng } from '../core/rng';
import { denoiseCg, fitCgPrior, type CgPrior } from '../inference/cgdenoise';
import type { Topology } from '../io/types';
import type { CgMapping } from './mapping';
import { cgBondTree, type ConditionedBatch } from './noise';
import { spacedFrames } from './picks';
import type { Architecture, TrainingSettings } from './presets';

/** The share of the prior decode's conditions that is noisy; the others are clean. */
export const PRIOR_NOISY_SHARE = 0.5;

/** The prior decode's noisy CG condition of a training run, or undefined when its settings ask for none. */
export function priorConditionOf(architecture: Architecture, settings: TrainingSettings, topology: Topology, mapping: CgMapping, cg: Float32Array[]): PriorCondition | undefined {
  const level = settings.priorDecode?.cgNoise ?? 0;
  if (!(level > 0)) return undefined;
  if (architecture.noiseInput) {
    // such a decoder is told its input's level and sees it undenoised: a rollout never sees these conditions
    throw new TcbmError('ERR_INVALID_ARG_VALUE', 'priorDecode.cgNoise needs a decoder not told its noise level (architecture noiseInput false)');
  }
  const tree = cgBondTree(topology, mapping, 'priorDecode.cgNoise'); // refused now, not at the first prior step
  return new PriorCondition(level, () => {
    // the prior a rollout fits (cgnoise.ts), here from up to 2,000 evenly spaced training CG frames
    const { coords, frames } = spacedFrames(cg, mapping.beads * 3, 2000);
    return fitCgPrior(coords, frames, tree);
  });
}

export class PriorCondition {
  private prior?: CgPrior;

  /** `level` nm of noise; `fit` makes the denoising prior, on first use */
  constructor(
    readonly level: number,
    private readonly fit: () => CgPrior,
  ) {}

  /**
   * `batch` (B samples, the global batch, so every rank of a group draws the
   * same) with priorCgCondition (cgT, with noise on the noisy samples) and
   * priorCgLevel (each sample's level: 0 or `level`).
   */
  draw(batch: ConditionedBatch, B: number, rng: Rng): ConditionedBatch {
    const per = batch.cgT.length / B;
    const condition = batch.cgT.slice();
    const levels = new Float32Array(B);
    const gauss = rng.normals(new Float32Array(batch.cgT.length));
    for (let b = 0; b < B; b++) {
      if (rng.uniform() >= PRIOR_NOISY_SHARE) continue;
      levels[b] = this.level;
      for (let i = b * per; i < (b + 1) * per; i++) condition[i] += this.level * gauss[i];
    }
    return { ...batch, priorCgCondition: condition, priorCgLevel: levels };
  }

  /**
   * `batch` (this rank's share) ready for the native step: the noisy samples'
   * prior conditions denoised, the clean ones as they are (a rollout of clean
   * input denoises nothing); priorCgLevel stays, for the noisy samples' energy
   * margin (priorDecode.noisyEnergyMargin).
   */
  async denoised(batch: ConditionedBatch, threads: number): Promise<ConditionedBatch> {
    const levels = batch.priorCgLevel;
    const noisy = levels ? [...levels.keys()].filter((b) => levels[b] > 0) : [];
    if (!levels || !batch.priorCgCondition || noisy.length === 0) return batch;
    const condition = batch.priorCgCondition.slice();
    const per = condition.length / levels.length;
    const frames = new Float32Array(noisy.length * per);
    noisy.forEach((b, k) => frames.set(condition.subarray(b * per, (b + 1) * per), k * per));
    const clean = await denoiseCg(frames, noisy.length, (this.prior ??= this.fit()), this.level, { threads });
    noisy.forEach((b, k) => condition.set(clean.subarray(k * per, (k + 1) * per), b * per));
    return { ...batch, priorCgCondition: condition };
  }
}

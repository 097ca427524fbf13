// What a training run resumes from: a checkpoint (weights and Adam's moments)
// or a finished model's weights alone (train --init, lib/inference/init.ts).
import type { CanonicalFrame } from './orientation';
import type { Preset, TrainingSettings } from './presets';

export interface TrainerState {
  preset: Preset;
  settings: TrainingSettings;
  step: number;
  rng: number[];
  seed: number;
  previousFrame: boolean;
  augment: boolean;
  /** canonical orientation's reference CG frame */
  canonical?: CanonicalFrame;
  weights: Uint8Array;
  /** false: `weights` hold no optimiser state (a model file's: train --init), so Adam starts afresh */
  optimizer?: boolean;
  /** weight averaging (settings.average): the running mean of the flattened parameters and how many steps it holds */
  average?: AveragedWeights;
}

export interface AveragedWeights {
  count: number;
  weights: Float32Array;
}

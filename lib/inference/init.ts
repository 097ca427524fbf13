// A training run that starts from a finished model's weights (train --init): a
// shipped model fine-tuned, or a run carried on when its checkpoint is lost.
import { TcbmError } from '../core/errors';
import { Rng } from '../core/rng';
import type { TrainerState } from '../model/state';
import { readModelFile } from './modelinfo';

/**
 * The state a Trainer resumes from to continue `file`'s model: its preset,
 * training settings, canonical reference and weights, at the step it was
 * trained to (so step-based schedules go on from there), with a fresh
 * optimiser (a model file keeps none) and the random stream of `seed`.
 */
export async function trainerStateFromModel(file: string, seed = 1): Promise<TrainerState> {
  const { info, weights } = await readModelFile(file);
  const step = info.training?.steps;
  if (!Number.isSafeInteger(step) || step < 0) throw new TcbmError('ERR_BAD_FORMAT', `${file}: the model does not say how many steps it was trained`);
  return {
    preset: info.preset,
    settings: info.settings,
    step,
    rng: new Rng(seed).state(),
    seed,
    previousFrame: info.previousFrame,
    augment: true,
    canonical: info.canonicalReference && { reference: Array.from(info.canonicalReference) },
    weights,
    optimizer: false,
  };
}

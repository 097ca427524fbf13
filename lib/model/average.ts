// Weight averaging (the training setting `average`; stochastic weight averaging,
// Izmailov et al. 2018): from a step on, the weights after every `every`-th step
// join a running mean, which validation and the models written use while
// training continues from the last weights.
import type { NativeModel } from '../../binding';
import { serialize } from '../core/queue';
import type { TrainingSettings } from './presets';
import type { AveragedWeights } from './state';

/**
 * The running mean after `step` steps: `mean` with the model's weights joined if
 * the setting takes this step, else `mean` as it was (undefined before the first).
 */
export async function joinAverage(
  model: NativeModel, average: TrainingSettings['average'], step: number, mean: AveragedWeights | undefined, threads: number,
): Promise<AveragedWeights | undefined> {
  if (!average || step <= average.from || (step - average.from) % (average.every ?? 1) !== 0) return mean;
  const weights = await serialize(() => model.parameters({ threads }));
  if (!mean) return { count: 1, weights };
  const n = ++mean.count;
  const m = mean.weights;
  for (let i = 0; i < m.length; i++) m[i] += (weights[i] - m[i]) / n;
  return mean;
}

/** `fn` with `weights` in the model (none: the model as it is), its own weights restored after it. */
export async function withWeights<T>(model: NativeModel, weights: Float32Array | undefined, threads: number, fn: () => Promise<T>): Promise<T> {
  if (!weights) return fn();
  const own = await serialize(() => model.parameters({ threads }));
  await serialize(() => model.setParameters({ values: weights, threads }));
  try {
    return await fn();
  } finally {
    await serialize(() => model.setParameters({ values: own, threads }));
  }
}

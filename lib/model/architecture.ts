// A network's architecture as the native model sees it: building one, and
// which changes of architecture a run may continue across.
import type { NativeModel } from '../../binding';
import { DEFAULT_DEVICE, type Device } from '../core/device';
import { native } from '../core/native';
import { nativeConfig, type Architecture } from './presets';

/** A native model of this architecture for `data`'s atoms and beads (TrainingData's shape: train.ts imports this module). */
export function newModel(
  arch: Architecture, data: { topology: { atoms: unknown[] }; mapping: { beads: number; matrix: Float32Array } }, learningRate: number, seed: number,
  previousFrame: boolean, device: Device = DEFAULT_DEVICE,
): NativeModel {
  const Model = native().Model;
  return new Model({
    config: nativeConfig(arch, data.topology.atoms.length, data.mapping.beads, previousFrame),
    learningRate,
    seed,
    mapping: data.mapping.matrix,
    device,
  });
}

/**
 * Whether a run saved with architecture `was` may continue as `wanted`: the same one, or, from a
 * model's weights alone (`fromWeights`: no optimiser state), the same given a noise input (which
 * starts silent) or other binary latent dimensions (which have no weights of their own).
 */
export function resumableAs(was: Architecture, wanted: Architecture, fromWeights: boolean): boolean {
  const { noiseInput: had, binaryLatent: hadBinary, ...rest } = was;
  const { noiseInput: added, binaryLatent: binary, ...wantedRest } = wanted;
  return JSON.stringify(wantedRest) === JSON.stringify(rest)
    && (added === had || (fromWeights && added === true && !had))
    && ((binary ?? 0) === (hadBinary ?? 0) || fromWeights);
}

// What a training run resumes from: a checkpoint (weights and Adam's moments)
// or a finished model's weights alone (train --init, lib/inference/init.ts).
import { TcbmError } from '../core/errors';
import { packageVersion } from '../core/native';
import { bytesOf, floatsOf, readContainer, writeContainer } from './modelfile';
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

/** The sizes a checkpoint is for: the data it resumes on must have them. */
export interface CheckpointSizes {
  atoms: number;
  beads: number;
}

/** Writes `state` as a checkpoint file (atomically): the weights and Adam's moments, the averaged weights if any. */
export async function writeCheckpoint(file: string, state: TrainerState, sizes: CheckpointSizes): Promise<void> {
  const { weights, average, ...rest } = state;
  await writeContainer(
    file,
    { kind: 'checkpoint', tcbackmap: packageVersion(), ...rest, ...sizes, ...(average ? { averageCount: average.count } : {}) },
    { state: weights, ...(average ? { average: bytesOf(average.weights) } : {}) },
  );
}

/** Reads a checkpoint file written by writeCheckpoint, refusing one for other sizes. */
export async function readCheckpoint(file: string, sizes: CheckpointSizes): Promise<TrainerState> {
  const { header, sections } = await readContainer(file);
  if (header.kind !== 'checkpoint' || !sections.state) throw new TcbmError('ERR_BAD_FORMAT', `${file}: not a training checkpoint`);
  if (header.atoms !== sizes.atoms || header.beads !== sizes.beads) {
    throw new TcbmError('ERR_ATOM_COUNT', `${file}: checkpoint is for ${header.atoms} atoms / ${header.beads} beads, the data has ${sizes.atoms} / ${sizes.beads}`);
  }
  const { averageCount, ...rest } = header as unknown as Omit<TrainerState, 'weights' | 'average'> & { averageCount?: number };
  if ((averageCount === undefined) !== (sections.average === undefined) || (averageCount !== undefined && !(Number.isSafeInteger(averageCount) && averageCount > 0))) {
    throw new TcbmError('ERR_BAD_FORMAT', `${file}: the averaged weights and their count do not match`);
  }
  return {
    ...rest, weights: new Uint8Array(sections.state),
    ...(averageCount !== undefined ? { average: { count: averageCount, weights: floatsOf(sections.average) } } : {}),
  };
}

// The checks a preset file's "training" object passes (lib/model/presets.ts reads
// the file): each key that is present has the type and range its setting takes,
// or the file is refused with the key named.
import { fileError } from '../core/errors';
import { TRAINING_PRECISIONS, type TrainingSettings } from './settings';

/** A finite number >= 0: a prior-decode margin (kJ/mol) or weight. */
const nonNegative = (v: unknown): boolean => typeof v === 'number' && v >= 0 && Number.isFinite(v);

/** Absent, or an integer step >= 0: a setting's `from`. */
const optionalStep = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);

export function checkTrainingSettings(training: Partial<TrainingSettings>, file: string): void {
  if (training.precision !== undefined && !TRAINING_PRECISIONS.includes(training.precision)) {
    throw fileError('ERR_BAD_FORMAT', file, `"precision" must be ${TRAINING_PRECISIONS.map((p) => `"${p}"`).join(' or ')}`);
  }
  if (training.cgNoise !== undefined && !(typeof training.cgNoise === 'number' && training.cgNoise >= 0 && training.cgNoise < 1)) {
    throw fileError('ERR_BAD_FORMAT', file, '"cgNoise" must be a number of nm in [0, 1)');
  }
  if (training.freeBits !== undefined && !(typeof training.freeBits === 'number' && training.freeBits >= 0 && Number.isFinite(training.freeBits))) {
    throw fileError('ERR_BAD_FORMAT', file, '"freeBits" must be a number of nats >= 0');
  }
  if (training.prevNoise !== undefined && !(typeof training.prevNoise === 'number' && training.prevNoise >= 0 && training.prevNoise < 1)) {
    throw fileError('ERR_BAD_FORMAT', file, '"prevNoise" must be a number of nm in [0, 1)');
  }
  const lag = training.prevLag;
  if (lag !== undefined && !(typeof lag === 'object' && lag !== null && typeof lag.share === 'number' && lag.share > 0 && lag.share <= 1 && Number.isSafeInteger(lag.max) && lag.max >= 2 && optionalStep(lag.from))) {
    throw fileError('ERR_BAD_FORMAT', file, '"prevLag" must be {"share": number in (0, 1], "max": integer >= 2, "from": integer step >= 0}');
  }
  const feed = training.selfFeed;
  if (feed !== undefined && !(typeof feed === 'object' && feed !== null && typeof feed.share === 'number' && feed.share > 0 && feed.share <= 1 && (feed.steps === undefined || (Number.isSafeInteger(feed.steps) && feed.steps >= 1 && feed.steps <= 64)) && optionalStep(feed.from))) {
    throw fileError('ERR_BAD_FORMAT', file, '"selfFeed" must be {"share": number in (0, 1], "steps": integer in 1 … 64, "from": integer step >= 0}');
  }
  const prior = training.priorDecode;
  const margined = prior?.energy === 'above' || prior?.energy === 'band';
  if (prior !== undefined && !(typeof prior === 'object' && prior !== null && typeof prior.weight === 'number' && prior.weight > 0 && Number.isFinite(prior.weight) && optionalStep(prior.from) && (prior.draws === undefined || (Number.isSafeInteger(prior.draws) && prior.draws >= 1)) && [undefined, true, false, 'above', 'band'].includes(prior.energy) && (prior.cgNoise === undefined || (typeof prior.cgNoise === 'number' && prior.cgNoise >= 0 && prior.cgNoise < 1))
    && (prior.energyMargin === undefined || (margined && nonNegative(prior.energyMargin)))
    && (prior.noisyEnergyMargin === undefined || (margined && (prior.cgNoise ?? 0) > 0 && nonNegative(prior.noisyEnergyMargin)))
    && (prior.noisyCgWeight === undefined || ((prior.cgNoise ?? 0) > 0 && nonNegative(prior.noisyCgWeight)))
    && [undefined, 'clean', 'condition'].includes(prior.cgTarget))) {
    throw fileError('ERR_BAD_FORMAT', file, '"priorDecode" must be {"weight": number > 0, "from": integer step >= 0, "draws": integer >= 1, "energy": boolean, "above" or "band", "energyMargin": kJ/mol >= 0 (with "above" or "band"), "cgNoise": nm in [0, 1), "noisyEnergyMargin": kJ/mol >= 0 (with "above" or "band", and cgNoise > 0), "noisyCgWeight": number >= 0 (with cgNoise > 0), "cgTarget": "clean" or "condition"}');
  }
  if (training.cgNoiseShare !== undefined && !(typeof training.cgNoiseShare === 'number' && training.cgNoiseShare > 0 && training.cgNoiseShare <= 1)) {
    throw fileError('ERR_BAD_FORMAT', file, '"cgNoiseShare" must be a number in (0, 1]');
  }
  if (![undefined, 'fixed', 'mixed', 'half'].includes(training.cgNoiseLevels)) throw fileError('ERR_BAD_FORMAT', file, '"cgNoiseLevels" must be "fixed", "mixed" or "half"');
  if (![undefined, 'isotropic', 'bonds'].includes(training.cgNoiseShape)) throw fileError('ERR_BAD_FORMAT', file, '"cgNoiseShape" must be "isotropic" or "bonds"');
  if (training.localWeight !== undefined && !(typeof training.localWeight === 'number' && training.localWeight >= 0 && Number.isFinite(training.localWeight))) {
    throw fileError('ERR_BAD_FORMAT', file, '"localWeight" must be a number >= 0');
  }
  for (const key of ['localFrom', 'floorFrom', 'renameFrom', 'cgNoiseFrom', 'cgWeightFrom', 'binaryFrom'] as const) {
    const v = training[key];
    if (!optionalStep(v)) throw fileError('ERR_BAD_FORMAT', file, `"${key}" must be an integer step >= 0`);
  }
  const restarts = training.optimizerRestarts;
  if (restarts !== undefined && !(Array.isArray(restarts) && restarts.every((v) => Number.isSafeInteger(v) && v > 0))) {
    throw fileError('ERR_BAD_FORMAT', file, '"optimizerRestarts" must be an array of integer steps > 0');
  }
  for (const key of ['floorWeight', 'cgWeight'] as const) {
    const v = training[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw fileError('ERR_BAD_FORMAT', file, `"${key}" must be a number >= 0`);
  }
  if (![undefined, true, false].includes(training.renameSymmetric)) throw fileError('ERR_BAD_FORMAT', file, '"renameSymmetric" must be true or false');
  if (![undefined, 'all', 'steric'].includes(training.floorPairs)) throw fileError('ERR_BAD_FORMAT', file, '"floorPairs" must be "all" or "steric"');
  if (training.floorVdw !== undefined && !(typeof training.floorVdw === 'number' && training.floorVdw > 0 && training.floorVdw < 2)) {
    throw fileError('ERR_BAD_FORMAT', file, '"floorVdw" must be a number in (0, 2)');
  }
  if (![undefined, 'frame', 'moments'].includes(training.localMode)) throw fileError('ERR_BAD_FORMAT', file, '"localMode" must be "frame" or "moments"');
  if (![undefined, true, false].includes(training.energyTerms)) throw fileError('ERR_BAD_FORMAT', file, '"energyTerms" must be true or false');
  if (training.energyTermsFrom !== undefined && !(Number.isSafeInteger(training.energyTermsFrom) && training.energyTermsFrom >= 0)) {
    throw fileError('ERR_BAD_FORMAT', file, '"energyTermsFrom" must be an integer step >= 0');
  }
  if (training.energyTermsScale !== undefined && !(typeof training.energyTermsScale === 'number' && training.energyTermsScale > 0 && Number.isFinite(training.energyTermsScale))) {
    throw fileError('ERR_BAD_FORMAT', file, '"energyTermsScale" must be a number > 0 (kJ/mol)');
  }
  const warm = training.latentWarmup;
  const steps = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (warm !== undefined && (typeof warm !== 'object' || warm === null || !steps(warm.steps) || (warm.ramp !== undefined && !steps(warm.ramp)))) {
    throw fileError('ERR_BAD_FORMAT', file, '"latentWarmup" must be {"steps": integer >= 0, "ramp": integer >= 0}');
  }
  const average = training.average;
  if (average !== undefined && (typeof average !== 'object' || average === null || !steps(average.from) ||
    (average.every !== undefined && !(steps(average.every) && average.every > 0)))) {
    throw fileError('ERR_BAD_FORMAT', file, '"average" must be {"from": step >= 0, "every": steps >= 1}');
  }
  const decay = training.learningRateDecay;
  if (decay !== undefined) {
    const number = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
    if (typeof decay !== 'object' || decay === null || !number(decay.perThousand) || !(decay.perThousand > 0 && decay.perThousand <= 1) ||
      (decay.from !== undefined && !number(decay.from)) || (decay.floor !== undefined && !(number(decay.floor) && decay.floor >= 0))) {
      throw fileError('ERR_BAD_FORMAT', file, '"learningRateDecay" must be {"perThousand": (0, 1], "from": step, "floor": rate >= 0}');
    }
  }
}

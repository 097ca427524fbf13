// Loss-weight schedules of the paper as small pure functions of the step.

export interface GammaSchedule {
  /** steps with gamma = 0 (the energy term off while structures are still wild) */
  n0: number;
  /** steps of the exponential anneal from `start` to `end` after n0 */
  n1: number;
  start?: number;
  end?: number;
}

/** The learning rate at a step: constant, or decayed exponentially from `from` (per 1,000 steps), never below `floor`. */
export function learningRateAt(step: number, rate: number, decay?: { perThousand: number; from?: number; floor?: number }): number {
  if (!decay) return rate;
  const decayed = rate * Math.pow(decay.perThousand, Math.max(0, step - (decay.from ?? 0)) / 1000);
  return Math.max(decayed, decay.floor ?? 0);
}

/** Training's `priorDecode` (presets.ts: TrainingSettings.priorDecode). */
export interface PriorDecodeSettings {
  weight: number;
  from?: number;
  draws?: number;
  energy?: boolean | 'above' | 'band';
  energyMargin?: number;
  noisyEnergyMargin?: number;
  noisyCgWeight?: number;
  cgNoise?: number;
  cgTarget?: 'clean' | 'condition';
}

/** The prior-decode weight at a step (training `priorDecode`): 0 before its `from` or when absent. */
export function priorWeightAt(step: number, prior?: { weight: number; from?: number }): number {
  return prior && step >= (prior.from ?? 0) ? prior.weight : 0;
}

/** The native step's prior-decode weights at a step (training `priorDecode`). */
export function priorDecodeWeights(step: number, prior?: PriorDecodeSettings) {
  const side: 'both' | 'above' | 'band' = prior?.energy === 'above' || prior?.energy === 'band' ? prior.energy : 'both';
  const margins = side !== 'both';
  return {
    priorWeight: priorWeightAt(step, prior), priorEnergy: prior?.energy !== false, priorEnergySide: side, priorEnergyMargin: margins ? (prior?.energyMargin ?? 0) : 0,
    priorFollowsCondition: prior?.cgTarget === 'condition',
    ...(margins && prior?.noisyEnergyMargin !== undefined ? { priorNoisyEnergyMargin: prior.noisyEnergyMargin } : {}),
    ...(prior?.noisyCgWeight !== undefined ? { priorNoisyCgWeight: prior.noisyCgWeight } : {}),
  };
}

/** The reparameterisation noise's scale at a step under `latentWarmup`: 0, then a linear ramp to 1. */
export function latentNoiseAt(step: number, warmup?: { steps: number; ramp?: number }): number {
  if (!warmup || step >= warmup.steps + (warmup.ramp ?? 0)) return 1;
  if (step < warmup.steps) return 0;
  return (step - warmup.steps) / (warmup.ramp ?? 0);
}

/** Paper Eq. 5: 0 before n0, then start·(end/start)^((step−n0)/n1), then end. Defaults 1e-6 → 1. */
export function gammaAt(step: number, s: GammaSchedule): number {
  const start = s.start ?? 1e-6;
  const end = s.end ?? 1;
  if (step < s.n0) return 0;
  if (s.n1 <= 0 || step >= s.n0 + s.n1) return end;
  return start * Math.pow(end / start, (step - s.n0) / s.n1);
}

export type BetaSchedule =
  | { kind: 'constant'; value: number }
  /**
   * Paper Eq. 6, cyclic sigmoid annealing: within each of `cycles` cycles of
   * `length` steps, β = max / (1 + exp(−width·(τ − centre))) with τ ∈ [0, 1) the
   * position in the cycle; `max` after the last cycle.
   */
  | { kind: 'cyclic'; cycles: number; length: number; width: number; centre: number; max: number };

export function betaAt(step: number, s: BetaSchedule): number {
  if (s.kind === 'constant') return s.value;
  if (step >= s.cycles * s.length) return s.max;
  const tau = (step % s.length) / s.length;
  return s.max / (1 + Math.exp(-s.width * (tau - s.centre)));
}

/** Gradient-norm clipping starts with the energy term (after n0); 0 = off. */
export function clipAt(step: number, gamma: GammaSchedule, clipNorm: number): number {
  return step >= gamma.n0 ? clipNorm : 0;
}

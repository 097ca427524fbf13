// Model and training presets. `adp` and `cln` are the paper's Table 1; the
// `-cpu` ones are sized for a 2-core machine: narrower networks, fewer blocks and
// smaller batches so a run of a few thousand steps fits in about an hour.
import type { NativeModelConfig } from '../binding';
import type { BetaSchedule, GammaSchedule } from './schedules';

/** The network's hyperparameters: the native config without what the data decide. */
export type Architecture = Omit<NativeModelConfig, 'atoms' | 'beads' | 'previousFrame'>;

export interface TrainingSettings {
  batch: number;
  learningRate: number;
  steps: number;
  gamma: GammaSchedule;
  beta: BetaSchedule;
  /** gradient-norm clip applied after gamma.n0 (0 = none) */
  clipNorm: number;
  /** per-frame energy clamp in kJ/mol inside the energy loss (0 = none) */
  energyClamp: number;
  /**
   * 0 or absent: the paper's energy MSE in (kJ/mol)². > 0: the robust
   * log(1 + (ΔE/scale)²) with scale in kJ/mol (about atoms·kT), whose gradient is
   * bounded, so far-off structures cannot swamp the structural terms.
   */
  energyScale?: number;
}

export interface Preset {
  name: string;
  description: string;
  architecture: Architecture;
  training: TrainingSettings;
}

const paperBeta: BetaSchedule = { kind: 'cyclic', cycles: 4, length: 5000, width: 12, centre: 0.5, max: 1 };

export const PRESETS: Record<string, Preset> = {
  adp: {
    name: 'adp',
    description: "the paper's alanine-dipeptide model (Table 1): ~1.3M parameters",
    architecture: { grid: 12, width: 1.8, sigma: 0.05398, latent: 32, encoderWidth: 32, decoderWidth: 32, conditionBlocks: 2, trunkBlocks: 3 },
    training: {
      batch: 32, learningRate: 1.398e-4, steps: 40000,
      gamma: { n0: 10000, n1: 10000 }, beta: paperBeta, clipNorm: 1, energyClamp: 0,
    },
  },
  cln: {
    name: 'cln',
    description: "the paper's chignolin model (Table 1): ~4.8M parameters",
    architecture: { grid: 12, width: 5.5, sigma: 0.3076, latent: 64, encoderWidth: 32, decoderWidth: 64, conditionBlocks: 2, trunkBlocks: 3 },
    training: {
      batch: 32, learningRate: 4.233e-4, steps: 40000,
      gamma: { n0: 10000, n1: 10000 }, beta: paperBeta, clipNorm: 1, energyClamp: 1e5,
    },
  },
  'adp-cpu': {
    name: 'adp-cpu',
    description: 'alanine dipeptide for a 2-core CPU: widths 16, 1 condition + 1 trunk block, batch 16 (~0.2M parameters)',
    architecture: { grid: 12, width: 1.8, sigma: 0.05398, latent: 16, encoderWidth: 16, decoderWidth: 16, conditionBlocks: 1, trunkBlocks: 1 },
    training: {
      // 2000 structural steps (gamma = 0), then the energy term on the robust scale
      // (22 atoms · kT at 300 K ≈ 55 kJ/mol) annealed 1e-5 → 1e-3 over 600 steps and
      // held to step 6000. The paper's plain MSE with gamma → 1 let the energy swamp
      // the structural terms in a CPU-length run and produced mirror images (README, Results).
      batch: 16, learningRate: 5e-4, steps: 6000,
      gamma: { n0: 2000, n1: 600, start: 1e-5, end: 1e-3 }, beta: { kind: 'cyclic', cycles: 2, length: 1000, width: 12, centre: 0.5, max: 1 },
      clipNorm: 1, energyClamp: 1e5, energyScale: 55,
    },
  },
  'cln-cpu': {
    name: 'cln-cpu',
    description: 'chignolin for a 2-core CPU: encoder 16 / decoder 32 wide, 1 condition + 1 trunk block, batch 16 (~0.9M parameters)',
    architecture: { grid: 12, width: 5.5, sigma: 0.3076, latent: 32, encoderWidth: 16, decoderWidth: 32, conditionBlocks: 1, trunkBlocks: 1 },
    training: {
      batch: 16, learningRate: 5e-4, steps: 2000,
      gamma: { n0: 2000, n1: 0 }, beta: { kind: 'cyclic', cycles: 2, length: 600, width: 12, centre: 0.5, max: 1 },
      clipNorm: 1, energyClamp: 1e5,
    },
  },
  tiny: {
    name: 'tiny',
    description: 'a very small network for tests and smoke runs (grid 8)',
    architecture: { grid: 8, width: 1.8, sigma: 0.12, latent: 8, encoderWidth: 8, decoderWidth: 8, conditionBlocks: 1, trunkBlocks: 1 },
    training: {
      batch: 8, learningRate: 3e-3, steps: 300,
      gamma: { n0: 1000000, n1: 0 }, beta: { kind: 'constant', value: 1e-3 }, clipNorm: 0, energyClamp: 0,
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

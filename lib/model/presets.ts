// Model and training presets. `adp` and `cln` are the paper's Table 1; the
// `-cpu` ones are sized for a 2-core machine: narrower networks, fewer blocks and
// smaller batches so a run of a few thousand steps fits in about an hour.
import { readFileSync } from 'fs';
import * as path from 'path';
import type { NativeModelConfig } from '../../binding';
import { TcbmError, fileError } from '../core/errors';
import type { BetaSchedule, GammaSchedule, PriorDecodeSettings } from './schedules';

/**
 * The network's hyperparameters: the native config without what the data decide,
 * and with the conventions that say what `sigma` and the centring mean.
 */
export type Architecture = Omit<NativeModelConfig, 'atoms' | 'beads' | 'previousFrame' | 'centreEach'> & {
  /**
   * What `sigma` is. 'reference' (the authors' code; every preset now): the s of
   * exp(−d²/s), so the Gaussian's standard deviation is √(s/2). 'std' or absent
   * (models trained before it): the standard deviation, exp(−d²/2σ²).
   */
  gaussian?: 'reference' | 'std';
  /**
   * 'own' (the reference): A(t−1), A(t) and C(t) each centred on their own mean,
   * a decoded frame placed so that its beads' centroid is C(t)'s. 'cg' or absent
   * (models before it): every configuration centred on C(t)'s centroid.
   */
  centring?: 'own' | 'cg';
  /**
   * 'random' or absent (every preset): each training sample gets one random
   * rotation, and the network learns rotation equivariance. 'canonical': each
   * sample is instead rotated so that its centred C(t) is superposed (Kabsch) on
   * one reference CG frame fixed at training (stored in the model); every rollout
   * step does the same and rotates its output back, so backmapping is exactly
   * rotation-equivariant. The trainer's `augment` is then ignored.
   */
  orientation?: 'random' | 'canonical';
};

/** The standard deviation in nm of the model's Gaussians. */
export function gaussianStd(arch: Pick<Architecture, 'sigma' | 'gaussian'>): number {
  return arch.gaussian === 'reference' ? Math.sqrt(arch.sigma / 2) : arch.sigma;
}

/** The native model config of an architecture for a molecule. */
export function nativeConfig(arch: Architecture, atoms: number, beads: number, previousFrame: boolean): NativeModelConfig {
  const { gaussian: _g, centring, orientation: _o, ...rest } = arch;
  return { ...rest, sigma: gaussianStd(arch), centreEach: centring === 'own', atoms, beads, previousFrame };
}

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
  /**
   * The reference's energy term: (ΔE / E_std)² per frame with E_std the training
   * frames' energy standard deviation, clamped at `energyErrorClamp` (reference: 1).
   * Takes precedence over energyScale.
   */
  energyStandardise?: boolean;
  energyErrorClamp?: number;
  /** the KL weight is β · batch / training pairs (the reference) instead of β */
  klPerPair?: boolean;
  /** weight of the distance-matrix term (the reference: 1/2; absent: 1) */
  edmWeight?: number;
  /**
   * weight of the CG term (the decoded frame's beads against the CG frame) from
   * `cgWeightFrom` on (default 0), in both decodes; absent: 1. The rollout's φ/ψ
   * are its beads' dihedrals, so its FES follows its bead error (docs/fidelity.md).
   */
  cgWeight?: number;
  cgWeightFrom?: number;
  /** every this many steps, validation on held-out pairs (0 or absent: none) */
  validateEvery?: number;
  /**
   * 'bf16': convolutions and linear layers under bf16 autocast (CPU, oneDNN;
   * AVX512-BF16 where present), fp32 master weights, loss terms and energy in
   * fp32/fp64. Absent or 'fp32': everything in fp32.
   */
  precision?: TrainingPrecision;
  /**
   * The step from which the architecture's `binaryLatent` dimensions are decoded
   * as their sign (default 0: from the start); before it the decoder takes z as it
   * is. A model written before this step records `binaryLatent: 0`, as it was
   * trained.
   */
  binaryFrom?: number;
  /**
   * > 0: the CG frame the network is conditioned on gets Gaussian noise of this
   * standard deviation (nm, per bead and Cartesian component) in every training
   * pair, while the CG loss still targets the clean mapping: the network learns
   * to denoise, for CG input rougher than the training frames (CG simulations).
   */
  cgNoise?: number;
  /**
   * 'fixed' (default): every sample's noise has standard deviation cgNoise.
   * 'mixed': half the samples clean, the others uniform in (0, cgNoise], so the
   * network can tell clean input (which it should follow) from noisy.
   * 'half': half the samples clean, the others at cgNoise: no faint noise that
   * looks like thermal motion, so clean input is never taken for noisy.
   */
  cgNoiseLevels?: 'fixed' | 'mixed' | 'half';
  /**
   * 'isotropic' (default): cgNoise on every bead coordinate. 'bonds': only the
   * lengths of the CG bonds (the beads' chemical chain) change, by √2 · cgNoise
   * (as rough as isotropic noise makes them), directions kept: the network learns
   * to restore bond lengths between bead atoms without learning to distrust the
   * beads' angles and dihedrals (the FES).
   */
  cgNoiseShape?: 'isotropic' | 'bonds';
  /** the step from which cgNoise is drawn (default 0); before it no draw is made, as without cgNoise */
  cgNoiseFrom?: number;
  /** under 'mixed' and 'half': the share of samples that get noise (default 0.5), the others clean */
  cgNoiseShare?: number;
  /**
   * > 0: the A(t−1) the network is conditioned on gets Gaussian noise of this
   * standard deviation (nm, per atom and component) in every training pair,
   * the target A(t) staying clean: a decoder of displacements learns to pull a
   * perturbed previous frame back, as a rollout of its own frames needs.
   */
  prevNoise?: number;
  /**
   * A share of the training pairs ({share} in (0, 1]) is (t − k, t) with the gap
   * k drawn uniformly from 2 … max instead of (t − 1, t): the network learns what
   * to do when the CG input moves further in a frame than the training runs did
   * (a CG simulation's faster dynamics), which it can tell from how far the beads
   * moved from the previous frame's. From step `from` (default 0; before it no
   * draw is made). Absent: every pair is (t − 1, t).
   */
  prevLag?: { share: number; max: number; from?: number };
  /**
   * From step `from` (default 0), each batch is also decoded from z drawn from
   * the prior, as a rollout draws it, and `weight` times that decode's CG term,
   * pair-floor term (floorWeight) and energy term (γ) joins the loss. The
   * posterior decode alone never shows the decoder the z where the posterior is
   * thin; there it may average rotor phases. Costs a second decoder pass. With
   * `draws` > 1 (default 1), that many z are decoded for each condition without
   * gradients and each condition's worst by those terms is the one trained: the
   * rare z between two rotor phases is met `draws` times as often, for `draws`
   * more forward passes. `energy: false` leaves the energy term out of that decode
   * (and of the choice of the worst): against its pair's energy it pulls every z
   * towards one frame's and narrows the energies (docs/fidelity.md Y42). `energy:
   * 'above'` keeps it one-sided: only energy above the pair's counts, so the worst
   * draw is the most strained one and a cool draw is not pulled up; with
   * `energyMargin` (kJ/mol, default 0) only energy more than that above the pair's.
   * `energy: 'band'` counts only energy further than `energyMargin` from the
   * pair's, either side: the one-sided term cools (nothing pushes a draw up), the
   * band leaves a thermal spread alone and keeps the mean.
   * `cgNoise` > 0 (nm): half the prior decode's conditions are the CG frame with
   * that much Gaussian noise, denoised as a rollout denoises rough input
   * (priorcondition.ts), the CG target staying clean, or with `cgTarget:
   * "condition"` the beads it is given (the decoder then follows its input, noisy
   * or not, rather than learning to second-guess it). `noisyEnergyMargin`
   * (kJ/mol; with "above" or "band", and `cgNoise`) is the noisy conditions' own margin:
   * their decodes run hotter than the clean pair, and at the clean margin every one
   * is pushed down and the decoder cools (docs/fidelity.md Y48, Y49).
   * `noisyCgWeight` (with `cgNoise`) is the noisy conditions' own CG weight, in
   * place of `cgWeight`: held ×10 to denoised beads, which keep some of the noise,
   * their decodes strain (docs/fidelity.md Y52). Absent: off.
   */
  priorDecode?: PriorDecodeSettings;
  /**
   * > 0 ("free bits"): each latent dimension's batch-mean KL is floored at this
   * many nats in the trained KL term (times the KL weight), so dimensions that
   * carry little are not pushed into the prior: against posterior collapse.
   */
  freeBits?: number;
  /**
   * Against posterior collapse: for the first `steps` steps the decoder gets the
   * posterior mean (the reparameterisation's noise times 0, an autoencoder, so it
   * learns to use z before z is noisy), then the noise grows linearly to its full
   * size over `ramp` steps (default 0). Absent: full noise from step 0.
   */
  latentWarmup?: { steps: number; ramp?: number };
  /**
   * Exponential learning-rate decay: the rate is learningRate · decay^(max(0, step − from) / 1000),
   * never below `floor` (absent: constant, as the paper's presets).
   */
  learningRateDecay?: { perThousand: number; from?: number; floor?: number };
  /**
   * Steps at which Adam starts afresh, its moments and step count cleared (a warm
   * restart; the weights and every schedule carry on). `adp-cpu` restarts at 8,000
   * at its learning-rate floor: docs/fidelity.md run Y29.
   */
  optimizerRestarts?: number[];
  /**
   * Weight averaging (stochastic weight averaging, Izmailov et al. 2018): after
   * every `every`-th step (default 1) past `from`, the weights join a running mean,
   * and that mean, not the last weights, is what validation measures and every
   * model written (kept or final) holds; training itself goes on from the last
   * weights. Checkpoints carry the mean, so a resumed run averages on exactly.
   * Absent: the last weights, as every shipped preset.
   */
  average?: { from: number; every?: number };
  /**
   * > 0: a local-geometry term, the MSE (nm²) between the decoded and the target
   * frame's bond lengths and 1-3 distances (the bond graph's bonds and angles),
   * times this weight. Absent or 0: not trained on (and not reported).
   */
  localWeight?: number;
  /**
   * 'frame' (default): the local term is the per-frame MSE above. 'moments': it
   * compares each distance's mean and standard deviation over the batch with the
   * targets', so systematic errors are penalised but the thermal part no decoder
   * can predict frame by frame is not pulled to its mean (which makes frames cold).
   */
  localMode?: 'frame' | 'moments';
  /**
   * true: the posterior decode's energy term compares each force-field term
   * (bonds, angles, torsions, nonbonded) with the target's and sums the errors,
   * so a frame's hot bonds cannot pay for its cold angles; from `energyTermsFrom`
   */
  energyTerms?: boolean;
  /** with energyTerms: from this step (default 0) */
  energyTermsFrom?: number;
  /** with energyTerms: the robust scale (kJ/mol) of each term's error (default: energyScale) */
  energyTermsScale?: number;
  /** the local term is trained on from this step (default 0: from the start) */
  localFrom?: number;
  /**
   * > 0: the pair-floor term times this weight: for each decoded frame the sum over
   * atom pairs of max(0, floor − d)² (nm²), the floor being the pair's closest
   * distance in the training frames. It pushes apart overlapping atoms with a
   * gradient that stays bounded, where the energy term's fades as 1/E.
   */
  floorWeight?: number;
  /**
   * which pairs have a floor: "all" (default) or "steric", the heavy-atom pairs more
   * than three bonds apart (those a clash check looks at), each floored at least at
   * `floorVdw` × its vdW sum
   */
  floorPairs?: 'all' | 'steric';
  /** the steric floors' margin, × the pair's vdW sum (default 0.85; clashes count below 0.8) */
  floorVdw?: number;
  /** the pair-floor term is trained on from this step (default 0) */
  floorFrom?: number;
  /**
   * true: each target is renamed to the decoded frame over the molecule's symmetric
   * atoms (a methyl's hydrogens, a carboxylate's oxygens, a ring's two sides;
   * lib/model/symmetry.ts) before the loss, so the network is never asked for the
   * average of positions the force field cannot tell apart
   */
  renameSymmetric?: boolean;
  /** with renameSymmetric, the renaming starts at this step (default 0) */
  renameFrom?: number;
}

export type TrainingPrecision = 'fp32' | 'bf16';
export const TRAINING_PRECISIONS: readonly TrainingPrecision[] = ['fp32', 'bf16'];

export interface Preset {
  name: string;
  description: string;
  architecture: Architecture;
  training: TrainingSettings;
}

const paperBeta: BetaSchedule = { kind: 'cyclic', cycles: 4, length: 5000, width: 12, centre: 0.5, max: 1 };

/**
 * The authors' reference code's conventions (GitHub KirillShmilovich/temporally_coherent_c2f):
 * exp(−d²/s) Gaussians, each configuration centred on its own mean, KL weighted by
 * β · batch / training pairs, the distance-matrix term halved, and the energy term
 * standardised by the training frames' std with each frame's squared error clamped
 * at 1; gradients clipped at 0.1 once the energy term is on.
 */
const reference = {
  architecture: { gaussian: 'reference', centring: 'own' } as const,
  /** the reference network's own layers: a 5³ encoder stem, z as (latent/8, 2, 2, 2) padded to the grid (paper presets) */
  layers: { encoderStem: 5, latentPath: 'reference' } as const,
  training: { klPerPair: true, edmWeight: 0.5, energyStandardise: true, energyErrorClamp: 1, clipNorm: 0.1, energyClamp: 0 },
};

export const PRESETS: Record<string, Preset> = {
  adp: {
    name: 'adp',
    description: "the paper's alanine-dipeptide model (Table 1) with the reference code's conventions: ~1.3M parameters",
    architecture: { grid: 12, width: 1.8, sigma: 0.05398, latent: 32, encoderWidth: 32, decoderWidth: 32, conditionBlocks: 2, trunkBlocks: 3, ...reference.architecture, ...reference.layers },
    training: {
      batch: 32, learningRate: 1.398e-4, steps: 40000,
      gamma: { n0: 10000, n1: 10000 }, beta: paperBeta, ...reference.training,
    },
  },
  cln: {
    name: 'cln',
    description: "the paper's chignolin model (Table 1) with the reference code's conventions and schedule: ~4.8M parameters",
    architecture: { grid: 12, width: 5.5, sigma: 0.30757, latent: 64, encoderWidth: 32, decoderWidth: 64, conditionBlocks: 2, trunkBlocks: 3, ...reference.architecture, ...reference.layers },
    training: {
      // The reference run's printed hyperparameters: β = 1 throughout (times batch /
      // pairs), the energy term from step 750,000, annealed 1e-6 → 1 over 1,250,000.
      batch: 32, learningRate: 4.233e-4, steps: 2000000,
      gamma: { n0: 750000, n1: 1250000, start: 1e-6, end: 1 }, beta: { kind: 'constant', value: 1 }, ...reference.training,
    },
  },
  'adp-cpu': {
    name: 'adp-cpu',
    description: 'alanine dipeptide for a 2-core CPU: widths 16, 1 condition + 1 trunk block, batch 16, canonical orientation, a binary latent (~0.2M parameters)',
    architecture: {
      grid: 12, width: 1.8, sigma: 0.05398, latent: 16, encoderWidth: 16, decoderWidth: 16, conditionBlocks: 1, trunkBlocks: 1,
      ...reference.architecture, orientation: 'canonical', binaryLatent: 16,
    },
    training: {
      // 3,000 structural steps (gamma = 0), then the energy term on the robust scale
      // (22 atoms · kT at 300 K ≈ 55 kJ/mol) annealed 1e-5 → 1e-3 over 600 steps,
      // the learning rate halving every 1,000 steps from 3,000 (floor 5e-5); the
      // decoder gets the posterior mean for the first 1,500 steps, so the latent is
      // used (not collapsed): docs/fidelity.md run Y2. From step 6,000 to 8,000 the
      // local-geometry term on batch moments (weight 30): the methyl groups' angles
      // without cooling the frames (run Y13); at 8,000 Adam starts afresh for 2,000
      // more steps at the learning-rate floor (run Y29). At 10,000 Adam starts afresh
      // again for 2,000 steps with a quarter of the pairs 2-3 frames apart (CG input
      // that moves faster than MD's), the pair floor on every pair, and each batch
      // decoded again from the prior, ×10 (run Y41: the rollout's latent samples
      // between two rotor phases): the worst of 8 draws per condition (Y42), its
      // energy counted only beyond 27 kJ/mol above its pair's (Y45, Y47), half its
      // conditions given 0.02 nm of noise and denoised (Y48) with their own margin of
      // 100 kJ/mol (Y50), its beads those it was given (Y49), their CG term ×3 (Y55);
      // and the CG term of both decodes ×10 (run Y52: the FES follows the bead
      // error). In those last 2,000 steps the posterior decode's energy is trained
      // per force-field term, each on a 15 kJ/mol robust scale (run Y68): the total
      // alone was met by hot bonds cancelling cold angles (Y52). At 11,750 (the step
      // Y68's selection run chose) Adam starts afresh once more and every latent
      // dimension is decoded as its sign from then on (binaryFrom, run Y81): a z
      // between two rotor phases, which a continuous latent decodes as their average
      // (a methyl with its hydrogens pulled in), can no longer be drawn. The shipped
      // model is the one of those 2,000 steps' kept models (every 250) that a held-out
      // selection run chose, step 12,500 (scripts/select-model.js). The shipped
      // model then trained 2,000 steps more from it, Adam afresh, with 16 runs started
      // in the alpha-L basin (phi > 0) added to the data, the mean of the weights of
      // its last 1,500 steps taken (weight averaging, run Y88), then 500 steps more
      // from that mean, Adam afresh, and was chosen again: step 14,625 (run Y89; the
      // data and those phases are not part of a preset: scripts/reproduce.sh).
      // Why not the reference's clamped energy term here: run D.
      batch: 16, learningRate: 5e-4, steps: 13750, optimizerRestarts: [8000, 10000, 11750], binaryFrom: 11750,
      gamma: { n0: 3000, n1: 600, start: 1e-5, end: 1e-3 }, beta: { kind: 'cyclic', cycles: 2, length: 1000, width: 12, centre: 0.5, max: 1 },
      clipNorm: 1, energyClamp: 1e5, energyScale: 55, klPerPair: true, edmWeight: 0.5, validateEvery: 250,
      latentWarmup: { steps: 1500, ramp: 500 }, learningRateDecay: { perThousand: 0.5, from: 3000, floor: 5e-5 },
      localWeight: 30, localMode: 'moments', localFrom: 6000,
      prevLag: { share: 0.25, max: 3, from: 10000 }, floorWeight: 1, floorPairs: 'all', floorFrom: 10000, cgWeight: 10, cgWeightFrom: 10000,
      priorDecode: { weight: 10, from: 10000, draws: 8, energy: 'above', energyMargin: 27, cgNoise: 0.02, noisyEnergyMargin: 100, cgTarget: 'condition', noisyCgWeight: 3 },
      energyTerms: true, energyTermsFrom: 10000, energyTermsScale: 15,
    },
  },
  'cln-cpu': {
    name: 'cln-cpu',
    description: 'chignolin for a 2-core CPU: encoder 16 / decoder 32 wide, 1 condition + 1 trunk block, batch 16, canonical orientation (~0.9M parameters)',
    architecture: {
      grid: 12, width: 5.5, sigma: 0.30757, latent: 32, encoderWidth: 16, decoderWidth: 32, conditionBlocks: 1, trunkBlocks: 1,
      ...reference.architecture, orientation: 'canonical',
    },
    training: {
      // docs/fidelity.md runs Z4c, Z10 and Z11 (the shipped model), trained on
      // train-01 … 07 and train-08's first 2,500 frames: 7,000 structural steps
      // (the decoder gets the posterior mean for the first 1,500; the local term ×10
      // from 3,000), then the robust energy term on 166 atoms · kT ≈ 415 kJ/mol,
      // annealed 1e-5 → 1e-3 over 600 steps, and from 12,000 the steric floor: heavy
      // atoms more than three bonds apart held at 0.85 × their vdW sum or their
      // closest approach in the data (clash frames 67 → 40 % of the test frames).
      batch: 16, learningRate: 5e-4, steps: 15000,
      gamma: { n0: 7000, n1: 600, start: 1e-5, end: 1e-3 }, beta: { kind: 'cyclic', cycles: 2, length: 600, width: 12, centre: 0.5, max: 1 },
      clipNorm: 1, energyClamp: 1e5, energyScale: 415, klPerPair: true, edmWeight: 0.5, validateEvery: 500,
      latentWarmup: { steps: 1500, ramp: 500 }, localWeight: 10, localFrom: 3000,
      floorWeight: 1, floorPairs: 'steric', floorFrom: 12000,
    },
  },
  tiny: {
    name: 'tiny',
    description: 'a very small network for tests and smoke runs (grid 8)',
    // s = 0.0288 is a Gaussian of standard deviation 0.12 nm
    architecture: { grid: 8, width: 1.8, sigma: 0.0288, latent: 8, encoderWidth: 8, decoderWidth: 8, conditionBlocks: 1, trunkBlocks: 1, ...reference.architecture },
    training: {
      batch: 8, learningRate: 3e-3, steps: 300,
      gamma: { n0: 1000000, n1: 0 }, beta: { kind: 'constant', value: 1e-3 }, clipNorm: 0, energyClamp: 0,
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/**
 * A preset by name, or from a JSON file (`*.json`): `{"base": "adp-cpu", "name": …,
 * "architecture": {…}, "training": {…}}`, its objects merged key by key over the
 * base preset's (so an experiment states only what it changes).
 */
export function resolvePreset(preset: string | Preset): Preset {
  if (typeof preset !== 'string') return preset;
  if (preset.endsWith('.json')) return presetFromFile(preset);
  const p = PRESETS[preset];
  if (!p) throw new TcbmError('ERR_INVALID_ARG_VALUE', `unknown preset "${preset}" (expected one of ${Object.keys(PRESETS).join(', ')}, or a .json file)`);
  return p;
}

/** A finite number >= 0: a prior-decode margin (kJ/mol) or weight. */
const nonNegative = (v: unknown): boolean => typeof v === 'number' && v >= 0 && Number.isFinite(v);

function presetFromFile(file: string): Preset {
  let spec: { base?: unknown; name?: unknown; description?: unknown; architecture?: unknown; training?: unknown };
  try {
    spec = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw fileError('ERR_BAD_FORMAT', file, `not a readable JSON preset (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof spec !== 'object' || spec === null || typeof spec.base !== 'string' || !PRESETS[spec.base]) {
    throw fileError('ERR_BAD_FORMAT', file, `a preset file needs "base": one of ${Object.keys(PRESETS).join(', ')}`);
  }
  const base = PRESETS[spec.base];
  for (const key of ['architecture', 'training'] as const) {
    if (spec[key] !== undefined && (typeof spec[key] !== 'object' || spec[key] === null || Array.isArray(spec[key]))) {
      throw fileError('ERR_BAD_FORMAT', file, `"${key}" must be an object`);
    }
  }
  const orientation = (spec.architecture as Partial<Architecture> | undefined)?.orientation;
  if (![undefined, 'random', 'canonical'].includes(orientation)) throw fileError('ERR_BAD_FORMAT', file, '"orientation" must be "random" or "canonical"');
  const decodes = (spec.architecture as Partial<Architecture> | undefined)?.decodes;
  if (![undefined, 'frame', 'displacement'].includes(decodes)) throw fileError('ERR_BAD_FORMAT', file, '"decodes" must be "frame" or "displacement"');
  const noiseInput = (spec.architecture as Partial<Architecture> | undefined)?.noiseInput;
  if (![undefined, true, false].includes(noiseInput)) throw fileError('ERR_BAD_FORMAT', file, '"noiseInput" must be true or false');
  const binary = (spec.architecture as Partial<Architecture> | undefined)?.binaryLatent;
  const latent = (spec.architecture as Partial<Architecture> | undefined)?.latent ?? base.architecture.latent;
  if (binary !== undefined && !(Number.isInteger(binary) && binary >= 0 && binary <= latent)) {
    throw fileError('ERR_BAD_FORMAT', file, `"binaryLatent" must be an integer from 0 to the latent dimension (${latent})`);
  }
  const training = (spec.training ?? {}) as Partial<TrainingSettings>;
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
  if (lag !== undefined && !(typeof lag === 'object' && lag !== null && typeof lag.share === 'number' && lag.share > 0 && lag.share <= 1 && Number.isSafeInteger(lag.max) && lag.max >= 2 && (lag.from === undefined || (Number.isSafeInteger(lag.from) && lag.from >= 0)))) {
    throw fileError('ERR_BAD_FORMAT', file, '"prevLag" must be {"share": number in (0, 1], "max": integer >= 2, "from": integer step >= 0}');
  }
  const prior = training.priorDecode;
  const margined = prior?.energy === 'above' || prior?.energy === 'band';
  if (prior !== undefined && !(typeof prior === 'object' && prior !== null && typeof prior.weight === 'number' && prior.weight > 0 && Number.isFinite(prior.weight) && (prior.from === undefined || (Number.isSafeInteger(prior.from) && prior.from >= 0)) && (prior.draws === undefined || (Number.isSafeInteger(prior.draws) && prior.draws >= 1)) && [undefined, true, false, 'above', 'band'].includes(prior.energy) && (prior.cgNoise === undefined || (typeof prior.cgNoise === 'number' && prior.cgNoise >= 0 && prior.cgNoise < 1))
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
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw fileError('ERR_BAD_FORMAT', file, `"${key}" must be an integer step >= 0`);
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
  return {
    name: typeof spec.name === 'string' ? spec.name : path.basename(file, '.json'),
    description: typeof spec.description === 'string' ? spec.description : `${base.name} with ${file}'s changes`,
    architecture: { ...base.architecture, ...(spec.architecture as Partial<Architecture>) },
    training: { ...base.training, ...(spec.training as Partial<TrainingSettings>) },
  };
}

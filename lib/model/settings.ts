// A training run's settings: what a preset's "training" object holds (the
// presets themselves and their files: lib/model/presets.ts).
import type { BetaSchedule, GammaSchedule, PriorDecodeSettings } from './schedules';

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
   * From step `from` (default 0), each sample with probability `share` gets as
   * A(t-1) the model's own rollout of the `steps` frames (default 1) before t,
   * started from the data's frame before them, z from the prior, no gradient;
   * the target stays the data's A(t). A rollout feeds its own frames back; this
   * trains the decoder to correct their errors rather than pass them on
   * (selffeed.ts). Costs `steps` decoder passes of the fed samples a step.
   * Absent: A(t-1) is always the data's.
   */
  selfFeed?: { share: number; steps?: number; from?: number };
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

// The exact surface of the native addon (native/binding*.cpp). Only lib/native.ts imports it.
// Every job takes one options object and returns a Promise; arrays cross zero-copy
// and outputs are new typed arrays of the input's dtype.

export type FloatArray = Float32Array | Float64Array;

/** Which code path computes an op: auto = fused kernel on CPU, tensor path elsewhere. */
export type Impl = 'auto' | 'fused' | 'tensor' | 'reference';

export interface JobOptions {
  /** libtorch intra-op threads for this job (set on the worker thread when it differs). */
  threads?: number;
  impl?: Impl;
  /** libtorch device string, e.g. "cpu" or "cuda:0". Inputs and outputs stay in host memory. */
  device?: string;
}

export interface FramesShape {
  batch: number;
  particles: number;
}

export interface GridOptions {
  grid: number;
  width: number;
}

export interface NativeInfo {
  torchVersion: string;
  cuda: boolean;
  /** CUDA devices libtorch sees (0 without CUDA) */
  cudaDevices: number;
  threads: number;
  parallel: string;
  /** the fp32 GEMM kernel of the decoder's Winograd convolutions on this CPU: "avx512", "avx2" or "none" */
  winogradKernel: string;
  /** the force-field energy's nonbonded loop: "avx512" or "scalar" */
  energyKernel: string;
  /** whether the Winograd products can run in bf16 here (AVX512-BF16): `precision: 'bf16'` backmapping */
  bf16Winograd: boolean;
}

/** XTC frames decoded by xtcDecode: coords [frames, atoms, 3] nm, boxes [frames, 9] nm (row vectors). */
export interface XtcDecoded {
  coords: Float32Array;
  boxes: Float32Array;
  times: Float32Array;
  steps: Int32Array;
}

/** Force-field parameters (OpenMM units: nm, kJ/mol, rad, e) for createForceField; indices are 0-based particles. */
export interface ForceFieldSpec {
  particles: number;
  /** energy columns in order: HarmonicBondForce, HarmonicAngleForce, PeriodicTorsionForce, NonbondedForce */
  terms: string[];
  bondIndex: Int32Array; // [nb,2]
  bondLength: Float64Array;
  bondK: Float64Array;
  angleIndex: Int32Array; // [na,3]
  angleTheta: Float64Array;
  angleK: Float64Array;
  torsionIndex: Int32Array; // [nt,4]
  torsionPeriodicity: Int32Array;
  torsionPhase: Float64Array;
  torsionK: Float64Array;
  charge: Float64Array; // [N]
  sigma: Float64Array;
  epsilon: Float64Array;
  exceptionIndex: Int32Array; // [ne,2]
  exceptionChargeProd: Float64Array;
  exceptionSigma: Float64Array;
  exceptionEpsilon: Float64Array;
}

/** An EnergyModel built once in C++ from a ForceFieldSpec. */
export interface NativeForceField {
  readonly particles: number;
  readonly terms: string[];
  /** nonbonded pairs evaluated (all i<j minus fully excluded ones) */
  readonly pairs: number;
  /** coords [B,N,3] nm -> total [B], terms [B,T] kJ/mol and, with forces, -dE/dx [B,N,3] kJ/mol/nm (of the clamped total). */
  energy<A extends FloatArray>(
    o: JobOptions & { coords: A; batch: number; clamp?: number; forces?: boolean },
  ): Promise<{ total: A; terms: A; forces?: A }>;
  /** Benchmark: ms of each of `repeats` energy + forces evaluations of the given frames (after `warmup`). */
  time(o: JobOptions & { coords: FloatArray; batch: number; repeats: number; warmup?: number }): Promise<Float64Array>;
}

/** The loss weights of one step (see StepWeights in native/core/model.h). */
export interface LossWeights {
  gamma: number;
  beta: number;
  energyClamp: number;
  /** > 0: robust log(1 + (ΔE/scale)²) */
  energyScale?: number;
  /** > 0: the reference's standardised (ΔE/std)², clamped at energyErrorClamp when > 0 */
  energyStd?: number;
  energyErrorClamp?: number;
  /** weight of the distance-matrix term (reference: 0.5; default 1) */
  edmWeight?: number;
  /** weight of the CG term (decoded beads against the CG frame), in both decodes; default 1 */
  cgWeight?: number;
  /** convolutions and linear layers under bf16 autocast (CPU only; fp32 master weights); default false */
  bf16?: boolean;
  /** trainStep: Adam's learning rate from this step on (a schedule); absent or 0: unchanged */
  learningRate?: number;
  /** weight of the local-geometry term (needs setLocalPairs); default 0 */
  localWeight?: number;
  /** the local term on each distance's batch mean and standard deviation instead of per frame */
  localMoments?: boolean;
  /** the posterior decode's energy term per force-field term (each term's error against the target's, summed) instead of on the total */
  energyTerms?: boolean;
  /** with energyTerms and energyScale > 0: the robust scale (kJ/mol) of each term's error; default 0: energyScale */
  energyTermsScale?: number;
  /** weight of the pair-floor term (needs setPairFloors); default 0 */
  floorWeight?: number;
  /** > 0: each latent dimension's batch-mean KL floored at this many nats in the trained term (free bits); default 0 */
  freeBits?: number;
  /**
   * > 0 (with epsPrior): the batch decoded again from z = epsPrior, this weight times that decode's CG, floor and γ
   * energy terms added; default 0. epsPrior may hold several draws per condition ([draws * batch, latent], draw-major):
   * then each condition's worst draw by those terms is the one decoded and trained.
   */
  priorWeight?: number;
  /** false: the prior decode's γ energy term is left out (its CG and floor terms only); default true */
  priorEnergy?: boolean;
  /**
   * which side of its pair's energy the prior decode's γ energy term counts: both (default), above (only energy
   * above the pair's, less the margin) or band (only energy further than the margin from the pair's, either side)
   */
  priorEnergySide?: 'both' | 'above' | 'band';
  /** with priorEnergySide above or band: the dead zone in kJ/mol beside the pair's energy; default 0 */
  priorEnergyMargin?: number;
  /** with priorEnergySide above or band, and priorCgLevel: the margin of the samples whose priorCgLevel is > 0; default priorEnergyMargin */
  priorNoisyEnergyMargin?: number;
  /** with priorCgLevel: the CG weight of the samples whose priorCgLevel is > 0; default cgWeight */
  priorNoisyCgWeight?: number;
  /** true: with priorCgCondition, the prior decode's CG target is that condition (centred), not cgT; default false */
  priorFollowsCondition?: boolean;
  /** rename the target over setSymmetries' groups before the loss (when set); default true */
  renameSymmetric?: boolean;
  /** trainStep in a group: this rank asks every rank to stop after this step (LossTerms.stop) */
  stop?: boolean;
}

export interface NativeModelConfig {
  atoms: number;
  beads: number;
  grid: number;
  /** nm */
  width: number;
  /** nm */
  sigma: number;
  latent: number;
  encoderWidth: number;
  decoderWidth: number;
  conditionBlocks: number;
  trunkBlocks: number;
  /** false: the frame-based ablation, conditioned on C(t) only */
  previousFrame?: boolean;
  /** true: A(t-1) and C(t) each centred on their own mean (the reference code); false/absent: on C(t)'s centroid */
  centreEach?: boolean;
  /**
   * 'displacement': the decoder's density is A(t) − A(t−1) (centred, in the network's frame), the frame
   * A(t−1) plus its collapse; 'frame' (default, the paper): the density is A(t). Needs previousFrame.
   */
  decodes?: 'frame' | 'displacement';
  /** kernel of the encoder's stem convolution: 5 (the reference code) or 3 (default) */
  encoderStem?: 3 | 5;
  /** 'reference': z as (latent/8, 2, 2, 2), replication-padded, 5³ convolution; 'broadcast' (default): z broadcast over the grid */
  latentPath?: 'broadcast' | 'reference';
  /**
   * true: the decoder is told the CG condition's noise level (nm of Gaussian noise per bead coordinate; 0 for
   * MD-quality CG) through learnt per-channel shifts that start at zero; a model warm-started from one without
   * it decodes as that one did at first. Absent/false: no such input.
   */
  noiseInput?: boolean;
  /**
   * The first `binaryLatent` latent dimensions reach the decoder as their sign (±1, gradient passed
   * straight through): it cannot be given a z between two of its discrete states. Absent/0: all continuous.
   */
  binaryLatent?: number;
}

export interface LossTerms {
  total: number;
  voxel: number;
  coord: number;
  cg: number;
  edm: number;
  energy: number;
  kl: number;
  gradNorm: number;
  /** the local-geometry term (bond and 1-3 distances, nm²), when the model has local pairs */
  local?: number;
  /** the pair-floor term (setPairFloors), when set */
  floor?: number;
  /** the prior-decode term (priorWeight), when on */
  prior?: number;
  /** some rank asked to stop after this step (in a group; else this process's own `stop`) */
  stop: boolean;
}

/** Centred, rotated training inputs, float32: aaT/aaPrev [B,N,3], cgT [B,n,3], eps [B,latent]. */
export interface ModelBatch {
  batch: number;
  aaT: Float32Array;
  aaPrev: Float32Array;
  cgT: Float32Array;
  threads?: number;
}

/** A training step's latent noise and optional inputs (NativeModel.trainStep). */
export interface StepExtras {
  eps: Float32Array;
  cgCondition?: Float32Array;
  cgLevel?: Float32Array;
  epsPrior?: Float32Array;
  priorCgCondition?: Float32Array;
  priorCgLevel?: Float32Array;
}

/** The cVAE and its Adam optimiser (native/core/model.h). */
export interface NativeModel {
  parameterCount(): number;
  /** the differentiable internal energy used by the γ term (a force-field handle of this addon) */
  setEnergy(forceField: unknown): void;
  /**
   * `cgCondition` [B,n,3]: the CG frames the network is conditioned on in place of cgT (cgT stays the CG loss's target);
   * `cgLevel` [B]: each sample's CG noise level in nm, told to a `noiseInput` decoder (absent: 0);
   * `priorCgCondition` [B,n,3]: the CG frames the prior decode (priorWeight) is conditioned on, when not the
   * posterior decode's (its CG target is cgT, or this under priorFollowsCondition);
   * `priorCgLevel` [B]: the noise each priorCgCondition was drawn with in nm (it picks priorNoisyEnergyMargin)
   */
  trainStep(o: ModelBatch & StepExtras & LossWeights & { clipNorm: number }): Promise<LossTerms>;
  evaluate(o: ModelBatch & StepExtras & LossWeights & { clipNorm?: number }): Promise<LossTerms>;
  /** gradient norm of every named parameter for one batch, without an update */
  parameterGradients(o: ModelBatch & { eps: Float32Array; gamma: number; beta: number; energyClamp?: number }): Promise<Record<string, number>>;
  encode(o: ModelBatch): Promise<{ mu: Float32Array; logvar: Float32Array }>;
  /** reconstruction [B,N,3] from aaPrev, cgT and z [B,latent] */
  /** `winograd` (default true): the decoder's 3x3x3 convolutions by Winograd F(2x2x2, 3x3x3) on CPU, else at::conv3d */
  /** `cgNoise`: the CG frames' noise level in nm, told to a `noiseInput` decoder (default 0) */
  decode(o: Omit<ModelBatch, 'aaT'> & { z: Float32Array; winograd?: boolean; cgNoise?: number }): Promise<Float32Array>;
  /**
   * Autoregressive rollout in the lab frame: prev [K,N,3] is A(-1), cg [T,K,n,3], z [T,K,latent];
   * resolves with [T,K,N,3] (each step centred on its CG centroid, turned onto the canonical reference if
   * one is set, decoded, turned and moved back).
   * `project`: each frame made CG-exact (setCgProjection) before it conditions the next.
   */
  rollout(o: NativeRolloutOptions): Promise<Float32Array>;
  /**
   * rollout with each step refined (relax's setup) before it conditions the next,
   * in native code (core/relax/refine.h). lanes [batch]: each row's trajectory;
   * stats [trajectories*3]: each trajectory's refined-energy count, mean and M2
   * (Welford), updated in place, for the outlier test (a frame far above its
   * trajectory's energies is refined again from the previous refined frame);
   * previousRefined: `prev` holds refined frames, not seeds.
   */
  rolloutRefined(o: NativeRolloutOptions & { refine: NativeRelaxSetup & { lanes: Int32Array; stats: Float64Array; previousRefined?: boolean } }): Promise<{
    coords: Float32Array;
    before: Float64Array;
    after: Float64Array;
    repairs: number;
    retried: number;
  }>;
  /**
   * Enables rollout's `project`: the displacement smoothest over these bonds
   * ([count,2] atom indices) that makes the frame's CG mapping equal its beads.
   */
  setCgProjection(o: { bonds: Int32Array; count: number }): void;
  /**
   * Canonical orientation: the reference CG frame [beads*3] nm (centred; copied), or
   * null for none. Each rollout step then rotates its centred condition so that C(t)
   * is superposed on it, decodes, and rotates the frame back.
   */
  setCanonicalReference(reference: Float32Array | null): void;
  /** atom pairs [P*2] of the local-geometry loss term (its weight: `localWeight`), or null for none */
  setLocalPairs(pairs: Int32Array | null): void;
  /** each atom pair's floor distance [atoms*atoms] nm (symmetric) of the pair-floor loss term (its weight: `floorWeight`), or null for none */
  setPairFloors(floors: Float32Array | null): void;
  /**
   * Symmetric atoms: `count` groups of `size` atom indices (-1 pads) and each group's
   * permutations ([count * P * size], each row a rearrangement of the group's atoms), or
   * null for none. Each pair's target is renamed, group by group, to the permutation
   * closest to the decoded frame before the loss (lib/model/symmetry.ts).
   */
  setSymmetries(o: { groups: Int32Array; permutations: Int32Array; count: number; size: number } | null): void;
  /** how many latent dimensions the decoder takes as their sign from now on (0 … latent; a schedule's switch) */
  setBinaryLatent(k: number): void;
  save(o: { optimizer: boolean; threads?: number }): Promise<Uint8Array>;
  load(o: { bytes: Uint8Array; optimizer: boolean; threads?: number }): Promise<void>;
  /** Adam afresh (a warm restart): its moments and step count cleared, the weights and learning rate kept */
  resetOptimizer(o: { threads?: number }): Promise<void>;
  /** every parameter flattened in registration order (float32): what weight averaging keeps a running mean of */
  parameters(o: { threads?: number }): Promise<Float32Array>;
  /** the parameters set from such an array (its length must be parameterCount()); Adam's moments untouched */
  setParameters(o: { values: Float32Array; threads?: number }): Promise<void>;
  /** a joined group: every trainStep then averages its loss terms and gradients over the ranks; null: this process alone */
  setGroup(group: NativeGroup | null): void;
  /** every rank takes rank 0's weights (a collective: every rank calls it) */
  syncWeights(o: { threads?: number }): Promise<void>;
}

/** A c10d process group (TCPStore + ProcessGroupGloo, native/core/dist/group.h). */
export interface NativeGroup {
  /** rendezvous: rank 0 serves the store at addr:port; rejects naming the ranks that did not join within timeoutMs */
  join(o: { addr: string; port: number; rank: number; world: number; timeoutMs: number }): Promise<void>;
  /** rejects on every rank when some rank's value differs from rank 0's */
  agree(o: { what: string; value: string }): Promise<void>;
  /** rank 0: phase `tag` is done (no-op on other ranks) */
  release(tag: string): Promise<void>;
  /** other ranks: resolves once rank 0 released `tag`, rejects if rank 0 is lost (no-op on rank 0) */
  waitForRoot(tag: string): Promise<void>;
  /** the gradient all-reduces so far: how many, their bytes (summed) and seconds */
  stats(): { calls: number; bytes: number; seconds: number };
  close(): void;
}

export interface NativeModelConstructor {
  new (o: { config: NativeModelConfig; learningRate: number; seed: number; mapping: Float32Array; device?: string }): NativeModel;
}

export interface Binding {
  /**
   * Adds (true) or removes (false) a path this environment is writing; what is
   * still listed when the environment is torn down (Worker.terminate()) is removed.
   */
  trackTemp(path: string, tracked: boolean): void;
  /**
   * Restrained FIRE refinement of frames with a force field (native/core/relax):
   * chirality repair, then `steps` iterations holding the beads on `cg` and every
   * atom near its input. Energies before/after are the force field's alone.
   */
  relax(o: NativeRelaxSetup & { coords: Float32Array; cg: Float32Array; batch: number; threads?: number }): Promise<{ coords: Float32Array; before: Float64Array; after: Float64Array; repairs: number }>;
  /**
   * Refines T steps of K trajectories as rolloutRefined refines its decoded frames,
   * with these frames in place of the network's: coords [T,K,N,3], cg [T,K,n,3];
   * previous [K,N,3]: the refined frames before the first (with previousRefined).
   */
  refineTrajectory(o: NativeRelaxSetup & {
    coords: Float32Array;
    cg: Float32Array;
    steps: number;
    batch: number;
    previous?: Float32Array;
    lanes: Int32Array;
    stats: Float64Array;
    previousRefined?: boolean;
    threads?: number;
  }): Promise<{ coords: Float32Array; before: Float64Array; after: Float64Array; repairs: number; retried: number }>;
  /** P [atoms, beads]: x + P(c − Mx) puts the mapping of x on c, moving x smoothly over the bond graph (the CG-exact rollout's) */
  cgProjection(o: { mapping: Float32Array; beads: number; atoms: number; bonds: Int32Array; count: number; threads?: number }): Promise<Float64Array>;
  Model: NativeModelConstructor;
  Group: new () => NativeGroup;
  /** this build has c10d with Gloo (train --distributed) */
  distributed: boolean;
  info(): NativeInfo;
  setThreads(threads: number): void;
  /** Chooses the Winograd products' fp32 kernel, process-wide ("auto", the default: the best here); false if this CPU lacks it. */
  setWinogradKernel(kernel: 'auto' | 'avx512' | 'avx2'): boolean;
  /** the nonbonded loop's kernel, process-wide (tests and bench compare them); false if this CPU lacks it */
  setEnergyKernel(kernel: 'auto' | 'avx512' | 'scalar'): boolean;
  /**
   * The best rate of one kernel for the roofline bench (GFLOP/s of its nominal FLOPs): "ours-gemm-fp32" (the kernel
   * the Winograd products use), "ours-gemm-fp32-avx2", "ours-gemm-bf16" (AVX512-BF16),
   * "libtorch-mm-fp32" / "-bf16" (size³), "libtorch-conv3d-fp32" / "-bf16" (size → size channels, 3×3×3, 12³, batch 32),
   * with "-train" appended: forward and backward.
   */
  roofline(o: { op: string; size: number; threads?: number; repeats?: number }): Promise<{ seconds: number; gflops: number }>;
  createForceField(spec: ForceFieldSpec): NativeForceField;
  /** Decodes XTC frames starting at bytes[offsets[k]] (frame k ends at offsets[k+1] or bytes.length); rejects on corrupt data with "frame k: …". */
  xtcDecode(o: {
    bytes: Uint8Array;
    offsets: Float64Array | Int32Array;
    frames: number;
    atoms: number;
    threads?: number;
  }): Promise<XtcDecoded>;
  /** Encodes frames as XTC (xdrfile-identical bytes); boxes/times/steps default to zeros and the frame index. */
  xtcEncode(o: {
    coords: Float32Array;
    frames: number;
    atoms: number;
    precision: number;
    boxes?: Float32Array;
    times?: Float32Array;
    steps?: Int32Array;
    threads?: number;
  }): Promise<{ bytes: Uint8Array }>;
  /** coords [B,N,3] nm -> density [B,N,G,G,G]. */
  voxelize<A extends FloatArray>(o: JobOptions & FramesShape & GridOptions & { coords: A; sigma: number }): Promise<A>;
  /** gradDensity [B,N,G,G,G] -> d(sum gradDensity*density)/d coords [B,N,3]. */
  voxelizeBackward<A extends FloatArray>(
    o: JobOptions & FramesShape & GridOptions & { coords: A; gradDensity: A; sigma: number },
  ): Promise<A>;
  /** density [B,N,G,G,G] -> coords [B,N,3] nm. */
  collapse<A extends FloatArray>(o: JobOptions & FramesShape & GridOptions & { density: A }): Promise<A>;
  /**
   * CG frames coords [frames, beads, 3] moved to the MAP configuration under Gaussian noise of `sigma` nm and a
   * harmonic prior: bonds [B,2] / bondStats [B,2] (mean nm, std), angles [A,3] (vertex in the middle) /
   * angleStats [A,2] (rad), volumes [V,4] ((i−j)·((k−j)×(l−j)), j second) / volumeStats [V,2] (nm³);
   * `iterations` (default 200) steps of gradient descent with momentum a frame. Returns new frames.
   */
  denoiseCg(o: JobOptions & {
    coords: Float32Array; frames: number; beads: number; sigma: number; iterations?: number;
    bonds: Int32Array; bondStats: Float64Array; angles: Int32Array; angleStats: Float64Array; volumes: Int32Array; volumeStats: Float64Array;
  }): Promise<Float32Array>;
  /** gradCoords [B,N,3] -> d(sum gradCoords*coords)/d density [B,N,G,G,G]. */
  collapseBackward<A extends FloatArray>(
    o: JobOptions & FramesShape & GridOptions & { density: A; gradCoords: A },
  ): Promise<A>;
  /**
   * Benchmark: milliseconds of each of `repeats` forward+backward passes of
   * collapse(voxelize(x)) through autograd on random float32 coordinates (after `warmup` passes).
   */
  timeVoxelRoundTrip(
    o: JobOptions & FramesShape & GridOptions & { sigma: number; repeats: number; warmup?: number },
  ): Promise<Float64Array>;
}

export interface NativeRolloutOptions {
  prev: Float32Array;
  cg: Float32Array;
  z: Float32Array;
  steps: number;
  batch: number;
  threads?: number;
  winograd?: boolean;
  project?: boolean;
  /** the decoder's convolutions in bf16 (CPU): Winograd with bf16 products where the CPU has AVX512-BF16 (and `winograd`), else oneDNN under autocast */
  bf16?: boolean;
  /** the CG input's noise level in nm (>= 0, default 0), told to a `noiseInput` decoder; others ignore it */
  cgNoise?: number;
}

/** A refinement's setup and options (native relax, rolloutRefined's refine). */
export interface NativeRelaxSetup {
  forceField: NativeForceField;
  beads: number;
  mapping: Float32Array;
  chiral: Int32Array;
  chiralSign: Float64Array;
  reflect: Int32Array;
  /** [atoms, beads]: the final move onto the beads (see relax.h) */
  projection?: Float64Array;
  /** [atoms], with projection: non-zero atoms are held where the projection puts them (the beads of an atom-slice mapping) */
  frozen?: Int32Array;
  /** [atoms] amu: needed with temperature */
  masses?: Float64Array;
  /** [K, 2] atom pairs held at constraintLength [K] nm through the thermal stage (RATTLE) */
  constraints?: Int32Array;
  constraintLength?: Float64Array;
  /** K: > 0 adds thermalSteps of restrained Langevin dynamics after the minimisation */
  temperature?: number;
  thermalSteps?: number;
  /** fs, the Langevin step (default 1) */
  timestep?: number;
  seed?: number;
  /** 'auto'/'fused' (CPU: each frame in plain loops, default) or 'tensor' (tensor expressions and autograd, any device) */
  impl?: 'auto' | 'fused' | 'tensor';
  steps?: number;
  restraint?: number;
  cgRestraint?: number;
  softFraction?: number;
  maxMove?: number;
  /** relative permittivity screening the Coulomb energy while the frames move (default 1); before/after stay unscreened */
  dielectric?: number;
}

// Training the cVAE: batches of (A(t-1), A(t), C(t)) pairs that never cross a
// trajectory boundary, each sample centred on its CG beads and given one rotation
// for its three configurations (random, or under canonical orientation the one
// that superposes its C(t) on a reference CG frame), the paper's loss schedules, and
// checkpoints that resume the run bit for bit. Numerics run natively; this
// file drives them and is what an app awaits.
import type { LossTerms, LossWeights, NativeModel } from '../../binding';
import type { Energy } from '../forcefield/energy';
import { localPairs } from '../forcefield/system';
import { setGeometryTerms } from './geometry-terms';
import { TcbmError, fileError } from '../core/errors';
import type { Topology } from '../io/types';
import { GaussianMixture, type GaussianMixtureModel } from './gmm';
import { applyMapping, type CgMapping } from './mapping';
import { bytesOf, writeContainer } from './modelfile';
import { DEFAULT_DEVICE, checkDevice, warnIfBf16Emulated, type Device } from '../core/device';
import { defaultThreads, native, packageVersion } from '../core/native';
import { PRESETS, resolvePreset, type Preset, type TrainingSettings } from './presets';
import { newModel, resumableAs } from './architecture';
import { canonicalFrame, canonicalReference, type CanonicalFrame } from './orientation';
import { serialize } from '../core/queue';
import { Rng } from '../core/rng';
import { betaAt, clipAt, gammaAt, latentNoiseAt, learningRateAt, priorDecodeWeights, priorWeightAt } from './schedules';
import { IDENTITY, pairRotation, placePair as placeInLayout, placeRotated, type PairLayout } from './placement';
import { validate, type ValidationOptions, type ValidationReport } from './validation';
import { batchShare, shareOf, type BatchShare, type ProcessGroup } from './distributed';
import { framePairs, pairGap, spaced, type Pair } from './picks';
import { cgBondTree, withConditionNoise, type CgTree, type ConditionedBatch } from './noise';
import { priorConditionOf, type PriorCondition } from './priorcondition';
import { readCheckpoint, writeCheckpoint, type AveragedWeights, type TrainerState } from './state';
import { joinAverage, withWeights } from './average';
import { energyStats, type EnergyStats } from './energy-stats';
import { applySelfFeed, planSelfFeed, selfFeedOn, type PlacedRow, type SelfFeedPlan } from './selffeed';

export { resolvePreset, localPairs, spaced, framePairs };
export type { TrainerState, EnergyStats };

/** Atomistic trajectories of one molecule, each file its own trajectory. */
export interface TrainingData {
  topology: Topology;
  mapping: CgMapping;
  /** one [frames, atoms, 3] nm array per trajectory file */
  trajectories: Float32Array[];
  /** names for logs (file paths) */
  names?: string[];
  /** the OpenMM System XML of the molecule, stored in the model for `backmap --relax` */
  systemXml?: string;
}

export interface TrainerOptions {
  preset: string | Preset;
  /** overrides of the preset's training settings (steps, batch, …) */
  training?: Partial<TrainingSettings>;
  seed?: number;
  threads?: number;
  /** false trains the frame-based ablation: the model never sees A(t-1) */
  previousFrame?: boolean;
  /** random rotations of every sample (default true; ignored under canonical orientation); false only for diagnostics such as overfitting checks */
  augment?: boolean;
  /** the internal energy for the γ term; without it the energy loss is 0 */
  energy?: Energy;
  /** libtorch device of the model and its steps: "cpu" (default), "cuda" or "cuda:N" (CUDA untested: no GPU on the development machines) */
  device?: string;
}

/** One step: its schedule values, every loss term, the gradient norm and the time it took. */
export interface StepReport extends LossTerms {
  step: number;
  gamma: number;
  /** the β schedule's value */
  beta: number;
  /** what multiplies the KL term: β, times batch / training pairs under the reference's convention */
  klWeight: number;
  /** Adam's learning rate for the step */
  learningRate: number;
  ms: number;
}

export class Trainer {
  step = 0;
  private readonly pairs: Pair[];
  private readonly cg: Float32Array[];
  private readonly priorCondition?: PriorCondition; // the prior decode's noisy CG (priorDecode.cgNoise)
  /** canonical orientation: the reference CG frame [beads*3] nm, centred; undefined under random rotations */
  readonly reference?: Float32Array;
  private constructor(
    readonly preset: Preset,
    readonly settings: TrainingSettings,
    readonly data: TrainingData,
    readonly model: NativeModel,
    private rng: Rng,
    readonly threads: number,
    readonly previousFrame: boolean,
    readonly seed: number,
    readonly augment: boolean,
    readonly energy?: Energy,
    reference?: Float32Array,
    readonly device: Device = DEFAULT_DEVICE,
  ) {
    const atoms = data.topology.atoms.length;
    this.pairs = framePairs(data.trajectories.map((t) => t.length / (atoms * 3)));
    if (this.pairs.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'training needs at least one trajectory with 2 or more frames');
    this.cg = data.trajectories.map((t) => applyMapping(data.mapping, t, t.length / (atoms * 3)));
    this.priorCondition = priorConditionOf(preset.architecture, settings, data.topology, data.mapping, this.cg);
    if (preset.architecture.orientation === 'canonical') {
      // Chosen once from the data (a resume brings its own): the first pair's C(t), centred.
      const { trajectory, frame } = this.pairs[0];
      this.reference = reference ?? canonicalReference(this.cg[trajectory], frame, data.mapping.beads);
      model.setCanonicalReference(this.reference);
    }
    setGeometryTerms(model, settings, data.topology, data.trajectories);
    if (settings.precision === 'bf16') warnIfBf16Emulated(device);
  }

  static create(data: TrainingData, options: TrainerOptions): Trainer {
    const preset = resolvePreset(options.preset);
    const settings = { ...preset.training, ...options.training };
    const atoms = data.topology.atoms.length;
    if (data.mapping.atoms !== atoms) {
      throw new TcbmError('ERR_ATOM_COUNT', `the mapping is for ${data.mapping.atoms} atoms but the topology has ${atoms}`);
    }
    data.trajectories.forEach((t, i) => {
      if (t.length % (atoms * 3) !== 0) {
        throw new TcbmError('ERR_ATOM_COUNT', `${data.names?.[i] ?? `trajectory ${i}`}: not a whole number of ${atoms}-atom frames`);
      }
    });
    const seed = options.seed ?? 1;
    const previousFrame = options.previousFrame ?? true;
    const device = checkDevice(options.device);
    const model = newModel(preset.architecture, data, settings.learningRate, seed, previousFrame, device);
    if (options.energy) model.setEnergy(options.energy.handle);
    return new Trainer(
      preset, settings, data, model, new Rng(seed), options.threads ?? defaultThreads(), previousFrame, seed, options.augment ?? true, options.energy,
      undefined, device,
    );
  }

  get parameterCount(): number {
    return this.model.parameterCount();
  }

  get pairCount(): number {
    return this.pairs.length;
  }

  /** How this model places pairs: its sizes, centring and canonical reference (placement.ts). */
  get layout(): PairLayout {
    return { atoms: this.data.topology.atoms.length, beads: this.data.mapping.beads, centring: this.preset.architecture.centring, reference: this.reference };
  }

  /** Pair (t−1, t) as item b, without random rotation (encoding, validation): onto the reference under canonical orientation, else none. */
  placePair(aa: Float32Array, cg: Float32Array, frame: number, b: number, aaT: Float32Array, aaPrev: Float32Array, cgT: Float32Array): void {
    placeInLayout(this.layout, aa, cg, frame, frame - 1, b, { aaT, aaPrev, cgT });
  }

  get latent(): number {
    return this.preset.architecture.latent;
  }

  get topology(): Topology {
    return this.data.topology;
  }

  get mapping(): CgMapping {
    return this.data.mapping;
  }

  /** Validation on held-out trajectories of the same molecule (see validation.ts). */
  async validate(held: Float32Array[], options: ValidationOptions = {}): Promise<ValidationReport> {
    await serialize(async () => this.withBinaryLatent());
    const report = await withWeights(this.model, this.averaged?.weights, this.threads, () => validate(this, held, { seed: this.seed, ...options }));
    return this.averaged ? { ...report, averaged: this.averaged.count } : report;
  }

  /** weight averaging (settings.average): the running mean so far, if any step has joined it */
  private averaged?: AveragedWeights;

  private group?: ProcessGroup;

  /**
   * Data-parallel training in `group` (every rank calls this, with the same
   * data, settings, seed and step): each step then draws the same global batch
   * from the shared seeded stream, computes on this rank's disjoint share of it,
   * and averages the gradients over the ranks before Adam's update, so the run
   * is the one a single process would make. Rejects on every rank when the
   * ranks' runs differ; starts every rank from rank 0's weights.
   */
  async distribute(group: ProcessGroup): Promise<void> {
    const B = this.settings.batch;
    if (B % group.world !== 0) {
      throw new TcbmError('ERR_INVALID_ARG_VALUE', `distributed: the global batch ${B} is not divisible by the world size ${group.world}`);
    }
    const run = [
      `preset ${this.preset.name}`, `batch ${B}`, `seed ${this.seed}`, `step ${this.step}`, `pairs ${this.pairs.length}`,
      `atoms ${this.data.topology.atoms.length}`, `parameters ${this.parameterCount}`, `rng ${this.rng.state().join(':')}`,
    ].join(', ');
    await group.agree('run (preset, global batch, seed, step, data, RNG)', run);
    this.model.setGroup(group.native);
    this.group = group;
    await serialize(() => this.model.syncWeights({ threads: this.threads }));
  }

  /** This process's rows of every global batch (all of them in a world of one). */
  private get share(): BatchShare {
    return batchShare(this.settings.batch, this.group);
  }

  /** This rank's share of the global batch. */
  private batch(): ConditionedBatch & Partial<SelfFeedPlan> {
    return shareOf(this.globalBatch(), this.settings.batch, this.share);
  }

  /** The global batch of the current RNG state: pairs, centring, rotations, latent noise. */
  private globalBatch(): ConditionedBatch & Partial<SelfFeedPlan> {
    const B = this.settings.batch;
    const N = this.data.topology.atoms.length;
    const n = this.data.mapping.beads;
    const aaT = new Float32Array(B * N * 3);
    const aaPrev = new Float32Array(B * N * 3);
    const cgT = new Float32Array(B * n * 3);
    const layout = this.layout;
    const lag = this.step >= (this.settings.prevLag?.from ?? 0) ? this.settings.prevLag : undefined;
    const placed: PlacedRow[] = [];
    for (let b = 0; b < B; b++) {
      const { trajectory, frame } = this.pairs[this.rng.int(this.pairs.length)];
      const prev = frame - pairGap(frame, () => this.rng.uniform(), lag);
      const r = pairRotation(layout, this.cg[trajectory], frame, () => (this.augment ? this.rng.rotation() : IDENTITY));
      placeRotated(layout, this.data.trajectories[trajectory], this.cg[trajectory], frame, prev, r, b, { aaT, aaPrev, cgT });
      placed.push({ trajectory, frame, previous: prev, rotation: r });
    }
    const eps = this.rng.normals(new Float32Array(B * this.preset.architecture.latent));
    const scale = latentNoiseAt(this.step, this.settings.latentWarmup);
    if (scale !== 1) for (let i = 0; i < eps.length; i++) eps[i] *= scale;
    if (this.settings.cgNoiseShape === 'bonds') this.cgTree ??= cgBondTree(this.data.topology, this.data.mapping);
    const noiseOn = this.step >= (this.settings.cgNoiseFrom ?? 0);
    const out = withConditionNoise({ aaT, aaPrev, cgT, eps }, B, noiseOn ? this.settings : { ...this.settings, cgNoise: 0 }, this.rng, this.cgTree);
    // drawn last and only when on, so runs without it keep their random stream
    const prior = this.settings.priorDecode;
    if (priorWeightAt(this.step, prior) > 0) out.epsPrior = this.rng.normals(new Float32Array(eps.length * (prior?.draws ?? 1)));
    const conditioned = out.epsPrior && this.priorCondition ? this.priorCondition.draw(out, B, this.rng) : out;
    // drawn last and only when on, likewise (a frame-based model never sees A(t-1))
    const feed = this.previousFrame && selfFeedOn(this.step, this.settings.selfFeed) ? this.settings.selfFeed : undefined;
    return feed ? { ...conditioned, ...planSelfFeed(feed, placed, this.data.trajectories, this.cg, layout, this.latent, this.rng) } : conditioned;
  }

  private cgTree?: CgTree; // the CG bonds, for noise on their lengths (cgNoiseShape "bonds"); made on first use

  /** The latent dimensions decoded as their sign at this step (architecture binaryLatent, from settings binaryFrom). */
  get binaryLatent(): number {
    return this.step >= (this.settings.binaryFrom ?? 0) ? (this.preset.architecture.binaryLatent ?? 0) : 0;
  }

  /** The native model, switched to this step's binary latent dimensions (call within serialize). */
  private withBinaryLatent(): NativeModel {
    if ((this.binaryApplied ?? this.preset.architecture.binaryLatent ?? 0) !== this.binaryLatent) {
      this.model.setBinaryLatent(this.binaryLatent);
      this.binaryApplied = this.binaryLatent;
    }
    return this.model;
  }

  /** what the native model decodes as signs now: its architecture's (undefined) until withBinaryLatent switches it */
  private binaryApplied?: number;

  /** What multiplies β: batch / training pairs under the reference's convention, else 1. */
  get klFactor(): number {
    return this.settings.klPerPair ? this.settings.batch / this.pairs.length : 1;
  }

  private energyStats?: EnergyStats;

  /** Mean and standard deviation (kJ/mol) of the training frames' internal energy (energy-stats.ts); made on first use. */
  async trainingEnergy(): Promise<EnergyStats | undefined> {
    if (!this.energy) return undefined;
    this.energyStats ??= await energyStats(this.energy, this.data.trajectories, this.data.topology.atoms.length, { threads: this.threads, device: this.device });
    return this.energyStats;
  }

  /** The step's loss weights other than γ and β. */
  private async lossWeights(): Promise<Omit<LossWeights, 'gamma' | 'beta'>> {
    const s = this.settings;
    const stats = s.energyStandardise ? await this.trainingEnergy() : undefined;
    return {
      energyClamp: s.energyClamp,
      energyScale: s.energyScale ?? 0,
      energyStd: stats?.std ?? 0,
      energyErrorClamp: s.energyErrorClamp ?? 0,
      edmWeight: s.edmWeight ?? 1, cgWeight: this.step >= (s.cgWeightFrom ?? 0) ? (s.cgWeight ?? 1) : 1,
      bf16: s.precision === 'bf16',
      localWeight: this.step >= (s.localFrom ?? 0) ? (s.localWeight ?? 0) : 0,
      localMoments: s.localMode === 'moments', energyTerms: s.energyTerms === true && this.step >= (s.energyTermsFrom ?? 0), energyTermsScale: s.energyTermsScale ?? 0, floorWeight: this.step >= (s.floorFrom ?? 0) ? (s.floorWeight ?? 0) : 0, freeBits: s.freeBits ?? 0,
      ...priorDecodeWeights(this.step, s.priorDecode), renameSymmetric: this.step >= (s.renameFrom ?? 0),
    };
  }

  /**
   * One optimisation step; resolves with every loss term. `stop`: this process
   * asks to stop after the step; in a group every rank's report then says
   * `stop`, at the same step.
   */
  async next(stop = false): Promise<StepReport> {
    const s = this.settings;
    const gamma = gammaAt(this.step, s.gamma);
    const beta = betaAt(this.step, s.beta);
    const klWeight = beta * this.klFactor;
    const learningRate = learningRateAt(this.step, s.learningRate, s.learningRateDecay);
    const weights = { ...(await this.lossWeights()), gamma, beta: klWeight, learningRate, stop };
    const fed = await serialize(() => applySelfFeed(this.withBinaryLatent(), this.batch(), s.selfFeed?.steps ?? 1, this.layout, this.latent, { threads: this.threads, bf16: s.precision === 'bf16' }));
    const batch = this.priorCondition ? await this.priorCondition.denoised(fed, this.threads) : fed;
    if (s.optimizerRestarts?.includes(this.step)) await serialize(() => this.model.resetOptimizer({ threads: this.threads }));
    const start = Date.now();
    const terms = await serialize(() =>
      this.withBinaryLatent().trainStep({ ...batch, ...weights, batch: this.share.count, clipNorm: clipAt(this.step, s.gamma, s.clipNorm), threads: this.threads }),
    );
    const report: StepReport = { step: this.step, gamma, beta, klWeight, learningRate, ...terms, ms: Date.now() - start };
    this.step++;
    this.averaged = await joinAverage(this.model, s.average, this.step, this.averaged, this.threads);
    return report;
  }

  /**
   * Steps until `until` (default: the settings' step count) or until `signal`
   * aborts. In a group, an abort on any rank stops every rank after the same
   * step (the request travels with that step's loss terms).
   */
  async *run(until = this.settings.steps, signal?: AbortSignal): AsyncIterableIterator<StepReport> {
    while (this.step < until) {
      if (!this.group && signal?.aborted) return;
      const report = await this.next(signal?.aborted ?? false);
      yield report;
      if (report.stop) return;
    }
  }

  /**
   * After the last step: encode training pairs, fit the latent mixture to their
   * posterior samples, keep a seed bank, and write the .tcbm model file.
   */
  async finalize(file: string, options: FinalizeOptions = {}): Promise<FinalizeReport> {
    return withWeights(this.model, this.averaged?.weights, this.threads, () => this.writeModel(file, options));
  }

  private async writeModel(file: string, options: FinalizeOptions): Promise<FinalizeReport> {
    const N = this.data.topology.atoms.length;
    const n = this.data.mapping.beads;
    const L = this.preset.architecture.latent;
    const picks = spaced(this.pairs.length, options.posteriorPairs ?? 5000).map((i) => this.pairs[i]);
    const z = new Float32Array(picks.length * L);
    const rng = new Rng(this.seed ^ 0x5eed);
    const B = 64;
    for (let start = 0; start < picks.length; start += B) {
      const part = picks.slice(start, start + B);
      const aaT = new Float32Array(part.length * N * 3);
      const aaPrev = new Float32Array(part.length * N * 3);
      const cgT = new Float32Array(part.length * n * 3);
      part.forEach(({ trajectory, frame }, b) => this.placePair(this.data.trajectories[trajectory], this.cg[trajectory], frame, b, aaT, aaPrev, cgT));
      const { mu, logvar } = await serialize(() => this.model.encode({ batch: part.length, aaT, aaPrev, cgT, threads: this.threads }));
      // A posterior sample per pair, so the mixture models the aggregate posterior, not just its means.
      for (let i = 0; i < mu.length; i++) z[start * L + i] = mu[i] + Math.exp(0.5 * logvar[i]) * rng.normal();
    }
    const mixture = new GaussianMixture({ k: options.components ?? 10, seed: this.seed }).fit(z, picks.length, L);

    const bank = spaced(this.pairs.length, options.seedFrames ?? 2000).map((i) => this.pairs[i]);
    const seedCg = new Float32Array(bank.length * n * 3);
    const seedPrevAa = new Float32Array(bank.length * N * 3);
    bank.forEach(({ trajectory, frame }, s) => {
      seedCg.set(this.cg[trajectory].subarray(frame * n * 3, (frame + 1) * n * 3), s * n * 3);
      seedPrevAa.set(this.data.trajectories[trajectory].subarray((frame - 1) * N * 3, frame * N * 3), s * N * 3);
    });

    const weights = await serialize(() => this.model.save({ optimizer: false, threads: this.threads }));
    const m = this.data.mapping;
    await writeContainer(
      file,
      {
        kind: 'model',
        tcbackmap: packageVersion(),
        created: new Date().toISOString(),
        // as trained: a model written before settings.binaryFrom decodes z as it is
        preset: this.binaryLatent === (this.preset.architecture.binaryLatent ?? 0)
          ? this.preset : { ...this.preset, architecture: { ...this.preset.architecture, binaryLatent: this.binaryLatent } },
        settings: this.settings,
        previousFrame: this.previousFrame,
        topology: this.data.topology,
        mapping: { name: m.name, atoms: m.atoms, beads: m.beads, beadNames: m.beadNames, indices: m.indices ? [...m.indices] : undefined },
        mixture: mixture.toJSON(),
        seedBank: { frames: bank.length },
        canonical: canonicalFrame(this.reference),
        training: {
          steps: this.step, seed: this.seed, pairs: this.pairs.length, files: this.data.names ?? [],
          klFactor: this.klFactor, energy: this.energyStats,
          ...(this.averaged ? { averaged: this.averaged.count } : {}),
        },
      },
      {
        weights, mapping: bytesOf(m.matrix), seedCg: bytesOf(seedCg), seedPrevAa: bytesOf(seedPrevAa),
        ...(this.data.systemXml ? { system: new Uint8Array(Buffer.from(this.data.systemXml, 'utf8')) } : {}),
      },
    );
    return { pairsEncoded: picks.length, seedFrames: bank.length, mixture };
  }

  /** Writes a checkpoint file (atomically) from which `resumeFrom` continues this run exactly. */
  async saveCheckpoint(file: string): Promise<void> {
    await writeCheckpoint(file, await this.checkpoint(), { atoms: this.data.topology.atoms.length, beads: this.data.mapping.beads });
  }

  static async resumeFrom(file: string, data: TrainingData, options: ResumeOptions = {}): Promise<Trainer> {
    return Trainer.resume(data, await readCheckpoint(file, { atoms: data.topology.atoms.length, beads: data.mapping.beads }), options);
  }

  /** Everything needed to continue this run exactly: step, RNG state, weights and optimiser. */
  async checkpoint(): Promise<TrainerState> {
    const weights = await serialize(() => this.model.save({ optimizer: true, threads: this.threads }));
    return {
      preset: this.preset,
      settings: this.settings,
      step: this.step,
      rng: this.rng.state(),
      seed: this.seed,
      previousFrame: this.previousFrame,
      augment: this.augment,
      canonical: canonicalFrame(this.reference),
      weights,
      ...(this.averaged ? { average: { count: this.averaged.count, weights: Float32Array.from(this.averaged.weights) } } : {}),
    };
  }

  /**
   * A trainer that continues from `state` on the same data. With `preset` (same
   * architecture) and/or `training`, the run continues under those settings from
   * the checkpoint's step: e.g. a longer run, or a schedule that switches the energy
   * term on after a structural phase both runs shared.
   */
  static async resume(data: TrainingData, state: TrainerState, options: ResumeOptions = {}): Promise<Trainer> {
    if (options.preset && !resumableAs(state.preset.architecture, options.preset.architecture, state.optimizer === false)) {
      throw new TcbmError('ERR_INVALID_ARG_VALUE', `cannot resume a ${state.preset.name} checkpoint as ${options.preset.name}: the architectures differ`);
    }
    if (options.preset || options.training) {
      const preset = options.preset ?? state.preset;
      const base = options.preset ? options.preset.training : state.settings;
      state = { ...state, preset, settings: { ...base, ...options.training } };
    }
    const device = checkDevice(options.device);
    const model = newModel(state.preset.architecture, data, state.settings.learningRate, state.seed, state.previousFrame, device);
    if (options.energy) model.setEnergy(options.energy.handle);
    const trainer = new Trainer(
      state.preset, state.settings, data, model, Rng.fromState(state.rng),
      options.threads ?? defaultThreads(), state.previousFrame, state.seed, state.augment, options.energy,
      state.canonical && Float32Array.from(state.canonical.reference), device,
    );
    await serialize(() => model.load({ bytes: state.weights, optimizer: state.optimizer !== false, threads: trainer.threads }));
    trainer.step = state.step;
    // a run resumed without weight averaging in its settings writes its last weights
    if (state.average && state.settings.average) {
      if (state.average.weights.length !== trainer.parameterCount) {
        throw new TcbmError('ERR_BAD_FORMAT', `checkpoint: its averaged weights hold ${state.average.weights.length} values, the model has ${trainer.parameterCount} parameters`);
      }
      trainer.averaged = { count: state.average.count, weights: Float32Array.from(state.average.weights) };
    }
    return trainer;
  }
}

export interface ResumeOptions extends Pick<TrainerOptions, 'threads' | 'energy' | 'device'> {
  /** continue under this preset's training settings (its architecture must be the checkpoint's) */
  preset?: Preset;
  /** overrides of the training settings (e.g. more steps) */
  training?: Partial<TrainingSettings>;
}

export interface FinalizeOptions {
  /** training pairs whose posteriors the mixture is fitted to (evenly spaced; default 5000) */
  posteriorPairs?: number;
  /** (CG(t), AA(t-1)) pairs kept to seed frame 0 of a backmapping (evenly spaced; default 2000) */
  seedFrames?: number;
  /** mixture components (default 10) */
  components?: number;
}

export interface FinalizeReport {
  pairsEncoded: number;
  seedFrames: number;
  mixture: GaussianMixtureModel;
}

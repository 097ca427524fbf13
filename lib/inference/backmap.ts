// Inference: autoregressive, temporally coherent backmapping of CG trajectories.
// Frame 0 of each segment is seeded from the model's bank of training frames;
// then every frame is decoded from (A(t-1), C(t), z ~ mixture), and the result
// becomes A(t-1) of the next. K segments roll out as one batch of K.
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NativeModel } from '../../binding';
import { TcbmError, fileError, outOfRange } from '../core/errors';
import type { GaussianMixtureModel } from '../model/gmm';
import { createTrajectory, openTrajectory } from '../io/trajectory';
import { checkOutput, scratchPrefix, trackTemp, untrackTemp } from '../io/atomic';
import type { FrameChunk, Topology, TrajectoryReader } from '../io/types';
import { applyMapping, type CgMapping } from '../model/mapping';
import { checkDevice, warnIfBf16Emulated, type Device } from '../core/device';
import { defaultThreads } from '../core/native';
import { serialize } from '../core/queue';
import { Rng } from '../core/rng';
import { applySuperposition, superpose } from './superpose';
import { Relaxer, type RelaxOptions, type RelaxSummary } from './relax';
import { loadForceField, parseForceField, type ForceField } from '../forcefield/system';
import { newModel } from '../model/architecture';
import { beadAtoms } from '../model/validation';
import { SpreadAccumulator, sampleFile, type EnsembleSpread } from './ensemble';
import { manifestFile, sha256File, shardRange, windowOf, writeManifest, type Shard } from './shard';
import { readModelFile, type ModelInfo } from './modelinfo';
import { cgInputOf, cgNoiseLevel, type CgNoiseLevel } from './cgnoise';

/** Frames decoded per native call: long enough to amortise the hand-off, short enough to cancel promptly. */
const ROLLOUT_STEPS = 32;

export interface SeedChoice {
  /** index in the seed bank of the CG frame nearest (after superposition) to the target */
  index: number;
  /** its RMSD to the target CG frame, nm */
  rmsd: number;
  /** the atomistic frame preceding it, rigidly aligned onto the target ([atoms*3] nm) */
  frame: Float32Array;
}

/**
 * Paper §2.3: among the seed bank's CG frames find the one nearest to `cg` after
 * optimal superposition; take the atomistic frame that precedes it in its
 * trajectory and rigidly align it onto `cg` with the same superposition.
 */
export function chooseSeed(seedCg: Float32Array, seedPrevAa: Float32Array, beads: number, atoms: number, cg: ArrayLike<number>): SeedChoice {
  const S = seedCg.length / (beads * 3);
  let best = 0;
  let bestRmsd = Infinity;
  for (let s = 0; s < S; s++) {
    const r = superpose(seedCg, s * beads * 3, cg, 0, beads).rmsd;
    if (r < bestRmsd) {
      bestRmsd = r;
      best = s;
    }
  }
  const fit = superpose(seedCg, best * beads * 3, cg, 0, beads);
  const frame = new Float32Array(atoms * 3);
  applySuperposition(fit, seedPrevAa, best * atoms * 3, atoms, frame, 0);
  return { index: best, rmsd: bestRmsd, frame };
}

export interface BackmapOptions {
  /** contiguous segments rolled out as one batch (default 1) */
  segments?: number;
  /** seed of the latent samples (default 1): the same seed gives the same output */
  seed?: number;
  /** frames read per segment at a time (default 256) */
  chunkFrames?: number;
  threads?: number;
  signal?: AbortSignal;
  /**
   * where segments > 1 keep each segment's frames until they are written in
   * order (float32, as large as the output uncompressed): os.tmpdir() for
   * backmap(), the output's folder for backmapFile(); removed on success,
   * error and cancel
   */
  scratchDir?: string;
  /**
   * (default false: the network's output as is) each frame is moved, before it
   * conditions the next, by the displacement smoothest over the bond graph that
   * makes its CG mapping equal the input beads exactly (bead atoms land on their
   * beads, substituents travel with them)
   */
  exactCg?: boolean;
  /**
   * S independent rollouts of the whole trajectory (default 1), run as S lockstep
   * batches: sample i draws its latents from seed + i, so it equals a run with
   * that seed alone
   */
  samples?: number;
  /**
   * 'fp32' (default) or 'bf16': the decoder's convolutions and linear layers in
   * bf16 (oneDNN; fast on CPUs with AVX512-BF16), opt-in: decoded coordinates
   * differ from fp32 by its rounding (README, Benchmarks)
   */
  precision?: 'fp32' | 'bf16';
  /**
   * shard `index` of `count`: only the frames segment `index` of a `count`-segment
   * run covers, computed exactly as that segment (its seed frame and latent
   * stream), so concatenated shards equal the segments run (shard.ts)
   */
  shard?: Shard;
  /** called after every rollout step with frames done and total (frames of one sample) */
  onProgress?: (done: number, total: number) => void;
  /**
   * refine each frame with the model's force field before it is written (see
   * relax.ts); needs a model that stores its System XML, or useSystem()
   */
  relax?: RelaxOptions;
  /**
   * how rough the CG input is, as the standard deviation in nm of Gaussian
   * noise per bead coordinate (0: MD-quality CG, left as it is), or 'auto' (the
   * default) to estimate it from the input's CG bond lengths (cgnoise.ts). A
   * model trained with a noise input (architecture noiseInput) is told it; any
   * other gets the input denoised at that level first (cgdenoise.ts)
   */
  cgNoise?: number | 'auto';
}

export interface BackmapSummary {
  frames: number;
  segments: number;
  /** for each segment: its first frame and the seed chosen for it */
  seeds: { start: number; seedIndex: number; rmsd: number }[];
  /** K−1 seams between segments: the frame where a new seed starts */
  seams: number[];
  /** independent rollouts of the whole trajectory (options.samples) */
  samples?: number;
  /** with samples > 1: how far the samples spread around each other, per atom */
  spread?: EnsembleSpread;
  /** with options.relax */
  relax?: RelaxSummary;
  /** with options.shard: which frames of the whole trajectory this output holds */
  shard?: Shard & { first: number; frames: number; total: number };
  /** the CG input's noise level, and whether it was denoised */
  cgNoise?: CgNoiseLevel;
}

/** A chunk of backmapped frames, of sample `sample` (0 unless options.samples > 1). */
export interface BackmapChunk extends FrameChunk {
  sample: number;
}

export class Backmapper {
  private constructor(
    readonly info: ModelInfo,
    private readonly model: NativeModel,
    readonly threads: number,
    readonly winograd: boolean,
    /** SHA-256 of the weights: what a shard's manifest names the model by */
    readonly weightsDigest: string,
    readonly device: Device,
  ) {}

  private forceField?: ForceField;

  /** The force field for `relax`, from a System XML file: for models that do not store theirs. */
  async useSystem(file: string): Promise<void> {
    this.forceField = await loadForceField(file);
  }

  /** The refiner of options.relax: the model's own System XML unless useSystem() gave one. */
  private relaxer(options: RelaxOptions): Promise<Relaxer> {
    if (!this.forceField) {
      if (!this.info.systemXml) {
        throw new TcbmError('ERR_INVALID_ARG_VALUE', 'relax: this model stores no force field; give its System XML (--system, or Backmapper.useSystem())');
      }
      this.forceField = parseForceField(this.info.systemXml, 'the model\'s System XML');
    }
    return Relaxer.create(this.forceField, this.info.topology, this.info.mapping, this.info.seedPrevAa, options);
  }

  /**
   * `winograd` (default true): the decoder's 3x3x3 convolutions by Winograd
   * F(2x2x2, 3x3x3) on x86-64 CPUs with AVX2 (same result to float32 rounding);
   * false runs libtorch's conv3d (the benchmark's baseline).
   * `device`: "cpu" (default), "cuda" or "cuda:N" for the network (CUDA untested:
   * no GPU on the development machines); relax always runs on the CPU.
   */
  static async load(file: string, options: { threads?: number; winograd?: boolean; device?: string } = {}): Promise<Backmapper> {
    const device = checkDevice(options.device);
    const { info, weights } = await readModelFile(file);
    const threads = options.threads ?? defaultThreads();
    const model = newModel(info.preset.architecture, info, info.preset.training.learningRate, 0, info.previousFrame, device);
    try {
      await serialize(() => model.load({ bytes: weights, optimizer: false, threads }));
    } catch (err) {
      throw fileError('ERR_BAD_FORMAT', file, `model weights do not load (${(err as Error).message.split('\n')[0]})`);
    }
    const bonds = info.topology.bonds;
    try {
      model.setCgProjection({ bonds: Int32Array.from(bonds.flat()), count: bonds.length });
    } catch (err) {
      throw fileError('ERR_BAD_FORMAT', file, `its topology's bonds do not fit the model (${(err as Error).message.split('\n')[0]})`);
    }
    if (info.canonicalReference) model.setCanonicalReference(info.canonicalReference);
    return new Backmapper(info, model, threads, options.winograd ?? true, createHash('sha256').update(weights).digest('hex'), device);
  }

  get atoms(): number {
    return this.info.topology.atoms.length;
  }

  get beads(): number {
    return this.info.mapping.beads;
  }

  /** CG frames of atomistic ones, with this model's mapping. */
  coarseGrain(coords: Float32Array, frames: number): Float32Array {
    return applyMapping(this.info.mapping, coords, frames);
  }

  /**
   * Backmaps every frame of `cg` (a trajectory of CG beads in the model's bead
   * order), yielding atomistic chunks in the original frame order; with
   * `samples` S > 1, each sample's chunks in that order (chunk.sample tells which).
   */
  async *backmap(whole: TrajectoryReader, options: BackmapOptions = {}, summary?: BackmapSummary): AsyncIterableIterator<BackmapChunk> {
    if (whole.atoms !== this.beads) {
      throw fileError('ERR_ATOM_COUNT', whole.path, `has ${whole.atoms} particles per frame, the model's ${this.info.mapping.name} mapping has ${this.beads} beads`);
    }
    const S = sampleCount(options.samples);
    // from the whole input, so that every shard is told the same level
    const noise = await cgNoiseLevel(options.cgNoise, whole, this.info);
    const input = cgInputOf(whole, noise, this.info);
    const shard = options.shard && (await shardOf(input, options.shard, options.segments ?? 1, S));
    const cg = shard ? windowOf(input, shard.first, shard.frames) : input;
    const total = await cg.frameCount();
    const K = Math.max(1, Math.min(options.segments ?? 1, total));
    const bf16 = precisionOf(options.precision) === 'bf16';
    if (bf16) warnIfBf16Emulated(this.device);
    const chunk = options.chunkFrames ?? 256;
    const starts = Array.from({ length: K + 1 }, (_, k) => Math.floor((k * total) / K));
    // Lane i*K + k (sample i, segment k) draws its latents from stream k of seed + i:
    // sample i is the run of seed + i alone, and a segment's draws do not depend on
    // how many segments run beside it (a shard is the segment it stands for).
    const seed = options.seed ?? 1;
    const rngs = Array.from({ length: S * K }, (_, j) => Rng.stream(seed + Math.floor(j / K), (shard?.index ?? 0) + (j % K)));
    const N = this.atoms;
    const n = this.beads;
    const L = this.info.preset.architecture.latent;
    const relaxer = options.relax ? await this.relaxer({ exactCg: options.exactCg, ...options.relax }) : undefined;
    const relaxed = { frames: 0, before: 0, after: 0, repairs: 0, retried: 0 };
    const spread = S > 1 ? new SpreadAccumulator(S, N, beadAtoms(this.info.mapping)) : undefined;
    const info: BackmapSummary = summary ?? { frames: 0, segments: K, seeds: [], seams: [] };
    info.segments = K;
    info.samples = S;
    info.seams = starts.slice(1, K);
    if (shard) info.shard = shard;
    info.cgNoise = noise;

    // One seed per segment, from its first CG frame, shared by the samples. Lane i*K + k is sample i's segment k.
    const prev = new Float32Array(S * K * N * 3);
    for (let k = 0; k < K; k++) {
      const first = await cg.read(starts[k], 1);
      const choice = chooseSeed(this.info.seedCg, this.info.seedPrevAa, n, N, first.coords);
      for (let i = 0; i < S; i++) prev.set(choice.frame, (i * K + k) * N * 3);
      info.seeds.push({ start: starts[k], seedIndex: choice.index, rmsd: choice.rmsd });
    }

    // K > 1: each lane's frames go to its own temporary file, concatenated in order at the end.
    // Tracked before it exists: a Worker terminated while mkdir runs still gets it removed.
    const tmp = K > 1 ? scratchPrefix(options.scratchDir ?? os.tmpdir()) + randomBytes(6).toString('hex') : undefined;
    if (tmp) {
      trackTemp(tmp);
      await fsp.mkdir(tmp, { mode: 0o700 });
    }
    const parts = tmp ? await Promise.all(Array.from({ length: S * K }, (_, j) => fsp.open(path.join(tmp, `${j}.f32`), 'w'))) : [];
    try {
      const length = (k: number) => starts[k + 1] - starts[k];
      const longest = Math.max(...Array.from({ length: K }, (_, k) => length(k)));
      let done = 0;
      for (let offset = 0; offset < longest; offset += chunk) {
        const active = Array.from({ length: K }, (_, k) => k).filter((k) => offset < length(k));
        const counts = active.map((k) => Math.min(chunk, length(k) - offset));
        const cgChunks = await Promise.all(active.map((k, i) => cg.read(starts[k] + offset, counts[i])));
        // outs[i][a]: sample i's frames of active segment a in this chunk
        const outs = Array.from({ length: S }, () => counts.map((c) => new Float32Array(c * N * 3)));
        for (let s = 0; s < Math.max(...counts); ) {
          if (options.signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'backmap: cancelled');
          const live = active.map((_, a) => a).filter((a) => s < counts[a]);
          const Bk = live.length;
          const B = S * Bk; // batch row i*Bk + b: sample i, live segment b
          // Steps every live segment still has, in native rollouts of at most ROLLOUT_STEPS.
          const T = Math.min(ROLLOUT_STEPS, ...live.map((a) => counts[a] - s));
          const prevB = new Float32Array(B * N * 3);
          const cgT = new Float32Array(T * B * n * 3);
          const z = new Float32Array(T * B * L);
          for (let i = 0; i < S; i++) {
            live.forEach((a, b) => {
              const row = i * Bk + b;
              const lane = i * K + active[a];
              const zi = this.info.mixture.sample(rngs[lane], T);
              prevB.set(prev.subarray(lane * N * 3, (lane + 1) * N * 3), row * N * 3);
              for (let t = 0; t < T; t++) {
                cgT.set(cgChunks[a].coords.subarray((s + t) * n * 3, (s + t + 1) * n * 3), (t * B + row) * n * 3);
                z.set(zi.subarray(t * L, (t + 1) * L), (t * B + row) * L);
              }
            });
          }
          const rollout = { prev: prevB, cg: cgT, z, steps: T, batch: B, threads: this.threads, winograd: this.winograd, project: options.exactCg ?? false, bf16, cgNoise: noise.level };
          // out: the frames written; next: those that condition the next step
          let out: Float32Array;
          let next: Float32Array;
          if (relaxer) {
            const lanes = new Int32Array(B);
            for (let i = 0; i < S; i++) live.forEach((a, b) => (lanes[i * Bk + b] = i * K + active[a]));
            const r = await relaxer.rollout(this.model, rollout, lanes, offset > 0 || s > 0);
            ({ coords: out, next } = r);
            relaxed.retried += r.retried;
            relaxed.frames += T * B;
            for (let f = 0; f < T * B; f++) {
              relaxed.before += r.before[f];
              relaxed.after += r.after[f];
            }
            relaxed.repairs += r.repairs;
          } else {
            out = next = await serialize(() => this.model.rollout(rollout));
          }
          for (let i = 0; i < S; i++) {
            live.forEach((a, b) => {
              const row = i * Bk + b;
              const lane = i * K + active[a];
              for (let t = 0; t < T; t++) outs[i][a].set(out.subarray((t * B + row) * N * 3, (t * B + row + 1) * N * 3), (s + t) * N * 3);
              prev.set(next.subarray(((T - 1) * B + row) * N * 3, ((T - 1) * B + row + 1) * N * 3), lane * N * 3);
            });
          }
          s += T;
          done += T * Bk;
          options.onProgress?.(done, total);
        }
        if (spread) active.forEach((k, a) => spread.add(outs.map((o) => o[a]), counts[a], starts[k] + offset));
        if (K === 1) {
          for (let i = 0; i < S; i++) yield { atoms: N, frames: counts[0], coords: outs[i][0], start: offset, sample: i };
        } else {
          await Promise.all(outs.flatMap((o, i) => active.map((k, a) => parts[i * K + k].write(new Uint8Array(o[a].buffer)))));
        }
      }
      if (tmp) {
        await Promise.all(parts.map((p) => p.close()));
        for (let j = 0; j < S * K; j++) {
          const k = j % K;
          const file = await fsp.open(path.join(tmp, `${j}.f32`), 'r');
          try {
            for (let offset = 0; offset < length(k); offset += chunk) {
              const frames = Math.min(chunk, length(k) - offset);
              const coords = new Float32Array(frames * N * 3);
              await file.read(new Uint8Array(coords.buffer), 0, coords.byteLength, offset * N * 12);
              yield { atoms: N, frames, coords, start: starts[k] + offset, sample: Math.floor(j / K) };
            }
          } finally {
            await file.close();
          }
        }
      }
      info.frames = total;
      if (spread) info.spread = spread.result();
      if (relaxer) {
        const frames = Math.max(1, relaxed.frames);
        info.relax = { frames: relaxed.frames, energyBefore: relaxed.before / frames, energyAfter: relaxed.after / frames, repairs: relaxed.repairs, retried: relaxed.retried };
      }
    } finally {
      if (tmp) {
        await Promise.all(parts.map((p) => p.close().catch(() => undefined)));
        await fsp.rm(tmp, { recursive: true, force: true });
        untrackTemp(tmp);
      }
    }
  }

  /**
   * Backmaps the CG trajectory `cgFile` into `outFile` (any format), atomically;
   * with `samples` S > 1 into S files, sampleFile(outFile, i) (`out.0.dcd`, …).
   */
  async backmapFile(cgFile: string, outFile: string, options: BackmapOptions = {}): Promise<BackmapSummary & { seconds: number; out: string; outputs: string[] }> {
    const start = Date.now();
    const S = sampleCount(options.samples);
    const outputs = S > 1 ? Array.from({ length: S }, (_, i) => sampleFile(outFile, i)) : [outFile];
    for (const out of outputs) checkOutput(out, { [cgFile]: 'the CG input' });
    // Opened without an expected count: backmap() names the model's bead count when they differ.
    const reader = await openTrajectory(cgFile);
    const summary: BackmapSummary = { frames: 0, segments: 1, samples: S, seeds: [], seams: [] };
    try {
      const writers: Awaited<ReturnType<typeof createTrajectory>>[] = [];
      try {
        for (const out of outputs) writers.push(await createTrajectory(out, { atoms: this.atoms, topology: this.info.topology }));
        const scratchDir = options.scratchDir ?? path.dirname(path.resolve(outFile));
        for await (const c of this.backmap(reader, { ...options, scratchDir }, summary)) await writers[c.sample].write(c);
        for (const w of writers) await w.close();
        if (summary.shard) {
          const { index, count, first, frames, total } = summary.shard;
          const run = {
            model: this.weightsDigest, cg: await sha256File(cgFile), seed: options.seed ?? 1, precision: precisionOf(options.precision),
            exactCg: options.exactCg ?? false, winograd: this.winograd, relax: options.relax ?? null, cgNoise: summary.cgNoise?.level ?? null,
          };
          await writeManifest(outFile, { index, count, first, frames, total, atoms: this.atoms, run });
        } else {
          await fsp.rm(manifestFile(outFile), { force: true }); // a manifest left by an earlier shard run would no longer be true
        }
      } catch (err) {
        await Promise.all(writers.map((w) => w.abort()));
        throw err;
      }
    } finally {
      await reader.close();
    }
    return { ...summary, seconds: (Date.now() - start) / 1000, out: outFile, outputs };
  }
}

/** options.precision checked: 'fp32' (default) or 'bf16'. */
function precisionOf(precision: unknown): 'fp32' | 'bf16' {
  if (precision === undefined || precision === 'fp32' || precision === 'bf16') return precision ?? 'fp32';
  throw outOfRange('"fp32" or "bf16"', 'precision', precision);
}

/** options.samples checked: a positive integer, default 1. */
function sampleCount(samples: number | undefined): number {
  if (samples === undefined) return 1;
  if (!Number.isSafeInteger(samples) || samples < 1) throw outOfRange('a positive integer', 'samples', samples);
  return samples;
}

/** options.shard checked against the trajectory: shard i of n covers frames shardRange() of it. */
async function shardOf(cg: TrajectoryReader, shard: Shard, segments: number, samples: number): Promise<NonNullable<BackmapSummary['shard']>> {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw outOfRange('{ index, count } with 0 ≤ index < count', 'shard', `${index}/${count}`);
  }
  if (segments > 1 || samples > 1) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'a shard is one segment of one sample: shard cannot be combined with segments > 1 or samples > 1');
  const total = await cg.frameCount();
  if (count > total) throw fileError('ERR_INVALID_ARG_VALUE', cg.path, `has ${total} frames, fewer than the ${count} shards asked for`);
  return { index, count, ...shardRange(shard, total), total };
}

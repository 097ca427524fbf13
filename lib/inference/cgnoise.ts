// The CG input's noise level: given by the user, or estimated from how much more
// the input's CG bond lengths fluctuate than the training frames' did. A decoder
// that takes one (architecture `noiseInput`) is told it; for any other, rough
// input is denoised first (cgdenoise.ts).
import { bondLengths } from '../analysis/geometry';
import { TcbmError } from '../core/errors';
import type { TrajectoryReader } from '../io/types';
import { cgBondTree, type CgTree } from '../model/noise';
import { denoisedReader, fitCgPrior, type CgPrior } from './cgdenoise';
import type { ModelInfo } from './modelinfo';

/** What backmap was told, or found: the level in nm, and whether it was estimated. */
export interface CgNoiseLevel {
  level: number;
  estimated: boolean;
  /** the input is denoised before the network sees it (a level > 0 and a model not told it) */
  denoised?: boolean;
  /** with `estimated`: the input's and the training frames' CG bond-length spread (RMS over bonds of each bond's std, nm) */
  inputBondStd?: number;
  trainingBondStd?: number;
}

/** Running mean and M2 of each bond's length (Welford), over frames [F, beads, 3]. */
class BondMoments {
  readonly count: number[];
  readonly mean: number[];
  readonly m2: number[];
  constructor(private readonly bonds: readonly { i: number; j: number }[]) {
    this.count = new Array(bonds.length).fill(0);
    this.mean = new Array(bonds.length).fill(0);
    this.m2 = new Array(bonds.length).fill(0);
  }

  add(coords: Float32Array, frames: number, beads: number): void {
    const m = this.bonds.length;
    const lengths = bondLengths({ coords, frames, atoms: beads }, this.bonds.map(({ i, j }) => [i, j]));
    for (let f = 0; f < frames; f++) {
      for (let b = 0; b < m; b++) {
        const length = lengths[f * m + b];
        const delta = length - this.mean[b];
        this.count[b] += 1;
        this.mean[b] += delta / this.count[b];
        this.m2[b] += delta * (length - this.mean[b]);
      }
    }
  }

  /** each bond's variance (nm²) */
  variances(): number[] {
    return this.m2.map((m2, b) => (this.count[b] > 1 ? m2 / (this.count[b] - 1) : 0));
  }
}

/**
 * The level σ (nm per bead coordinate) of Gaussian noise that would widen the
 * training frames' CG bond lengths to the input's: isotropic noise σ on both
 * beads of a bond adds 2σ² to its length's variance, so σ² is half the mean
 * excess variance over the bonds (0 when that excess is below the training
 * frames' own variance: bond lengths less than √2 times as spread; ADP: a level
 * under 0.002 nm). The training frames are the model's seed bank (CG frames
 * spread over its training pairs). Reads every frame of `reader` (CG frames are
 * small). Throws when the model's topology has no bonds joining its beads.
 */
export async function estimateCgNoise(reader: TrajectoryReader, info: ModelInfo): Promise<CgNoiseLevel> {
  const prior = priorOf(info);
  if (!prior) throw new TcbmError('ERR_INVALID_ARG_VALUE', `${reader.path}: the model's topology has no bonds joining its CG beads, so the input's noise level cannot be estimated; give it (cgNoise, in nm)`);
  const input = new BondMoments(prior.bonds);
  for await (const c of reader.chunks(4096)) input.add(c.coords, c.frames, c.atoms);
  const [vIn, vRef] = [input.variances(), prior.bonds.map((b) => b.std ** 2)];
  if (vIn.length === 0) return { level: 0, estimated: true, inputBondStd: 0, trainingBondStd: 0 };
  const rms = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x, 0) / v.length);
  const excess = vIn.reduce((a, v, i) => a + (v - vRef[i]), 0) / vIn.length;
  // below the training frames' own variance the excess is no evidence of noise (sampling, another
  // temperature, float rounding): level 0, the input as it is
  const noted = excess > vRef.reduce((a, v) => a + v, 0) / vRef.length;
  return { level: noted ? Math.sqrt(excess / 2) : 0, estimated: true, inputBondStd: rms(vIn), trainingBondStd: rms(vRef) };
}

/**
 * The input's level: `option` (nm ≥ 0, or 'auto', the default, to estimate it),
 * and whether the input is to be denoised: when the level is > 0 and the model
 * is not told it (no noise input).
 */
export async function cgNoiseLevel(option: unknown, reader: TrajectoryReader, info: ModelInfo): Promise<CgNoiseLevel> {
  if (option !== undefined && option !== 'auto' && !(typeof option === 'number' && Number.isFinite(option) && option >= 0 && option < 1)) {
    throw new TcbmError('ERR_INVALID_ARG_VALUE', `cgNoise must be "auto" or a noise level in nm in [0, 1), got ${JSON.stringify(option)}`);
  }
  const told = !!info.preset.architecture.noiseInput;
  if (!told && !priorOf(info)) {
    // without bonds joining the beads there is neither an estimate nor a prior to denoise with:
    // the input goes to the network as it is
    if (typeof option === 'number' && option > 0) {
      throw new TcbmError('ERR_INVALID_ARG_VALUE', `cgNoise ${option} nm: the model's topology has no bonds joining its CG beads, so its input cannot be denoised (give 0 or "auto")`);
    }
    return { level: 0, estimated: false, denoised: false };
  }
  const found = typeof option === 'number' ? { level: option, estimated: false } : await estimateCgNoise(reader, info);
  return { ...found, denoised: found.level > 0 && !told };
}

const priors = new WeakMap<ModelInfo, CgPrior | null>();

/**
 * The harmonic prior of the model's seed frames over its CG bond tree (fitCgPrior), fitted once per
 * model; undefined when its topology has no bonds joining the beads (cgBondTree throws).
 */
function priorOf(info: ModelInfo): CgPrior | undefined {
  if (!priors.has(info)) {
    let tree: CgTree | undefined;
    try {
      tree = cgBondTree(info.topology, info.mapping);
    } catch {
      tree = undefined;
    }
    priors.set(info, tree ? fitCgPrior(info.seedCg, info.seedFrames, tree) : null);
  }
  return priors.get(info) ?? undefined;
}

/** `reader` as the network is to see it at `noise`: denoised (cgdenoise.ts) when noise.denoised, else as it is. */
export function cgInputOf(reader: TrajectoryReader, noise: CgNoiseLevel, info: ModelInfo): TrajectoryReader {
  if (!noise.denoised) return reader;
  return denoisedReader(reader, priorOf(info)!, noise.level); // denoised only with a prior (cgNoiseLevel)
}

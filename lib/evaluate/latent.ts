// The latent space of a model on the reference (evaluate --model): the encoder's posteriors
// of reference pairs placed exactly as in training (placement.ts), a PCA of their means
// coloured by the frames' internal energy, the model's latent mixture in the same plane,
// and the KL to N(0, 1) per dimension (which dimensions carry information).
import type { NativeModel } from '../../binding';
import type { Coordinates } from '../analysis';
import { symmetricEigen } from '../analysis/linalg';
import type { Device } from '../core/device';
import { TcbmError, fileError } from '../core/errors';
import { defaultThreads } from '../core/native';
import { serialize } from '../core/queue';
import { readModelFile, type ModelInfo } from '../inference/modelinfo';
import { applyMapping } from '../model/mapping';
import { placePair, type PairLayout } from '../model/placement';
import { newModel } from '../model/architecture';
import { spaced } from '../model/picks';
import { klPerDimension } from '../model/validation';
import { finite } from './common';
import type { LatentSection } from './metrics';

/** Pairs per native encode call. */
const BATCH = 64;

/** A model file's encoder, ready to encode pairs of the reference. */
export interface LatentModel {
  file: string;
  info: ModelInfo;
  model: NativeModel;
  threads: number;
}

/** Reads a model file for the latent section, refusing one whose topology has not `atoms` atoms. */
export async function loadLatentModel(file: string, atoms: number, threads = defaultThreads(), device?: Device): Promise<LatentModel> {
  const { info, weights } = await readModelFile(file);
  const modelAtoms = info.topology.atoms.length;
  if (modelAtoms !== atoms) throw fileError('ERR_ATOM_COUNT', file, `the model is for ${modelAtoms} atoms, the reference trajectories have ${atoms}`);
  const model = newModel(info.preset.architecture, info, info.preset.training.learningRate, 0, info.previousFrame, device);
  await serialize(() => model.load({ bytes: weights, optimizer: false, threads })).catch((err: Error) => {
    throw fileError('ERR_BAD_FORMAT', file, `model weights do not load (${err.message.split('\n')[0]})`);
  });
  return { file, info, model, threads };
}

/** Posteriors of evenly spaced reference pairs: mu and logvar [pairs, latent]. */
export interface EncodedPairs {
  /** (file, frame t) of each encoded pair, in order */
  pairs: { trajectory: number; frame: number }[];
  /** pairs in the reference in all */
  available: number;
  latent: number;
  mu: Float32Array;
  logvar: Float32Array;
}

/**
 * Encodes at most `maxPairs` evenly spaced reference pairs (A(t-1), A(t), C(t)), t ≥ 1 and never
 * across files, placed as in training. A frame-based model's encoder sees (A(t), C(t)) only, so
 * there every frame t ≥ 0 is a sample (A(t-1) is not read).
 */
export async function encodeReference(m: LatentModel, ref: Coordinates[], maxPairs = 5000, signal?: AbortSignal): Promise<EncodedPairs> {
  const { info } = m;
  const N = info.topology.atoms.length;
  const n = info.mapping.beads;
  const L = info.preset.architecture.latent;
  const first = info.previousFrame ? 1 : 0;
  const all = ref.flatMap((t, trajectory) => Array.from({ length: Math.max(0, t.frames - first) }, (_, i) => ({ trajectory, frame: first + i })));
  if (all.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', `${m.file}: the reference has no frame pairs to encode`);
  const pairs = spaced(all.length, maxPairs).map((i) => all[i]);
  const layout: PairLayout = { atoms: N, beads: n, centring: info.preset.architecture.centring, reference: info.canonicalReference };
  const aa = ref.map((t) => (t.coords instanceof Float32Array ? t.coords : Float32Array.from(t.coords)));
  const cg = aa.map((x, i) => applyMapping(info.mapping, x, ref[i].frames));
  const mu = new Float32Array(pairs.length * L);
  const logvar = new Float32Array(pairs.length * L);
  for (let start = 0; start < pairs.length; start += BATCH) {
    if (signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'evaluate: cancelled');
    const part = pairs.slice(start, start + BATCH);
    const out = { aaT: new Float32Array(part.length * N * 3), aaPrev: new Float32Array(part.length * N * 3), cgT: new Float32Array(part.length * n * 3) };
    part.forEach(({ trajectory, frame }, b) => placePair(layout, aa[trajectory], cg[trajectory], frame, info.previousFrame ? frame - 1 : frame, b, out));
    const r = await serialize(() => m.model.encode({ batch: part.length, ...out, threads: m.threads }));
    mu.set(r.mu, start * L);
    logvar.set(r.logvar, start * L);
  }
  return { pairs, available: all.length, latent: L, mu, logvar };
}


/** The first two principal components of rows x [count, dim]: mean, unit components and variance fractions. */
export function principalPlane(x: ArrayLike<number>, count: number, dim: number): { centre: Float64Array; components: Float64Array[]; explained: number[] } {
  const centre = new Float64Array(dim);
  for (let p = 0; p < count; p++) for (let d = 0; d < dim; d++) centre[d] += x[p * dim + d] / count;
  const cov = new Float64Array(dim * dim);
  for (let p = 0; p < count; p++) {
    for (let i = 0; i < dim; i++) {
      const a = x[p * dim + i] - centre[i];
      for (let j = i; j < dim; j++) cov[i * dim + j] += (a * (x[p * dim + j] - centre[j])) / count;
    }
  }
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) cov[i * dim + j] = cov[j * dim + i];
  const { values, vectors } = symmetricEigen(cov, dim);
  let total = 0;
  for (const v of values) total += Math.max(0, v);
  const components = [0, 1].map((k) => {
    const c = new Float64Array(dim);
    if (k >= dim) return c;
    for (let d = 0; d < dim; d++) c[d] = vectors[d * dim + k];
    // A sign convention (largest entry positive) makes the plane the same from run to run.
    let big = 0;
    for (let d = 0; d < dim; d++) if (Math.abs(c[d]) > Math.abs(c[big])) big = d;
    if (c[big] < 0) c.forEach((v, d) => (c[d] = -v));
    return c;
  });
  const explained = [0, 1].map((k) => (k < dim && total > 0 ? Math.max(0, values[k]) / total : NaN));
  return { centre, components, explained };
}

/** P (v − centre) for the 2×dim basis P. */
function project(components: Float64Array[], centre: Float64Array, v: ArrayLike<number>, offset = 0): [number, number] {
  const out: [number, number] = [0, 0];
  components.forEach((c, k) => {
    for (let d = 0; d < c.length; d++) out[k] += c[d] * (v[offset + d] - centre[d]);
  });
  return out;
}

export interface LatentOptions {
  /** at most this many reference pairs are encoded, evenly spaced (default 5000) */
  maxPairs?: number;
  /** at most this many points go to metrics.json and the plot, evenly spaced (default 2000) */
  maxPoints?: number;
  signal?: AbortSignal;
}

/**
 * The latent section: `energy` is the reference's total internal energy per frame, files
 * concatenated in order (energySection's), and colours each pair by its frame A(t).
 */
export async function latentSection(m: LatentModel, ref: Coordinates[], energy: ArrayLike<number>, o: LatentOptions = {}): Promise<LatentSection> {
  const enc = await encodeReference(m, ref, o.maxPairs ?? 5000, o.signal);
  const L = enc.latent;
  const count = enc.pairs.length;
  const kl = klPerDimension(enc.mu, enc.logvar, L);
  const { centre, components, explained } = principalPlane(enc.mu, count, L);

  const offsets = ref.map((_, i) => ref.slice(0, i).reduce((a, t) => a + t.frames, 0));
  const points: LatentSection['points'] = { pc1: [], pc2: [], energy: [] };
  for (const p of spaced(count, o.maxPoints ?? 2000)) {
    const [x, y] = project(components, centre, enc.mu, p * L);
    const { trajectory, frame } = enc.pairs[p];
    points.pc1.push(x);
    points.pc2.push(y);
    points.energy.push(finite(energy[offsets[trajectory] + frame]));
  }

  // Each component's diagonal covariance Σ seen in the plane: P Σ Pᵀ, and its 2σ ellipse.
  const g = m.info.mixture;
  const mixture = Array.from({ length: g.k }, (_, c) => {
    const mean = project(components, centre, g.means, c * g.dim);
    const [a, b] = components;
    let xx = 0, xy = 0, yy = 0;
    for (let d = 0; d < g.dim; d++) {
      const v = g.variances[c * g.dim + d];
      xx += a[d] * a[d] * v;
      xy += a[d] * b[d] * v;
      yy += b[d] * b[d] * v;
    }
    const half = Math.sqrt(((xx - yy) / 2) ** 2 + xy * xy);
    const major = (xx + yy) / 2 + half;
    const minor = Math.max(0, (xx + yy) / 2 - half);
    return {
      weight: g.weights[c],
      mean,
      covariance: [xx, xy, yy],
      ellipse: { semiAxes: [2 * Math.sqrt(major), 2 * Math.sqrt(minor)], angleDeg: (Math.atan2(2 * xy, xx - yy) / 2) * (180 / Math.PI) },
    };
  });

  const total = kl.reduce((s, x) => s + x, 0);
  return {
    model: m.file,
    dimensions: L,
    previousFrame: m.info.previousFrame,
    pairs: count,
    available: enc.available,
    centre: Array.from(centre),
    components: components.map((c) => Array.from(c)),
    explainedVariance: explained.map(finite),
    kl: { perDimension: kl, total, activeDimensions: kl.filter((x) => x > 0.01).length },
    mixture,
    energyUnit: 'kJ/mol',
    points,
  };
}

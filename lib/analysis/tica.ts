// Time-lagged independent component analysis (Pérez-Hernández et al. 2013; Schwantes & Pande 2013)
// with symmetrised (reversible) covariances, as deeptime's TICA with its default settings.
import { invalidType, outOfRange } from '../core/errors';
import { floatArray, positiveInteger, type FloatArray } from '../core/validate';
import { symmetricEigen } from './linalg';

/** One trajectory of features: [frames, features] row-major. */
export type FeatureTrajectory = FloatArray;

export interface TicaOptions {
  /** lag in frames */
  lag: number;
  /** output dimension (default 2) */
  dim?: number;
  /** eigenvalues of C0 below epsilon × the largest are dropped when whitening (default 1e-6) */
  epsilon?: number;
  /** 'kinetic_map' scales each IC by its eigenvalue, 'none' leaves unit variance (default 'none') */
  scaling?: 'none' | 'kinetic_map';
}

export interface Covariances {
  /** symmetrised mean of x_t and x_{t+lag} over all lag pairs */
  mean: Float64Array;
  /** ½ (⟨δx_t δx_tᵀ⟩ + ⟨δx_{t+τ} δx_{t+τ}ᵀ⟩), [F, F] */
  c0: Float64Array;
  /** ½ (⟨δx_t δx_{t+τ}ᵀ⟩ + ⟨δx_{t+τ} δx_tᵀ⟩), [F, F] */
  ct: Float64Array;
  /** number of lag pairs */
  pairs: number;
}

/**
 * Mean-free, symmetrised instantaneous and time-lagged covariances over the pairs (x_t, x_{t+lag})
 * of every trajectory (pairs never span two trajectories). The sums go through frames in blocks
 * transposed to feature-major order, so each inner product runs over contiguous memory.
 */
export function laggedCovariances(trajectories: readonly FeatureTrajectory[], features: number, lag: number): Covariances {
  const F = features;
  const mean = new Float64Array(F);
  let pairs = 0;
  for (const X of trajectories) {
    const T = X.length / F;
    for (let t = 0; t + lag < T; t++) {
      const a = t * F;
      const b = (t + lag) * F;
      for (let f = 0; f < F; f++) mean[f] += X[a + f] + X[b + f];
      pairs++;
    }
  }
  if (pairs === 0) throw outOfRange(`trajectories longer than the lag (${lag} frames)`, 'trajectories', trajectories.map((x) => x.length / F).join(', '));
  for (let f = 0; f < F; f++) mean[f] /= 2 * pairs;

  const c0 = new Float64Array(F * F);
  const ct = new Float64Array(F * F);
  const B = 64;
  const A0 = new Float64Array(F * B);
  const At = new Float64Array(F * B);
  for (const X of trajectories) {
    const T = X.length / F;
    for (let start = 0; start + lag < T; start += B) {
      const nb = Math.min(B, T - lag - start);
      A0.fill(0);
      At.fill(0);
      for (let s = 0; s < nb; s++) {
        const a = (start + s) * F;
        const b = (start + s + lag) * F;
        for (let f = 0; f < F; f++) {
          A0[f * B + s] = X[a + f] - mean[f];
          At[f * B + s] = X[b + f] - mean[f];
        }
      }
      for (let i = 0; i < F; i++) {
        const oi = i * B;
        for (let j = i; j < F; j++) {
          const oj = j * B;
          let s00 = 0;
          let stt = 0;
          let s0t = 0;
          let st0 = 0;
          for (let s = 0; s < nb; s++) {
            const x0i = A0[oi + s];
            const xti = At[oi + s];
            const x0j = A0[oj + s];
            const xtj = At[oj + s];
            s00 += x0i * x0j;
            stt += xti * xtj;
            s0t += x0i * xtj;
            st0 += xti * x0j;
          }
          c0[i * F + j] += s00 + stt;
          ct[i * F + j] += s0t + st0;
        }
      }
    }
  }
  const norm = 1 / (2 * pairs);
  for (let i = 0; i < F; i++) {
    for (let j = i; j < F; j++) {
      c0[i * F + j] *= norm;
      ct[i * F + j] *= norm;
      c0[j * F + i] = c0[i * F + j];
      ct[j * F + i] = ct[i * F + j];
    }
  }
  return { mean, c0, ct, pairs };
}

/** Fitted TICA: projection onto the slowest independent components; immutable. */
export class TicaModel {
  constructor(
    readonly lag: number,
    readonly features: number,
    readonly dim: number,
    readonly mean: Float64Array,
    /** autocorrelations at the lag of all retained components, descending */
    readonly eigenvalues: Float64Array,
    /** [features, rank] row-major; column k maps mean-free features to IC k (unit variance) */
    readonly eigenvectors: Float64Array,
    readonly rank: number,
    readonly scaling: 'none' | 'kinetic_map',
  ) {
    Object.freeze(this);
  }

  /** Implied timescales of the components, −lag·dt / ln|λ| (dt: time per frame, default 1). */
  timescales(dt = 1): Float64Array {
    return Float64Array.from(this.eigenvalues, (l) => {
      const a = Math.abs(l);
      return a >= 1 ? Infinity : a === 0 ? 0 : (-this.lag * dt) / Math.log(a);
    });
  }

  /** Projects [frames, features] onto the first dim ICs: [frames, dim] row-major. */
  transform(X: FloatArray): Float64Array {
    const F = this.features;
    if (X.length % F !== 0) throw outOfRange(`a multiple of ${F} values`, 'X', X);
    const n = X.length / F;
    const d = this.dim;
    const R = this.rank;
    const out = new Float64Array(n * d);
    const scale = Float64Array.from({ length: d }, (_, k) => (this.scaling === 'kinetic_map' ? this.eigenvalues[k] : 1));
    const centred = new Float64Array(F);
    for (let t = 0; t < n; t++) {
      for (let f = 0; f < F; f++) centred[f] = X[t * F + f] - this.mean[f];
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let f = 0; f < F; f++) s += centred[f] * this.eigenvectors[f * R + k];
        out[t * d + k] = s * scale[k];
      }
    }
    return out;
  }
}

export class Tica {
  readonly lag: number;
  readonly dim: number;
  readonly epsilon: number;
  readonly scaling: 'none' | 'kinetic_map';

  constructor(options: TicaOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options object', 'options', options);
    this.lag = positiveInteger('lag', options.lag);
    this.dim = positiveInteger('dim', options.dim ?? 2);
    this.epsilon = options.epsilon ?? 1e-6;
    if (!(this.epsilon > 0 && this.epsilon < 1)) throw outOfRange('a number in (0, 1)', 'epsilon', options.epsilon);
    this.scaling = options.scaling ?? 'none';
    if (this.scaling !== 'none' && this.scaling !== 'kinetic_map') throw outOfRange("'none' or 'kinetic_map'", 'scaling', options.scaling);
  }

  /** Fits on trajectories of [frames, features] row-major values. */
  fit(trajectories: readonly FeatureTrajectory[], features: number): TicaModel {
    if (!Array.isArray(trajectories) || trajectories.length === 0) throw invalidType('a non-empty array of feature trajectories', 'trajectories', trajectories);
    const F = positiveInteger('features', features);
    trajectories.forEach((X, i) => {
      floatArray(`trajectories[${i}]`, X);
      if (X.length % F !== 0) throw outOfRange(`a multiple of ${F} values`, `trajectories[${i}]`, X);
    });
    const { mean, c0, ct } = laggedCovariances(trajectories, F, this.lag);
    // Whitening through C0's eigenvectors (not Cholesky) drops directions of (near) zero variance,
    // which redundant features such as pairwise distances have.
    const e0 = symmetricEigen(c0, F);
    const keep: number[] = [];
    for (let k = 0; k < F; k++) if (e0.values[k] > this.epsilon * e0.values[0]) keep.push(k);
    const r = keep.length;
    if (r === 0) throw outOfRange('features that vary', 'trajectories', 'constant data');
    const W = new Float64Array(F * r);
    keep.forEach((k, c) => {
      const s = 1 / Math.sqrt(e0.values[k]);
      for (let f = 0; f < F; f++) W[f * r + c] = e0.vectors[f * F + k] * s;
    });
    // Ct in the whitened basis: Wᵀ Ct W, symmetric [r, r].
    const CtW = new Float64Array(F * r);
    for (let i = 0; i < F; i++) {
      for (let f = 0; f < F; f++) {
        const c = ct[i * F + f];
        if (c === 0) continue;
        for (let k = 0; k < r; k++) CtW[i * r + k] += c * W[f * r + k];
      }
    }
    const M = new Float64Array(r * r);
    for (let f = 0; f < F; f++) {
      for (let a = 0; a < r; a++) {
        const w = W[f * r + a];
        if (w === 0) continue;
        for (let b = 0; b < r; b++) M[a * r + b] += w * CtW[f * r + b];
      }
    }
    const e1 = symmetricEigen(M, r);
    // vectors = W · V, accumulated row by row so every inner loop runs over contiguous memory.
    const vectors = new Float64Array(F * r);
    for (let f = 0; f < F; f++) {
      for (let a = 0; a < r; a++) {
        const w = W[f * r + a];
        if (w === 0) continue;
        for (let k = 0; k < r; k++) vectors[f * r + k] += w * e1.vectors[a * r + k];
      }
    }
    // Fix each component's sign (largest-magnitude coefficient positive) so fits are reproducible.
    for (let k = 0; k < r; k++) {
      let m = 0;
      for (let f = 1; f < F; f++) if (Math.abs(vectors[f * r + k]) > Math.abs(vectors[m * r + k])) m = f;
      if (vectors[m * r + k] < 0) for (let f = 0; f < F; f++) vectors[f * r + k] = -vectors[f * r + k];
    }
    return new TicaModel(this.lag, F, Math.min(this.dim, r), mean, e1.values, vectors, r, this.scaling);
  }
}

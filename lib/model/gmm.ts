// A Gaussian mixture fitted to the training posteriors: inference samples the
// latent z from it instead of the encoder. EM from a k-means++ start, diagonal
// covariances: 2·k·d parameters stay well determined from a few thousand
// posteriors, where full covariances (k·d²/2) would not for d = 32–64.
import { Kmeans } from '../analysis/kmeans';
import { TcbmError } from '../core/errors';
import type { Rng } from '../core/rng';

export interface GaussianMixtureJSON {
  k: number;
  dim: number;
  weights: number[];
  /** [k, dim] row-major */
  means: number[];
  /** [k, dim] row-major, diagonal variances */
  variances: number[];
}

export class GaussianMixtureModel {
  constructor(
    readonly k: number,
    readonly dim: number,
    readonly weights: Float64Array,
    readonly means: Float64Array,
    readonly variances: Float64Array,
    /** mean log-likelihood per sample at the end of EM */
    readonly logLikelihood = NaN,
    readonly iterations = 0,
  ) {}

  /** Writes `count` samples into out ([count, dim] row-major). */
  sample(rng: Rng, count: number, out = new Float32Array(count * this.dim)): Float32Array {
    for (let s = 0; s < count; s++) {
      let u = rng.uniform();
      let c = 0;
      while (c < this.k - 1 && u >= this.weights[c]) u -= this.weights[c++];
      for (let j = 0; j < this.dim; j++) {
        out[s * this.dim + j] = this.means[c * this.dim + j] + Math.sqrt(this.variances[c * this.dim + j]) * rng.normal();
      }
    }
    return out;
  }

  toJSON(): GaussianMixtureJSON {
    return { k: this.k, dim: this.dim, weights: [...this.weights], means: [...this.means], variances: [...this.variances] };
  }

  static fromJSON(j: GaussianMixtureJSON): GaussianMixtureModel {
    const ok = j && j.k > 0 && j.dim > 0 && j.weights?.length === j.k && j.means?.length === j.k * j.dim && j.variances?.length === j.k * j.dim;
    if (!ok) throw new TcbmError('ERR_BAD_FORMAT', 'the latent mixture in the model file is malformed');
    return new GaussianMixtureModel(j.k, j.dim, Float64Array.from(j.weights), Float64Array.from(j.means), Float64Array.from(j.variances));
  }
}

export interface GaussianMixtureOptions {
  k?: number;
  seed?: number;
  maxIter?: number;
  /** stop when the mean log-likelihood improves by less than this */
  tol?: number;
  /** variance floor relative to the data's per-dimension variance */
  regularization?: number;
}

export class GaussianMixture {
  constructor(readonly options: GaussianMixtureOptions = {}) {}

  /** X: [n, dim] row-major samples. */
  fit(X: Float32Array | Float64Array, n: number, dim: number): GaussianMixtureModel {
    const k = Math.min(this.options.k ?? 10, n);
    if (n < 1 || X.length !== n * dim) throw new TcbmError('ERR_INVALID_ARG_VALUE', `GaussianMixture: expected ${n} x ${dim} samples`);
    const maxIter = this.options.maxIter ?? 200;
    const tol = this.options.tol ?? 1e-6;
    const km = new Kmeans({ k, seed: this.options.seed ?? 0, maxIter: 50 }).fit(X, n, dim);
    const labels = km.assign(X);

    // Data variance per dimension sets the floor, so no component collapses onto a point.
    const mean = new Float64Array(dim);
    const floor = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += X[i * dim + j] / n;
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) floor[j] += (X[i * dim + j] - mean[j]) ** 2 / n;
    const reg = this.options.regularization ?? 1e-6;
    for (let j = 0; j < dim; j++) floor[j] = Math.max(floor[j] * reg, 1e-12);

    const resp = new Float64Array(n * k);
    for (let i = 0; i < n; i++) resp[i * k + labels[i]] = 1;
    const weights = new Float64Array(k);
    const means = new Float64Array(k * dim);
    const variances = new Float64Array(k * dim);
    let previous = -Infinity;
    let ll = -Infinity;
    let iter = 0;
    for (; iter < maxIter; iter++) {
      mStep(X, n, dim, k, resp, weights, means, variances, floor);
      ll = eStep(X, n, dim, k, weights, means, variances, resp);
      if (Math.abs(ll - previous) < tol * Math.max(1, Math.abs(ll))) break;
      previous = ll;
    }
    return new GaussianMixtureModel(k, dim, weights, means, variances, ll, iter + 1);
  }
}

function mStep(X: ArrayLike<number>, n: number, dim: number, k: number, resp: Float64Array, w: Float64Array, mu: Float64Array, v: Float64Array, floor: Float64Array): void {
  w.fill(0);
  mu.fill(0);
  v.fill(0);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const r = resp[i * k + c];
      if (r === 0) continue;
      w[c] += r;
      for (let j = 0; j < dim; j++) mu[c * dim + j] += r * X[i * dim + j];
    }
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) mu[c * dim + j] /= Math.max(w[c], 1e-300);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const r = resp[i * k + c];
      if (r === 0) continue;
      for (let j = 0; j < dim; j++) v[c * dim + j] += r * (X[i * dim + j] - mu[c * dim + j]) ** 2;
    }
  }
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < dim; j++) v[c * dim + j] = Math.max(v[c * dim + j] / Math.max(w[c], 1e-300), floor[j]);
    w[c] /= n;
  }
}

/** Responsibilities from the current parameters; returns the mean log-likelihood. */
function eStep(X: ArrayLike<number>, n: number, dim: number, k: number, w: Float64Array, mu: Float64Array, v: Float64Array, resp: Float64Array): number {
  const logNorm = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = Math.log(Math.max(w[c], 1e-300)) - 0.5 * dim * Math.log(2 * Math.PI);
    for (let j = 0; j < dim; j++) s -= 0.5 * Math.log(v[c * dim + j]);
    logNorm[c] = s;
  }
  let total = 0;
  const lp = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let q = 0;
      for (let j = 0; j < dim; j++) q += (X[i * dim + j] - mu[c * dim + j]) ** 2 / v[c * dim + j];
      lp[c] = logNorm[c] - 0.5 * q;
      if (lp[c] > max) max = lp[c];
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(lp[c] - max);
    const lse = max + Math.log(sum);
    for (let c = 0; c < k; c++) resp[i * k + c] = Math.exp(lp[c] - lse);
    total += lse;
  }
  return total / n;
}

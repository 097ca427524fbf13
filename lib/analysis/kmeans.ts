// k-means clustering (Lloyd iterations from a k-means++ start), in the estimator → model shape.
// Angles are periodic: cluster them through angleEmbedding (cos θ, sin θ per angle), where
// Euclidean distance is the chord length on each circle, so −179° and 179° are neighbours.
import { invalidType, outOfRange } from '../core/errors';
import { positiveInteger, type FloatArray } from '../core/validate';
import { randomInt, seededRandom, type Random } from './random';

export interface KmeansOptions {
  /** number of clusters */
  k: number;
  /** PRNG seed for the initialisation; the same seed gives the same centres (default 0) */
  seed?: number;
  /** maximum Lloyd iterations per run (default 300) */
  maxIter?: number;
  /** convergence: largest squared centre shift ≤ tol × mean per-dimension variance of the data (default 1e-6) */
  tol?: number;
  /** 'kmeans++' (default), or initial centres [k, dim] row-major */
  init?: 'kmeans++' | FloatArray;
  /** independent k-means++ starts; the lowest inertia wins (default 1) */
  nInit?: number;
}

/** Fitted clustering: immutable centres and the nearest-centre rule. */
export class KmeansModel {
  constructor(
    /** [k, dim] row-major */
    readonly centers: Float64Array,
    readonly k: number,
    readonly dim: number,
    /** sum of squared distances of the training points to their centres */
    readonly inertia: number,
    /** Lloyd iterations of the winning run */
    readonly iterations: number,
    readonly converged: boolean,
  ) {
    Object.freeze(this);
  }

  /** Index of the nearest centre for each of the rows of X ([n, dim] row-major). */
  assign(X: FloatArray): Int32Array {
    const n = rowsOf('X', X, this.dim);
    const labels = new Int32Array(n);
    nearest(X, n, this.dim, this.centers, this.k, labels, null);
    return labels;
  }

  /** Squared distance of each row of X to its nearest centre. */
  distances(X: FloatArray): Float64Array {
    const n = rowsOf('X', X, this.dim);
    const d2 = new Float64Array(n);
    nearest(X, n, this.dim, this.centers, this.k, new Int32Array(n), d2);
    return d2;
  }
}

export class Kmeans {
  readonly k: number;
  readonly seed: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly init: 'kmeans++' | FloatArray;
  readonly nInit: number;

  constructor(options: KmeansOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options object', 'options', options);
    this.k = positiveInteger('k', options.k);
    this.seed = options.seed ?? 0;
    if (!Number.isFinite(this.seed)) throw invalidType('finite number', 'seed', options.seed);
    this.maxIter = positiveInteger('maxIter', options.maxIter ?? 300);
    this.tol = options.tol ?? 1e-6;
    if (!(this.tol >= 0)) throw outOfRange('non-negative number', 'tol', options.tol);
    this.init = options.init ?? 'kmeans++';
    if (this.init !== 'kmeans++' && !ArrayBuffer.isView(this.init)) throw invalidType("'kmeans++' or a Float64Array", 'init', this.init);
    this.nInit = positiveInteger('nInit', options.nInit ?? 1);
  }

  /** Clusters the n rows of X ([n, dim] row-major). */
  fit(X: FloatArray, n: number, dim: number): KmeansModel {
    positiveInteger('n', n);
    positiveInteger('dim', dim);
    if (X.length !== n * dim) throw outOfRange(`${n * dim} values for [${n}, ${dim}]`, 'X', X);
    const k = this.k;
    if (k > n) throw outOfRange(`k ≤ number of points (${n})`, 'k', k);
    for (let i = 0; i < X.length; i++) if (!Number.isFinite(X[i])) throw outOfRange('finite values', `X[${i}]`, X[i]);
    const scale = meanVariance(X, n, dim);
    const random = seededRandom(this.seed);
    let best: KmeansModel | null = null;
    const runs = this.init === 'kmeans++' ? this.nInit : 1;
    for (let run = 0; run < runs; run++) {
      let centers: Float64Array;
      if (this.init === 'kmeans++') {
        centers = kmeansPlusPlus(X, n, dim, k, random);
      } else {
        if (this.init.length !== k * dim) throw outOfRange(`${k * dim} values for [${k}, ${dim}]`, 'init', this.init);
        centers = Float64Array.from(this.init);
      }
      const model = lloyd(X, n, dim, k, centers, this.maxIter, this.tol * scale);
      if (best === null || model.inertia < best.inertia) best = model;
    }
    return best!;
  }
}

/** [n, 2m] row-major (cos θ, sin θ) per angle from [n, m] angles in radians: the periodic features to cluster. */
export function angleEmbedding(angles: FloatArray, n: number, m: number): Float64Array {
  if (angles.length !== n * m) throw outOfRange(`${n * m} values for [${n}, ${m}]`, 'angles', angles);
  const out = new Float64Array(2 * n * m);
  for (let i = 0; i < n * m; i++) {
    out[2 * i] = Math.cos(angles[i]);
    out[2 * i + 1] = Math.sin(angles[i]);
  }
  return out;
}

function rowsOf(name: string, X: FloatArray, dim: number): number {
  if (X.length % dim !== 0) throw outOfRange(`a multiple of ${dim} values`, name, X);
  return X.length / dim;
}

function meanVariance(X: FloatArray, n: number, dim: number): number {
  let total = 0;
  for (let d = 0; d < dim; d++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += X[i * dim + d];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (X[i * dim + d] - mean) ** 2;
    total += v / n;
  }
  // Identical points: any positive scale makes the first shift test pass.
  return total > 0 ? total / dim : 1;
}

function sqDist(X: FloatArray, i: number, C: Float64Array, c: number, dim: number): number {
  let s = 0;
  const a = i * dim;
  const b = c * dim;
  for (let d = 0; d < dim; d++) {
    const t = X[a + d] - C[b + d];
    s += t * t;
  }
  return s;
}

/** Writes each point's nearest centre (first one on ties) and, when asked, its squared distance; returns the sum. */
function nearest(X: FloatArray, n: number, dim: number, C: Float64Array, k: number, labels: Int32Array, d2: Float64Array | null): number {
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let bestC = 0;
    let bestD = Infinity;
    const a = i * dim;
    for (let c = 0; c < k; c++) {
      // Partial distance search: stop summing once this centre is already farther than the best.
      const b = c * dim;
      let d = 0;
      for (let j = 0; j < dim && d < bestD; j++) {
        const t = X[a + j] - C[b + j];
        d += t * t;
      }
      if (d < bestD) {
        bestD = d;
        bestC = c;
      }
    }
    labels[i] = bestC;
    if (d2) d2[i] = bestD;
    inertia += bestD;
  }
  return inertia;
}

/** Arthur & Vassilvitskii (2007): each new centre drawn with probability ∝ squared distance to the nearest chosen one. */
function kmeansPlusPlus(X: FloatArray, n: number, dim: number, k: number, random: Random): Float64Array {
  const C = new Float64Array(k * dim);
  const setCenter = (c: number, i: number) => {
    for (let d = 0; d < dim; d++) C[c * dim + d] = X[i * dim + d];
  };
  setCenter(0, randomInt(random, n));
  const d2 = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    d2[i] = sqDist(X, i, C, 0, dim);
    total += d2[i];
  }
  for (let c = 1; c < k; c++) {
    let pick = -1;
    if (total > 0) {
      let r = random() * total;
      for (let i = 0; i < n; i++) {
        r -= d2[i];
        if (r < 0 && d2[i] > 0) {
          pick = i;
          break;
        }
      }
      // Rounding can leave r ≥ 0 after the loop: take the last point with positive weight.
      if (pick < 0) for (let i = n - 1; i >= 0 && pick < 0; i--) if (d2[i] > 0) pick = i;
    }
    // Fewer distinct points than k: duplicate centres stay empty and are handled by the Lloyd step.
    if (pick < 0) pick = randomInt(random, n);
    setCenter(c, pick);
    total = 0;
    for (let i = 0; i < n; i++) {
      const d = sqDist(X, i, C, c, dim);
      if (d < d2[i]) d2[i] = d;
      total += d2[i];
    }
  }
  return C;
}

function lloyd(X: FloatArray, n: number, dim: number, k: number, C: Float64Array, maxIter: number, tol: number): KmeansModel {
  const labels = new Int32Array(n);
  const d2 = new Float64Array(n);
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  let converged = false;
  let iter = 0;
  while (iter < maxIter) {
    iter++;
    nearest(X, n, dim, C, k, labels, d2);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      for (let d = 0; d < dim; d++) sums[c * dim + d] += X[i * dim + d];
    }
    // An empty cluster takes the point farthest from its centre, which lowers the inertia (as scikit-learn does).
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) continue;
      let far = -1;
      for (let i = 0; i < n; i++) if (counts[labels[i]] > 1 && (far < 0 || d2[i] > d2[far])) far = i;
      if (far < 0) continue;
      const old = labels[far];
      counts[old]--;
      for (let d = 0; d < dim; d++) sums[old * dim + d] -= X[far * dim + d];
      labels[far] = c;
      counts[c] = 1;
      d2[far] = 0;
      for (let d = 0; d < dim; d++) sums[c * dim + d] = X[far * dim + d];
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const v = sums[c * dim + d] / counts[c];
        s += (v - C[c * dim + d]) ** 2;
        C[c * dim + d] = v;
      }
      if (s > shift) shift = s;
    }
    if (shift <= tol) {
      converged = true;
      break;
    }
  }
  const inertia = nearest(X, n, dim, C, k, labels, null);
  return new KmeansModel(C, k, dim, inertia, iter, converged);
}

// Markov state models from discrete trajectories: sliding-window counts, the largest strongly
// connected set, the reversible maximum-likelihood transition matrix, and the fitted model.
// Spectra are in msm-spectrum.ts; implied timescales, bootstrap and eigenvector similarity in timescales.ts.
import { invalidType, outOfRange } from '../core/errors';
import { positiveInteger, positiveNumber } from '../core/validate';
import { generalSpectrum, reversibleSpectrum, timescalesFromEigenvalues, type Spectrum } from './msm-spectrum';

export { timescalesFromEigenvalues } from './msm-spectrum';

/** One trajectory of state indices; a negative index marks a frame in no state (its pairs are not counted). */
export type DiscreteTrajectory = Int32Array | readonly number[];

export interface CountMatrix {
  /** [nStates, nStates] row-major: counts[i * nStates + j] transitions i → j */
  counts: Float64Array;
  nStates: number;
}

export function checkTrajectories(dtrajs: readonly DiscreteTrajectory[]): void {
  if (!Array.isArray(dtrajs)) throw invalidType('an array of discrete trajectories', 'dtrajs', dtrajs);
  dtrajs.forEach((d, i) => {
    if (!(d instanceof Int32Array) && !Array.isArray(d) && Object.prototype.toString.call(d) !== '[object Int32Array]') {
      throw invalidType('Int32Array or number[]', `dtrajs[${i}]`, d);
    }
  });
}

/** The trajectory as an Int32Array (itself when it is one); throws on a state that is not an integer. */
function asStates(d: DiscreteTrajectory, name: string): Int32Array {
  if (Object.prototype.toString.call(d) === '[object Int32Array]') return d as Int32Array;
  const out = new Int32Array(d.length);
  for (let t = 0; t < d.length; t++) {
    if (!Number.isSafeInteger(d[t])) throw outOfRange('integer states', `${name}[${t}]`, d[t]);
    out[t] = d[t];
  }
  return out;
}

/** One more than the largest state index in the trajectories. */
export function stateCount(dtrajs: readonly DiscreteTrajectory[]): number {
  let m = -1;
  for (const d of dtrajs) for (let t = 0; t < d.length; t++) if (d[t] > m) m = d[t];
  return m + 1;
}

/**
 * Transitions s(t) → s(t + lag) for every t of every trajectory (sliding window, as deeptime's
 * 'sliding' count mode); pairs never span two trajectories.
 */
export function countMatrix(dtrajs: readonly DiscreteTrajectory[], lag: number, nStates?: number): CountMatrix {
  checkTrajectories(dtrajs);
  positiveInteger('lag', lag);
  const n = nStates ?? stateCount(dtrajs);
  if (n < 1) throw outOfRange('at least one state in the trajectories', 'dtrajs', dtrajs);
  const counts = new Float64Array(n * n);
  dtrajs.forEach((traj, k) => {
    const d = asStates(traj, `dtrajs[${k}]`);
    // A plain loop over an Int32Array with no calls inside: this runs for every frame of every bootstrap sample.
    for (let t = 0; t + lag < d.length; t++) {
      const a = d[t];
      const b = d[t + lag];
      if (a < 0 || b < 0) continue;
      if (a >= n || b >= n) throw outOfRange(`states below nStates (${n})`, `dtrajs[${k}][${a >= n ? t : t + lag}]`, a >= n ? a : b);
      counts[a * n + b]++;
    }
  });
  return { counts, nStates: n };
}

/**
 * The largest strongly connected set of the count graph (i → j when counts[i, j] > 0), sorted;
 * ties go to the set with more counts. Tarjan's algorithm, iterative.
 */
export function largestConnectedSet(counts: Float64Array, n: number): Int32Array {
  const components = stronglyConnectedComponents(counts, n);
  let best: number[] = [];
  let bestCounts = -1;
  for (const comp of components) {
    let total = 0;
    for (const i of comp) for (const j of comp) total += counts[i * n + j];
    if (comp.length > best.length || (comp.length === best.length && total > bestCounts)) {
      best = comp;
      bestCounts = total;
    }
  }
  return Int32Array.from(best).sort();
}

export function stronglyConnectedComponents(counts: Float64Array, n: number): number[][] {
  const adj: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) if (i !== j && counts[i * n + j] > 0) row.push(j);
    adj.push(row);
  }
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  let next = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    // Explicit call stack of (node, next neighbour position) so 150-state chains cannot overflow.
    const calls: [number, number][] = [[root, 0]];
    index[root] = low[root] = next++;
    stack.push(root);
    onStack[root] = 1;
    while (calls.length > 0) {
      const frame = calls[calls.length - 1];
      const v = frame[0];
      if (frame[1] < adj[v].length) {
        const w = adj[v][frame[1]++];
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = 1;
          calls.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
        continue;
      }
      calls.pop();
      if (calls.length > 0) {
        const parent = calls[calls.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        components.push(comp);
      }
    }
  }
  return components;
}

/** counts restricted to the given states, [m, m]. */
export function submatrix(a: Float64Array, n: number, states: ArrayLike<number>): Float64Array {
  const m = states.length;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * m + j] = a[states[i] * n + states[j]];
  return out;
}

export interface TransitionEstimate {
  /** [n, n] row-stochastic */
  transitionMatrix: Float64Array;
  /** stationary distribution (sums to 1) */
  stationaryDistribution: Float64Array;
  iterations: number;
  converged: boolean;
}

export interface ReversibleOptions {
  /** stop when Σ|Δπ| over one iteration ≤ tol (default 1e-13) */
  tol?: number;
  /**
   * default 100,000. Where the likelihood's maximum lies on the boundary (a rarely
   * visited state's weight going to 0) the iteration converges sublinearly and
   * never meets tol; on such a count matrix from chignolin (200 frames, 150
   * states) 10⁶ iterations instead of 10⁵ took 10× longer and moved the two
   * slowest implied timescales by less than 0.1 %.
   */
  maxIter?: number;
}

/**
 * Reversible maximum-likelihood transition matrix of a strongly connected count matrix (Bowman 2009,
 * Prinz et al. 2011 Eq. 31; deeptime's estimate_reversible): iterate
 *   x_i ← Σ_j (c_ij + c_ji) / (c_i / x_i + c_j / x_j),   c_i = Σ_j c_ij,
 * then X_ij = (c_ij + c_ji) / (c_i / x_i + c_j / x_j) is symmetric, T_ij = X_ij / Σ_k X_ik and
 * π_i = Σ_k X_ik / Σ X. Because X is built symmetric, π_i T_ij = π_j T_ji holds to rounding at
 * any iteration; the tolerance decides how close T is to the likelihood maximum.
 */
export function reversibleTransitionMatrix(counts: Float64Array, n: number, options: ReversibleOptions = {}): TransitionEstimate {
  const tol = options.tol ?? 1e-13;
  const maxIter = positiveInteger('maxIter', options.maxIter ?? 100_000);
  const rowSum = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rowSum[i] += counts[i * n + j];
  for (let i = 0; i < n; i++) {
    if (!(rowSum[i] > 0)) throw outOfRange('a connected count matrix (every state with outgoing counts)', `counts row ${i}`, rowSum[i]);
  }
  // The non-zero symmetric pairs (i ≤ j) with s_ij = c_ij + c_ji; the iteration touches nothing else.
  const pi: number[] = [];
  const pj: number[] = [];
  const ps: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const s = counts[i * n + j] + counts[j * n + i];
      if (s > 0) {
        pi.push(i);
        pj.push(j);
        ps.push(s);
      }
    }
  }
  const P = ps.length;
  const I = Int32Array.from(pi);
  const J = Int32Array.from(pj);
  const S = Float64Array.from(ps);
  let x = new Float64Array(n);
  for (let p = 0; p < P; p++) {
    x[I[p]] += S[p];
    if (I[p] !== J[p]) x[J[p]] += S[p];
  }
  normalise(x);
  let xNew = new Float64Array(n);
  const ratio = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    iterations++;
    for (let i = 0; i < n; i++) ratio[i] = rowSum[i] / x[i];
    xNew.fill(0);
    for (let p = 0; p < P; p++) {
      const i = I[p];
      const j = J[p];
      const v = S[p] / (ratio[i] + ratio[j]);
      xNew[i] += v;
      if (i !== j) xNew[j] += v;
    }
    normalise(xNew);
    let change = 0;
    for (let i = 0; i < n; i++) change += Math.abs(xNew[i] - x[i]);
    [x, xNew] = [xNew, x];
    if (change <= tol) {
      converged = true;
      break;
    }
  }
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) ratio[i] = rowSum[i] / x[i];
  for (let p = 0; p < P; p++) {
    const v = S[p] / (ratio[I[p]] + ratio[J[p]]);
    X[I[p] * n + J[p]] = v;
    X[J[p] * n + I[p]] = v;
  }
  const T = new Float64Array(n * n);
  const stationary = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += X[i * n + j];
    for (let j = 0; j < n; j++) T[i * n + j] = X[i * n + j] / r;
    stationary[i] = r;
  }
  normalise(stationary);
  return { transitionMatrix: T, stationaryDistribution: stationary, iterations, converged };
}

/** Row-normalised counts: the non-reversible maximum-likelihood estimate. */
export function nonReversibleTransitionMatrix(counts: Float64Array, n: number): TransitionEstimate {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += counts[i * n + j];
    if (!(r > 0)) throw outOfRange('a connected count matrix (every state with outgoing counts)', `counts row ${i}`, r);
    for (let j = 0; j < n; j++) T[i * n + j] = counts[i * n + j] / r;
  }
  const spectrum = generalSpectrum(T, n);
  return { transitionMatrix: T, stationaryDistribution: spectrum.left[0], iterations: 0, converged: true };
}

function normalise(v: Float64Array): void {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  for (let i = 0; i < v.length; i++) v[i] /= s;
}

export interface MarkovStateModelOptions {
  /** lag time in frames */
  lag: number;
  /** reversible maximum likelihood (default true) or row-normalised counts */
  reversible?: boolean;
  /** time between frames, in the unit the timescales should have (e.g. ps); default 1 (frames) */
  dt?: number;
  /** convergence of the reversible estimator, see reversibleTransitionMatrix */
  tol?: number;
  maxIter?: number;
}

/** A fitted MSM on its active set (the largest strongly connected set); immutable. */
export class MarkovModel {
  /** [m, m] counts on the active set */
  readonly counts: Float64Array;
  /** [m, m] transition matrix on the active set */
  readonly transitionMatrix: Float64Array;
  readonly stationaryDistribution: Float64Array;
  /** eigenvalues sorted by modulus, descending (real parts when not reversible) */
  readonly eigenvalues: Float64Array;
  /** fraction of all counted transitions that lie inside the active set */
  readonly activeCountFraction: number;
  readonly iterations: number;
  readonly converged: boolean;
  private readonly spectrum: Spectrum;

  constructor(
    readonly lag: number,
    readonly dt: number,
    readonly reversible: boolean,
    /** states of the full state space (0 … nStates−1) in the model, sorted */
    readonly activeSet: Int32Array,
    readonly nStates: number,
    fullCounts: Float64Array,
    estimate: TransitionEstimate,
  ) {
    const m = activeSet.length;
    this.counts = submatrix(fullCounts, nStates, activeSet);
    this.transitionMatrix = estimate.transitionMatrix;
    this.stationaryDistribution = estimate.stationaryDistribution;
    this.iterations = estimate.iterations;
    this.converged = estimate.converged;
    this.spectrum = reversible ? reversibleSpectrum(this.transitionMatrix, this.stationaryDistribution, m) : generalSpectrum(this.transitionMatrix, m);
    this.eigenvalues = this.spectrum.values;
    let total = 0;
    let active = 0;
    for (let i = 0; i < fullCounts.length; i++) total += fullCounts[i];
    for (let i = 0; i < this.counts.length; i++) active += this.counts[i];
    this.activeCountFraction = total > 0 ? active / total : 0;
    Object.freeze(this);
  }

  /** number of active states */
  get size(): number {
    return this.activeSet.length;
  }

  /** The k slowest implied timescales (the stationary process excluded), in units of dt; NaN past the model's size. */
  timescales(k = this.size - 1): Float64Array {
    const t = timescalesFromEigenvalues(this.spectrum.moduli.subarray(1), this.lag, this.dt);
    return Float64Array.from({ length: k }, (_, i) => (i < t.length ? t[i] : NaN));
  }

  /** Left eigenvectors (densities) 0 … k−1 on the active set; the first is π. */
  leftEigenvectors(k = this.size): Float64Array[] {
    return this.spectrum.left.slice(0, k).map((v) => v.slice());
  }

  /** Right eigenvectors (committor-like functions) 0 … k−1 on the active set; the first is 1. */
  rightEigenvectors(k = this.size): Float64Array[] {
    return this.spectrum.right.slice(0, k).map((v) => v.slice());
  }

  /** A vector on the active set spread over all nStates states, `fill` elsewhere. */
  expand(v: ArrayLike<number>, fill = 0): Float64Array {
    const out = new Float64Array(this.nStates).fill(fill);
    for (let i = 0; i < this.activeSet.length; i++) out[this.activeSet[i]] = v[i];
    return out;
  }
}

/** Estimator: new MarkovStateModel({ lag }).fit(dtrajs) → MarkovModel on the largest strongly connected set. */
export class MarkovStateModel {
  readonly lag: number;
  readonly reversible: boolean;
  readonly dt: number;
  readonly tol: number | undefined;
  readonly maxIter: number | undefined;

  constructor(options: MarkovStateModelOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options object', 'options', options);
    this.lag = positiveInteger('lag', options.lag);
    this.reversible = options.reversible ?? true;
    this.dt = positiveNumber('dt', options.dt ?? 1);
    this.tol = options.tol;
    this.maxIter = options.maxIter;
  }

  fit(dtrajs: readonly DiscreteTrajectory[], nStates?: number): MarkovModel {
    return this.fitCounts(countMatrix(dtrajs, this.lag, nStates));
  }

  /** Fits an already counted matrix (at this estimator's lag). */
  fitCounts({ counts, nStates }: CountMatrix): MarkovModel {
    const active = largestConnectedSet(counts, nStates);
    const sub = submatrix(counts, nStates, active);
    const m = active.length;
    let hasCounts = false;
    for (let i = 0; i < sub.length && !hasCounts; i++) hasCounts = sub[i] > 0;
    if (!hasCounts) throw outOfRange(`transitions at lag ${this.lag}`, 'dtrajs', 'none');
    const estimate = this.reversible
      ? reversibleTransitionMatrix(sub, m, { tol: this.tol, maxIter: this.maxIter })
      : nonReversibleTransitionMatrix(sub, m);
    return new MarkovModel(this.lag, this.dt, this.reversible, active, nStates, counts, estimate);
  }
}

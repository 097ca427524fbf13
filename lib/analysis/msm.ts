// Markov state models from discrete trajectories: sliding-window counts, the largest strongly
// connected set, the reversible maximum-likelihood transition matrix, spectra, implied
// timescales with bootstrap error bars, and eigenvector similarity between two models.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { invalidType, outOfRange } from '../errors';
import { positiveInteger, positiveNumber } from '../validate';
import { symmetricEigen } from './linalg';
import { randomInt, seededRandom } from './random';

/** One trajectory of state indices; a negative index marks a frame in no state (its pairs are not counted). */
export type DiscreteTrajectory = Int32Array | readonly number[];

export interface CountMatrix {
  /** [nStates, nStates] row-major: counts[i * nStates + j] transitions i → j */
  counts: Float64Array;
  nStates: number;
}

function checkTrajectories(dtrajs: readonly DiscreteTrajectory[]): void {
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
  /** default 1,000,000 */
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
  const maxIter = positiveInteger('maxIter', options.maxIter ?? 1_000_000);
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

interface Spectrum {
  /** sorted by |λ| descending; real parts for a non-reversible matrix */
  values: Float64Array;
  /** |λ|, the moduli used for timescales */
  moduli: Float64Array;
  left: Float64Array[];
  right: Float64Array[];
}

/**
 * Spectrum of a reversible T through the symmetric S = D^½ T D^-½ (D = diag π): real eigenvalues,
 * left l_k = √π u_k and right r_k = u_k / √π, so l_0 = π, r_0 = 1 and l_jᵀ r_k = δ_jk.
 */
function reversibleSpectrum(T: Float64Array, pi: Float64Array, n: number): Spectrum {
  const sq = Float64Array.from(pi, Math.sqrt);
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = (sq[i] * T[i * n + j]) / sq[j];
  const { values, vectors } = symmetricEigen(S, n);
  const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || values[b] - values[a]);
  const out: Spectrum = { values: new Float64Array(n), moduli: new Float64Array(n), left: [], right: [] };
  order.forEach((src, k) => {
    out.values[k] = values[src];
    out.moduli[k] = Math.abs(values[src]);
    const l = new Float64Array(n);
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = vectors[i * n + src];
      l[i] = u * sq[i];
      r[i] = u / sq[i];
    }
    fixSign(l, r);
    out.left.push(l);
    out.right.push(r);
  });
  return out;
}

/** Spectrum of a general stochastic matrix (ml-matrix's Hessenberg QR); eigenvectors of complex pairs are their real parts. */
function generalSpectrum(T: Float64Array, n: number): Spectrum {
  const rows = (t: boolean) => Matrix.from1DArray(n, n, t ? transpose(T, n) : T);
  const right = new EigenvalueDecomposition(rows(false));
  const left = new EigenvalueDecomposition(rows(true));
  const sortBy = (e: EigenvalueDecomposition) =>
    Array.from(e.realEigenvalues.keys()).sort((a, b) => {
      const ma = Math.hypot(e.realEigenvalues[a], e.imaginaryEigenvalues[a]);
      const mb = Math.hypot(e.realEigenvalues[b], e.imaginaryEigenvalues[b]);
      return mb - ma || e.realEigenvalues[b] - e.realEigenvalues[a];
    });
  const ro = sortBy(right);
  const lo = sortBy(left);
  const out: Spectrum = { values: new Float64Array(n), moduli: new Float64Array(n), left: [], right: [] };
  for (let k = 0; k < n; k++) {
    out.values[k] = right.realEigenvalues[ro[k]];
    out.moduli[k] = Math.hypot(right.realEigenvalues[ro[k]], right.imaginaryEigenvalues[ro[k]]);
    const r = Float64Array.from({ length: n }, (_, i) => right.eigenvectorMatrix.get(i, ro[k]));
    const l = Float64Array.from({ length: n }, (_, i) => left.eigenvectorMatrix.get(i, lo[k]));
    // Scale so that lᵀr = 1 (and Σ l_0 = 1, making l_0 the stationary distribution).
    if (k === 0) {
      const s = l.reduce((a, b) => a + b, 0);
      for (let i = 0; i < n; i++) l[i] /= s;
    }
    let d = 0;
    for (let i = 0; i < n; i++) d += l[i] * r[i];
    if (d !== 0) for (let i = 0; i < n; i++) r[i] /= d;
    fixSign(l, r);
    out.left.push(l);
    out.right.push(r);
  }
  return out;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

/** Eigenvector signs are arbitrary: make the largest-magnitude left component positive, for reproducible output. */
function fixSign(l: Float64Array, r: Float64Array): void {
  let m = 0;
  for (let i = 1; i < l.length; i++) if (Math.abs(l[i]) > Math.abs(l[m])) m = i;
  if (l[m] < 0) {
    for (let i = 0; i < l.length; i++) {
      l[i] = -l[i];
      r[i] = -r[i];
    }
  }
}

/** t = −lag·dt / ln|λ|; |λ| ≥ 1 (the stationary process, or rounding) gives Infinity. */
export function timescalesFromEigenvalues(moduli: ArrayLike<number>, lag: number, dt = 1): Float64Array {
  return Float64Array.from(moduli, (m) => {
    const a = Math.abs(m);
    return a >= 1 ? Infinity : a === 0 ? 0 : (-lag * dt) / Math.log(a);
  });
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

export interface ImpliedTimescalesOptions {
  /** number of timescales per lag (default 5) */
  k?: number;
  /** bootstrap samples (default 0: no error bars) */
  bootstrap?: number;
  /** PRNG seed of the resampling (default 0) */
  seed?: number;
  /** time between frames; lags and timescales are reported in this unit (default 1) */
  dt?: number;
  reversible?: boolean;
  nStates?: number;
  /**
   * 'trajectories' resamples whole trajectories with replacement; 'blocks' first cuts them into
   * blocks of blockLength frames (default: enough for ~20 blocks, at least 5 × the largest lag).
   * Default: 'trajectories' with ≥ 10 trajectories, otherwise 'blocks'.
   */
  resample?: 'trajectories' | 'blocks';
  blockLength?: number;
  /** central interval of the bootstrap samples reported as lower/upper (default 0.95) */
  confidence?: number;
}

export interface ImpliedTimescales {
  /** lags in frames */
  lags: number[];
  /** lags × dt */
  lagTimes: number[];
  /** per lag, the k slowest timescales of the MSM on all data (units of dt) */
  timescales: Float64Array[];
  /** per lag, active states and the fraction of counts they hold */
  activeStates: number[];
  activeCountFraction: number[];
  /** present when bootstrap > 0: per lag and timescale, over the samples that had that many processes */
  bootstrap?: {
    samples: number;
    resample: 'trajectories' | 'blocks';
    blockLength?: number;
    mean: Float64Array[];
    std: Float64Array[];
    lower: Float64Array[];
    upper: Float64Array[];
  };
}

/** Implied timescales over a range of lags, optionally with bootstrap error bars; deterministic for a seed. */
export function impliedTimescales(dtrajs: readonly DiscreteTrajectory[], lags: readonly number[], options: ImpliedTimescalesOptions = {}): ImpliedTimescales {
  checkTrajectories(dtrajs);
  if (!Array.isArray(lags) || lags.length === 0) throw invalidType('a non-empty array of lags', 'lags', lags);
  lags.forEach((l, i) => positiveInteger(`lags[${i}]`, l));
  const k = positiveInteger('k', options.k ?? 5);
  const samples = options.bootstrap ?? 0;
  if (!Number.isSafeInteger(samples) || samples < 0) throw outOfRange('non-negative integer', 'bootstrap', samples);
  const dt = positiveNumber('dt', options.dt ?? 1);
  const reversible = options.reversible ?? true;
  const nStates = options.nStates ?? stateCount(dtrajs);
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw outOfRange('a number in (0, 1)', 'confidence', confidence);

  const fitAll = (trajs: readonly DiscreteTrajectory[]) =>
    lags.map((lag) => {
      const counts = countMatrix(trajs, lag, nStates);
      let any = false;
      for (let i = 0; i < counts.counts.length && !any; i++) any = counts.counts[i] > 0;
      return any ? new MarkovStateModel({ lag, dt, reversible }).fitCounts(counts) : null;
    });
  const models = fitAll(dtrajs);
  const result: ImpliedTimescales = {
    lags: [...lags],
    lagTimes: lags.map((l) => l * dt),
    timescales: models.map((m) => (m ? m.timescales(k) : new Float64Array(k).fill(NaN))),
    activeStates: models.map((m) => (m ? m.size : 0)),
    activeCountFraction: models.map((m) => (m ? m.activeCountFraction : 0)),
  };
  if (samples === 0) return result;

  const maxLag = Math.max(...lags);
  const resample = options.resample ?? (dtrajs.length >= 10 ? 'trajectories' : 'blocks');
  oneOfResample(resample);
  let units: DiscreteTrajectory[] = [...dtrajs];
  let blockLength: number | undefined;
  if (resample === 'blocks') {
    const total = dtrajs.reduce((a, d) => a + d.length, 0);
    blockLength = positiveInteger('blockLength', options.blockLength ?? Math.max(Math.ceil(total / 20), 5 * maxLag));
    units = [];
    for (const d of dtrajs) {
      const arr = d instanceof Int32Array ? d : Int32Array.from(d);
      for (let s = 0; s < arr.length; s += blockLength) units.push(arr.subarray(s, Math.min(arr.length, s + blockLength)));
    }
  }
  const random = seededRandom(options.seed ?? 0);
  const draws: Float64Array[][] = lags.map(() => []);
  for (let b = 0; b < samples; b++) {
    const pick = Array.from({ length: units.length }, () => units[randomInt(random, units.length)]);
    fitAll(pick).forEach((m, li) => draws[li].push(m ? m.timescales(k) : new Float64Array(k).fill(NaN)));
  }
  const stat = (fn: (v: number[]) => number) =>
    draws.map((perLag) =>
      Float64Array.from({ length: k }, (_, i) => {
        const v = perLag.map((t) => t[i]).filter((x) => Number.isFinite(x));
        return v.length > 0 ? fn(v) : NaN;
      }),
    );
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  result.bootstrap = {
    samples,
    resample,
    blockLength,
    mean: stat(mean),
    std: stat((v) => {
      const m = mean(v);
      return v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
    }),
    lower: stat((v) => quantile(v, (1 - confidence) / 2)),
    upper: stat((v) => quantile(v, 1 - (1 - confidence) / 2)),
  };
  return result;
}

function oneOfResample(value: unknown): void {
  if (value !== 'trajectories' && value !== 'blocks') throw outOfRange("'trajectories' or 'blocks'", 'resample', value);
}

/** Linear-interpolation quantile (numpy's default) of unsorted values. */
export function quantile(values: readonly number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

export interface SimilarityOptions {
  /** number of leading eigenvectors, the stationary one included (default 3) */
  k?: number;
  /** 'left' (densities, default) or 'right' eigenvectors */
  which?: 'left' | 'right';
}

/**
 * Cosine similarity |a·b| / (|a||b|) of eigenvector i of two models over the states active in both
 * (the models must share the state definitions, e.g. one k-means fitted on the reference); the
 * absolute value because an eigenvector's sign is arbitrary. NaN where a model has fewer processes.
 */
export function eigenvectorSimilarity(a: MarkovModel, b: MarkovModel, options: SimilarityOptions = {}): { similarity: Float64Array; sharedStates: Int32Array } {
  if (a.nStates !== b.nStates) throw outOfRange(`models over the same states (${a.nStates})`, 'b.nStates', b.nStates);
  const k = positiveInteger('k', options.k ?? 3);
  const which = options.which ?? 'left';
  const posB = new Map<number, number>();
  b.activeSet.forEach((s, i) => posB.set(s, i));
  const ia: number[] = [];
  const ib: number[] = [];
  a.activeSet.forEach((s, i) => {
    const j = posB.get(s);
    if (j !== undefined) {
      ia.push(i);
      ib.push(j);
    }
  });
  const va = which === 'left' ? a.leftEigenvectors(k) : a.rightEigenvectors(k);
  const vb = which === 'left' ? b.leftEigenvectors(k) : b.rightEigenvectors(k);
  const similarity = Float64Array.from({ length: k }, (_, e) => {
    if (e >= va.length || e >= vb.length || ia.length === 0) return NaN;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let s = 0; s < ia.length; s++) {
      const x = va[e][ia[s]];
      const y = vb[e][ib[s]];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return na > 0 && nb > 0 ? Math.abs(dot) / Math.sqrt(na * nb) : NaN;
  });
  return { similarity, sharedStates: Int32Array.from(ia, (i) => a.activeSet[i]) };
}

// Implied timescales of MSMs over a range of lags with bootstrap error bars (Bayesian bootstrap
// of whole trajectories or blocks), quantiles, and eigenvector similarity between two models.
import { invalidType, outOfRange } from '../core/errors';
import { positiveInteger, positiveNumber } from '../core/validate';
import { checkTrajectories, countMatrix, MarkovStateModel, stateCount, type CountMatrix, type DiscreteTrajectory, type MarkovModel } from './msm';
import { seededRandom } from './random';

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
    /** median of the resamples minus the estimate (the resampling bias removed from lower/upper) */
    bias: Float64Array[];
    /** the bias-corrected percentile interval: the resamples' central `confidence` range, shifted by −bias */
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

  const fit = (counts: CountMatrix, lag: number) => {
    let any = false;
    for (let i = 0; i < counts.counts.length && !any; i++) any = counts.counts[i] > 0;
    return any ? new MarkovStateModel({ lag, dt, reversible }).fitCounts(counts) : null;
  };
  const models = lags.map((lag) => fit(countMatrix(dtrajs, lag, nStates), lag));
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
  // The units resampled: whole trajectories, or blocks of consecutive start frames.
  // A unit owns every transition pair (t, t + lag) whose start t lies in it, the
  // end taken from the whole trajectory, so the full data's count matrix is the
  // sum of its units' and each resample is estimated exactly as the full data.
  const units: { traj: number; start: number; end: number }[] = [];
  let blockLength: number | undefined;
  if (resample === 'blocks') {
    const total = dtrajs.reduce((a, d) => a + d.length, 0);
    blockLength = positiveInteger('blockLength', options.blockLength ?? Math.max(Math.ceil(total / 20), 5 * maxLag));
    dtrajs.forEach((d, traj) => {
      for (let start = 0; start < d.length; start += blockLength!) units.push({ traj, start, end: Math.min(d.length, start + blockLength!) });
    });
  } else {
    dtrajs.forEach((d, traj) => units.push({ traj, start: 0, end: d.length }));
  }
  const unitCounts = lags.map((lag) => units.map((u) => pairCounts(dtrajs[u.traj], u.start, u.end, lag, nStates)));
  const random = seededRandom(options.seed ?? 0);
  const draws: Float64Array[][] = lags.map(() => []);
  for (let b = 0; b < samples; b++) {
    // Bayesian bootstrap (Rubin 1981): every unit gets a weight n·Dirichlet(1, …, 1)
    // instead of a whole-number draw count. The multinomial bootstrap drops each
    // unit from a resample with probability ~1/e, so rare transitions vanish, the
    // count graph only ever loses edges, and every resample looks more metastable
    // than the data: on the ADP test run all 18 reference timescales sat below
    // their own interval. Positive weights keep the data's graph.
    const g = Array.from({ length: units.length }, () => -Math.log(1 - random()));
    const total = g.reduce((a, x) => a + x, 0);
    const weights = g.map((x) => (x * units.length) / total);
    lags.forEach((lag, li) => {
      const counts = new Float64Array(nStates * nStates);
      weights.forEach((w, u) => {
        const c = unitCounts[li][u];
        for (let i = 0; i < c.length; i++) counts[i] += w * c[i];
      });
      const m = fit({ counts, nStates }, lag);
      draws[li].push(m ? m.timescales(k) : new Float64Array(k).fill(NaN));
    });
  }
  // stat(fn)[lag][process]: fn of the finite bootstrap values, with the full-data estimate
  const stat = (fn: (v: number[], estimate: number) => number) =>
    draws.map((perLag, li) =>
      Float64Array.from({ length: k }, (_, i) => {
        const v = perLag.map((t) => t[i]).filter((x) => Number.isFinite(x));
        const estimate = result.timescales[li][i];
        return v.length > 0 && Number.isFinite(estimate) ? fn(v, estimate) : NaN;
      }),
    );
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  // Timescales whose eigenvalue sits in the noise of the spectrum come out of any
  // resample slower than from the data (noise spreads the eigenvalues), so the
  // bootstrap distribution is shifted by that bias. The interval is the bootstrap
  // percentile interval with the shift removed, i.e. the resamples' spread placed
  // on the estimate; `bias` (median of the resamples − estimate) says how large
  // the shift was, a warning sign for a timescale near the lag time.
  const shift = (v: number[], estimate: number) => quantile(v, 0.5) - estimate;
  result.bootstrap = {
    samples,
    resample,
    blockLength,
    mean: stat(mean),
    std: stat((v) => {
      const m = mean(v);
      return v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
    }),
    bias: stat(shift),
    lower: stat((v, e) => quantile(v, (1 - confidence) / 2) - shift(v, e)),
    upper: stat((v, e) => quantile(v, 1 - (1 - confidence) / 2) - shift(v, e)),
  };
  return result;
}

/** Counts of the pairs (t, t + lag) with start t in [start, end) of one trajectory. */
function pairCounts(traj: DiscreteTrajectory, start: number, end: number, lag: number, n: number): Float64Array {
  const counts = new Float64Array(n * n);
  const stop = Math.min(end, traj.length - lag);
  for (let t = start; t < stop; t++) {
    const a = traj[t];
    const b = traj[t + lag];
    if (a >= 0 && b >= 0) counts[a * n + b]++;
  }
  return counts;
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

// Distances between distributions: Jensen–Shannon on a shared grid, exact Wasserstein-1 between
// samples, and the rescale-then-compare test of velocity distributions (paper §3.1.3).
import { outOfRange } from '../core/errors';
import { histogram1d, probabilities, type Axis } from './fes';

export interface JensenShannonOptions {
  /** 'e' (default, nats: 0 ≤ JS ≤ ln 2) or 2 (bits: 0 ≤ JS ≤ 1) */
  base?: 'e' | 2;
}

/**
 * JS(P, Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = ½ (P + Q), of two histograms (counts or probabilities, each
 * normalised here) on the same bins; 0 ln 0 = 0, so empty bins need no pseudocount.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, options: JensenShannonOptions = {}): number {
  if (p.length !== q.length) throw outOfRange(`${p.length} bins like p`, 'q', q.length);
  const P = probabilities(p);
  const Q = probabilities(q);
  let js = 0;
  for (let i = 0; i < P.length; i++) {
    const m = 0.5 * (P[i] + Q[i]);
    if (P[i] > 0) js += 0.5 * P[i] * Math.log(P[i] / m);
    if (Q[i] > 0) js += 0.5 * Q[i] * Math.log(Q[i] / m);
  }
  // Rounding can give −1e-17 for identical inputs.
  js = Math.max(0, js);
  return options.base === 2 ? js / Math.LN2 : js;
}

/**
 * Wasserstein-1 (earth mover's) distance between two 1-D samples of any sizes: ∫ |F_a(x) − F_b(x)| dx
 * over the merged sorted values, exact (as scipy.stats.wasserstein_distance).
 */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0) throw outOfRange('non-empty samples', a.length === 0 ? 'a' : 'b', 0);
  const A = Float64Array.from(a).sort();
  const B = Float64Array.from(b).sort();
  if (!Number.isFinite(A[0]) || !Number.isFinite(A[A.length - 1]) || !Number.isFinite(B[0]) || !Number.isFinite(B[B.length - 1])) {
    throw outOfRange('finite samples', 'a, b', 'NaN or Infinity');
  }
  let i = 0;
  let j = 0;
  let x = Math.min(A[0], B[0]);
  let w = 0;
  // Between consecutive merged values both CDFs are constant: add |F_a − F_b| × gap.
  while (i < A.length || j < B.length) {
    const next = j >= B.length || (i < A.length && A[i] <= B[j]) ? A[i] : B[j];
    w += Math.abs(i / A.length - j / B.length) * (next - x);
    x = next;
    while (i < A.length && A[i] === x) i++;
    while (j < B.length && B[j] === x) j++;
  }
  return w;
}

export interface ShapeComparison {
  meanReference: number;
  meanOther: number;
  /** factor s with mean(s · other) = mean(reference) */
  scale: number;
  /** JS (nats) of the two histograms on a common grid, before and after rescaling other by scale */
  jsBefore: number;
  jsAfter: number;
  /** W1 between the samples, before and after rescaling */
  w1Before: number;
  w1After: number;
  /** the common grid: [0, max of all values (rescaled included)] */
  axis: Axis;
}

/**
 * Compares distributions of positive magnitudes (frame-to-frame speeds) up to a constant factor:
 * a time step that is off by a factor stretches speeds uniformly, so the shape after rescaling the
 * means to agree says whether the dynamics differ beyond that factor.
 */
export function compareRescaled(reference: ArrayLike<number>, other: ArrayLike<number>, bins = 100): ShapeComparison {
  const mean = (v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i];
    return s / v.length;
  };
  const meanReference = mean(reference);
  const meanOther = mean(other);
  if (!(meanOther > 0) || !(meanReference > 0)) throw outOfRange('samples with positive means', 'reference, other', `${meanReference}, ${meanOther}`);
  const scale = meanReference / meanOther;
  const rescaled = Float64Array.from(other, (v) => v * scale);
  let hi = 0;
  for (const v of [reference, other, rescaled]) for (let i = 0; i < v.length; i++) if (v[i] > hi) hi = v[i];
  const axis: Axis = { range: [0, hi > 0 ? hi : 1], bins };
  const h = (v: ArrayLike<number>) => histogram1d(v, axis).counts;
  const hr = h(reference);
  return {
    meanReference,
    meanOther,
    scale,
    jsBefore: jensenShannon(hr, h(other)),
    jsAfter: jensenShannon(hr, h(rescaled)),
    w1Before: wasserstein1(reference, other),
    w1After: wasserstein1(reference, rescaled),
    axis,
  };
}

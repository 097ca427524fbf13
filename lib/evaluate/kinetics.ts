// Kinetics: k-means states on the thermodynamics features, MSM implied timescales (with bootstrap)
// and the similarity of the two MSMs' eigenvectors.
import {
  Kmeans,
  MarkovStateModel,
  eigenvectorSimilarity,
  impliedTimescales,
  type Coordinates,
  type ImpliedTimescales,
} from '../analysis';
import { positiveInteger } from '../core/validate';
import { finite } from './common';
import type { Metrics, TimescaleCurves } from './metrics';
import type { EvaluateOptions } from './options';
import type { ThermoResult } from './thermodynamics';

const DEFAULT_LAGS = [1, 2, 5, 10, 20, 50];
const TIMESCALES = 3;

function curves(its: ImpliedTimescales): TimescaleCurves {
  const rows = (a: Float64Array[]) => a.map((t) => Array.from(t, finite));
  return {
    timescales: rows(its.timescales),
    activeStates: its.activeStates,
    activeCountFraction: its.activeCountFraction,
    bootstrap: its.bootstrap
      ? {
        samples: its.bootstrap.samples, resample: its.bootstrap.resample, mean: rows(its.bootstrap.mean),
        bias: rows(its.bootstrap.bias), lower: rows(its.bootstrap.lower), upper: rows(its.bootstrap.upper),
      }
      : null,
  };
}

export function timescaleAt(c: TimescaleCurves | null, lags: number[], lag: number): number | null {
  const i = lags.indexOf(lag);
  return c && i >= 0 ? c.timescales[i][0] : null;
}

export function kineticsSection(
  o: EvaluateOptions,
  thermo: ThermoResult,
  ref: Coordinates[],
  traj: Coordinates[],
  dtPs: number,
  seed: number,
  bootstrap: number,
  maxFitFrames: number,
  notes: string[],
): Metrics['kinetics'] {
  const longest = Math.min(Math.max(...ref.map((t) => t.frames)), Math.max(...traj.map((t) => t.frames)));
  // A lag needs pairs in both data sets; lags up to a fifth of the longest trajectory leave enough.
  const requested = o.lags ? o.lags.map((l, i) => positiveInteger(`lags[${i}]`, l)) : DEFAULT_LAGS;
  let lags = [...new Set(requested)].sort((a, b) => a - b).filter((l) => l <= Math.max(1, Math.floor(longest / 5)));
  if (lags.length === 0) lags = [1];
  const msmLagWanted = positiveInteger('msmLag', o.msmLag ?? 5);
  const msmLag = lags.includes(msmLagWanted) ? msmLagWanted : lags.reduce((a, b) => (Math.abs(b - msmLagWanted) < Math.abs(a - msmLagWanted) ? b : a));
  const base = { lags, lagTimesPs: lags.map((l) => l * dtPs), msmLag };
  if (!thermo.features) {
    return { features: 'none', clusters: 0, fitFrames: 0, ...base, reference: null, backmapped: null, eigenvectorSimilarity: [], sharedStates: 0, reason: thermo.section.reason };
  }
  const { dim } = thermo.features;
  const refRows = thermo.features.ref.map((x) => x.length / dim);
  const total = refRows.reduce((a, b) => a + b, 0);
  const stride = Math.max(1, Math.ceil(total / maxFitFrames));
  const fitN = refRows.reduce((a, n) => a + Math.ceil(n / stride), 0);
  const fitX = new Float64Array(fitN * dim);
  let row = 0;
  thermo.features.ref.forEach((x, t) => {
    for (let f = 0; f < refRows[t]; f += stride) fitX.set(x.subarray(f * dim, (f + 1) * dim), dim * row++);
  });
  if (stride > 1) notes.push(`k-means: fitted on every ${stride}th reference frame (${fitN} of ${total}); all frames assigned`);
  const k = Math.min(positiveInteger('clusters', thermo.features.clusters), fitN);
  if (k < thermo.features.clusters) notes.push(`k-means: ${k} centres, not ${thermo.features.clusters}: the reference has only ${fitN} frames`);
  const km = new Kmeans({ k, seed, maxIter: 100 }).fit(fitX, fitN, dim);
  const refD = thermo.features.ref.map((x) => km.assign(x));
  const trajD = thermo.features.traj.map((x) => km.assign(x));
  const itsOptions = { k: TIMESCALES, bootstrap, seed, dt: dtPs, nStates: k };
  const safeIts = (d: Int32Array[]) => {
    try {
      return curves(impliedTimescales(d, lags, itsOptions));
    } catch {
      return null;
    }
  };
  let similarity: (number | null)[] = [];
  let shared = 0;
  try {
    const a = new MarkovStateModel({ lag: msmLag, dt: dtPs }).fit(refD, k);
    const b = new MarkovStateModel({ lag: msmLag, dt: dtPs }).fit(trajD, k);
    const s = eigenvectorSimilarity(a, b, { k: 3 });
    similarity = Array.from(s.similarity, finite);
    shared = s.sharedStates.length;
  } catch {
    // No transitions at msmLag in one set (e.g. a frozen trajectory): no eigenvectors to compare.
  }
  return {
    features: thermo.features.name,
    clusters: k,
    fitFrames: fitN,
    ...base,
    reference: safeIts(refD),
    backmapped: safeIts(trajD),
    eigenvectorSimilarity: similarity,
    sharedStates: shared,
  };
}

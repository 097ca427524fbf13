// Estimators of lib/analysis on data with known answers (issue 7, "Must show" 1).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import {
  Kmeans,
  MarkovStateModel,
  Tica,
  angleAutocorrelation,
  angleEmbedding,
  bondAngles,
  bondLengths,
  chiralVolumes,
  clashes,
  compareRescaled,
  countMatrix,
  dihedrals,
  eigenvectorSimilarity,
  freeEnergy,
  freeEnergySurface,
  frameSpeeds,
  histogram2d,
  impliedTimescales,
  jensenShannon,
  largestConnectedSet,
  nonReversibleTransitionMatrix,
  ramachandranAxes,
  randomNormal,
  reversibleTransitionMatrix,
  rmsSpeeds,
  rotamerKinetics,
  rotamerStates,
  seededRandom,
  sidechainDihedrals,
  sidechainKinetics,
  wasserstein1,
  type Coordinates,
} from '../../lib/analysis';
import type { Atom } from '../../lib/io/types';
import { hasPython, python } from '../support/python';

/** A trajectory of a Markov chain with row-stochastic T (n × n), seeded. */
function simulateChain(T: number[][], steps: number, seed: number, start = 0): Int32Array {
  const random = seededRandom(seed);
  const out = new Int32Array(steps);
  let s = start;
  for (let t = 0; t < steps; t++) {
    out[t] = s;
    let r = random();
    let next = T.length - 1;
    for (let j = 0; j < T.length; j++) {
      r -= T[s][j];
      if (r < 0) {
        next = j;
        break;
      }
    }
    s = next;
  }
  return out;
}

/** Exact implied timescales of T at a lag, from an eigensolver that is not the one under test. */
function exactTimescales(T: number[][], lag: number): number[] {
  const e = new EigenvalueDecomposition(new Matrix(T));
  const moduli = e.realEigenvalues.map((re, i) => Math.hypot(re, e.imaginaryEigenvalues[i])).sort((a, b) => b - a);
  return moduli.slice(1).map((m) => -lag / Math.log(m ** lag));
}

// A reversible 3-state chain: π = (0.5, 0.3, 0.2) and symmetric fluxes π_i T_ij.
const PI3 = [0.5, 0.3, 0.2];
const FLUX: Record<string, number> = { '0,1': 0.005, '0,2': 0.001, '1,2': 0.003 };
const T3: number[][] = [0, 1, 2].map((i) => {
  const row = [0, 1, 2].map((j) => (i === j ? 0 : FLUX[[Math.min(i, j), Math.max(i, j)].join()] / PI3[i]));
  row[i] = 1 - row.reduce((a, b) => a + b, 0);
  return row;
});

describe('Markov state models', () => {
  const dtraj = simulateChain(T3, 1_000_000, 7);

  test('a simulated 3-state chain gives its implied timescales within 5 % (reversible and not)', () => {
    for (const lag of [1, 5, 20]) {
      const exact = exactTimescales(T3, lag);
      for (const reversible of [true, false]) {
        const model = new MarkovStateModel({ lag, reversible }).fit([dtraj]);
        expect(model.size).toBe(3);
        const ts = model.timescales(2);
        for (let i = 0; i < 2; i++) expect(Math.abs(ts[i] / exact[i] - 1)).toBeLessThan(0.05);
      }
    }
    // The estimate is in steps; dt rescales it to time units.
    const ps = new MarkovStateModel({ lag: 5, dt: 0.5 }).fit([dtraj]).timescales(1)[0];
    expect(ps / new MarkovStateModel({ lag: 5 }).fit([dtraj]).timescales(1)[0]).toBeCloseTo(0.5, 12);
  });

  test('stationary distribution and eigenvectors: l0 = π, r0 = 1, lᵀr = I, lT = λl', () => {
    const model = new MarkovStateModel({ lag: 1 }).fit([dtraj]);
    const pi = model.stationaryDistribution;
    PI3.forEach((p, i) => expect(Math.abs(pi[i] - p)).toBeLessThan(0.02));
    const L = model.leftEigenvectors();
    const R = model.rightEigenvectors();
    L[0].forEach((v, i) => expect(v).toBeCloseTo(pi[i], 12));
    R[0].forEach((v) => expect(v).toBeCloseTo(1, 12));
    const T = model.transitionMatrix;
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const d = L[a].reduce((s, v, i) => s + v * R[b][i], 0);
        expect(d).toBeCloseTo(a === b ? 1 : 0, 10);
      }
      for (let j = 0; j < 3; j++) {
        const lT = L[a].reduce((s, v, i) => s + v * T[i * 3 + j], 0);
        expect(lT).toBeCloseTo(model.eigenvalues[a] * L[a][j], 12);
      }
    }
    expect(model.eigenvalues[0]).toBeCloseTo(1, 12);
  });

  test('implied timescales over lags: Markovian data give lag-independent values, seeded bootstrap error bars', () => {
    const short = dtraj.subarray(0, 200_000);
    const pieces = Array.from({ length: 20 }, (_, i) => short.subarray(i * 10_000, (i + 1) * 10_000));
    const lags = [1, 2, 5, 10];
    const its = impliedTimescales(pieces, lags, { k: 2, bootstrap: 20, seed: 3, dt: 1 });
    const exact = exactTimescales(T3, 1);
    expect(its.bootstrap?.resample).toBe('trajectories');
    its.timescales.forEach((ts, li) => {
      expect(Math.abs(ts[0] / exact[0] - 1)).toBeLessThan(0.1);
      const bs = its.bootstrap!;
      expect(bs.std[li][0]).toBeGreaterThan(0);
      expect(bs.lower[li][0]).toBeLessThan(bs.upper[li][0]);
      // The true value lies inside the estimate ± 4 bootstrap standard deviations.
      expect(Math.abs(ts[0] - exact[0])).toBeLessThan(4 * bs.std[li][0]);
    });
    const again = impliedTimescales(pieces, lags, { k: 2, bootstrap: 20, seed: 3 });
    expect(again.bootstrap!.mean).toEqual(its.bootstrap!.mean);
    const other = impliedTimescales(pieces, lags, { k: 2, bootstrap: 20, seed: 4 });
    expect(other.bootstrap!.mean).not.toEqual(its.bootstrap!.mean);
    // One long trajectory is cut into blocks.
    const blocks = impliedTimescales([short], [5], { k: 1, bootstrap: 10, seed: 1 });
    expect(blocks.bootstrap!.resample).toBe('blocks');
    expect(blocks.bootstrap!.blockLength).toBe(10_000);
    expect(blocks.bootstrap!.std[0][0]).toBeGreaterThan(0);
  });

  test('counts use a sliding window within each trajectory, never across two', () => {
    const { counts, nStates } = countMatrix([[0, 1, 1, 2], [2, 0]], 1);
    expect(nStates).toBe(3);
    expect(Array.from(counts)).toEqual([0, 1, 0, 0, 1, 1, 1, 0, 0]);
    const lag2 = countMatrix([[0, 1, 1, 2], [2, 0]], 2);
    expect(Array.from(lag2.counts)).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 0]);
    // Negative states are frames outside every state: their pairs are skipped.
    expect(Array.from(countMatrix([[0, -1, 0, 0]], 1, 1).counts)).toEqual([1]);
    expect(() => countMatrix([[0, 1]], 0)).toThrow(RangeError);
  });

  test('the active set is the largest strongly connected set', () => {
    // 0 ⇄ 1 ⇄ 2 and 3 → 0 (3 is reached from nowhere), 4 ⇄ 5.
    const n = 6;
    const c = new Float64Array(n * n);
    for (const [i, j] of [[0, 1], [1, 0], [1, 2], [2, 1], [3, 0], [4, 5], [5, 4]]) c[i * n + j] = 3;
    expect(Array.from(largestConnectedSet(c, n))).toEqual([0, 1, 2]);
    const model = new MarkovStateModel({ lag: 1 }).fit([[0, 1, 2, 1, 0, 1, 0], [3, 0, 1], [4, 5, 4]]);
    expect(Array.from(model.activeSet)).toEqual([0, 1, 2]);
    expect(model.activeCountFraction).toBeCloseTo(7 / 10, 12);
    expect(Array.from(model.expand(model.stationaryDistribution, NaN)).slice(3).every(Number.isNaN)).toBe(true);
  });
});

describe('reversible maximum-likelihood estimator', () => {
  // Counts of a non-reversible 40-state chain with sparse connections: the hard case for the estimator.
  const n = 40;
  const random = seededRandom(11);
  const Tgen: number[][] = Array.from({ length: n }, (_, i) => {
    const row = new Array(n).fill(0);
    row[i] = 5;
    row[(i + 1) % n] = 1 + 3 * random();
    row[(i + n - 1) % n] = 0.2 + random();
    row[Math.floor(random() * n)] += 0.5 * random();
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
  const { counts } = countMatrix([simulateChain(Tgen, 200_000, 5)], 1, n);
  const est = reversibleTransitionMatrix(counts, n);
  const T = est.transitionMatrix;
  const pi = est.stationaryDistribution;
  const logLikelihood = (M: Float64Array) => {
    let l = 0;
    for (let i = 0; i < n * n; i++) if (counts[i] > 0) l += counts[i] * Math.log(M[i]);
    return l;
  };

  test('detailed balance π_i T_ij = π_j T_ji to 1e-10, rows sum to 1, π T = π', () => {
    expect(est.converged).toBe(true);
    let db = 0;
    let rows = 0;
    let stat = 0;
    for (let i = 0; i < n; i++) {
      let r = 0;
      let s = 0;
      for (let j = 0; j < n; j++) {
        db = Math.max(db, Math.abs(pi[i] * T[i * n + j] - pi[j] * T[j * n + i]));
        r += T[i * n + j];
        s += pi[j] * T[j * n + i];
        expect(T[i * n + j]).toBeGreaterThanOrEqual(0);
      }
      rows = Math.max(rows, Math.abs(r - 1));
      stat = Math.max(stat, Math.abs(s - pi[i]));
    }
    expect(db).toBeLessThan(1e-10);
    expect(rows).toBeLessThan(1e-12);
    expect(stat).toBeLessThan(1e-12);
  });

  test('it is the maximum: every reversible perturbation on the count pattern lowers the likelihood', () => {
    const best = logLikelihood(T);
    const X = Float64Array.from({ length: n * n }, (_, k) => pi[Math.floor(k / n)] * T[k]);
    const r = seededRandom(2);
    for (let trial = 0; trial < 50; trial++) {
      const Y = X.slice();
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++) {
          if (Y[i * n + j] === 0) continue;
          const f = 1 + 1e-3 * (r() - 0.5);
          Y[i * n + j] *= f;
          if (i !== j) Y[j * n + i] *= f;
        }
      }
      const P = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += Y[i * n + j];
        for (let j = 0; j < n; j++) P[i * n + j] = Y[i * n + j] / s;
      }
      expect(logLikelihood(P)).toBeLessThan(best);
    }
  });

  test('on symmetric counts and on 2 states it equals the row-normalised counts', () => {
    const sym = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sym[i * n + j] = counts[i * n + j] + counts[j * n + i];
    const a = reversibleTransitionMatrix(sym, n).transitionMatrix;
    const b = nonReversibleTransitionMatrix(sym, n).transitionMatrix;
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-10));
    const c2 = Float64Array.from([90, 10, 30, 70]);
    const t2 = reversibleTransitionMatrix(c2, 2).transitionMatrix;
    expect(Array.from(t2).map((v) => +v.toFixed(12))).toEqual([0.9, 0.1, 0.3, 0.7]);
  });

  test('the reversible timescales agree with deeptime-style numpy code on the same counts', () => {
    if (!hasPython('numpy')) return;
    const model = new MarkovStateModel({ lag: 1 }).fitCounts({ counts, nStates: n });
    const out = JSON.parse(
      python(
        `
import json, sys, numpy as np
C = np.array(json.loads(sys.argv[1]), dtype=float).reshape(${n}, ${n})
x = (C + C.T).sum(1); x /= x.sum(); c = C.sum(1); S = C + C.T
for _ in range(1000000):
    X = S / (c[:, None] / x[:, None] + c[None, :] / x[None, :])
    xn = X.sum(1); xn /= xn.sum()
    done = np.abs(xn - x).sum() < 1e-13
    x = xn
    if done: break
X = S / (c[:, None] / x[:, None] + c[None, :] / x[None, :]); T = X / X.sum(1)[:, None]; p = X.sum(1) / X.sum()
s = np.sqrt(p); ev = np.sort(np.abs(np.linalg.eigvalsh(s[:, None] * T / s[None, :])))[::-1]
print(json.dumps(list(-1 / np.log(ev[1:4]))))
`,
        [JSON.stringify(Array.from(counts))],
      ),
    ) as number[];
    const ours = model.timescales(3);
    out.forEach((t, i) => expect(Math.abs(ours[i] / t - 1)).toBeLessThan(1e-8));
  });

  test('eigenvector similarity: 1 for a model with itself, below 1 for a different chain', () => {
    const a = new MarkovStateModel({ lag: 1 }).fitCounts({ counts, nStates: n });
    const self = eigenvectorSimilarity(a, a, { k: 3 });
    self.similarity.forEach((s) => expect(s).toBeCloseTo(1, 12));
    expect(self.sharedStates.length).toBe(n);
    const other = new MarkovStateModel({ lag: 1 }).fit([simulateChain(Tgen.map((r) => r.slice().reverse()), 50_000, 9)], n);
    const cross = eigenvectorSimilarity(a, other, { k: 2 });
    expect(cross.similarity[0]).toBeLessThan(0.999);
  });
});

describe('divergences', () => {
  test('identical inputs: JS = 0 and W1 = 0; disjoint: JS = ln 2 (1 bit)', () => {
    const r = seededRandom(1);
    const a = Float64Array.from({ length: 1000 }, () => r());
    expect(wasserstein1(a, a)).toBe(0);
    expect(wasserstein1(a, Float64Array.from(a).reverse())).toBe(0);
    const p = Float64Array.from({ length: 50 }, () => r());
    expect(jensenShannon(p, p)).toBe(0);
    expect(jensenShannon(p, p.map((v) => 3 * v))).toBeLessThan(1e-15);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(Math.LN2, 14);
    expect(jensenShannon([1, 0], [0, 1], { base: 2 })).toBeCloseTo(1, 14);
    const js = jensenShannon([0.7, 0.3, 0], [0.2, 0.3, 0.5]);
    expect(js).toBeGreaterThan(0);
    expect(js).toBeLessThan(Math.LN2);
  });

  test('W1 is exact for shifted and differently sized samples', () => {
    const r = seededRandom(2);
    const a = Float64Array.from({ length: 500 }, () => randomNormal(r));
    expect(wasserstein1(a, a.map((v) => v + 0.3))).toBeCloseTo(0.3, 12);
    expect(wasserstein1([0, 1, 2, 3], [0, 3])).toBeCloseTo(0.5, 14);
    expect(wasserstein1([0, 1], [0.5])).toBeCloseTo(0.5, 14);
    if (hasPython('scipy')) {
      const b = Float64Array.from({ length: 333 }, () => 2 * r() - 0.5);
      const ref = Number(python('import sys,json; from scipy.stats import wasserstein_distance as w; print(repr(w(json.loads(sys.argv[1]), json.loads(sys.argv[2]))))', [JSON.stringify(Array.from(a)), JSON.stringify(Array.from(b))]));
      expect(wasserstein1(a, b)).toBeCloseTo(ref, 12);
    }
  });

  test('speeds that differ by a constant factor: the rescale recovers it and the shapes then agree', () => {
    const r = seededRandom(3);
    const ref = Float64Array.from({ length: 5000 }, () => Math.abs(randomNormal(r)) + 0.1);
    const fast = ref.map((v) => 2 * v);
    const c = compareRescaled(ref, fast);
    expect(c.scale).toBeCloseTo(0.5, 14);
    expect(c.jsAfter).toBe(0);
    expect(c.w1After).toBe(0);
    expect(c.jsBefore).toBeGreaterThan(0.1);
    expect(c.w1Before).toBeGreaterThan(0.5);
    // A different shape with the same mean stays different after rescaling.
    const mean = ref.reduce((a, b) => a + b, 0) / ref.length;
    const flat = Float64Array.from({ length: 5000 }, () => 2 * mean * r());
    expect(compareRescaled(ref, flat).jsAfter).toBeGreaterThan(0.02);
  });
});

describe('histograms and free energies', () => {
  test('periodic bins wrap, free energy is −ln p with +Infinity for empty bins', () => {
    const [ax, ay] = ramachandranAxes(4);
    const h = histogram2d([-Math.PI, Math.PI, 0.1, 0.1 + 2 * Math.PI, 3], [0, 0, 0, 0, -3], ax, ay);
    // −π and π share bin 0; 0.1 and 0.1 + 2π share bin 2; y = 0 is bin 2, y = −3 bin 0.
    expect(h.counts[0 * 4 + 2]).toBe(2);
    expect(h.counts[2 * 4 + 2]).toBe(2);
    expect(h.counts[3 * 4 + 0]).toBe(1);
    expect(h.outside).toBe(0);
    const F = freeEnergy(h.counts);
    expect(F[0 * 4 + 2]).toBe(0);
    expect(F[3 * 4 + 0]).toBeCloseTo(Math.log(2), 14);
    expect(F[1]).toBe(Infinity);
    expect(Array.from(F).some(Number.isNaN)).toBe(false);
    const kj = freeEnergy(h.counts, { kT: 2.494 });
    expect(kj[3 * 4]).toBeCloseTo(2.494 * Math.log(2), 12);
    // Non-periodic axes drop what lies outside.
    const lin = histogram2d([0, 1, 2], [0, 0, 0], { range: [0, 1], bins: 2 }, { range: [-1, 1], bins: 1 });
    expect(Array.from(lin.counts)).toEqual([1, 1]);
    expect(lin.outside).toBe(1);
    const fes = freeEnergySurface([0.1, 0.2], [0.1, 0.2], ax, ay);
    expect(fes.probability.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(fes.xCenters.length).toBe(4);
  });
});

describe('TICA', () => {
  test('recovers the slow coordinate of a synthetic two-mode process', () => {
    // Slow AR(1) s (a = 0.99, timescale ≈ 99.5 frames) and fast f (a = 0.5), mixed into 4 features with white noise.
    const r = seededRandom(5);
    const make = (frames: number) => {
      const X = new Float64Array(frames * 4);
      const slow = new Float64Array(frames);
      let s = 0;
      let f = 0;
      for (let t = 0; t < frames; t++) {
        s = 0.99 * s + Math.sqrt(1 - 0.99 ** 2) * randomNormal(r);
        f = 0.5 * f + Math.sqrt(1 - 0.25) * randomNormal(r);
        const n1 = randomNormal(r);
        const n2 = randomNormal(r);
        slow[t] = s;
        X.set([2 + 0.6 * s + 1.0 * f + 0.3 * n1, -1 + 0.3 * s - 0.8 * f + 0.2 * n2, 0.5 * f + 0.5 * n1, 0.2 * s + 0.4 * n2 + 0.4 * f], t * 4);
      }
      return { X, slow };
    };
    const a = make(60_000);
    const b = make(40_000);
    const model = new Tica({ lag: 10, dim: 2 }).fit([a.X, b.X], 4);
    const y = model.transform(a.X);
    const ic1 = Float64Array.from({ length: 60_000 }, (_, t) => y[2 * t]);
    const corr = (u: ArrayLike<number>, v: ArrayLike<number>) => {
      const n = u.length;
      let mu = 0, mv = 0;
      for (let i = 0; i < n; i++) { mu += u[i]; mv += v[i]; }
      mu /= n; mv /= n;
      let suv = 0, su = 0, sv = 0;
      for (let i = 0; i < n; i++) { suv += (u[i] - mu) * (v[i] - mv); su += (u[i] - mu) ** 2; sv += (v[i] - mv) ** 2; }
      return suv / Math.sqrt(su * sv);
    };
    expect(Math.abs(corr(ic1, a.slow))).toBeGreaterThan(0.98);
    // Autocorrelation of IC1 at the lag ≈ 0.99^10, its timescale ≈ 99.5 frames; IC2 is fast.
    expect(model.eigenvalues[0]).toBeGreaterThan(0.99 ** 10 - 0.03);
    expect(model.eigenvalues[0]).toBeLessThan(0.99 ** 10 + 0.03);
    expect(Math.abs(model.timescales()[0] / (-1 / Math.log(0.99)) - 1)).toBeLessThan(0.15);
    expect(model.eigenvalues[1]).toBeLessThan(0.05);
    // Whitened: unit variance and zero mean on the training data.
    let m = 0, v = 0;
    for (const x of ic1) m += x;
    m /= ic1.length;
    for (const x of ic1) v += (x - m) ** 2;
    expect(Math.abs(m)).toBeLessThan(0.1);
    expect(v / ic1.length).toBeGreaterThan(0.9);
    expect(v / ic1.length).toBeLessThan(1.1);
  });

  test('redundant features (a copy of a column) do not break the whitening', () => {
    const r = seededRandom(6);
    const frames = 5000;
    const X = new Float64Array(frames * 3);
    let s = 0;
    for (let t = 0; t < frames; t++) {
      s = 0.95 * s + randomNormal(r);
      const noise = randomNormal(r);
      X.set([s, s, noise], 3 * t);
    }
    const model = new Tica({ lag: 1, dim: 1 }).fit([X], 3);
    expect(model.rank).toBe(2);
    expect(model.eigenvalues[0]).toBeCloseTo(0.95, 1);
  });
});

describe('k-means', () => {
  const r = seededRandom(8);
  const truth = [[0, 0], [10, 0], [0, 10], [10, 10]];
  const X = new Float64Array(1000 * 2);
  const label = new Int32Array(1000);
  for (let i = 0; i < 1000; i++) {
    const c = i % 4;
    label[i] = c;
    X[2 * i] = truth[c][0] + 0.5 * randomNormal(r);
    X[2 * i + 1] = truth[c][1] + 0.5 * randomNormal(r);
  }

  test('recovers well-separated blobs, deterministically for a seed', () => {
    const model = new Kmeans({ k: 4, seed: 1 }).fit(X, 1000, 2);
    expect(model.converged).toBe(true);
    const assigned = model.assign(X);
    // Each true blob maps onto exactly one cluster and each cluster onto one blob.
    const map = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      if (!map.has(label[i])) map.set(label[i], assigned[i]);
      expect(assigned[i]).toBe(map.get(label[i]));
    }
    expect(new Set(map.values()).size).toBe(4);
    // With every point assigned to its blob, each centre is that blob's sample mean, near the true centre.
    for (const [blob, c] of map) {
      let mx = 0;
      let my = 0;
      for (let i = blob; i < 1000; i += 4) {
        mx += X[2 * i] / 250;
        my += X[2 * i + 1] / 250;
      }
      expect(model.centers[2 * c]).toBeCloseTo(mx, 12);
      expect(model.centers[2 * c + 1]).toBeCloseTo(my, 12);
      expect(Math.hypot(mx - truth[blob][0], my - truth[blob][1])).toBeLessThan(0.15);
    }
    expect(model.inertia / 1000).toBeGreaterThan(0.3);
    expect(model.inertia / 1000).toBeLessThan(0.7);
    expect(new Kmeans({ k: 4, seed: 1 }).fit(X, 1000, 2).centers).toEqual(model.centers);
    expect(new Kmeans({ k: 12, seed: 1 }).fit(X, 1000, 2).centers).not.toEqual(new Kmeans({ k: 12, seed: 2 }).fit(X, 1000, 2).centers);
  });

  test('angles are periodic through the (cos, sin) embedding: 179° and −179° share a cluster', () => {
    const deg = Math.PI / 180;
    const angles = Float64Array.from([179, -179, 178, -178, 0, 2, -2, 1].map((a) => a * deg));
    const model = new Kmeans({ k: 2, seed: 0 }).fit(angleEmbedding(angles, 8, 1), 8, 2);
    const a = model.assign(angleEmbedding(angles, 8, 1));
    expect(new Set(a.subarray(0, 4)).size).toBe(1);
    expect(new Set(a.subarray(4)).size).toBe(1);
    expect(a[0]).not.toBe(a[4]);
  });

  test('rejects bad arguments with expected-vs-received messages', () => {
    expect(() => new Kmeans({ k: 0 })).toThrow('Expected positive integer for k but received 0 of type number');
    expect(() => new Kmeans({ k: 5 }).fit(X, 3, 2)).toThrow(RangeError);
  });
});

/** One frame of the given atom positions. */
function frame(positions: number[][]): Coordinates {
  return { coords: Float64Array.from(positions.flat()), frames: 1, atoms: positions.length };
}

describe('geometry', () => {
  test('a dihedral on a constructed geometry has the right sign and value (IUPAC, as mdtraj)', () => {
    // a on +x, b at the origin, c on +z, d rotated by θ about +z: the dihedral a-b-c-d is +θ.
    for (const deg of [60, -60, 120, -150, 0, 90]) {
      const t = (deg * Math.PI) / 180;
      const g = frame([[1, 0, 0], [0, 0, 0], [0, 0, 1], [Math.cos(t), Math.sin(t), 1]]);
      expect(dihedrals(g, [[0, 1, 2, 3]])[0]).toBeCloseTo(t, 12);
    }
    const trans = frame([[1, 0, 0], [0, 0, 0], [0, 0, 1], [-1, 0, 1]]);
    expect(dihedrals(trans, [[0, 1, 2, 3]])[0]).toBe(Math.PI);
    expect(bondLengths(trans, [[0, 3]])[0]).toBeCloseTo(Math.sqrt(5), 14);
    expect(bondAngles(trans, [[0, 1, 2]])[0]).toBeCloseTo(Math.PI / 2, 14);
    expect(bondAngles(frame([[1, 0, 0], [0, 0, 0], [-1, 0, 0]]), [[0, 1, 2]])[0]).toBeCloseTo(Math.PI, 14);
    if (hasPython('mdtraj')) {
      const coords = [[0.1, 0.02, -0.03], [0.0, 0.0, 0.0], [0.01, 0.0, 0.15], [0.12, -0.08, 0.2]];
      const ref = Number(
        python(
          [
            'import sys, json, numpy as np, mdtraj as md',
            'top = md.Topology(); r = top.add_residue("X", top.add_chain())',
            'for i in range(4): top.add_atom("C%d" % i, md.element.carbon, r)',
            'x = np.array(json.loads(sys.argv[1]), dtype=np.float32)[None]',
            'print(repr(float(md.compute_dihedrals(md.Trajectory(x, top), [[0, 1, 2, 3]])[0, 0])))',
          ].join('\n'),
          [JSON.stringify(coords)],
        ),
      );
      expect(dihedrals(frame(coords), [[0, 1, 2, 3]])[0]).toBeCloseTo(ref, 5);
    }
  });

  test('chirality: the signed volume flips sign on a mirrored structure', () => {
    // L-alanine's N, CA, C, CB from adp.pdb (nm).
    const l = [[0.5408, 0.418, -0.0062], [0.4073, 0.4545, 0.0465], [0.3721, 0.6068, 0.0466], [0.3873, 0.3824, 0.1788]];
    const mirrored = l.map(([x, y, z]) => [-x, y, z]);
    const two: Coordinates = { coords: Float64Array.from([...l.flat(), ...mirrored.flat()]), frames: 2, atoms: 4 };
    const v = chiralVolumes(two, [{ n: 0, ca: 1, c: 2, cb: 3 }]);
    expect(v[0]).toBeGreaterThan(0);
    expect(v[1]).toBeCloseTo(-v[0], 14);
  });

  test('clashes: close pairs count unless bonded within the excluded separation', () => {
    // A 5-atom chain 0-1-2-3-4 where atom 4 folds back onto atom 0 (1-5 pair) and 1-4 pair (0, 3) is close.
    const g = frame([[0, 0, 0], [0.15, 0, 0], [0.2, 0.14, 0], [0.1, 0.2, 0], [0.05, 0.1, 0.05]]);
    const bonds: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 4]];
    const atoms = [0, 1, 2, 3, 4];
    const fixed = clashes(g, { atoms, bonds, cutoff: 0.2 });
    expect(fixed.pairs).toBe(1);
    expect(fixed.perFrame[0]).toBe(1);
    expect(fixed.frameFraction).toBe(1);
    expect(fixed.minDistance[0]).toBeCloseTo(Math.hypot(0.05, 0.1, 0.05), 14);
    const with14 = clashes(g, { atoms, bonds, cutoff: 0.25, exclude: 2 });
    expect(with14.pairs).toBe(3);
    expect(with14.perFrame[0]).toBe(3);
    const vdw = clashes(g, { atoms, bonds, elements: ['C', 'C', 'C', 'C', 'O'] });
    expect(vdw.perFrame[0]).toBe(1);
    expect(clashes(g, { atoms, bonds, elements: ['C', 'C', 'C', 'C', 'O'], vdwScale: 0.3 }).perFrame[0]).toBe(0);
  });

  test('frame-to-frame speeds in nm/ps and their RMS', () => {
    // Atom 0 moves 0.1 nm along x per frame, atom 1 0.2 nm along y; dt = 0.5 ps.
    const traj: Coordinates = { coords: Float64Array.from([0, 0, 0, 0, 0, 0, 0.1, 0, 0, 0, 0.2, 0, 0.2, 0, 0, 0, 0.4, 0]), frames: 3, atoms: 2 };
    const v = frameSpeeds(traj, 0.5);
    Array.from(v).forEach((x, i) => expect(x).toBeCloseTo(i % 2 === 0 ? 0.2 : 0.4, 14));
    expect(rmsSpeeds(v, 2)[0]).toBeCloseTo(Math.sqrt((0.04 + 0.16) / 2), 14);
    expect(Array.from(frameSpeeds(traj, 0.5, [1]))).toEqual([v[1], v[3]]);
  });

  test('side-chain χ definitions, rotamer bins and transition counts', () => {
    const atom = (name: string, resName: string, residueIndex: number): Atom => ({ name, element: name[0], resName, resSeq: residueIndex + 1, residueIndex, chain: 'A', hetero: false });
    const top = [
      ...['N', 'CA', 'C', 'CB', 'OG'].map((n) => atom(n, 'SER', 0)),
      ...['N', 'CA', 'C', 'CB', 'CG1', 'CG2', 'CD'].map((n) => atom(n, 'ILE', 1)),
      ...['N', 'CA', 'C', 'CB'].map((n) => atom(n, 'ALA', 2)),
    ];
    expect(sidechainDihedrals(top, 'chi1').map((d) => [d.resName, ...d.atoms])).toEqual([['SER', 0, 1, 3, 4], ['ILE', 5, 6, 8, 9]]);
    expect(sidechainDihedrals(top, 'chi2').map((d) => [d.resName, ...d.atoms])).toEqual([['ILE', 6, 8, 9, 11]]);
    const deg = Math.PI / 180;
    expect(Array.from(rotamerStates([60, 179, -179, -60, 0, 119, 121, -119, -121].map((a) => a * deg)))).toEqual([0, 1, 1, 2, 0, 0, 1, 2, 1]);
    const k = rotamerKinetics([[60, 70, 180, -60].map((a) => a * deg), [-60, -50].map((a) => a * deg)], 2);
    expect(k.transitions).toBe(2);
    expect(k.rate).toBeCloseTo(2 / (4 * 2), 14);
    expect(k.counts[0 * 3 + 0]).toBe(1);
    expect(k.counts[0 * 3 + 1]).toBe(1);
    expect(k.counts[1 * 3 + 2]).toBe(1);
    expect(k.counts[2 * 3 + 2]).toBe(1);
  });

  test('side-chain kinetics per residue: χ1 of a serine that hops g+ → t → g− is found, counted and correlated', () => {
    const atom = (name: string): Atom => ({ name, element: name[0], resName: 'SER', resSeq: 1, residueIndex: 0, chain: 'A', hetero: false });
    const top = ['N', 'CA', 'CB', 'OG'].map(atom);
    // N on +x, CA at the origin, CB on +z, OG rotated by χ about +z: χ1 = N-CA-CB-OG is that angle.
    const chis = [60, 62, 58, 180, 178, -60, -62, -58, -61, 60].map((d) => (d * Math.PI) / 180);
    const coords = Float64Array.from(chis.flatMap((c) => [1, 0, 0, 0, 0, 0, 0, 0, 1, Math.cos(c), Math.sin(c), 1]));
    const [k] = sidechainKinetics([{ coords, frames: chis.length, atoms: 4 }], top, { dt: 1, maxLag: 3 });
    expect([k.kind, k.resName, ...k.atoms]).toEqual(['chi1', 'SER', 0, 1, 2, 3]);
    expect(k.transitions).toBe(3);
    expect(Array.from(k.populations).map((p) => p * 10)).toEqual([4, 2, 4]);
    expect(k.acf[0]).toBeCloseTo(1, 12);
    expect(k.acf[1]).toBeLessThan(1);
  });

  test('angle autocorrelation of a two-state telegraph process decays as (1 − 2p)^τ', () => {
    const r = seededRandom(4);
    const p = 0.05;
    const series = new Float64Array(200_000);
    let up = true;
    for (let t = 0; t < series.length; t++) {
      if (r() < p) up = !up;
      series[t] = (up ? 60 : -60) * (Math.PI / 180) + 0.01 * randomNormal(r);
    }
    const acf = angleAutocorrelation([series.subarray(0, 100_000), series.subarray(100_000)], 30);
    expect(acf[0]).toBeCloseTo(1, 3);
    for (const tau of [1, 5, 10, 20]) expect(Math.abs(acf[tau] - (1 - 2 * p) ** tau)).toBeLessThan(0.03);
  });
});

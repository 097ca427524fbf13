// Spectra of MSM transition matrices: eigenvalues sorted by modulus with matched left and right
// eigenvectors (symmetrised for reversible models, general QR otherwise), and the timescales they imply.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { symmetricEigen } from './linalg';

export interface Spectrum {
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
export function reversibleSpectrum(T: Float64Array, pi: Float64Array, n: number): Spectrum {
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
export function generalSpectrum(T: Float64Array, n: number): Spectrum {
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

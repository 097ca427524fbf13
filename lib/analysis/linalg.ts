// Dense symmetric eigenproblems for the estimators, through ml-matrix (Householder tridiagonalisation + QL).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface SymmetricEigen {
  /** eigenvalues in descending order */
  values: Float64Array;
  /** [n, n] row-major; column j is the unit eigenvector of values[j] */
  vectors: Float64Array;
}

/** Eigen-decomposition of a symmetric [n, n] row-major matrix; the upper and lower triangles are averaged first. */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m.set(i, j, 0.5 * (a[i * n + j] + a[j * n + i]));
  }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const v = evd.eigenvectorMatrix;
  const order = Array.from(raw.keys()).sort((x, y) => raw[y] - raw[x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = raw[src];
    for (let i = 0; i < n; i++) vectors[i * n + dst] = v.get(i, src);
  });
  return { values, vectors };
}

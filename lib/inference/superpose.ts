// Optimal rigid superposition (Kabsch): the rotation and translation that best
// map one set of points onto another, and the RMSD that remains.
import { symmetricEigen } from '../analysis/linalg';
import { quaternionRotation } from '../core/rng';

export interface Superposition {
  /** row-major 3x3 rotation R: q ≈ R (p − cp) + cq */
  rotation: Float64Array;
  /** centroid of the moving points p */
  from: [number, number, number];
  /** centroid of the target points q */
  to: [number, number, number];
  /** RMSD after superposition, in the points' units */
  rmsd: number;
}

/** Centroid of n points of x at offset. */
export function centroid(x: ArrayLike<number>, offset: number, n: number): [number, number, number] {
  let a = 0, b = 0, c = 0;
  for (let i = 0; i < n; i++) {
    a += x[offset + 3 * i];
    b += x[offset + 3 * i + 1];
    c += x[offset + 3 * i + 2];
  }
  return [a / n, b / n, c / n];
}

/**
 * The proper rotation R (row-major 3x3) minimising sum |R (p_i − cp) − (q_i − cq)|² over
 * n points, by Horn's quaternion method: the top eigenvector of a symmetric 4x4
 * matrix, so no SVD and never a reflection, even for planar or collinear points.
 */
export function optimalRotation(p: ArrayLike<number>, pOffset: number, q: ArrayLike<number>, qOffset: number, n: number): Float64Array {
  const cp = centroid(p, pOffset, n);
  const cq = centroid(q, qOffset, n);
  const s = new Float64Array(9); // s[3r + c] = sum (p − cp)_r (q − cq)_c
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 3; r++) {
      const pr = p[pOffset + 3 * i + r] - cp[r];
      for (let c = 0; c < 3; c++) s[3 * r + c] += pr * (q[qOffset + 3 * i + c] - cq[c]);
    }
  }
  const [xx, xy, xz, yx, yy, yz, zx, zy, zz] = s;
  const k = [
    xx + yy + zz, yz - zy, zx - xz, xy - yx,
    yz - zy, xx - yy - zz, xy + yx, zx + xz,
    zx - xz, xy + yx, yy - xx - zz, yz + zy,
    xy - yx, zx + xz, yz + zy, zz - xx - yy,
  ];
  const v = symmetricEigen(k, 4).vectors; // column 0: the unit quaternion of the largest eigenvalue
  return quaternionRotation(v[0], v[4], v[8], v[12]);
}

/** Superposes n points of p (at pOffset) onto n points of q (at qOffset). */
export function superpose(p: ArrayLike<number>, pOffset: number, q: ArrayLike<number>, qOffset: number, n: number): Superposition {
  const cp = centroid(p, pOffset, n);
  const cq = centroid(q, qOffset, n);
  const rotation = optimalRotation(p, pOffset, q, qOffset, n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = p[pOffset + 3 * i] - cp[0];
    const y = p[pOffset + 3 * i + 1] - cp[1];
    const z = p[pOffset + 3 * i + 2] - cp[2];
    for (let k = 0; k < 3; k++) {
      const moved = rotation[3 * k] * x + rotation[3 * k + 1] * y + rotation[3 * k + 2] * z + cq[k];
      sum += (moved - q[qOffset + 3 * i + k]) ** 2;
    }
  }
  return { rotation, from: cp, to: cq, rmsd: Math.sqrt(sum / n) };
}

/** Applies a superposition to `count` points of src (at srcOffset), writing into dst (at dstOffset). */
export function applySuperposition(s: Superposition, src: ArrayLike<number>, srcOffset: number, count: number, dst: Float32Array, dstOffset: number): void {
  const r = s.rotation;
  for (let i = 0; i < count; i++) {
    const x = src[srcOffset + 3 * i] - s.from[0];
    const y = src[srcOffset + 3 * i + 1] - s.from[1];
    const z = src[srcOffset + 3 * i + 2] - s.from[2];
    for (let k = 0; k < 3; k++) dst[dstOffset + 3 * i + k] = r[3 * k] * x + r[3 * k + 1] * y + r[3 * k + 2] * z + s.to[k];
  }
}

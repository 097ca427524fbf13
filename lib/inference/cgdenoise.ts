// Rough CG input made plausible before a network that was not told its noise
// level sees it: each frame moved to its most probable CG configuration given
// the input, under Gaussian noise of the level and a prior fitted to the
// training frames' CG bond lengths, angles and branch handedness (MAP).
// Dihedrals are left to the input: they carry the conformation. What noise
// breaks are bond lengths, near-straight bead angles (where the network's
// amide plane is undefined) and the handedness of a branched bead (ADP's CA
// with N, C and CB: 2.5 % of frames mirrored by 0.02 nm of noise).
import type { TrajectoryReader } from '../io/types';
import type { CgTree } from '../model/noise';

/**
 * Harmonic prior terms, each with its training mean and std: bonds [i, j],
 * angles [i, j, k] (j the vertex) and, at a bead j with three or more bonds,
 * the signed volume (i − j) · ((k − j) × (l − j)) of its first three (nm³).
 */
export interface CgPrior {
  bonds: { i: number; j: number; mean: number; std: number }[];
  angles: { i: number; j: number; k: number; mean: number; std: number }[];
  volumes: { i: number; j: number; k: number; l: number; mean: number; std: number }[];
}

const sub = (x: Float64Array | Float32Array, a: number, b: number): [number, number, number] => [x[3 * a] - x[3 * b], x[3 * a + 1] - x[3 * b + 1], x[3 * a + 2] - x[3 * b + 2]];
const norm = (u: number[]) => Math.hypot(u[0], u[1], u[2]);
const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const volumeOf = (x: Float64Array | Float32Array, v: { i: number; j: number; k: number; l: number }) => {
  const a = sub(x, v.i, v.j), c = cross(sub(x, v.k, v.j), sub(x, v.l, v.j));
  return a[0] * c[0] + a[1] * c[1] + a[2] * c[2];
};
const angleOf = (x: Float64Array | Float32Array, i: number, j: number, k: number) => {
  const u = sub(x, i, j), v = sub(x, k, j);
  return Math.acos(Math.max(-1, Math.min(1, (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (norm(u) * norm(v)))));
};

/** The prior of `frames` CG frames [F, n, 3]: the tree's bonds, and the angles between bonds that share a bead. */
export function fitCgPrior(coords: Float32Array, frames: number, tree: CgTree): CgPrior {
  const n = tree.order.length;
  const bondList = Array.from(tree.order).filter((b) => tree.parent[b] >= 0).map((b) => ({ i: tree.parent[b], j: b }));
  const neighbours: number[][] = Array.from({ length: n }, () => []);
  for (const { i, j } of bondList) neighbours[i].push(j), neighbours[j].push(i);
  const angleList: { i: number; j: number; k: number }[] = [];
  for (let j = 0; j < n; j++) for (let a = 0; a < neighbours[j].length; a++) for (let b = a + 1; b < neighbours[j].length; b++) angleList.push({ i: neighbours[j][a], j, k: neighbours[j][b] });
  const stats = (value: (x: Float32Array) => number) => {
    let s = 0, s2 = 0;
    for (let f = 0; f < frames; f++) {
      const v = value(coords.subarray(f * n * 3, (f + 1) * n * 3));
      s += v;
      s2 += v * v;
    }
    const mean = s / frames;
    return { mean, std: Math.sqrt(Math.max(s2 / frames - mean * mean, 1e-12)) };
  };
  const volumeList = neighbours.flatMap((nb, j) => (nb.length >= 3 ? [{ i: nb[0], j, k: nb[1], l: nb[2] }] : []));
  return {
    bonds: bondList.map((b) => ({ ...b, ...stats((x) => norm(sub(x, b.i, b.j))) })),
    angles: angleList.map((a) => ({ ...a, ...stats((x) => angleOf(x, a.i, a.j, a.k)) })),
    volumes: volumeList.map((v) => ({ ...v, ...stats((x) => volumeOf(x, v)) })),
  };
}

/**
 * Frames y [F, n, 3] (nm) moved in place to the minimum of
 * Σ_bonds (l − l₀)² / 2s² + Σ_angles (θ − θ₀)² / 2s² + Σ_volumes (V − V₀)² / 2s² + |x − y|² / 2σ²,
 * by gradient descent with momentum from y. σ = 0 leaves them as they are.
 */
export function denoiseCg(y: Float32Array, frames: number, prior: CgPrior, sigma: number, iterations = 200): void {
  if (!(sigma > 0)) return;
  const n = y.length / frames / 3;
  // the stiffest curvature bounds the step: bonds 2/s² (two beads), angles ~ 2/(s·l)², the data term 1/σ²
  const meanLength = prior.bonds.reduce((a, b) => a + b.mean, 0) / Math.max(1, prior.bonds.length);
  const stiffest = Math.max(
    1 / sigma ** 2,
    ...prior.bonds.map((b) => 2 / b.std ** 2),
    ...prior.angles.map((a) => 4 / (a.std * meanLength) ** 2),
    ...prior.volumes.map((v) => (4 * meanLength ** 4) / v.std ** 2),
  );
  const step = 0.5 / stiffest;
  const x = new Float64Array(3 * n), g = new Float64Array(3 * n), v = new Float64Array(3 * n);
  for (let f = 0; f < frames; f++) {
    const o = f * n * 3;
    for (let i = 0; i < 3 * n; i++) (x[i] = y[o + i]), (v[i] = 0);
    for (let it = 0; it < iterations; it++) {
      for (let i = 0; i < 3 * n; i++) g[i] = (x[i] - y[o + i]) / sigma ** 2;
      for (const b of prior.bonds) {
        const d = sub(x, b.j, b.i);
        const l = Math.max(norm(d), 1e-9);
        const c = (l - b.mean) / b.std ** 2 / l;
        for (let k = 0; k < 3; k++) (g[3 * b.j + k] += c * d[k]), (g[3 * b.i + k] -= c * d[k]);
      }
      for (const a of prior.angles) {
        const u = sub(x, a.i, a.j), w = sub(x, a.k, a.j);
        const lu = Math.max(norm(u), 1e-9), lw = Math.max(norm(w), 1e-9);
        const cos = Math.max(-1, Math.min(1, (u[0] * w[0] + u[1] * w[1] + u[2] * w[2]) / (lu * lw)));
        const sin = Math.max(Math.sqrt(1 - cos * cos), 1e-3);
        const c = -((Math.acos(cos) - a.mean) / a.std ** 2) / sin; // dE/dθ · dθ/dcos
        for (let k = 0; k < 3; k++) {
          const du = (w[k] / lw - (cos * u[k]) / lu) / lu; // d cos / d u
          const dw = (u[k] / lu - (cos * w[k]) / lw) / lw;
          g[3 * a.i + k] += c * du;
          g[3 * a.k + k] += c * dw;
          g[3 * a.j + k] -= c * (du + dw);
        }
      }
      for (const q of prior.volumes) {
        const a = sub(x, q.i, q.j), b = sub(x, q.k, q.j), d = sub(x, q.l, q.j);
        const c = (volumeOf(x, q) - q.mean) / q.std ** 2;
        const [ga, gb, gd] = [cross(b, d), cross(d, a), cross(a, b)]; // dV/da, dV/db, dV/dd
        for (let k = 0; k < 3; k++) {
          g[3 * q.i + k] += c * ga[k];
          g[3 * q.k + k] += c * gb[k];
          g[3 * q.l + k] += c * gd[k];
          g[3 * q.j + k] -= c * (ga[k] + gb[k] + gd[k]);
        }
      }
      for (let i = 0; i < 3 * n; i++) {
        v[i] = 0.9 * v[i] - step * g[i];
        x[i] += v[i];
      }
    }
    for (let i = 0; i < 3 * n; i++) y[o + i] = x[i];
  }
}

/** `reader` whose frames come out denoised (denoiseCg) at level `sigma`. */
export function denoisedReader(reader: TrajectoryReader, prior: CgPrior, sigma: number): TrajectoryReader {
  const clean = async (start: number, count: number) => {
    const c = await reader.read(start, count);
    const coords = Float32Array.from(c.coords);
    denoiseCg(coords, c.frames, prior, sigma);
    return { ...c, coords };
  };
  return {
    path: reader.path,
    atoms: reader.atoms,
    frameCount: () => reader.frameCount(),
    read: clean,
    async *chunks(chunkFrames = 1024) {
      const frames = await reader.frameCount();
      for (let s = 0; s < frames; s += chunkFrames) yield await clean(s, Math.min(chunkFrames, frames - s));
    },
    close: () => reader.close(),
  };
}

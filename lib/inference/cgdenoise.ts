// Rough CG input made plausible before a network that was not told its noise
// level sees it: each frame moved to its most probable CG configuration given
// the input, under Gaussian noise of the level and a prior fitted to the
// training frames' CG bond lengths, angles and branch handedness (MAP).
// Dihedrals are left to the input: they carry the conformation. What noise
// breaks are bond lengths, near-straight bead angles (where the network's
// amide plane is undefined) and the handedness of a branched bead (ADP's CA
// with N, C and CB: 2.5 % of frames mirrored by 0.02 nm of noise).
import { bondAngles, bondLengths, chiralVolumes } from '../analysis/geometry';
import { defaultThreads, native } from '../core/native';
import type { TrajectoryReader } from '../io/types';
import { readerView } from '../io/view';
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

/** Each column's mean and standard deviation of `values` [frames, m] row-major. */
function columnStats(values: Float64Array, frames: number, m: number): { mean: number; std: number }[] {
  return Array.from({ length: m }, (_, k) => {
    let s = 0, s2 = 0;
    for (let f = 0; f < frames; f++) {
      const v = values[f * m + k];
      s += v;
      s2 += v * v;
    }
    const mean = s / frames;
    return { mean, std: Math.sqrt(Math.max(s2 / frames - mean * mean, 1e-12)) };
  });
}

/** The prior of `frames` CG frames [F, n, 3]: the tree's bonds, and the angles between bonds that share a bead. */
export function fitCgPrior(coords: Float32Array, frames: number, tree: CgTree): CgPrior {
  const n = tree.order.length;
  const bondList = Array.from(tree.order).filter((b) => tree.parent[b] >= 0).map((b) => ({ i: tree.parent[b], j: b }));
  const neighbours: number[][] = Array.from({ length: n }, () => []);
  for (const { i, j } of bondList) neighbours[i].push(j), neighbours[j].push(i);
  const angleList: { i: number; j: number; k: number }[] = [];
  for (let j = 0; j < n; j++) for (let a = 0; a < neighbours[j].length; a++) for (let b = a + 1; b < neighbours[j].length; b++) angleList.push({ i: neighbours[j][a], j, k: neighbours[j][b] });
  const volumeList = neighbours.flatMap((nb, j) => (nb.length >= 3 ? [{ i: nb[0], j, k: nb[1], l: nb[2] }] : []));
  const traj = { coords, frames, atoms: n };
  const bonds = columnStats(bondLengths(traj, bondList.map((b) => [b.i, b.j])), frames, bondList.length);
  const angles = columnStats(bondAngles(traj, angleList.map((a) => [a.i, a.j, a.k])), frames, angleList.length);
  // (i − j) · ((k − j) × (l − j)): chiralVolumes' (N − CA) · ((C − CA) × (CB − CA)) with j as the centre
  const volumes = columnStats(chiralVolumes(traj, volumeList.map((v) => ({ n: v.i, ca: v.j, c: v.k, cb: v.l }))), frames, volumeList.length);
  return {
    bonds: bondList.map((b, k) => ({ ...b, ...bonds[k] })),
    angles: angleList.map((a, k) => ({ ...a, ...angles[k] })),
    volumes: volumeList.map((v, k) => ({ ...v, ...volumes[k] })),
  };
}

/**
 * Frames y [F, n, 3] (nm) moved to the minimum of
 * Σ_bonds (l − l₀)² / 2s² + Σ_angles (θ − θ₀)² / 2s² + Σ_volumes (V − V₀)² / 2s² + |x − y|² / 2σ²
 * by gradient descent with momentum from y, in the native kernel (core/kernels/cgdenoise.h), off the
 * JS thread. σ = 0 returns them as they are.
 */
export async function denoiseCg(y: Float32Array, frames: number, prior: CgPrior, sigma: number, options: { iterations?: number; threads?: number } = {}): Promise<Float32Array> {
  if (!(sigma > 0) || frames === 0) return y.slice();
  const rows = <T extends object>(terms: T[], keys: (keyof T)[]) => Int32Array.from(terms.flatMap((t) => keys.map((k) => t[k] as number)));
  const stats = (terms: { mean: number; std: number }[]) => Float64Array.from(terms.flatMap((t) => [t.mean, t.std]));
  return native().denoiseCg({
    coords: y, frames, beads: y.length / frames / 3, sigma, iterations: options.iterations, threads: options.threads ?? defaultThreads(),
    bonds: rows(prior.bonds, ['i', 'j']), bondStats: stats(prior.bonds),
    angles: rows(prior.angles, ['i', 'j', 'k']), angleStats: stats(prior.angles),
    volumes: rows(prior.volumes, ['i', 'j', 'k', 'l']), volumeStats: stats(prior.volumes),
  });
}

/** `reader` whose frames come out denoised (denoiseCg) at level `sigma`. */
export function denoisedReader(reader: TrajectoryReader, prior: CgPrior, sigma: number): TrajectoryReader {
  return readerView(reader, () => reader.frameCount(), async (start, count) => {
    const c = await reader.read(start, count);
    return { ...c, coords: await denoiseCg(c.coords, c.frames, prior, sigma) };
  });
}

// Noise on what the network is conditioned on, drawn per training batch: on the
// CG frame (cgNoise: for CG input rougher than the training frames) and on
// A(t−1) (prevNoise: for a rollout that feeds on its own, imperfect frames).
import { TcbmError } from '../core/errors';
import type { Rng } from '../core/rng';
import type { Topology } from '../io/types';
import type { CgMapping } from './mapping';
import type { TrainingSettings } from './presets';

// a type, not an interface: batches are also Records of arrays (distributed shareOf)
export type ConditionedBatch = {
  aaT: Float32Array;
  aaPrev: Float32Array;
  cgT: Float32Array;
  eps: Float32Array;
  cgCondition?: Float32Array;
  /** [B]: each sample's CG noise level (nm), for a decoder told it (architecture `noiseInput`) */
  cgLevel?: Float32Array;
  /** [draws * B, latent] standard normal, draw-major: the z of the prior decode (training `priorDecode`) */
  epsPrior?: Float32Array;
  /** [B,n,3]: the prior decode's CG condition (training `priorDecode.cgNoise`; priorcondition.ts) */
  priorCgCondition?: Float32Array;
  /** [B]: the noise in priorCgCondition (nm; 0: the clean frame); it picks each sample's prior energy margin */
  priorCgLevel?: Float32Array;
};

/**
 * The CG bonds as a tree, for noise on bond lengths alone: bead k > 0 of `order`
 * hangs on `parent[order[k]]`. Two beads are as far apart as the fewest atomic
 * bonds between their atoms (ADP's beads: 1, CA beads: 3); the tree is the
 * minimum spanning tree of that distance (ties to the lower bead index) from
 * bead 0, so it follows the chemical chain and needs no coordinates. Throws
 * when a bead has no bonded path to bead 0 (a topology without its bonds),
 * naming the `user` that needs the tree.
 */
export interface CgTree {
  order: Int32Array;
  /** parent[bead], −1 for the root */
  parent: Int32Array;
}

export function cgBondTree(topology: Topology, mapping: CgMapping, user = 'cgNoiseShape "bonds"'): CgTree {
  const N = mapping.atoms;
  const n = mapping.beads;
  const neighbours: number[][] = Array.from({ length: N }, () => []);
  for (const [i, j] of topology.bonds) {
    neighbours[i].push(j);
    neighbours[j].push(i);
  }
  // hops[a][b]: fewest bonds from any atom of bead a to any atom of bead b
  const hops = Array.from({ length: n }, (_, a) => {
    const dist = new Int32Array(N).fill(-1);
    const queue: number[] = [];
    for (let i = 0; i < N; i++) if (mapping.matrix[a * N + i] !== 0) (dist[i] = 0), queue.push(i);
    for (let q = 0; q < queue.length; q++) for (const j of neighbours[queue[q]]) if (dist[j] < 0) (dist[j] = dist[queue[q]] + 1), queue.push(j);
    return Array.from({ length: n }, (_, b) => {
      let best = Infinity;
      for (let i = 0; i < N; i++) if (mapping.matrix[b * N + i] !== 0 && dist[i] >= 0) best = Math.min(best, dist[i]);
      return best;
    });
  });
  const parent = new Int32Array(n).fill(-1);
  const inTree = new Uint8Array(n);
  const order = [0];
  inTree[0] = 1;
  while (order.length < n) {
    let pick = -1, from = -1, best = Infinity;
    for (const a of order) for (let b = 0; b < n; b++) if (!inTree[b] && (hops[a][b] < best || pick < 0)) (pick = b), (from = a), (best = hops[a][b]);
    if (!Number.isFinite(best)) {
      throw new TcbmError('ERR_INVALID_ARG_VALUE', `${user}: CG bead ${mapping.beadNames[pick] ?? pick} has no chain of bonds to bead ${mapping.beadNames[0] ?? 0} (train with --system for the topology's bonds)`);
    }
    inTree[pick] = 1;
    order.push(pick);
    parent[pick] = from;
  }
  return { order: Int32Array.from(order), parent };
}

/**
 * Frame `x` (n beads × 3, from offset `o`) with each tree bond's length changed
 * by sd · N(0, 1) nm and every bond's direction kept, so angles and dihedrals
 * stay those of the clean frame; then moved back onto the clean frame's centre.
 */
function noiseBondLengths(x: Float32Array, o: number, tree: CgTree, sd: number, rng: Rng, out: Float32Array): void {
  const n = tree.order.length;
  out.set(x.subarray(o, o + 3 * n), o);
  for (const b of tree.order) {
    const p = tree.parent[b];
    if (p < 0) continue; // the root
    const d = [0, 1, 2].map((k) => x[o + 3 * b + k] - x[o + 3 * p + k]);
    const length = Math.hypot(d[0], d[1], d[2]);
    const stretch = length > 0 ? Math.max(0, length + sd * rng.normal()) / length : 1;
    for (let k = 0; k < 3; k++) out[o + 3 * b + k] = out[o + 3 * p + k] + d[k] * stretch;
  }
  for (let k = 0; k < 3; k++) {
    let shift = 0;
    for (let b = 0; b < n; b++) shift += (out[o + 3 * b + k] - x[o + 3 * b + k]) / n;
    for (let b = 0; b < n; b++) out[o + 3 * b + k] -= shift;
  }
}

/**
 * `batch` (B samples) with its conditions noised as `settings` ask: cgCondition,
 * the CG frame with noise (the CG loss keeps the clean cgT), and cgLevel, each
 * sample's noise level (nm; told to a `noiseInput` decoder), and aaPrev replaced
 * by a noisy copy (A(t−1) with Gaussian noise of prevNoise nm per atom and
 * component; the target A(t) stays clean, so a decoder of displacements learns
 * to undo the noise). No draw is made for a noise that is off. `cgNoiseShape:
 * "bonds"` needs `tree`, the CG bonds (cgBondTree).
 */
export function withConditionNoise(batch: ConditionedBatch, B: number, settings: TrainingSettings, rng: Rng, tree?: CgTree): ConditionedBatch {
  const out = { ...batch };
  const noise = settings.cgNoise ?? 0;
  if (noise > 0) {
    const perSample = batch.cgT.length / B;
    const bonds = settings.cgNoiseShape === 'bonds';
    if (bonds && !tree) throw new Error('withConditionNoise: cgNoiseShape "bonds" needs the CG bond tree');
    const cgCondition = bonds ? new Float32Array(batch.cgT.length) : rng.normals(new Float32Array(batch.cgT.length));
    const mode = settings.cgNoiseLevels ?? 'fixed';
    const cgLevel = new Float32Array(B);
    const noisyShare = settings.cgNoiseShare ?? 0.5;
    for (let b = 0; b < B; b++) {
      const level = mode === 'fixed' ? noise : rng.uniform() >= noisyShare ? 0 : mode === 'half' ? noise : noise * (1 - rng.uniform());
      cgLevel[b] = level;
      // Isotropic noise of `level` per component changes a bond's length by √2 · level (sd):
      // the bond-length noise is as rough, and nothing else changes.
      if (bonds) noiseBondLengths(batch.cgT, b * perSample, tree!, Math.SQRT2 * level, rng, cgCondition);
      else for (let i = b * perSample; i < (b + 1) * perSample; i++) cgCondition[i] = batch.cgT[i] + level * cgCondition[i];
    }
    out.cgCondition = cgCondition;
    out.cgLevel = cgLevel;
  }
  const prev = settings.prevNoise ?? 0;
  if (prev > 0) {
    const aaPrev = rng.normals(new Float32Array(batch.aaPrev.length));
    for (let i = 0; i < aaPrev.length; i++) aaPrev[i] = batch.aaPrev[i] + prev * aaPrev[i];
    out.aaPrev = aaPrev;
  }
  return out;
}

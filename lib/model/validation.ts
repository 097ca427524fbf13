// Validation during training, on held-out trajectories the optimiser never sees:
// how well the network decodes frames (bead and non-bead RMSD, energy), whether
// its latent carries information (KL per dimension), and how a short rollout of
// it samples (φ/ψ Jensen–Shannon for a dipeptide). Logged every N steps so runs
// are compared and stopped on evidence rather than on the loss alone.
import { freeEnergySurface, jensenShannon, ramachandranAxes } from '../analysis';
import { dihedrals } from '../analysis/geometry';
import { clashes, heavyAtomClashOptions } from '../analysis/clashes';
import type { Energy } from '../forcefield/energy';
import { backboneDihedrals } from '../analysis';
import type { Topology } from '../io/types';
import { slotOrders, symmetricGroups } from './symmetry';
import type { CgMapping } from './mapping';
import { applyMapping } from './mapping';
import { serialize } from '../core/queue';
import { Rng } from '../core/rng';

/** What validation needs of a trainer: its model, data layout and how it places a pair. */
export interface Validatable {
  readonly step: number;
  readonly threads: number;
  readonly energy?: Energy;
  /** libtorch device of the energies (default cpu) */
  readonly device?: string;
  readonly latent: number;
  readonly topology: Topology;
  readonly mapping: CgMapping;
  readonly model: import('../../binding').NativeModel;
  /** writes pair (t−1, t) of `aa` (frames of the topology) centred as in training, without random rotation (canonical orientation's still applies), as item b */
  placePair(aa: Float32Array, cg: Float32Array, frame: number, b: number, aaT: Float32Array, aaPrev: Float32Array, cgT: Float32Array): void;
}

export interface ValidationOptions {
  /** held-out pairs decoded (evenly spaced over the trajectories; default 64) */
  pairs?: number;
  /** rollout length in frames (default 300; 0 = no rollout) */
  rolloutFrames?: number;
  seed?: number;
}

export interface ValidationReport {
  step: number;
  pairs: number;
  /** RMSD (nm) of the posterior-mean decoding from the held-out frame, over the atoms the beads sit on */
  beadRmsd: number;
  /** the same over every other atom */
  otherRmsd: number;
  /**
   * otherRmsd with each group of symmetric atoms (lib/model/symmetry.ts: a methyl's
   * hydrogens, a carboxylate's oxygens, a ring's sides) labelled as close to the
   * decoded frame as it can be: what renameSymmetric training is judged by
   */
  otherRmsdRenamed: number;
  /** mean internal energy (kJ/mol) of the decoded frames and of the held-out frames */
  energy: { decoded: number; reference: number } | null;
  /** mean KL (nats) of the posterior to N(0, 1), per latent dimension */
  klPerDimension: number[];
  /** latent dimensions whose mean KL exceeds 0.01 nats */
  activeDimensions: number;
  /** fraction of the decoded frames with a heavy-atom pair closer than 0.8 × vdW (the evaluation's clash check) */
  clashFrames: number;
  rollout: {
    frames: number;
    /** φ/ψ JS against the held-out trajectory (dipeptides only; else null) */
    phiPsiJs: number | null;
    /** mean internal energy (kJ/mol) of the rollout's frames */
    energy: number | null;
    /** fraction of the rollout's frames that clash */
    clashFrames: number;
  } | null;
  /** with weight averaging (training setting `average`): how many steps' weights the measured mean holds */
  averaged?: number;
  ms: number;
}

/** Mean KL(N(mu, exp(logvar)) ‖ N(0, 1)) over the pairs, per dimension (nats). */
export function klPerDimension(mu: ArrayLike<number>, logvar: ArrayLike<number>, latent: number): number[] {
  const count = mu.length / latent;
  const kl = new Array<number>(latent).fill(0);
  for (let p = 0; p < count; p++) {
    for (let d = 0; d < latent; d++) {
      const m = mu[p * latent + d];
      const lv = logvar[p * latent + d];
      kl[d] += (0.5 * (m * m + Math.exp(lv) - 1 - lv)) / count;
    }
  }
  return kl;
}

/** The atoms a bead sits on: the mapping's indices, or atoms of non-zero weight. */
export function beadAtoms(mapping: CgMapping): Set<number> {
  if (mapping.indices) return new Set(mapping.indices);
  const out = new Set<number>();
  for (let b = 0; b < mapping.beads; b++) {
    for (let a = 0; a < mapping.atoms; a++) if (mapping.matrix[b * mapping.atoms + a] !== 0) out.add(a);
  }
  return out;
}

/** Posterior-mean decoding of held-out pairs, then a short rollout. */
export async function validate(t: Validatable, held: Float32Array[], options: ValidationOptions = {}): Promise<ValidationReport> {
  const start = Date.now();
  const N = t.topology.atoms.length;
  const n = t.mapping.beads;
  const L = t.latent;
  const cg = held.map((x) => applyMapping(t.mapping, x, x.length / (N * 3)));
  const all: { trajectory: number; frame: number }[] = [];
  held.forEach((x, trajectory) => {
    for (let frame = 1; frame < x.length / (N * 3); frame++) all.push({ trajectory, frame });
  });
  const count = Math.min(all.length, options.pairs ?? 64);
  const picks = Array.from({ length: count }, (_, i) => all[Math.floor((i * all.length) / count)]);
  const aaT = new Float32Array(count * N * 3);
  const aaPrev = new Float32Array(count * N * 3);
  const cgT = new Float32Array(count * n * 3);
  picks.forEach(({ trajectory, frame }, b) => t.placePair(held[trajectory], cg[trajectory], frame, b, aaT, aaPrev, cgT));

  const { mu, logvar } = await serialize(() => t.model.encode({ batch: count, aaT, aaPrev, cgT, threads: t.threads }));
  const decoded = await serialize(() => t.model.decode({ batch: count, aaPrev, cgT, z: mu, threads: t.threads }));

  // Targets are centred as in training; compare shapes (each decoded frame moved by its mean offset).
  const shifted = decoded.slice();
  for (let b = 0; b < count; b++) {
    const off = [0, 0, 0];
    for (let a = 0; a < N; a++) for (let k = 0; k < 3; k++) off[k] += (decoded[(b * N + a) * 3 + k] - aaT[(b * N + a) * 3 + k]) / N;
    for (let a = 0; a < N; a++) for (let k = 0; k < 3; k++) shifted[(b * N + a) * 3 + k] -= off[k];
  }
  const beads = beadAtoms(t.mapping);
  let beadSq = 0;
  let otherSq = 0;
  for (let i = 0; i < count * N; i++) {
    let d2 = 0;
    for (let k = 0; k < 3; k++) d2 += (shifted[i * 3 + k] - aaT[i * 3 + k]) ** 2;
    if (beads.has(i % N)) beadSq += d2;
    else otherSq += d2;
  }
  const beadRmsd = Math.sqrt(beadSq / Math.max(1, count * beads.size));
  const otherRmsd = Math.sqrt(otherSq / Math.max(1, count * (N - beads.size)));
  const otherRmsdRenamed = Math.sqrt(Math.max(0, otherSq - renamingGain(t.topology, beads, shifted, aaT, count)) / Math.max(1, count * (N - beads.size)));

  const klPerDim = klPerDimension(mu, logvar, L);
  const clashCheck = heavyAtomClashOptions(t.topology);
  const clashFrames = clashes({ coords: decoded, frames: count, atoms: N }, clashCheck).frameFraction;

  let energy: ValidationReport['energy'] = null;
  if (t.energy) {
    const e = t.energy;
    const [dec, ref] = await Promise.all([decoded, aaT].map((x) => e.evaluate({ data: x, shape: [count, N, 3] }, { threads: t.threads, device: t.device })));
    energy = { decoded: mean(dec.total), reference: mean(ref.total) };
  }

  const frames = Math.min(options.rolloutFrames ?? 300, held[0].length / (N * 3) - 1);
  let rollout: ValidationReport['rollout'] = null;
  if (frames > 0) {
    // z from a diagonal Gaussian fitted to the held-out posteriors' samples: the
    // latent the rollout sees is the one the data give, without a mixture fit.
    const rng = new Rng((options.seed ?? 1) ^ 0x7a11d);
    const sample = new Float32Array(count * L);
    for (let i = 0; i < sample.length; i++) sample[i] = mu[i] + Math.exp(0.5 * logvar[i]) * rng.normal();
    const m = new Float64Array(L);
    const v = new Float64Array(L);
    for (let b = 0; b < count; b++) for (let d = 0; d < L; d++) m[d] += sample[b * L + d] / count;
    for (let b = 0; b < count; b++) for (let d = 0; d < L; d++) v[d] += (sample[b * L + d] - m[d]) ** 2 / count;
    const z = new Float32Array(frames * L);
    for (let s = 0; s < frames; s++) for (let d = 0; d < L; d++) z[s * L + d] = m[d] + Math.sqrt(v[d]) * rng.normal();
    const prev = held[0].slice(0, N * 3);
    const cgSteps = cg[0].slice(n * 3, (frames + 1) * n * 3);
    const traj = await serialize(() => t.model.rollout({ prev, cg: cgSteps, z, steps: frames, batch: 1, threads: t.threads }));
    const backbone = backboneDihedrals(t.topology);
    let phiPsiJs: number | null = null;
    if (backbone.phi.length === 1 && backbone.psi.length === 1) {
      const phiPsi = [backbone.phi[0], backbone.psi[0]];
      const [ax, ay] = ramachandranAxes(30);
      const surface = (x: Float32Array, f: number) => {
        const d = dihedrals({ coords: x, frames: f, atoms: N }, phiPsi);
        const phi = d.filter((_, i) => i % 2 === 0);
        const psi = d.filter((_, i) => i % 2 === 1);
        return freeEnergySurface(phi, psi, ax, ay).counts;
      };
      phiPsiJs = jensenShannon(surface(traj, frames), surface(held[0], held[0].length / (N * 3)));
    }
    let rolloutEnergy: number | null = null;
    if (t.energy) rolloutEnergy = mean((await t.energy.evaluate({ data: traj, shape: [frames, N, 3] }, { threads: t.threads, device: t.device })).total);
    rollout = { frames, phiPsiJs, energy: rolloutEnergy, clashFrames: clashes({ coords: traj, frames, atoms: N }, clashCheck).frameFraction };
  }

  return {
    step: t.step,
    pairs: count,
    beadRmsd,
    otherRmsd,
    otherRmsdRenamed,
    energy,
    klPerDimension: klPerDim,
    activeDimensions: klPerDim.filter((k) => k > 0.01).length,
    clashFrames,
    rollout,
    ms: Date.now() - start,
  };
}

/**
 * How much the non-bead squared deviation (nm², summed over pairs; `decoded`
 * already moved onto the targets' centring) falls when each symmetric group of
 * the target takes the labelling closest to the decoded frame.
 */
function renamingGain(topology: Topology, beads: Set<number>, decoded: Float32Array, target: Float32Array, count: number): number {
  const N = topology.atoms.length;
  const groups = symmetricGroups(topology);
  let gain = 0;
  for (let b = 0; b < count; b++) {
    const sq = (i: number, j: number) => {
      if (beads.has(i)) return 0;
      let d2 = 0;
      for (let k = 0; k < 3; k++) d2 += (decoded[(b * N + i) * 3 + k] - target[(b * N + j) * 3 + k]) ** 2;
      return d2;
    };
    for (const g of groups) {
      const atoms = g.slots.flat();
      const plain = atoms.reduce((s, a) => s + sq(a, a), 0);
      let best = plain;
      for (const order of slotOrders(g.slots.length)) {
        const renamed = order.map((s) => g.slots[s]).flat();
        best = Math.min(best, atoms.reduce((s, a, k) => s + sq(a, renamed[k]), 0));
      }
      gain += plain - best;
    }
  }
  return gain;
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / Math.max(1, x.length);
}

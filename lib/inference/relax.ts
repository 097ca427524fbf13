// `backmap --relax`: each decoded frame refined by a bounded FIRE minimisation
// with the model's force field, held on its CG beads (the input trajectory,
// exactly) and near the network's output (its kinetics), after wrong-handed CA
// centres are repaired by mirroring their side-chain branch (native/core/relax).
import type { NativeModel, NativeRelaxSetup, NativeRolloutOptions } from '../../binding';
import type { Atom, Topology } from '../io/types';
import { chiralCenters, chiralVolumes } from '../analysis/geometry';
import { TcbmError } from '../core/errors';
import { native } from '../core/native';
import { serialize } from '../core/queue';
import { positiveInteger } from '../core/validate';
import { Energy } from '../forcefield/energy';
import { neighbourLists, type ForceField } from '../forcefield/system';
import type { CgMapping } from '../model/mapping';

/** fs of Langevin dynamics in the thermal stage by default */
const DEFAULT_THERMAL_FS = 200;

export interface RelaxOptions {
  /** FIRE iterations per frame (default 200) */
  steps?: number;
  /** kJ/mol/nm² holding every atom near the network's output (default 200) */
  restraint?: number;
  /** kJ/mol/nm² holding each bead of the frame's mapping on its input bead (default 5000, as OpenMM-restrained protocols hold CA atoms) */
  cgRestraint?: number;
  /** the share of the steps over which the nonbonded energy is scaled up from 0 (default 0.25) */
  softFraction?: number;
  /**
   * 'refined' (default): the refined frame conditions the next step, so the
   * network sees MD-like frames (measured on chignolin: energy W1 88 vs 956
   * kJ/mol, clash frames 0.5 vs 5 %, velocity JS 0.078 vs 0.108); 'raw': the
   * network's own frame does, and whole rollout chunks are refined at once (2× faster)
   */
  condition?: 'raw' | 'refined';
  /**
   * the beads exactly on the input (default false: the beads stay where the
   * restraint holds them, ~1e-2 nm off where the force field pulls). Each frame
   * is moved onto its beads by the displacement smoothest over the bond graph;
   * with an atom-slice mapping (CA, ADP's six atoms) this comes first and the
   * bead atoms are then held fixed while the rest relaxes and thermalises, with
   * other mappings it comes last
   */
  exactCg?: boolean;
  /**
   * K (default 0: none): after the minimisation, thermalSteps of restrained Langevin
   * dynamics (steps of `timestep`) at this temperature, so energies are thermal, not minima's
   */
  temperature?: number;
  /** steps of that Langevin dynamics (default: 200 fs of it, 100 steps of 2 fs or 200 of 1 fs) */
  thermalSteps?: number;
  /**
   * fs, the Langevin dynamics' step. Default: 2 when every bond to hydrogen is
   * held rigid (`constraints`), as MD with such constraints runs (both reference
   * runs in ../shared/data), else 1, which a free X–H bond needs.
   */
  timestep?: number;
  /**
   * relative permittivity that screens the force field's Coulomb energy while
   * frames are refined (default 1: the System as given). A vacuum System of a
   * molecule simulated in water pulls salt bridges and hydrogen bonds tighter
   * than the solvated ensemble has them: chignolin (GBn2 reference, charged
   * termini, Asp, Glu) measured best at 4 (docs/fidelity.md). Reported energies
   * stay the unscreened force field's.
   */
  dielectric?: number;
  /**
   * bonds held at fixed lengths through the thermal stage (RATTLE), as MD with
   * constraints holds them: 'auto' (default) the bonds to hydrogen that are rigid
   * (length spread < 1e-4 nm) in the model's own atomistic frames, at their
   * length there; 'hbonds' every bond to hydrogen at the force field's length;
   * 'none'. A free X–H bond adds ~kT/2 of vibration to the energy that an MD
   * run with constraints never has.
   */
  constraints?: 'auto' | 'hbonds' | 'none';
  /**
   * 'auto' (default): on CPU each frame is refined in native loops (the energy
   * kernel's per-frame forces); 'tensor': tensor expressions and autograd (any
   * device; the reference the loops are tested against)
   */
  impl?: 'auto' | 'tensor';
}

export interface RelaxSummary {
  frames: number;
  /** mean internal energy (kJ/mol) of the network's frames and of the refined ones */
  energyBefore: number;
  energyAfter: number;
  /** wrong-handed stereo centres mirrored back */
  repairs: number;
  /** outlier frames refined again from the previous refined frame */
  retried: number;
}

export interface RelaxResult {
  coords: Float32Array;
  before: Float64Array;
  after: Float64Array;
  repairs: number;
}

/** The stereo centres to keep: every CA with a CB, its reference hand, and the atoms to mirror to repair it. */
interface Stereo {
  chiral: Int32Array;
  sign: Float64Array;
  reflect: Int32Array;
}

/**
 * The CA centres of a topology (N, C, CB around CA), each with the hand it has
 * in most `reference` frames, and the branch to mirror through the N–CA–C plane
 * when a frame has the other hand: the CB side chain (everything bonded beyond
 * CB) and the hydrogens on CA.
 */
export function stereoCentres(topology: Topology, reference: Float32Array): Stereo {
  const atoms = topology.atoms;
  const N = atoms.length;
  const centres = chiralCenters(atoms);
  const frames = reference.length / (N * 3);
  const volumes = chiralVolumes({ coords: reference, frames, atoms: N }, centres);
  const neighbours = neighbourLists(topology.bonds, N);
  const chiral = new Int32Array(centres.length * 4);
  const sign = new Float64Array(centres.length);
  const reflect = new Int32Array(centres.length * N);
  centres.forEach((c, k) => {
    chiral.set([c.ca, c.n, c.c, c.cb], k * 4);
    let positive = 0;
    for (let f = 0; f < frames; f++) if (volumes[f * centres.length + k] > 0) positive++;
    sign[k] = positive * 2 >= frames ? 1 : -1;
    // the CB branch, never crossing back through CA
    const seen = new Set([c.ca]);
    const stack = [c.cb];
    while (stack.length) {
      const a = stack.pop()!;
      if (seen.has(a)) continue;
      seen.add(a);
      reflect[k * N + a] = 1;
      for (const b of neighbours[a]) if (!seen.has(b)) stack.push(b);
    }
    for (const b of neighbours[c.ca]) if (isHydrogen(atoms[b])) reflect[k * N + b] = 1;
  });
  return { chiral, sign, reflect };
}

/** The beads' own atoms of an atom-slice mapping (CA, or ADP's six) as a mask [atoms]; none for other mappings. */
function heldBeadAtoms(mapping: CgMapping): Int32Array | undefined {
  if (!mapping.indices) return undefined;
  const out = new Int32Array(mapping.atoms);
  for (const a of mapping.indices) out[a] = 1;
  return out;
}

function isHydrogen(a: Atom): boolean {
  return a.element === 'H';
}

/** Spread (nm) below which a bond counts as held rigid by the MD that made the frames: float32 rounding is ~1e-7. */
const RIGID_SPREAD = 1e-4;

/**
 * The force field's bonds to hydrogen (one hydrogen, one heavy atom), each at
 * its force-field length; with `frames`, only those whose length there spreads
 * by less than RIGID_SPREAD, each at its mean length there.
 */
export function hydrogenConstraints(forceField: ForceField, topology: Topology, frames?: Float32Array): { pairs: Int32Array; length: Float64Array } {
  const atoms = topology.atoms;
  const N = atoms.length;
  const count = frames ? frames.length / (N * 3) : 0;
  const pairs: number[] = [];
  const length: number[] = [];
  const b = forceField.bonds;
  for (let k = 0; k < b.p1.length; k++) {
    const i = b.p1[k], j = b.p2[k];
    if (isHydrogen(atoms[i]) === isHydrogen(atoms[j])) continue;
    if (!frames) {
      pairs.push(i, j);
      length.push(b.length[k]);
      continue;
    }
    if (count === 0) continue;
    let sum = 0, sq = 0;
    for (let f = 0; f < count; f++) {
      const o = f * N * 3;
      const d = Math.hypot(frames[o + 3 * i] - frames[o + 3 * j], frames[o + 3 * i + 1] - frames[o + 3 * j + 1], frames[o + 3 * i + 2] - frames[o + 3 * j + 2]);
      sum += d;
      sq += d * d;
    }
    const mean = sum / count;
    if (Math.sqrt(Math.max(0, sq / count - mean * mean)) < RIGID_SPREAD) {
      pairs.push(i, j);
      length.push(mean);
    }
  }
  return { pairs: Int32Array.from(pairs), length: Float64Array.from(length) };
}

/** Refines frames of one molecule; built once per backmapping. */
export class Relaxer {
  private constructor(
    private readonly energy: Energy,
    private readonly mapping: CgMapping,
    private readonly stereo: Stereo,
    private readonly projection: Float64Array | undefined,
    private readonly masses: Float64Array,
    /** the bonds the thermal stage holds rigid (RelaxOptions.constraints) */
    readonly constraints: { pairs: Int32Array; length: Float64Array } | undefined,
    readonly options: Required<RelaxOptions>,
  ) {
    this.frozen = projection ? heldBeadAtoms(mapping) : undefined;
  }

  /** with exactCg: the atoms held on their beads (heldBeadAtoms) */
  private readonly frozen: Int32Array | undefined;

  /** `reference`: atomistic frames of the molecule whose stereo centres have the right hand (e.g. a model's seed bank). */
  static async create(forceField: ForceField, topology: Topology, mapping: CgMapping, reference: Float32Array, options: RelaxOptions = {}): Promise<Relaxer> {
    if (forceField.particles.length !== topology.atoms.length) {
      throw new TcbmError('ERR_ATOM_COUNT', `${forceField.name}: the System has ${forceField.particles.length} particles, the model's topology ${topology.atoms.length} atoms`);
    }
    const o: Required<RelaxOptions> = {
      steps: options.steps ?? 200,
      restraint: options.restraint ?? 200,
      cgRestraint: options.cgRestraint ?? 5000,
      softFraction: options.softFraction ?? 0.25,
      condition: options.condition ?? 'refined',
      exactCg: options.exactCg ?? false,
      temperature: options.temperature ?? 0,
      thermalSteps: options.thermalSteps ?? 0,  // 0: 200 fs, once the step is known
      dielectric: options.dielectric ?? 1,
      constraints: options.constraints ?? 'auto',
      timestep: options.timestep ?? 0,  // 0: chosen below, once the constraints are known
      impl: options.impl ?? 'auto',
    };
    if (o.impl !== 'auto' && o.impl !== 'tensor') throw new TcbmError('ERR_INVALID_ARG_VALUE', `relax.impl must be "auto" or "tensor", got ${JSON.stringify(o.impl)}`);
    positiveInteger('relax.steps', o.steps);
    if (options.thermalSteps !== undefined) positiveInteger('relax.thermalSteps', o.thermalSteps);
    for (const [k, v] of [['relax.restraint', o.restraint], ['relax.cgRestraint', o.cgRestraint]] as const) {
      if (!(v >= 0 && Number.isFinite(v))) throw new TcbmError('ERR_OUT_OF_RANGE', `Expected a non-negative number for ${k} but received ${v}`);
    }
    if (!(o.dielectric > 0 && Number.isFinite(o.dielectric))) throw new TcbmError('ERR_OUT_OF_RANGE', `Expected a positive number for relax.dielectric but received ${o.dielectric}`);
    if (!['auto', 'hbonds', 'none'].includes(o.constraints)) throw new TcbmError('ERR_INVALID_ARG_VALUE', `relax.constraints must be "auto", "hbonds" or "none", got ${JSON.stringify(o.constraints)}`);
    if (!(o.softFraction >= 0 && o.softFraction <= 1)) throw new TcbmError('ERR_OUT_OF_RANGE', `Expected a number in [0, 1] for relax.softFraction but received ${o.softFraction}`);
    if (o.condition !== 'raw' && o.condition !== 'refined') throw new TcbmError('ERR_INVALID_ARG_VALUE', `relax.condition must be "raw" or "refined", got ${JSON.stringify(o.condition)}`);
    if (options.timestep !== undefined && !(o.timestep > 0 && o.timestep <= 5)) throw new TcbmError('ERR_OUT_OF_RANGE', `Expected a number in (0, 5] fs for relax.timestep but received ${o.timestep}`);
    const rigid = o.constraints === 'none' ? undefined : hydrogenConstraints(forceField, topology, o.constraints === 'auto' ? reference : undefined);
    if (options.timestep === undefined) {
      const everyHydrogen = hydrogenConstraints(forceField, topology).length.length;
      o.timestep = rigid !== undefined && everyHydrogen > 0 && rigid.length.length === everyHydrogen ? 2 : 1;
    }
    if (options.thermalSteps === undefined) o.thermalSteps = Math.max(1, Math.round(DEFAULT_THERMAL_FS / o.timestep));
    return new Relaxer(Energy.fromForceField(forceField), mapping, stereoCentres(topology, reference), o.exactCg ? await cgProjection(topology, mapping) : undefined, forceField.masses, rigid, o);
  }

  private calls = 1;
  /** per trajectory: count, mean and M2 (Welford) of its accepted refined energies, for the outlier test */
  private stats = new Float64Array(0);

  /** The native refinement's setup and options (relax's, and rolloutRefined's refine). */
  private setup(): NativeRelaxSetup {
    const o = this.options;
    return {
      forceField: this.energy.handle,
      beads: this.mapping.beads,
      mapping: this.mapping.matrix,
      chiral: this.stereo.chiral,
      chiralSign: this.stereo.sign,
      reflect: this.stereo.reflect,
      projection: this.projection,
      frozen: this.frozen,
      masses: this.masses,
      constraints: this.constraints?.pairs,
      constraintLength: this.constraints?.length,
      temperature: o.temperature,
      thermalSteps: o.thermalSteps,
      timestep: o.timestep,
      steps: o.steps,
      restraint: o.restraint,
      cgRestraint: o.cgRestraint,
      softFraction: o.softFraction,
      dielectric: o.dielectric,
      impl: o.impl,
    };
  }

  /**
   * A native rollout's frames, refined: coords (written) and next (what
   * conditions the next step). lanes[b]: the trajectory of batch row b;
   * previousRefined: `rollout.prev` holds refined frames (not seeds).
   * - 'refined' condition: each step is refined inside the native rollout
   *   before it conditions the next, with no return to JavaScript between
   *   steps. A frame whose refined energy is an outlier for its trajectory (>
   *   mean + 6 sd of the frames accepted so far, after 10) is usually
   *   entangled: rings threaded through each other, which no local minimisation
   *   undoes. It is refined again from the trajectory's previous refined frame
   *   superposed on its beads, and the lower energy wins
   *   (native/core/relax/refine.h).
   * - 'raw': the network's frames condition the next step; the chunk is refined afterwards.
   */
  async rollout(model: NativeModel, rollout: NativeRolloutOptions, lanes: Int32Array, previousRefined: boolean): Promise<RelaxResult & { retried: number; next: Float32Array }> {
    if (this.options.condition === 'raw') {
      const next = await serialize(() => model.rollout(rollout));
      return { ...(await this.relax(next, rollout.cg, rollout.steps * rollout.batch, rollout.threads)), retried: 0, next };
    }
    const refine = this.trajectoryState(lanes, rollout.steps, previousRefined);
    const r = await serialize(() => model.rolloutRefined({ ...rollout, refine }));
    return { ...r, next: r.coords };
  }

  /**
   * Refines the frames of one trajectory, coords [frames, atoms, 3] with their
   * beads cg, step by step as rolloutRefined refines decoded ones (each refined
   * frame is the next one's `previous`). `previous`: the refined frame before the
   * first, if the trajectory goes on from one.
   */
  refineTrajectory(coords: Float32Array, cg: Float32Array, frames: number, previous?: Float32Array, threads?: number): Promise<RelaxResult & { retried: number }> {
    const state = this.trajectoryState(new Int32Array(1), frames, previous !== undefined);
    return serialize(() => native().refineTrajectory({ ...state, coords, cg, steps: frames, batch: 1, previous, threads }));
  }

  /** The setup, seed and per-trajectory statistics of `steps` refined steps of trajectories `lanes`. */
  private trajectoryState(lanes: Int32Array, steps: number, previousRefined: boolean) {
    const trajectories = lanes.reduce((m, l) => Math.max(m, l + 1), 0);
    if (this.stats.length < trajectories * 3) {
      const grown = new Float64Array(trajectories * 3);
      grown.set(this.stats);
      this.stats = grown;
    }
    const seed = this.calls;
    this.calls += steps;
    return { ...this.setup(), seed, lanes, stats: this.stats, previousRefined };
  }

  /** coords [frames, atoms, 3] and their input beads cg [frames, beads, 3] (nm) → the refined frames. */
  relax(coords: Float32Array, cg: Float32Array, frames: number, threads?: number): Promise<RelaxResult> {
    return serialize(() => native().relax({ ...this.setup(), coords, cg, batch: frames, seed: this.calls++, threads }));
  }
}

/** The CG-exact projection of the native rollout (cg_projection in native/core/model), made on the worker thread. */
function cgProjection(topology: Topology, mapping: CgMapping): Promise<Float64Array> {
  const bonds = topology.bonds;
  return serialize(() =>
    native().cgProjection({ mapping: mapping.matrix, beads: mapping.beads, atoms: mapping.atoms, bonds: Int32Array.from(bonds.flat()), count: bonds.length }),
  );
}

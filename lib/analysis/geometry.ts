// Per-frame geometry of trajectories held as [frames, atoms, 3] nm arrays: dihedrals, bonds, angles,
// CA chirality, frame-to-frame speeds and side-chain rotamer kinetics (clashes: ./clashes).
import { invalidType, outOfRange } from '../core/errors';
import type { Atom } from '../io/types';
import { positiveNumber } from '../core/validate';
import { checkCoordinates, checkIndices, type Coordinates } from './coordinates';

export type { Coordinates } from './coordinates';

/**
 * Dihedral angles in radians in (−π, π] for each frame and quadruple (a, b, c, d), [frames, m] row-major.
 * IUPAC sign convention, the same formula as mdtraj.compute_dihedrals: with b1 = b − a, b2 = c − b,
 * b3 = d − c, θ = atan2(|b2| b1·(b2×b3), (b1×b2)·(b2×b3)); trans is ±π, clockwise looking down b→c is positive.
 */
export function dihedrals(traj: Coordinates, quads: readonly (readonly number[])[]): Float64Array {
  checkCoordinates(traj);
  checkIndices(traj, quads, 4, 'quads');
  const { coords: x, frames, atoms } = traj;
  const m = quads.length;
  const out = new Float64Array(frames * m);
  for (let f = 0; f < frames; f++) {
    const o = f * atoms * 3;
    for (let k = 0; k < m; k++) {
      const [a, b, c, d] = quads[k];
      const b1x = x[o + 3 * b] - x[o + 3 * a], b1y = x[o + 3 * b + 1] - x[o + 3 * a + 1], b1z = x[o + 3 * b + 2] - x[o + 3 * a + 2];
      const b2x = x[o + 3 * c] - x[o + 3 * b], b2y = x[o + 3 * c + 1] - x[o + 3 * b + 1], b2z = x[o + 3 * c + 2] - x[o + 3 * b + 2];
      const b3x = x[o + 3 * d] - x[o + 3 * c], b3y = x[o + 3 * d + 1] - x[o + 3 * c + 1], b3z = x[o + 3 * d + 2] - x[o + 3 * c + 2];
      // c1 = b2 × b3, c2 = b1 × b2
      const c1x = b2y * b3z - b2z * b3y, c1y = b2z * b3x - b2x * b3z, c1z = b2x * b3y - b2y * b3x;
      const c2x = b1y * b2z - b1z * b2y, c2y = b1z * b2x - b1x * b2z, c2z = b1x * b2y - b1y * b2x;
      const p1 = (b1x * c1x + b1y * c1y + b1z * c1z) * Math.sqrt(b2x * b2x + b2y * b2y + b2z * b2z);
      const p2 = c1x * c2x + c1y * c2y + c1z * c2z;
      const theta = Math.atan2(p1, p2);
      out[f * m + k] = theta === -Math.PI ? Math.PI : theta;
    }
  }
  return out;
}

/** Distances |b − a| in nm, [frames, m] row-major. */
export function bondLengths(traj: Coordinates, pairs: readonly (readonly number[])[]): Float64Array {
  checkCoordinates(traj);
  checkIndices(traj, pairs, 2, 'pairs');
  const { coords: x, frames, atoms } = traj;
  const m = pairs.length;
  const out = new Float64Array(frames * m);
  for (let f = 0; f < frames; f++) {
    const o = f * atoms * 3;
    for (let k = 0; k < m; k++) {
      const [a, b] = pairs[k];
      const dx = x[o + 3 * b] - x[o + 3 * a], dy = x[o + 3 * b + 1] - x[o + 3 * a + 1], dz = x[o + 3 * b + 2] - x[o + 3 * a + 2];
      out[f * m + k] = Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return out;
}

/** Angles a–b–c at the vertex b in radians in [0, π], [frames, m] row-major (atan2 form: exact near 0 and π). */
export function bondAngles(traj: Coordinates, triples: readonly (readonly number[])[]): Float64Array {
  checkCoordinates(traj);
  checkIndices(traj, triples, 3, 'triples');
  const { coords: x, frames, atoms } = traj;
  const m = triples.length;
  const out = new Float64Array(frames * m);
  for (let f = 0; f < frames; f++) {
    const o = f * atoms * 3;
    for (let k = 0; k < m; k++) {
      const [a, b, c] = triples[k];
      const ux = x[o + 3 * a] - x[o + 3 * b], uy = x[o + 3 * a + 1] - x[o + 3 * b + 1], uz = x[o + 3 * a + 2] - x[o + 3 * b + 2];
      const vx = x[o + 3 * c] - x[o + 3 * b], vy = x[o + 3 * c + 1] - x[o + 3 * b + 1], vz = x[o + 3 * c + 2] - x[o + 3 * b + 2];
      const cx = uy * vz - uz * vy, cy = uz * vx - ux * vz, cz = ux * vy - uy * vx;
      out[f * m + k] = Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), ux * vx + uy * vy + uz * vz);
    }
  }
  return out;
}

/** The four atoms that fix the handedness at a CA. */
export interface ChiralCenter {
  n: number;
  ca: number;
  c: number;
  cb: number;
}

/**
 * Signed volume (N − CA) · ((C − CA) × (CB − CA)) in nm³ per frame and centre, [frames, m] row-major.
 * Positive for L amino acids (checked on the L-alanine of the ADP data set: +0.0012 … +0.0032 nm³
 * over 20 ns), negative for D; a mirror image flips the sign.
 */
export function chiralVolumes(traj: Coordinates, centers: readonly ChiralCenter[]): Float64Array {
  const quads = centers.map((c) => [c.n, c.ca, c.c, c.cb]);
  checkCoordinates(traj);
  checkIndices(traj, quads, 4, 'centers');
  const { coords: x, frames, atoms } = traj;
  const m = centers.length;
  const out = new Float64Array(frames * m);
  for (let f = 0; f < frames; f++) {
    const o = f * atoms * 3;
    for (let k = 0; k < m; k++) {
      const { n, ca, c, cb } = centers[k];
      const ax = x[o + 3 * n] - x[o + 3 * ca], ay = x[o + 3 * n + 1] - x[o + 3 * ca + 1], az = x[o + 3 * n + 2] - x[o + 3 * ca + 2];
      const bx = x[o + 3 * c] - x[o + 3 * ca], by = x[o + 3 * c + 1] - x[o + 3 * ca + 1], bz = x[o + 3 * c + 2] - x[o + 3 * ca + 2];
      const dx = x[o + 3 * cb] - x[o + 3 * ca], dy = x[o + 3 * cb + 1] - x[o + 3 * ca + 1], dz = x[o + 3 * cb + 2] - x[o + 3 * ca + 2];
      out[f * m + k] = ax * (by * dz - bz * dy) + ay * (bz * dx - bx * dz) + az * (bx * dy - by * dx);
    }
  }
  return out;
}

/** Every residue's (N, CA, C, CB) by atom name within the residue (glycine, with no CB, has none). */
export function chiralCenters(atoms: readonly Atom[]): (ChiralCenter & { residueIndex: number; resName: string })[] {
  const out: (ChiralCenter & { residueIndex: number; resName: string })[] = [];
  for (const [residueIndex, names] of residues(atoms)) {
    const [n, ca, c, cb] = ['N', 'CA', 'C', 'CB'].map((a) => names.get(a));
    if (n !== undefined && ca !== undefined && c !== undefined && cb !== undefined) {
      out.push({ n, ca, c, cb, residueIndex, resName: atoms[ca].resName });
    }
  }
  return out;
}

/** Fraction of (frame, centre) values with the L sign (positive volume); 1 for a correct all-L protein. */
export function fractionL(volumes: Float64Array): number {
  let l = 0;
  for (const v of volumes) if (v > 0) l++;
  return volumes.length > 0 ? l / volumes.length : NaN;
}

/** Each residue's atoms by name: residueIndex → (atom name → atom index). */
export function residues(atoms: readonly Atom[]): Map<number, Map<string, number>> {
  const map = new Map<number, Map<string, number>>();
  atoms.forEach((a, i) => {
    if (!map.has(a.residueIndex)) map.set(a.residueIndex, new Map());
    map.get(a.residueIndex)!.set(a.name, i);
  });
  return map;
}

/**
 * Frame-to-frame speeds |x(t+1) − x(t)| / dt in nm/ps (dt in ps) of the selected atoms (all by
 * default), [frames − 1, atoms] row-major. Pass each trajectory separately: frames of two files are never paired.
 */
export function frameSpeeds(traj: Coordinates, dt: number, atomsSelected?: readonly number[]): Float64Array {
  checkCoordinates(traj);
  positiveNumber('dt', dt);
  const sel = atomsSelected ?? Array.from({ length: traj.atoms }, (_, i) => i);
  checkIndices(traj, sel.map((a) => [a]), 1, 'atoms');
  const { coords: x, frames, atoms } = traj;
  const m = sel.length;
  const out = new Float64Array(Math.max(0, frames - 1) * m);
  for (let f = 0; f + 1 < frames; f++) {
    const o0 = f * atoms * 3;
    const o1 = o0 + atoms * 3;
    for (let k = 0; k < m; k++) {
      const a = 3 * sel[k];
      const d2 = (x[o1 + a] - x[o0 + a]) ** 2 + (x[o1 + a + 1] - x[o0 + a + 1]) ** 2 + (x[o1 + a + 2] - x[o0 + a + 2]) ** 2;
      out[f * m + k] = Math.sqrt(d2) / dt;
    }
  }
  return out;
}

/** Per frame pair, the root-mean-square over atoms of the speeds from frameSpeeds: [frames − 1]. */
export function rmsSpeeds(speeds: Float64Array, atoms: number): Float64Array {
  const n = speeds.length / atoms;
  return Float64Array.from({ length: n }, (_, f) => {
    let s = 0;
    for (let k = 0; k < atoms; k++) s += speeds[f * atoms + k] ** 2;
    return Math.sqrt(s / atoms);
  });
}

/**
 * Side-chain dihedrals: χ1 = N–CA–CB–XG and χ2 = CA–CB–XG–XD with the IUPAC atoms per residue (the
 * table mdtraj uses; for Ile χ1 via CG1 and χ2 via CD1, with CHARMM's CD accepted; Val χ1 via CG1,
 * Thr via OG1, Leu χ2 via CD1, Asn/Asp via OD1, His via ND1, Met via SD). Ala and Gly have neither.
 */
export const CHI_ATOMS: Readonly<Record<'chi1' | 'chi2', Readonly<Record<string, readonly (readonly string[])[]>>>> = {
  chi1: {
    ARG: [['N'], ['CA'], ['CB'], ['CG']],
    ASN: [['N'], ['CA'], ['CB'], ['CG']],
    ASP: [['N'], ['CA'], ['CB'], ['CG']],
    CYS: [['N'], ['CA'], ['CB'], ['SG']],
    GLN: [['N'], ['CA'], ['CB'], ['CG']],
    GLU: [['N'], ['CA'], ['CB'], ['CG']],
    HIS: [['N'], ['CA'], ['CB'], ['CG']],
    ILE: [['N'], ['CA'], ['CB'], ['CG1']],
    LEU: [['N'], ['CA'], ['CB'], ['CG']],
    LYS: [['N'], ['CA'], ['CB'], ['CG']],
    MET: [['N'], ['CA'], ['CB'], ['CG']],
    PHE: [['N'], ['CA'], ['CB'], ['CG']],
    PRO: [['N'], ['CA'], ['CB'], ['CG']],
    SER: [['N'], ['CA'], ['CB'], ['OG']],
    THR: [['N'], ['CA'], ['CB'], ['OG1']],
    TRP: [['N'], ['CA'], ['CB'], ['CG']],
    TYR: [['N'], ['CA'], ['CB'], ['CG']],
    VAL: [['N'], ['CA'], ['CB'], ['CG1']],
  },
  chi2: {
    ARG: [['CA'], ['CB'], ['CG'], ['CD']],
    ASN: [['CA'], ['CB'], ['CG'], ['OD1']],
    ASP: [['CA'], ['CB'], ['CG'], ['OD1']],
    GLN: [['CA'], ['CB'], ['CG'], ['CD']],
    GLU: [['CA'], ['CB'], ['CG'], ['CD']],
    HIS: [['CA'], ['CB'], ['CG'], ['ND1']],
    ILE: [['CA'], ['CB'], ['CG1'], ['CD1', 'CD']],
    LEU: [['CA'], ['CB'], ['CG'], ['CD1']],
    LYS: [['CA'], ['CB'], ['CG'], ['CD']],
    MET: [['CA'], ['CB'], ['CG'], ['SD']],
    PHE: [['CA'], ['CB'], ['CG'], ['CD1']],
    PRO: [['CA'], ['CB'], ['CG'], ['CD']],
    TRP: [['CA'], ['CB'], ['CG'], ['CD1']],
    TYR: [['CA'], ['CB'], ['CG'], ['CD1']],
  },
};

/** Protonation and naming variants that share a standard residue's side chain. */
const RESIDUE_ALIASES: Readonly<Record<string, string>> = { HID: 'HIS', HIE: 'HIS', HIP: 'HIS', HSD: 'HIS', HSE: 'HIS', HSP: 'HIS', CYX: 'CYS', CYM: 'CYS', ASH: 'ASP', GLH: 'GLU', LYN: 'LYS' };

export interface SidechainDihedral {
  residueIndex: number;
  resName: string;
  kind: 'chi1' | 'chi2';
  atoms: [number, number, number, number];
}

/** The χ1 or χ2 dihedrals present in a topology, residue by residue. */
export function sidechainDihedrals(atoms: readonly Atom[], kind: 'chi1' | 'chi2'): SidechainDihedral[] {
  const table = CHI_ATOMS[kind];
  if (!table) throw outOfRange("'chi1' or 'chi2'", 'kind', kind);
  const out: SidechainDihedral[] = [];
  for (const [residueIndex, names] of residues(atoms)) {
    const first = names.values().next().value as number;
    const resName = atoms[first].resName;
    const def = table[RESIDUE_ALIASES[resName] ?? resName];
    if (!def) continue;
    const quad = def.map((alts) => alts.map((a) => names.get(a)).find((i) => i !== undefined));
    if (quad.every((i) => i !== undefined)) out.push({ residueIndex, resName, kind, atoms: quad as [number, number, number, number] });
  }
  return out;
}

/**
 * Normalised autocorrelation of an angle, C(τ) = (Re⟨e^{−iθ(t)} e^{iθ(t+τ)}⟩ − |⟨e^{iθ}⟩|²) / (1 − |⟨e^{iθ}⟩|²)
 * for τ = 0 … maxLag frames, averaged over the pairs inside each trajectory: C(0) = 1 and C → 0 once
 * the angle has forgotten its start; periodic, so a jump from 179° to −179° is no change. NaN for an
 * angle that never moves (the denominator vanishes) or a lag no trajectory reaches.
 */
export function angleAutocorrelation(series: readonly ArrayLike<number>[], maxLag: number): Float64Array {
  // cos(b − a) = cos a cos b + sin a sin b: one cos and sin per frame, none per pair.
  const cs = series.map((s) => Float64Array.from(s, Math.cos));
  const sn = series.map((s) => Float64Array.from(s, Math.sin));
  let mc = 0;
  let ms = 0;
  let n = 0;
  for (let k = 0; k < series.length; k++) {
    for (let t = 0; t < cs[k].length; t++) {
      mc += cs[k][t];
      ms += sn[k][t];
    }
    n += cs[k].length;
  }
  mc /= n;
  ms /= n;
  const m2 = mc * mc + ms * ms;
  const denom = 1 - m2;
  const out = new Float64Array(maxLag + 1);
  for (let tau = 0; tau <= maxLag; tau++) {
    let sum = 0;
    let pairs = 0;
    for (let k = 0; k < series.length; k++) {
      const c = cs[k];
      const s = sn[k];
      for (let t = 0; t + tau < c.length; t++) sum += c[t] * c[t + tau] + s[t] * s[t + tau];
      pairs += Math.max(0, c.length - tau);
    }
    out[tau] = pairs > 0 && denom > 1e-12 ? (sum / pairs - m2) / denom : NaN;
  }
  return out;
}

/** Rotamer names by index of rotamerStates. */
export const ROTAMERS = ['g+', 't', 'g-'] as const;

/** Rotamer per frame, 120° bins: 0 = g+ [0°, 120°), 1 = t [120°, 180°] ∪ (−180°, −120°), 2 = g− [−120°, 0°). */
export function rotamerStates(angles: ArrayLike<number>): Int8Array {
  const third = (2 * Math.PI) / 3;
  return Int8Array.from({ length: angles.length }, (_, i) => {
    const a = angles[i];
    if (a >= 0 && a < third) return 0;
    if (a < 0 && a >= -third) return 2;
    return 1;
  });
}

export interface RotamerKinetics {
  /** [3, 3] counts of rotamer r(t) → r(t+1), row-major in ROTAMERS order */
  counts: Float64Array;
  /** frames in each rotamer / all frames */
  populations: Float64Array;
  /** number of changes of rotamer between consecutive frames */
  transitions: number;
  /** transitions per unit time (transitions / (pairs × dt)) */
  rate: number;
}

/** Rotamer transition counts and rate of one angle over separate trajectories (never paired across them). */
export function rotamerKinetics(series: readonly ArrayLike<number>[], dt = 1): RotamerKinetics {
  positiveNumber('dt', dt);
  const counts = new Float64Array(9);
  const populations = new Float64Array(3);
  let frames = 0;
  let pairs = 0;
  let transitions = 0;
  for (const s of series) {
    const r = rotamerStates(s);
    for (let t = 0; t < r.length; t++) {
      populations[r[t]]++;
      frames++;
      if (t + 1 < r.length) {
        counts[r[t] * 3 + r[t + 1]]++;
        pairs++;
        if (r[t] !== r[t + 1]) transitions++;
      }
    }
  }
  for (let i = 0; i < 3; i++) populations[i] = frames > 0 ? populations[i] / frames : NaN;
  return { counts, populations, transitions, rate: pairs > 0 ? transitions / (pairs * dt) : NaN };
}

export interface SidechainKinetics extends SidechainDihedral, RotamerKinetics {
  /** angleAutocorrelation for τ = 0 … maxLag frames */
  acf: Float64Array;
}

/** χ1 and χ2 of every residue that has them: autocorrelation and rotamer kinetics over the trajectories. */
export function sidechainKinetics(trajectories: readonly Coordinates[], atoms: readonly Atom[], options: { dt?: number; maxLag?: number } = {}): SidechainKinetics[] {
  const dt = options.dt ?? 1;
  const maxLag = options.maxLag ?? 100;
  const defs = [...sidechainDihedrals(atoms, 'chi1'), ...sidechainDihedrals(atoms, 'chi2')];
  if (defs.length === 0) return [];
  const quads = defs.map((d) => d.atoms);
  const angles = trajectories.map((t) => dihedrals(t, quads));
  return defs.map((def, k) => {
    const series = angles.map((a, ti) => Float64Array.from({ length: trajectories[ti].frames }, (_, f) => a[f * defs.length + k]));
    return { ...def, ...rotamerKinetics(series, dt), acf: angleAutocorrelation(series, maxLag) };
  });
}

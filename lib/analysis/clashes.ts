// Steric clashes: heavy-atom pairs that are not near in the bond graph and sit
// closer than a fraction of their van der Waals radii' sum. Shared by the
// evaluation, validation during training and the steric pair-floor loss.
import { outOfRange } from '../core/errors';
import { positiveNumber } from '../core/validate';
import { checkCoordinates, checkIndices, type Coordinates } from './coordinates';

/** Bondi (1964) van der Waals radii in nm for the heavy elements of biomolecules. */
export const VDW_RADII: Readonly<Record<string, number>> = { C: 0.17, N: 0.155, O: 0.152, S: 0.18, P: 0.18, F: 0.147, Cl: 0.175, Br: 0.185, I: 0.198, Se: 0.19 };

export interface ClashOptions {
  /** atoms checked against each other (e.g. the heavy atoms) */
  atoms: readonly number[];
  /** bond graph over all atoms (0-based pairs) */
  bonds: readonly (readonly [number, number])[];
  /** elements of all atoms; with them a pair clashes below vdwScale × (r_i + r_j) */
  elements?: readonly string[];
  /** default 0.8 */
  vdwScale?: number;
  /** fixed cutoff in nm used when elements are not given (default 0.2) */
  cutoff?: number;
  /**
   * pairs at most this many bonds apart are never clashes (default 3: 1-2, 1-3 and 1-4 pairs);
   * 1-4 pairs are excluded by default because in the ADP reference MD they reach 0.252 nm
   * (O–C 1-4 across ψ), below 0.8 × their vdW sum, without any clash.
   */
  exclude?: number;
}

export interface ClashReport {
  /** atom pairs checked per frame */
  pairs: number;
  /** clashing pairs per frame */
  perFrame: Int32Array;
  /** fraction of frames with at least one clash */
  frameFraction: number;
  /** clashing pairs / (pairs × frames) */
  pairFraction: number;
  /** closest checked pair per frame, nm */
  minDistance: Float64Array;
}

/** The clash check of a molecule: its heavy atoms, bonds and elements, clashing below vdwScale × the vdW sum (default 0.8). */
export function heavyAtomClashOptions(topology: { atoms: readonly { element: string }[]; bonds: readonly (readonly [number, number])[] }, vdwScale = 0.8): ClashOptions & { vdwScale: number; elements: string[] } {
  const elements = topology.atoms.map((a) => a.element);
  const atoms = topology.atoms.flatMap((a, i) => (a.element !== 'H' && a.element !== 'D' ? [i] : []));
  return { atoms, bonds: topology.bonds, elements, vdwScale };
}

/** Atom pairs checked for steric clashes, with each pair's squared cutoff (nm²). */
export interface StericPairs {
  I: number[];
  J: number[];
  cut2: number[];
}

/**
 * The pairs of `options.atoms` more than `exclude` bonds apart, each with its clash
 * cutoff vdwScale × (r_i + r_j) (or the fixed cutoff without elements), squared.
 */
export function stericPairs(atoms: number, options: ClashOptions): StericPairs {
  const exclude = options.exclude ?? 3;
  const scale = options.vdwScale ?? 0.8;
  const fixed = options.cutoff ?? 0.2;
  positiveNumber('vdwScale', scale);
  positiveNumber('cutoff', fixed);
  const sel = options.atoms;
  const sep = bondSeparation(atoms, options.bonds, exclude);
  const out: StericPairs = { I: [], J: [], cut2: [] };
  for (let p = 0; p < sel.length; p++) {
    for (let q = p + 1; q < sel.length; q++) {
      const a = sel[p];
      const b = sel[q];
      if (sep(a, b)) continue;
      let c = fixed;
      if (options.elements) {
        const ra = VDW_RADII[options.elements[a]];
        const rb = VDW_RADII[options.elements[b]];
        if (ra === undefined || rb === undefined) {
          throw outOfRange(`an element with a tabulated vdW radius (${Object.keys(VDW_RADII).join(', ')})`, `elements[${ra === undefined ? a : b}]`, options.elements[ra === undefined ? a : b]);
        }
        c = scale * (ra + rb);
      }
      out.I.push(a);
      out.J.push(b);
      out.cut2.push(c * c);
    }
  }
  return out;
}

/** Steric clashes between atoms that are not near in the bond graph. */
export function clashes(traj: Coordinates, options: ClashOptions): ClashReport {
  checkCoordinates(traj);
  checkIndices(traj, options.atoms.map((a) => [a]), 1, 'atoms');
  checkIndices(traj, options.bonds, 2, 'bonds');
  const { I, J, cut2 } = stericPairs(traj.atoms, options);
  const { coords: x, frames, atoms } = traj;
  const perFrame = new Int32Array(frames);
  const minDistance = new Float64Array(frames).fill(Infinity);
  let total = 0;
  let withClash = 0;
  for (let f = 0; f < frames; f++) {
    const o = f * atoms * 3;
    let n = 0;
    let min = Infinity;
    for (let k = 0; k < I.length; k++) {
      const a = o + 3 * I[k];
      const b = o + 3 * J[k];
      const d2 = (x[a] - x[b]) ** 2 + (x[a + 1] - x[b + 1]) ** 2 + (x[a + 2] - x[b + 2]) ** 2;
      if (d2 < cut2[k]) n++;
      if (d2 < min) min = d2;
    }
    perFrame[f] = n;
    minDistance[f] = Math.sqrt(min);
    total += n;
    if (n > 0) withClash++;
  }
  return {
    pairs: I.length,
    perFrame,
    frameFraction: frames > 0 ? withClash / frames : NaN,
    pairFraction: frames > 0 && I.length > 0 ? total / (frames * I.length) : 0,
    minDistance,
  };
}

/** A test "are a and b at most maxBonds apart in the bond graph" (breadth-first search from each atom, cached). */
function bondSeparation(atoms: number, bonds: readonly (readonly [number, number])[], maxBonds: number): (a: number, b: number) => boolean {
  const adj: number[][] = Array.from({ length: atoms }, () => []);
  for (const [a, b] of bonds) {
    adj[a].push(b);
    adj[b].push(a);
  }
  const near = new Map<number, Set<number>>();
  return (a, b) => {
    if (a === b) return true;
    let set = near.get(a);
    if (!set) {
      set = new Set([a]);
      let front = [a];
      for (let d = 0; d < maxBonds; d++) {
        const next: number[] = [];
        for (const v of front) for (const w of adj[v]) if (!set.has(w)) {
          set.add(w);
          next.push(w);
        }
        front = next;
      }
      near.set(a, set);
    }
    return set.has(b);
  };
}

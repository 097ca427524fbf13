// Atoms whose labels the force field cannot tell apart, found from the topology:
// the terminal atoms of one element on one parent (a methyl's or an ammonium's
// hydrogens, a carboxylate's oxygens, a methylene's two hydrogens) and the two
// sides of a phenyl or tyrosine ring (CD1, HD1, CE1, HE1 against CD2, HD2, CE2,
// HE2). A network that cannot see which label sits where is otherwise asked for
// their average, a collapsed methyl or a salt bridge pulled in; with
// `renameSymmetric` training compares the decoded frame with the renaming of the
// target closest to it (as AlphaFold renames ambiguous ground-truth atoms).
import type { NativeModel } from '../../binding';
import { residues } from '../analysis/geometry';
import { neighbourLists } from '../forcefield/system';
import type { Topology } from '../io/types';

/** One group: its slots (atom lists that move together) and every order of them that the group allows. */
export interface SymmetricGroup {
  slots: number[][];
}

const RING_FLIPS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  PHE: [['CD1', 'HD1', 'CE1', 'HE1'], ['CD2', 'HD2', 'CE2', 'HE2']],
  TYR: [['CD1', 'HD1', 'CE1', 'HE1'], ['CD2', 'HD2', 'CE2', 'HE2']],
};

/** The molecule's symmetric groups: terminal same-element siblings (2 or 3) and aromatic ring flips. */
export function symmetricGroups(topology: Topology): SymmetricGroup[] {
  const n = topology.atoms.length;
  const neighbours = neighbourLists(topology.bonds, n);
  const groups: SymmetricGroup[] = [];
  for (let parent = 0; parent < n; parent++) {
    const byElement = new Map<string, number[]>();
    for (const c of neighbours[parent]) {
      if (neighbours[c].length !== 1) continue;
      const e = topology.atoms[c].element;
      byElement.set(e, [...(byElement.get(e) ?? []), c]);
    }
    for (const atoms of byElement.values()) if (atoms.length === 2 || atoms.length === 3) groups.push({ slots: atoms.map((a) => [a]) });
  }
  const byResidue = residues(topology.atoms);
  topology.atoms.forEach((a, i) => {
    const sides = RING_FLIPS[a.resName];
    if (!sides || a.name !== 'CG') return;
    const names = byResidue.get(a.residueIndex)!;
    const slots = sides.map((side) => side.filter((x) => names.has(x)).map((x) => names.get(x)!));
    // both sides must hold the same atoms (a ring without its hydrogens still flips)
    const same = sides[0].every((x, k) => names.has(x) === names.has(sides[1][k]));
    if (same && slots[0].length > 0 && slots.every((s) => !s.includes(i))) groups.push({ slots });
  });
  return groups;
}

/** Every permutation of 0..k−1 (k ≤ 3 here: at most 6), the identity first. */
export function slotOrders(k: number): number[][] {
  if (k <= 1) return [[0]];
  const out: number[][] = [];
  for (const p of slotOrders(k - 1)) for (let at = p.length; at >= 0; at--) out.push([...p.slice(0, at), k - 1, ...p.slice(at)]);
  return out;
}

/** The groups as the native model takes them: atoms [count*size] and permutations [count*P*size], −1 padded. */
export function packSymmetries(groups: readonly SymmetricGroup[]): { groups: Int32Array; permutations: Int32Array; count: number; size: number } {
  const size = Math.max(...groups.map((g) => g.slots.flat().length));
  const P = Math.max(...groups.map((g) => slotOrders(g.slots.length).length));
  const atoms = new Int32Array(groups.length * size).fill(-1);
  const perms = new Int32Array(groups.length * P * size).fill(-1);
  groups.forEach((g, gi) => {
    g.slots.flat().forEach((a, k) => (atoms[gi * size + k] = a));
    const orders = slotOrders(g.slots.length);
    for (let p = 0; p < P; p++) {
      const order = orders[p] ?? orders[0]; // padding rows repeat the identity
      order.map((s) => g.slots[s]).flat().forEach((a, k) => (perms[(gi * P + p) * size + k] = a));
    }
  });
  return { groups: atoms, permutations: perms, count: groups.length, size };
}

/** Gives the model the topology's symmetric groups (or none). */
export function setSymmetries(model: NativeModel, topology: Topology, on: boolean): void {
  const groups = on ? symmetricGroups(topology) : [];
  model.setSymmetries(groups.length > 0 ? packSymmetries(groups) : null);
}

// Backbone dihedral quadruplets (φ, ψ) of a topology, from its atom names and bond graph.
import type { Topology } from '../io/types';

/** φ (C−1, N, CA, C) and ψ (N, CA, C, N+1) of every residue that has them, bonded across residues in the bond graph. */
export function backboneDihedrals(topology: Topology): { phi: number[][]; psi: number[][] } {
  const byResidue = new Map<number, Map<string, number>>();
  topology.atoms.forEach((a, i) => {
    if (!byResidue.has(a.residueIndex)) byResidue.set(a.residueIndex, new Map());
    byResidue.get(a.residueIndex)!.set(a.name, i);
  });
  const bonded = new Set(topology.bonds.map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
  const isBond = (a: number, b: number) => bonded.has(`${Math.min(a, b)}-${Math.max(a, b)}`);
  const order = [...byResidue.keys()].sort((a, b) => a - b);
  const phi: number[][] = [];
  const psi: number[][] = [];
  order.forEach((r, k) => {
    const here = byResidue.get(r)!;
    const [n, ca, c] = ['N', 'CA', 'C'].map((x) => here.get(x));
    if (n === undefined || ca === undefined || c === undefined) return;
    const prevC = k > 0 ? byResidue.get(order[k - 1])!.get('C') : undefined;
    const nextN = k + 1 < order.length ? byResidue.get(order[k + 1])!.get('N') : undefined;
    if (prevC !== undefined && isBond(prevC, n)) phi.push([prevC, n, ca, c]);
    if (nextN !== undefined && isBond(c, nextN)) psi.push([n, ca, c, nextN]);
  });
  return { phi, psi };
}

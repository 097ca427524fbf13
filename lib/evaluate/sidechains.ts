// Temporal coherence, side chains: χ1/χ2 rotamer rates, populations and angle autocorrelations.
import { sidechainKinetics, type Coordinates } from '../analysis';
import type { Atom } from '../io/types';
import { atomLabel, finite, meanOf, median } from './common';
import type { Metrics, RotamerSummary, SidechainItem } from './metrics';

export function sidechainSection(atoms: readonly Atom[], ref: Coordinates[], traj: Coordinates[], dtPs: number): Metrics['sidechains'] {
  const shortest = Math.min(...ref.map((t) => t.frames), ...traj.map((t) => t.frames));
  const maxLag = Math.max(1, Math.min(50, Math.floor(shortest / 2)));
  const r = sidechainKinetics(ref, atoms, { dt: dtPs, maxLag });
  if (r.length === 0) return { dihedrals: 0, maxLagFrames: maxLag, items: [], medianRateRatio: null, meanAcfDifference: null, reason: 'no residue with a χ1 or χ2 dihedral' };
  const b = sidechainKinetics(traj, atoms, { dt: dtPs, maxLag });
  const summary = (k: (typeof r)[number]): RotamerSummary => ({ rate: finite(k.rate), transitions: k.transitions, populations: Array.from(k.populations, finite) });
  const items: SidechainItem[] = r.map((rk, i) => {
    const bk = b[i];
    let d = 0;
    let n = 0;
    for (let tau = 1; tau <= maxLag; tau++) {
      if (Number.isFinite(rk.acf[tau]) && Number.isFinite(bk.acf[tau])) {
        d += Math.abs(bk.acf[tau] - rk.acf[tau]);
        n++;
      }
    }
    return {
      residue: atomLabel(atoms, rk.atoms[1]).split(':')[0],
      kind: rk.kind,
      atoms: [...rk.atoms],
      reference: summary(rk),
      backmapped: summary(bk),
      rateRatio: rk.rate > 0 ? finite(bk.rate / rk.rate) : null,
      acf: { reference: Array.from(rk.acf, finite), backmapped: Array.from(bk.acf, finite) },
      acfDifference: n > 0 ? d / n : null,
    };
  });
  return {
    dihedrals: items.length,
    maxLagFrames: maxLag,
    items,
    medianRateRatio: median(items.flatMap((i) => (i.rateRatio === null ? [] : [i.rateRatio]))),
    meanAcfDifference: meanOf(items.flatMap((i) => (i.acfDifference === null ? [] : [i.acfDifference]))),
  };
}

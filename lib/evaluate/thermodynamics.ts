// Thermodynamics: the free-energy surface on φ/ψ (dipeptides) or on the first TICA components of CA
// distances (proteins), and the features the kinetics cluster.
import {
  Tica,
  angleEmbedding,
  bondLengths,
  dihedrals,
  histogram2d,
  jensenShannon,
  ramachandranAxes,
  type Axis,
  type Coordinates,
} from '../analysis';
import { positiveInteger } from '../core/validate';
import type { Topology } from '../io/types';
import { column, concat, finite } from './common';
import type { Metrics } from './metrics';
import type { EvaluateOptions } from './options';

export interface ThermoResult {
  section: Metrics['thermodynamics'];
  /** per trajectory, [frames, dim] features the kinetics cluster (null when there is nothing to cluster) */
  features: { ref: Float64Array[]; traj: Float64Array[]; dim: number; name: string; clusters: number } | null;
}

export function thermodynamics(
  o: EvaluateOptions,
  topology: Topology,
  backbone: { phi: number[][]; psi: number[][] },
  dipeptide: boolean,
  ref: Coordinates[],
  traj: Coordinates[],
  dtPs: number,
): ThermoResult {
  if (dipeptide) {
    const bins = positiveInteger('fesBins', o.fesBins ?? 60);
    const quads = [backbone.phi[0], backbone.psi[0]];
    const angles = (t: Coordinates) => dihedrals(t, quads);
    const ra = ref.map(angles);
    const ba = traj.map(angles);
    const [ax, ay] = ramachandranAxes(bins);
    const hist = (a: Float64Array[]) => {
      const all = concat(a);
      return histogram2d(column(all, 2, 0), column(all, 2, 1), ax, ay);
    };
    const hr = hist(ra);
    const hb = hist(ba);
    const label = (q: number[]) => q.map((i) => topology.atoms[i].name).join('-');
    return {
      section: {
        method: 'phi-psi',
        features: `backbone dihedrals φ (${label(quads[0])}) and ψ (${label(quads[1])}), radians`,
        x: { label: 'φ (rad)', lo: -Math.PI, hi: Math.PI, bins, periodic: true },
        y: { label: 'ψ (rad)', lo: -Math.PI, hi: Math.PI, bins, periodic: true },
        counts: { reference: Array.from(hr.counts), backmapped: Array.from(hb.counts) },
        outside: { reference: hr.outside, backmapped: hb.outside },
        jensenShannon: finite(jensenShannon(hr.counts, hb.counts)),
      },
      features: {
        // (cos, sin) of φ and ψ: Euclidean k-means then respects periodicity.
        ref: ra.map((a) => angleEmbedding(a, a.length / 2, 2)),
        traj: ba.map((a) => angleEmbedding(a, a.length / 2, 2)),
        dim: 4,
        name: 'φ/ψ as (cos, sin) pairs',
        clusters: o.clusters ?? 100,
      },
    };
  }

  // Proteins: TICA on pairwise CA distances, fitted on the reference.
  let ca = topology.atoms.flatMap((a, i) => (a.name === 'CA' && a.element === 'C' ? [i] : []));
  if (ca.length < 3) {
    const reason = `no φ/ψ pair of a dipeptide and ${ca.length} CA atoms (TICA on CA distances needs at least 3)`;
    return { section: { method: 'none', reason, features: 'none', jensenShannon: null }, features: null };
  }
  const totalCa = ca.length;
  // 40 CAs give 780 distances: beyond that, TICA's covariances grow as features² per frame.
  if (ca.length > 40) ca = Array.from({ length: 40 }, (_, k) => ca[Math.round((k * (ca.length - 1)) / 39)]);
  const pairs: number[][] = [];
  for (let i = 0; i < ca.length; i++) for (let j = i + 1; j < ca.length; j++) pairs.push([ca[i], ca[j]]);
  const F = pairs.length;
  const feats = (t: Coordinates) => bondLengths(t, pairs);
  const rf = ref.map(feats);
  const bf = traj.map(feats);
  const shortest = Math.min(...ref.map((t) => t.frames));
  const ticaLag = Math.min(positiveInteger('ticaLag', o.ticaLag ?? 10), Math.max(1, Math.floor(shortest / 2)));
  const model = new Tica({ lag: ticaLag, dim: 2 }).fit(rf, F);
  const rp = rf.map((x) => model.transform(x));
  const bp = bf.map((x) => model.transform(x));
  const dim = model.dim;
  const bins = positiveInteger('fesBins', o.fesBins ?? 40);
  const rAll = concat(rp);
  const bAll = concat(bp);
  const axisOf = (k: number): Axis => {
    const v = column(rAll, dim, k);
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const pad = 0.05 * (hi - lo || 1);
    return { range: [lo - pad, hi + pad], bins };
  };
  const ax = axisOf(0);
  const ay = dim > 1 ? axisOf(1) : { range: [-1, 1] as [number, number], bins: 1 };
  const yOf = (all: Float64Array) => (dim > 1 ? column(all, dim, 1) : new Float64Array(all.length / dim));
  const hr = histogram2d(column(rAll, dim, 0), yOf(rAll), ax, ay);
  const hb = histogram2d(column(bAll, dim, 0), yOf(bAll), ax, ay);
  // The grid is the reference's; backmapped frames off it count as one extra bin, so leaving the sampled region costs JS.
  const js = jensenShannon([...hr.counts, hr.outside], [...hb.counts, hb.outside]);
  const ts = model.timescales(dtPs);
  return {
    section: {
      method: 'tica',
      features: `${F} pairwise CA distances (nm)${totalCa > ca.length ? ` of ${ca.length} evenly spaced of the ${totalCa} CAs` : ''}`,
      tica: {
        lag: ticaLag,
        features: F,
        caAtoms: ca.length,
        eigenvalues: Array.from(model.eigenvalues.subarray(0, 5)),
        timescalesPs: Array.from(ts.subarray(0, 5), finite),
      },
      x: { label: 'IC1', lo: ax.range[0], hi: ax.range[1], bins, periodic: false },
      y: { label: 'IC2', lo: ay.range[0], hi: ay.range[1], bins: ay.bins, periodic: false },
      counts: { reference: Array.from(hr.counts), backmapped: Array.from(hb.counts) },
      outside: { reference: hr.outside, backmapped: hb.outside },
      jensenShannon: finite(js),
    },
    features: { ref: rp, traj: bp, dim, name: `the first ${dim} TICA components (lag ${ticaLag} frames)`, clusters: o.clusters ?? 150 },
  };
}

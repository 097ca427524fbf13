// Structure: bond lengths and angles against the reference (Wasserstein-1 per term), CA chirality
// and heavy-atom clashes.
import { chiralCenters, chiralVolumes, clashes, heavyAtomClashOptions, wasserstein1, type Coordinates } from '../analysis';
import { bondedTriplets, type ForceField } from '../forcefield/system';
import type { Atom, Topology } from '../io/types';
import { atomLabel, column, concat, finite, histogramSet, meanOf, median, moments, plotRange, strided } from './common';
import type { GeometryItem, GeometrySection, Metrics } from './metrics';

/** Angle triplets of the HarmonicAngleForce (each once), or every bonded triplet when the System has none. */
export function angleTriplets(ff: ForceField, topology: Topology): { triplets: number[][]; source: string } {
  const seen = new Set<string>();
  const triplets: number[][] = [];
  const add = (a: number, b: number, c: number) => {
    const [x, z] = a < c ? [a, c] : [c, a];
    const key = `${x}-${b}-${z}`;
    if (a === c || seen.has(key)) return;
    seen.add(key);
    triplets.push([x, b, z]);
  };
  for (let i = 0; i < ff.angles.p1.length; i++) add(ff.angles.p1[i], ff.angles.p2[i], ff.angles.p3[i]);
  if (triplets.length > 0) return { triplets, source: 'HarmonicAngleForce' };
  for (const [a, b, c] of bondedTriplets(topology.bonds, topology.atoms.length)) add(a, b, c);
  return { triplets, source: 'bond graph' };
}

export function geometrySection(
  unit: 'nm' | 'deg',
  source: string,
  tuples: number[][],
  atoms: readonly Atom[],
  measure: (t: Coordinates, tuples: number[][]) => Float64Array,
  scale: number,
  ref: Coordinates[],
  traj: Coordinates[],
): GeometrySection {
  const m = tuples.length;
  if (m === 0) return { unit, source, count: 0, meanW1: null, medianW1: null, maxW1: null, items: [], shown: [] };
  const r = concat(ref.map((t) => measure(t, tuples)));
  const b = concat(traj.map((t) => measure(t, tuples)));
  const samples: { r: Float64Array; b: Float64Array }[] = [];
  const items: GeometryItem[] = tuples.map((tuple, k) => {
    const rk = column(r, m, k, scale);
    const bk = column(b, m, k, scale);
    samples.push({ r: rk, b: bk });
    return {
      atoms: tuple,
      label: tuple.map((a) => atomLabel(atoms, a)).join('-'),
      reference: moments(rk),
      backmapped: moments(bk),
      w1: wasserstein1(rk, bk),
    };
  });
  const w1 = items.map((i) => i.w1);
  // Representatives come from terms that fluctuate in the reference: constrained X–H bonds have nothing to show.
  const moving = [...w1.keys()].filter((k) => (items[k].reference.std ?? 0) > 1e-4 * Math.abs(items[k].reference.mean ?? 1));
  const order = (moving.length > 0 ? moving : [...w1.keys()]).sort((x, y) => w1[y] - w1[x]);
  const picks = [...new Set([order[0], order[order.length >> 1], order[order.length - 1]])];
  return {
    unit,
    source,
    count: m,
    meanW1: meanOf(w1),
    medianW1: median(w1),
    maxW1: finite(Math.max(...w1)),
    items,
    shown: picks.map((index) => ({
      index,
      histogram: histogramSet({ reference: samples[index].r, backmapped: samples[index].b }, plotRange(samples[index].r, samples[index].b), 50),
    })),
  };
}

export function chiralitySection(atoms: readonly Atom[], ref: Coordinates[], traj: Coordinates[]): Metrics['chirality'] {
  const centers = chiralCenters(atoms);
  const m = centers.length;
  if (m === 0) return { centers: [], differing: { reference: null, backmapped: null }, flips: { reference: 0, backmapped: 0 } };
  const vr = ref.map((t) => chiralVolumes(t, centers));
  const vb = traj.map((t) => chiralVolumes(t, centers));
  // The reference's majority hand per centre: a mirror-image reference still defines "correct".
  const positive = new Float64Array(m);
  let refFrames = 0;
  vr.forEach((v) => {
    const n = v.length / m;
    refFrames += n;
    for (let f = 0; f < n; f++) for (let k = 0; k < m; k++) if (v[f * m + k] > 0) positive[k]++;
  });
  const majorityL = Array.from(positive, (p) => p * 2 >= refFrames);
  const tally = (vols: Float64Array[]) => {
    const differ = new Float64Array(m);
    const flips = new Float64Array(m);
    let frames = 0;
    for (const v of vols) {
      const n = v.length / m;
      frames += n;
      for (let f = 0; f < n; f++) {
        for (let k = 0; k < m; k++) {
          const l = v[f * m + k] > 0;
          if (l !== majorityL[k]) differ[k]++;
          if (f > 0 && l !== v[(f - 1) * m + k] > 0) flips[k]++;
        }
      }
    }
    return { differ, flips, frames };
  };
  const tr = tally(vr);
  const tb = tally(vb);
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  return {
    centers: centers.map((c, k) => ({
      residue: atomLabel(atoms, c.ca).split(':')[0],
      atoms: { n: c.n, ca: c.ca, c: c.c, cb: c.cb },
      referenceMajority: majorityL[k] ? 'L' : 'D',
      differing: { reference: finite(tr.differ[k] / tr.frames), backmapped: finite(tb.differ[k] / tb.frames) },
      flips: { reference: tr.flips[k], backmapped: tb.flips[k] },
    })),
    differing: { reference: finite(sum(tr.differ) / (tr.frames * m)), backmapped: finite(sum(tb.differ) / (tb.frames * m)) },
    flips: { reference: sum(tr.flips), backmapped: sum(tb.flips) },
  };
}

export function clashSection(topology: Topology, ref: Coordinates[], traj: Coordinates[], notes: string[]): Metrics['clashes'] {
  const check = heavyAtomClashOptions(topology);
  const pairsApprox = (check.atoms.length * (check.atoms.length - 1)) / 2;
  // Pair checks cost pairs × frames: keep each side under ~2e8 so large proteins stay quick.
  const budget = Math.max(1, Math.floor(2e8 / Math.max(1, pairsApprox)));
  const run = (trajs: Coordinates[], side: string) => {
    const s = strided(trajs, budget);
    if (s.stride > 1) notes.push(`clashes: every ${s.stride}th of the ${side} frames used for bonds (${s.frames} of ${s.total})`);
    let frames = 0;
    let withClash = 0;
    let clashing = 0;
    let pairs = 0;
    let min = Infinity;
    for (const t of s.trajs) {
      const r = clashes(t, check);
      pairs = r.pairs;
      frames += t.frames;
      withClash += r.frameFraction * t.frames;
      clashing += r.perFrame.reduce((a, b) => a + b, 0);
      for (const d of r.minDistance) if (d < min) min = d;
    }
    return {
      pairs,
      stats: {
        frameFraction: finite(withClash / frames),
        pairFraction: pairs > 0 ? finite(clashing / (pairs * frames)) : 0,
        minDistanceNm: finite(min),
      },
    };
  };
  if (check.atoms.length < 2) {
    const none = { frameFraction: 0, pairFraction: 0, minDistanceNm: null };
    return { heavyAtoms: check.atoms.length, pairs: 0, vdwScale: check.vdwScale, reference: none, backmapped: none };
  }
  const r = run(ref, 'reference');
  const b = run(traj, 'backmapped');
  return { heavyAtoms: check.atoms.length, pairs: r.pairs, vdwScale: check.vdwScale, reference: r.stats, backmapped: b.stats };
}

// `tcbackmap evaluate`: how well a backmapped trajectory reproduces atomistic reference MD, in the
// paper's terms (§3): structure (energies, bonds, angles, chirality, clashes), thermodynamics (FES),
// kinetics (MSM implied timescales, eigenvectors) and temporal coherence (frame-to-frame velocities,
// side-chain rotamer dynamics). The result is JSON-ready: it is metrics.json, and the report is drawn from it alone.
import {
  Kmeans,
  MarkovStateModel,
  Tica,
  angleEmbedding,
  bondAngles,
  bondLengths,
  chiralCenters,
  chiralVolumes,
  clashes,
  compareRescaled,
  dihedrals,
  eigenvectorSimilarity,
  frameSpeeds,
  histogram1d,
  histogram2d,
  impliedTimescales,
  jensenShannon,
  ramachandranAxes,
  rmsSpeeds,
  sidechainKinetics,
  wasserstein1,
  type Axis,
  type Coordinates,
  type ImpliedTimescales,
} from './analysis';
import { loadTopology } from './dataset';
import { Energy } from './energy';
import { TcbmError, invalidType, outOfRange } from './errors';
import { loadForceField, type ForceField } from './forcefield';
import { readTrajectory } from './io/trajectory';
import type { Atom, Topology } from './io/types';
import { loadMapping } from './mapping';
import { writeReport, type ReportFiles } from './report';
import { positiveInteger, positiveNumber } from './validate';

export interface EvaluateOptions {
  /** atomistic topology (PDB) */
  top: string;
  /** OpenMM System XML: energies, the bond graph, the angle triplets */
  system: string;
  /** reference atomistic trajectory file(s); each file is its own trajectory */
  ref: string | readonly string[];
  /** backmapped trajectory file(s), same atoms; each file is its own trajectory */
  traj: string | readonly string[];
  /** ps between frames (default 1) */
  dtPs?: number;
  /** atom indices that are CG beads (their speeds are left out of the non-bead velocity distribution) */
  beadAtoms?: readonly number[];
  /** when beadAtoms is absent: a mapping ('ca', 'adp', a JSON file) or 'auto' (adp for a dipeptide, else ca); none by default */
  map?: string;
  /** MSM lags for the implied timescales, frames (default 1, 2, 5, 10, 20, 50 that fit the trajectories) */
  lags?: readonly number[];
  /** lag of the MSMs whose eigenvectors are compared, frames (default 5) */
  msmLag?: number;
  /** TICA lag for proteins, frames (default 10) */
  ticaLag?: number;
  /** k-means centres fitted on the reference (default 100 for φ/ψ, 150 for TICA) */
  clusters?: number;
  /** bootstrap samples per implied-timescale curve (default 20) */
  bootstrap?: number;
  /** FES bins per axis (default 60 for φ/ψ, 40 for TICA) */
  fesBins?: number;
  /** seed of k-means++ and the bootstrap (default 1) */
  seed?: number;
  /** at most this many reference frames fit k-means, evenly strided (default 10000) */
  maxFitFrames?: number;
  /** at most this many frames per side for bond, angle, chirality and clash statistics, evenly strided (default 20000) */
  maxStructureFrames?: number;
  /** libtorch threads of the energy evaluation */
  threads?: number;
  signal?: AbortSignal;
  /** called as each of `total` stages starts (done = stages finished) */
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Mean and standard deviation. */
export interface Moments {
  mean: number | null;
  std: number | null;
}

/** Counts of several samples on one grid (bins of equal width on [lo, hi]); `outside` = samples off the grid. */
export interface HistogramSet {
  lo: number;
  hi: number;
  bins: number;
  counts: Record<string, number[]>;
  outside: Record<string, number>;
}

export interface GeometryItem {
  /** 0-based atom indices */
  atoms: number[];
  /** e.g. "ALA2:N-ALA2:CA" */
  label: string;
  reference: Moments;
  backmapped: Moments;
  /** Wasserstein-1 between the two distributions (in the section's unit) */
  w1: number;
}

export interface GeometrySection {
  unit: 'nm' | 'deg';
  /** 'HarmonicBondForce' / 'HarmonicAngleForce', or 'bond graph' for angles built from bonded triplets */
  source: string;
  count: number;
  meanW1: number | null;
  medianW1: number | null;
  maxW1: number | null;
  items: GeometryItem[];
  /** histograms of a few representative items (largest, median and smallest W1) */
  shown: { index: number; histogram: HistogramSet }[];
}

export interface TimescaleCurves {
  /** per lag: the slowest timescales (ps) of the MSM on all the data; null where the model has fewer processes */
  timescales: (number | null)[][];
  activeStates: number[];
  activeCountFraction: number[];
  /** per lag and process: bootstrap mean and the 2.5 / 97.5 % quantiles (ps) */
  bootstrap: { samples: number; resample: string; mean: (number | null)[][]; lower: (number | null)[][]; upper: (number | null)[][] } | null;
}

export interface SpeedSection {
  /** atoms in the RMS */
  atoms: number;
  /** RMS speed per frame pair, nm/ps */
  reference: Moments;
  backmapped: Moments;
  /** factor s with mean(s · backmapped) = mean(reference) (paper §3.1.3) */
  scale: number | null;
  /** Jensen–Shannon (nats) of the speed histograms before and after rescaling the backmapped speeds by scale */
  jsBefore: number | null;
  jsAfter: number | null;
  /** Wasserstein-1 (nm/ps) before and after rescaling */
  w1Before: number | null;
  w1After: number | null;
  /** counts on a plotting grid: reference, backmapped, rescaled (= backmapped × scale) */
  histogram: HistogramSet;
}

export interface RotamerSummary {
  /** rotamer changes per ps between consecutive frames */
  rate: number | null;
  transitions: number;
  /** fractions in g+, t, g− */
  populations: (number | null)[];
}

export interface SidechainItem {
  residue: string;
  kind: 'chi1' | 'chi2';
  atoms: number[];
  reference: RotamerSummary;
  backmapped: RotamerSummary;
  /** backmapped rate / reference rate */
  rateRatio: number | null;
  /** normalised angle autocorrelation for τ = 0 … maxLag frames */
  acf: { reference: (number | null)[]; backmapped: (number | null)[] };
  /** mean |C_backmapped(τ) − C_reference(τ)| over τ = 1 … maxLag */
  acfDifference: number | null;
}

/** metrics.json, key by key (units in the key names or the section's `unit`; null where a value is undefined, e.g. NaN). */
export interface Metrics {
  format: 'tcbackmap-metrics';
  version: 1;
  inputs: {
    top: string;
    system: string;
    ref: string[];
    traj: string[];
    atoms: number;
    /** frames per file */
    framesRef: number[];
    framesTraj: number[];
    dtPs: number;
  };
  settings: {
    seed: number;
    lags: number[];
    msmLag: number;
    ticaLag: number | null;
    clusters: number;
    bootstrap: number;
    fesBins: number;
    /** how the CG bead atoms were chosen ('beadAtoms', a mapping name) or null */
    beads: string | null;
    beadAtoms: number[] | null;
  };
  /** what was computed on a subset of frames, and how */
  subsampling: string[];
  /** headline numbers (also in the sections) */
  summary: {
    energyW1: number | null;
    bondMeanW1Nm: number | null;
    angleMeanW1Deg: number | null;
    chiralityDiffering: number | null;
    clashFrameFraction: { reference: number | null; backmapped: number | null };
    fesJensenShannon: number | null;
    slowestTimescalePs: { reference: number | null; backmapped: number | null };
    eigenvectorSimilarity: (number | null)[];
    velocityScale: number | null;
    velocityJsAfter: number | null;
    nonBeadVelocityScale: number | null;
    nonBeadVelocityJsAfter: number | null;
    sidechainMedianRateRatio: number | null;
  };
  energy: {
    unit: 'kJ/mol';
    /** 'total' and one per OpenMM force */
    terms: string[];
    reference: Record<string, Moments>;
    backmapped: Record<string, Moments>;
    /** Wasserstein-1 of each column's distribution, kJ/mol */
    w1: Record<string, number>;
    /** the totals on a common grid */
    histogram: HistogramSet;
  };
  bonds: GeometrySection;
  angles: GeometrySection;
  chirality: {
    /** every CA with a CB: the reference's majority hand and how often each side differs from it */
    centers: {
      residue: string;
      atoms: { n: number; ca: number; c: number; cb: number };
      referenceMajority: 'L' | 'D';
      differing: { reference: number | null; backmapped: number | null };
      /** sign changes between consecutive frames */
      flips: { reference: number; backmapped: number };
    }[];
    /** over all (frame, centre) values */
    differing: { reference: number | null; backmapped: number | null };
    flips: { reference: number; backmapped: number };
  };
  clashes: {
    /** heavy-atom pairs more than 3 bonds apart closer than 0.8 × the sum of their vdW radii */
    heavyAtoms: number;
    pairs: number;
    vdwScale: number;
    reference: { frameFraction: number | null; pairFraction: number | null; minDistanceNm: number | null };
    backmapped: { frameFraction: number | null; pairFraction: number | null; minDistanceNm: number | null };
  };
  thermodynamics: {
    method: 'phi-psi' | 'tica' | 'none';
    /** why method is 'none' */
    reason?: string;
    features: string;
    tica?: { lag: number; features: number; caAtoms: number; eigenvalues: number[]; timescalesPs: (number | null)[] };
    /** the 2-D histogram grid; counts are x-major: counts[ix * y.bins + iy] */
    x?: { label: string; lo: number; hi: number; bins: number; periodic: boolean };
    y?: { label: string; lo: number; hi: number; bins: number; periodic: boolean };
    counts?: { reference: number[]; backmapped: number[] };
    outside?: { reference: number; backmapped: number };
    /** JS (nats, ≤ ln 2) of the two histograms on the same grid, frames off the grid as one extra bin */
    jensenShannon: number | null;
  };
  kinetics: {
    features: string;
    clusters: number;
    fitFrames: number;
    lags: number[];
    lagTimesPs: number[];
    reference: TimescaleCurves | null;
    backmapped: TimescaleCurves | null;
    msmLag: number;
    /** |cos| between left eigenvectors 0 (stationary), 1, 2 of the two MSMs at msmLag on their shared active states */
    eigenvectorSimilarity: (number | null)[];
    sharedStates: number;
    reason?: string;
  };
  velocities: {
    unit: 'nm/ps';
    all: SpeedSection | null;
    /** atoms that are not CG beads (null without bead atoms) */
    nonBead: SpeedSection | null;
    reason?: string;
  };
  sidechains: {
    dihedrals: number;
    maxLagFrames: number;
    items: SidechainItem[];
    medianRateRatio: number | null;
    meanAcfDifference: number | null;
    reason?: string;
  };
  seconds: number;
}

const STAGES = ['reading', 'energy', 'bonds and angles', 'chirality and clashes', 'free energy', 'kinetics', 'velocities', 'side chains'] as const;
const DEFAULT_LAGS = [1, 2, 5, 10, 20, 50];
const RAD = 180 / Math.PI;
const TIMESCALES = 3;

/** Evaluates a backmapped trajectory against reference MD; resolves to metrics.json's content. */
export function evaluate(o: EvaluateOptions): Promise<Metrics> {
  return evaluateStages(o, 0);
}

// `laterStages`: stages the caller runs afterwards, counted in onProgress's total so one bar covers all.
async function evaluateStages(o: EvaluateOptions, laterStages: number): Promise<Metrics> {
  const start = Date.now();
  if (typeof o !== 'object' || o === null) throw invalidType('options object', 'options', o);
  const refFiles = fileList('ref', o.ref);
  const trajFiles = fileList('traj', o.traj);
  const dtPs = positiveNumber('dtPs', o.dtPs ?? 1);
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw invalidType('integer', 'seed', seed);
  const bootstrap = o.bootstrap ?? 20;
  if (!Number.isSafeInteger(bootstrap) || bootstrap < 0) throw outOfRange('non-negative integer', 'bootstrap', bootstrap);
  const maxFitFrames = positiveInteger('maxFitFrames', o.maxFitFrames ?? 10000);
  const maxStructureFrames = positiveInteger('maxStructureFrames', o.maxStructureFrames ?? 20000);
  const subsampling: string[] = [];
  let stage = 0;
  const next = async (name: (typeof STAGES)[number]) => {
    // Yield so a SIGINT handler can run between the synchronous stages.
    await new Promise((r) => setImmediate(r));
    if (o.signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'evaluate: cancelled');
    o.onProgress?.(name, stage++, STAGES.length + laterStages);
  };

  await next('reading');
  const ff = await loadForceField(o.system);
  const topology = await loadTopology(o.top, ff);
  const atoms = topology.atoms.length;
  const ref = await readAll(refFiles, atoms);
  const traj = await readAll(trajFiles, atoms);
  const backbone = backboneDihedrals(topology);
  const dipeptide = backbone.phi.length === 1 && backbone.psi.length === 1;
  const beads = await resolveBeads(o, topology, ff, dipeptide);

  await next('energy');
  const energy = await energySection(ff, ref, traj, o.threads);

  await next('bonds and angles');
  const refS = strided(ref, maxStructureFrames);
  const trajS = strided(traj, maxStructureFrames);
  for (const [side, s] of [['reference', refS], ['backmapped', trajS]] as const) {
    if (s.stride > 1) subsampling.push(`bonds, angles, chirality, clashes: every ${s.stride}th ${side} frame (${s.frames} of ${s.total})`);
  }
  const bondPairs = topology.bonds.map(([a, b]) => [a, b]);
  const bonds = geometrySection('nm', 'HarmonicBondForce', bondPairs, topology.atoms, (t, q) => bondLengths(t, q), 1, refS.trajs, trajS.trajs);
  const angleDef = angleTriplets(ff, topology);
  const angles = geometrySection('deg', angleDef.source, angleDef.triplets, topology.atoms, (t, q) => bondAngles(t, q), RAD, refS.trajs, trajS.trajs);

  await next('chirality and clashes');
  const chirality = chiralitySection(topology.atoms, refS.trajs, trajS.trajs);
  const clash = clashSection(topology, refS.trajs, trajS.trajs, subsampling);

  await next('free energy');
  const thermo = thermodynamics(o, topology, backbone, dipeptide, ref, traj, dtPs);

  await next('kinetics');
  const kinetics = kineticsSection(o, thermo, ref, traj, dtPs, seed, bootstrap, maxFitFrames, subsampling);

  await next('velocities');
  const velocities = velocitySection(ref, traj, dtPs, beads?.atoms ?? null, atoms);

  await next('side chains');
  const sidechains = sidechainSection(topology.atoms, ref, traj, dtPs);

  const summary: Metrics['summary'] = {
    energyW1: energy.w1.total ?? null,
    bondMeanW1Nm: bonds.meanW1,
    angleMeanW1Deg: angles.meanW1,
    chiralityDiffering: chirality.differing.backmapped,
    clashFrameFraction: { reference: clash.reference.frameFraction, backmapped: clash.backmapped.frameFraction },
    fesJensenShannon: thermo.section.jensenShannon,
    slowestTimescalePs: {
      reference: timescaleAt(kinetics.reference, kinetics.lags, kinetics.msmLag),
      backmapped: timescaleAt(kinetics.backmapped, kinetics.lags, kinetics.msmLag),
    },
    eigenvectorSimilarity: kinetics.eigenvectorSimilarity,
    velocityScale: velocities.all?.scale ?? null,
    velocityJsAfter: velocities.all?.jsAfter ?? null,
    nonBeadVelocityScale: velocities.nonBead?.scale ?? null,
    nonBeadVelocityJsAfter: velocities.nonBead?.jsAfter ?? null,
    sidechainMedianRateRatio: sidechains.medianRateRatio,
  };

  return {
    format: 'tcbackmap-metrics',
    version: 1,
    inputs: {
      top: o.top,
      system: o.system,
      ref: refFiles,
      traj: trajFiles,
      atoms,
      framesRef: ref.map((t) => t.frames),
      framesTraj: traj.map((t) => t.frames),
      dtPs,
    },
    settings: {
      seed,
      lags: kinetics.lags,
      msmLag: kinetics.msmLag,
      ticaLag: thermo.section.tica?.lag ?? null,
      clusters: kinetics.clusters,
      bootstrap,
      fesBins: thermo.section.x?.bins ?? 0,
      beads: beads?.rule ?? null,
      beadAtoms: beads?.atoms ?? null,
    },
    subsampling,
    summary,
    energy,
    bonds,
    angles,
    chirality,
    clashes: clash,
    thermodynamics: thermo.section,
    kinetics,
    velocities,
    sidechains,
    seconds: (Date.now() - start) / 1000,
  };
}

export interface EvaluateReportOptions extends EvaluateOptions {
  /** report folder: metrics.json and index.html are written there (created if needed) */
  out: string;
}

/** evaluate() and then the report: what `tcbackmap evaluate` does. */
export async function evaluateReport(o: EvaluateReportOptions): Promise<{ metrics: Metrics; files: ReportFiles }> {
  if (typeof o?.out !== 'string' || o.out.length === 0) throw invalidType('a folder path', 'out', o?.out);
  const metrics = await evaluateStages(o, 1);
  o.onProgress?.('report', STAGES.length, STAGES.length + 1);
  const files = await writeReport(metrics, o.out);
  return { metrics, files };
}

// ───────────────────────────── inputs ─────────────────────────────

function fileList(name: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((f) => typeof f === 'string' && f.length > 0)) {
    throw invalidType('a trajectory path or a non-empty array of paths', name, value);
  }
  return [...list];
}

async function readAll(files: string[], atoms: number): Promise<Coordinates[]> {
  const out: Coordinates[] = [];
  for (const f of files) {
    const chunk = await readTrajectory(f, { atoms });
    if (chunk.frames < 2) throw new TcbmError('ERR_INVALID_ARG_VALUE', `${f}: has ${chunk.frames} frame${chunk.frames === 1 ? '' : 's'}; evaluation needs at least 2`);
    for (let i = 0; i < chunk.coords.length; i++) {
      if (!Number.isFinite(chunk.coords[i])) {
        throw new TcbmError('ERR_NON_FINITE', `${f}: frame ${Math.floor(i / (3 * atoms))}: non-finite coordinate (${chunk.coords[i]}) at atom ${Math.floor(i / 3) % atoms}`);
      }
    }
    out.push({ coords: chunk.coords, frames: chunk.frames, atoms });
  }
  return out;
}

/** Every `stride`-th frame of each trajectory, the stride chosen so that at most `max` frames remain in all. */
function strided(trajs: Coordinates[], max: number): { trajs: Coordinates[]; stride: number; frames: number; total: number } {
  const total = trajs.reduce((a, t) => a + t.frames, 0);
  const stride = Math.max(1, Math.ceil(total / max));
  if (stride === 1) return { trajs, stride, frames: total, total };
  let frames = 0;
  const out = trajs.map((t) => {
    const n = Math.ceil(t.frames / stride);
    const size = t.atoms * 3;
    const coords = new Float32Array(n * size);
    for (let f = 0; f < n; f++) coords.set(t.coords.subarray(f * stride * size, (f * stride + 1) * size), f * size);
    frames += n;
    return { coords, frames: n, atoms: t.atoms };
  });
  return { trajs: out, stride, frames, total };
}

function atomLabel(atoms: readonly Atom[], i: number): string {
  const a = atoms[i];
  return `${a.resName}${a.resSeq}:${a.name}`;
}

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

async function resolveBeads(o: EvaluateOptions, topology: Topology, ff: ForceField, dipeptide: boolean): Promise<{ atoms: number[]; rule: string } | null> {
  const n = topology.atoms.length;
  if (o.beadAtoms !== undefined) {
    if (!Array.isArray(o.beadAtoms)) throw invalidType('an array of atom indices', 'beadAtoms', o.beadAtoms);
    o.beadAtoms.forEach((a, i) => {
      if (!Number.isInteger(a) || a < 0 || a >= n) throw outOfRange(`atom index in [0, ${n})`, `beadAtoms[${i}]`, a);
    });
    return { atoms: [...new Set(o.beadAtoms)].sort((a, b) => a - b), rule: 'beadAtoms' };
  }
  if (o.map === undefined) return null;
  let spec = o.map;
  if (spec === 'auto') {
    const hasCa = topology.atoms.some((a) => a.name === 'CA' && a.element === 'C');
    const adp = dipeptide && ['ACE', 'ALA', 'NME'].every((r) => topology.atoms.some((a) => a.resName === r));
    if (adp) spec = 'adp';
    else if (hasCa) spec = 'ca';
    else return null;
  }
  const mapping = await loadMapping(spec, topology, ff.masses);
  // Single-atom beads are those atoms; for multi-atom beads, every atom with a weight in some bead is part of one.
  let beadAtoms: number[];
  if (mapping.indices) {
    beadAtoms = [...mapping.indices].sort((a, b) => a - b);
  } else {
    beadAtoms = [];
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < mapping.beads; b++) {
        if (mapping.matrix[b * n + a] > 0) {
          beadAtoms.push(a);
          break;
        }
      }
    }
  }
  return { atoms: beadAtoms, rule: o.map === 'auto' ? `auto: ${spec}` : spec };
}

// ───────────────────────────── statistics ─────────────────────────────

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function moments(v: ArrayLike<number>): Moments {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean: finite(mean), std: finite(Math.sqrt(q / v.length)) };
}

function sortedQuantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

function median(values: number[]): number | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

function meanOf(values: number[]): number | null {
  const v = values.filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/**
 * A plotting range covering the 0.1–99.9 % quantiles of both samples, but extending at most two
 * reference spans beyond the reference's own range, so a few wild backmapped frames cannot squash the plot.
 */
function plotRange(reference: ArrayLike<number>, other: ArrayLike<number>): [number, number] {
  const a = Float64Array.from(reference).sort();
  const b = Float64Array.from(other).sort();
  const rLo = sortedQuantile(a, 0.001);
  const rHi = sortedQuantile(a, 0.999);
  const span = rHi - rLo || Math.abs(rLo) * 1e-3 || 1e-3;
  let lo = Math.min(rLo, sortedQuantile(b, 0.001));
  let hi = Math.max(rHi, sortedQuantile(b, 0.999));
  lo = Math.max(lo, rLo - 2 * span);
  hi = Math.min(hi, rHi + 2 * span);
  const pad = 0.02 * (hi - lo);
  return [lo - pad, hi + pad];
}

function histogramSet(samples: Record<string, ArrayLike<number>>, range: [number, number], bins: number): HistogramSet {
  const axis: Axis = { range, bins };
  const counts: Record<string, number[]> = {};
  const outside: Record<string, number> = {};
  for (const [k, v] of Object.entries(samples)) {
    const h = histogram1d(v, axis);
    counts[k] = Array.from(h.counts);
    outside[k] = h.outside;
  }
  return { lo: range[0], hi: range[1], bins, counts, outside };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function column(data: Float64Array, m: number, k: number, scale = 1): Float64Array {
  const n = data.length / m;
  return Float64Array.from({ length: n }, (_, f) => data[f * m + k] * scale);
}

// ───────────────────────────── structure ─────────────────────────────

async function energySection(ff: ForceField, ref: Coordinates[], traj: Coordinates[], threads?: number): Promise<Metrics['energy']> {
  const energy = Energy.fromForceField(ff);
  const columns = ['total', ...energy.terms];
  const run = async (trajs: Coordinates[]) => {
    const out: Record<string, Float64Array[]> = Object.fromEntries(columns.map((c) => [c, []]));
    for (const t of trajs) {
      const size = t.atoms * 3;
      // Chunks bound the native job's memory for long trajectories.
      for (let s = 0; s < t.frames; s += 1024) {
        const n = Math.min(1024, t.frames - s);
        const e = await energy.evaluate({ data: t.coords.subarray(s * size, (s + n) * size), shape: [n, t.atoms, 3] }, { threads });
        for (const c of columns) out[c].push(Float64Array.from(c === 'total' ? e.total : e.terms[c]));
      }
    }
    return Object.fromEntries(columns.map((c) => [c, concat(out[c])])) as Record<string, Float64Array>;
  };
  const r = await run(ref);
  const b = await run(traj);
  const stats = (x: Record<string, Float64Array>) => Object.fromEntries(columns.map((c) => [c, moments(x[c])]));
  return {
    unit: 'kJ/mol',
    terms: columns,
    reference: stats(r),
    backmapped: stats(b),
    w1: Object.fromEntries(columns.map((c) => [c, wasserstein1(r[c], b[c])])),
    histogram: histogramSet({ reference: r.total, backmapped: b.total }, plotRange(r.total, b.total), 60),
  };
}

/** Angle triplets of the HarmonicAngleForce (each once), or every bonded triplet when the System has none. */
function angleTriplets(ff: ForceField, topology: Topology): { triplets: number[][]; source: string } {
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
  const adj: number[][] = topology.atoms.map(() => []);
  for (const [a, b] of topology.bonds) {
    adj[a].push(b);
    adj[b].push(a);
  }
  adj.forEach((nb, b) => {
    for (let i = 0; i < nb.length; i++) for (let j = i + 1; j < nb.length; j++) add(nb[i], b, nb[j]);
  });
  return { triplets, source: 'bond graph' };
}

function geometrySection(
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

function chiralitySection(atoms: readonly Atom[], ref: Coordinates[], traj: Coordinates[]): Metrics['chirality'] {
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

function clashSection(topology: Topology, ref: Coordinates[], traj: Coordinates[], notes: string[]): Metrics['clashes'] {
  const elements = topology.atoms.map((a) => a.element);
  const heavy = topology.atoms.flatMap((a, i) => (a.element !== 'H' && a.element !== 'D' ? [i] : []));
  const vdwScale = 0.8;
  const pairsApprox = (heavy.length * (heavy.length - 1)) / 2;
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
      const r = clashes(t, { atoms: heavy, bonds: topology.bonds, elements, vdwScale });
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
  if (heavy.length < 2) {
    const none = { frameFraction: 0, pairFraction: 0, minDistanceNm: null };
    return { heavyAtoms: heavy.length, pairs: 0, vdwScale, reference: none, backmapped: none };
  }
  const r = run(ref, 'reference');
  const b = run(traj, 'backmapped');
  return { heavyAtoms: heavy.length, pairs: r.pairs, vdwScale, reference: r.stats, backmapped: b.stats };
}

// ───────────────────────────── thermodynamics ─────────────────────────────

interface ThermoResult {
  section: Metrics['thermodynamics'];
  /** per trajectory, [frames, dim] features the kinetics cluster (null when there is nothing to cluster) */
  features: { ref: Float64Array[]; traj: Float64Array[]; dim: number; name: string; clusters: number } | null;
}

function thermodynamics(
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

// ───────────────────────────── kinetics ─────────────────────────────

function curves(its: ImpliedTimescales): TimescaleCurves {
  const rows = (a: Float64Array[]) => a.map((t) => Array.from(t, finite));
  return {
    timescales: rows(its.timescales),
    activeStates: its.activeStates,
    activeCountFraction: its.activeCountFraction,
    bootstrap: its.bootstrap
      ? { samples: its.bootstrap.samples, resample: its.bootstrap.resample, mean: rows(its.bootstrap.mean), lower: rows(its.bootstrap.lower), upper: rows(its.bootstrap.upper) }
      : null,
  };
}

function timescaleAt(c: TimescaleCurves | null, lags: number[], lag: number): number | null {
  const i = lags.indexOf(lag);
  return c && i >= 0 ? c.timescales[i][0] : null;
}

function kineticsSection(
  o: EvaluateOptions,
  thermo: ThermoResult,
  ref: Coordinates[],
  traj: Coordinates[],
  dtPs: number,
  seed: number,
  bootstrap: number,
  maxFitFrames: number,
  notes: string[],
): Metrics['kinetics'] {
  const longest = Math.min(Math.max(...ref.map((t) => t.frames)), Math.max(...traj.map((t) => t.frames)));
  // A lag needs pairs in both data sets; lags up to a fifth of the longest trajectory leave enough.
  const requested = o.lags ? o.lags.map((l, i) => positiveInteger(`lags[${i}]`, l)) : DEFAULT_LAGS;
  let lags = [...new Set(requested)].sort((a, b) => a - b).filter((l) => l <= Math.max(1, Math.floor(longest / 5)));
  if (lags.length === 0) lags = [1];
  const msmLagWanted = positiveInteger('msmLag', o.msmLag ?? 5);
  const msmLag = lags.includes(msmLagWanted) ? msmLagWanted : lags.reduce((a, b) => (Math.abs(b - msmLagWanted) < Math.abs(a - msmLagWanted) ? b : a));
  const base = { lags, lagTimesPs: lags.map((l) => l * dtPs), msmLag };
  if (!thermo.features) {
    return { features: 'none', clusters: 0, fitFrames: 0, ...base, reference: null, backmapped: null, eigenvectorSimilarity: [], sharedStates: 0, reason: thermo.section.reason };
  }
  const { dim } = thermo.features;
  const refRows = thermo.features.ref.map((x) => x.length / dim);
  const total = refRows.reduce((a, b) => a + b, 0);
  const stride = Math.max(1, Math.ceil(total / maxFitFrames));
  const fitN = refRows.reduce((a, n) => a + Math.ceil(n / stride), 0);
  const fitX = new Float64Array(fitN * dim);
  let row = 0;
  thermo.features.ref.forEach((x, t) => {
    for (let f = 0; f < refRows[t]; f += stride) fitX.set(x.subarray(f * dim, (f + 1) * dim), dim * row++);
  });
  if (stride > 1) notes.push(`k-means: fitted on every ${stride}th reference frame (${fitN} of ${total}); all frames assigned`);
  const k = Math.min(positiveInteger('clusters', thermo.features.clusters), fitN);
  if (k < thermo.features.clusters) notes.push(`k-means: ${k} centres, not ${thermo.features.clusters}: the reference has only ${fitN} frames`);
  const km = new Kmeans({ k, seed, maxIter: 100 }).fit(fitX, fitN, dim);
  const refD = thermo.features.ref.map((x) => km.assign(x));
  const trajD = thermo.features.traj.map((x) => km.assign(x));
  const itsOptions = { k: TIMESCALES, bootstrap, seed, dt: dtPs, nStates: k };
  const safeIts = (d: Int32Array[]) => {
    try {
      return curves(impliedTimescales(d, lags, itsOptions));
    } catch {
      return null;
    }
  };
  let similarity: (number | null)[] = [];
  let shared = 0;
  try {
    const a = new MarkovStateModel({ lag: msmLag, dt: dtPs }).fit(refD, k);
    const b = new MarkovStateModel({ lag: msmLag, dt: dtPs }).fit(trajD, k);
    const s = eigenvectorSimilarity(a, b, { k: 3 });
    similarity = Array.from(s.similarity, finite);
    shared = s.sharedStates.length;
  } catch {
    // No transitions at msmLag in one set (e.g. a frozen trajectory): no eigenvectors to compare.
  }
  return {
    features: thermo.features.name,
    clusters: k,
    fitFrames: fitN,
    ...base,
    reference: safeIts(refD),
    backmapped: safeIts(trajD),
    eigenvectorSimilarity: similarity,
    sharedStates: shared,
  };
}

// ───────────────────────────── temporal coherence ─────────────────────────────

/** RMS speed of the selected atoms per frame pair, in windows of frames so memory stays bounded for long trajectories. */
function rmsSpeedSeries(t: Coordinates, dtPs: number, selection: number[]): Float64Array {
  const out = new Float64Array(t.frames - 1);
  const size = t.atoms * 3;
  const window = 2048;
  for (let s = 0; s + 1 < t.frames; s += window) {
    const n = Math.min(window + 1, t.frames - s);
    const part = { coords: t.coords.subarray(s * size, (s + n) * size), frames: n, atoms: t.atoms };
    out.set(rmsSpeeds(frameSpeeds(part, dtPs, selection), selection.length), s);
  }
  return out;
}

function speedSection(ref: Coordinates[], traj: Coordinates[], dtPs: number, selection: number[]): SpeedSection {
  const rms = (trajs: Coordinates[]) => concat(trajs.map((t) => rmsSpeedSeries(t, dtPs, selection)));
  const r = rms(ref);
  const b = rms(traj);
  const empty = (v: number | null) => ({ scale: v, jsBefore: v, jsAfter: v, w1Before: v, w1After: v });
  let cmp: ReturnType<typeof empty> = empty(null);
  let rescaled = b;
  try {
    const c = compareRescaled(r, b);
    cmp = { scale: finite(c.scale), jsBefore: finite(c.jsBefore), jsAfter: finite(c.jsAfter), w1Before: finite(c.w1Before), w1After: finite(c.w1After) };
    rescaled = Float64Array.from(b, (v) => v * c.scale);
  } catch {
    // A frozen trajectory (mean speed 0) has no rescale factor.
  }
  const [, hi] = plotRange(r, b);
  return {
    atoms: selection.length,
    reference: moments(r),
    backmapped: moments(b),
    ...cmp,
    histogram: histogramSet({ reference: r, backmapped: b, rescaled }, [0, hi], 60),
  };
}

function velocitySection(ref: Coordinates[], traj: Coordinates[], dtPs: number, beadAtoms: number[] | null, atoms: number): Metrics['velocities'] {
  const all = speedSection(ref, traj, dtPs, Array.from({ length: atoms }, (_, i) => i));
  if (!beadAtoms) return { unit: 'nm/ps', all, nonBead: null, reason: 'no bead atoms given (beadAtoms or map): non-bead speeds not computed' };
  const bead = new Set(beadAtoms);
  const others = Array.from({ length: atoms }, (_, i) => i).filter((i) => !bead.has(i));
  if (others.length === 0) return { unit: 'nm/ps', all, nonBead: null, reason: 'every atom is a bead atom' };
  return { unit: 'nm/ps', all, nonBead: speedSection(ref, traj, dtPs, others) };
}

function sidechainSection(atoms: readonly Atom[], ref: Coordinates[], traj: Coordinates[], dtPs: number): Metrics['sidechains'] {
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

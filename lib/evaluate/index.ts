// `tcbackmap evaluate`: how well a backmapped trajectory reproduces atomistic reference MD, in the
// paper's terms (§3): structure (energies, bonds, angles, chirality, clashes), thermodynamics (FES),
// kinetics (MSM implied timescales, eigenvectors) and temporal coherence (frame-to-frame velocities,
// side-chain rotamer dynamics). The result is JSON-ready: it is metrics.json, and the report is drawn from it alone.
// This module reads the inputs and runs the stages; each metric family is computed in its own module.
import { backboneDihedrals, bondAngles, bondLengths, type Coordinates } from '../analysis';
import { loadTopology } from '../model/dataset';
import { checkDevice } from '../core/device';
import { TcbmError, invalidType, outOfRange } from '../core/errors';
import { loadForceField, type ForceField } from '../forcefield/system';
import { readTrajectory } from '../io/trajectory';
import type { Topology } from '../io/types';
import { loadMapping } from '../model/mapping';
import { checkReportDir, writeReport, type ReportFiles } from './report';
import { positiveInteger, positiveNumber } from '../core/validate';
import { strided } from './common';
import { energySection } from './energy';
import { ensembleFiles, ensembleSection } from './ensemble';
import { kineticsSection, timescaleAt } from './kinetics';
import { latentSection, loadLatentModel } from './latent';
import type { Metrics } from './metrics';
import type { EvaluateOptions } from './options';
import { sidechainSection } from './sidechains';
import { angleTriplets, chiralitySection, clashSection, geometrySection } from './structure';
import { thermodynamics } from './thermodynamics';
import { velocitySection } from './velocities';

export { backboneDihedrals } from '../analysis';
export type { EvaluateOptions } from './options';
export type {
  GeometryItem,
  GeometrySection,
  HistogramSet,
  LatentSection,
  Metrics,
  Moments,
  RotamerSummary,
  SidechainItem,
  SpeedSection,
  TimescaleCurves,
} from './metrics';

const STAGES = ['reading', 'energy', 'bonds and angles', 'chirality and clashes', 'free energy', 'kinetics', 'velocities', 'side chains'] as const;
/** with a model (options.model), after STAGES */
const LATENT_STAGE = 'latent space';
const RAD = 180 / Math.PI;

/** Evaluates a backmapped trajectory against reference MD; resolves to metrics.json's content. */
export function evaluate(o: EvaluateOptions): Promise<Metrics> {
  return evaluateStages(o, 0);
}

// `laterStages`: stages the caller runs afterwards, counted in onProgress's total so one bar covers all.
async function evaluateStages(o: EvaluateOptions, laterStages: number): Promise<Metrics> {
  const start = Date.now();
  if (typeof o !== 'object' || o === null) throw invalidType('options object', 'options', o);
  const refFiles = fileList('ref', o.ref);
  const samples = positiveInteger('samples', o.samples ?? 1);
  const trajFiles = samples > 1 ? ensembleFiles(fileList('traj', o.traj), samples) : fileList('traj', o.traj);
  const dtPs = positiveNumber('dtPs', o.dtPs ?? 1);
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw invalidType('integer', 'seed', seed);
  const bootstrap = o.bootstrap ?? 20;
  if (!Number.isSafeInteger(bootstrap) || bootstrap < 0) throw outOfRange('non-negative integer', 'bootstrap', bootstrap);
  const maxFitFrames = positiveInteger('maxFitFrames', o.maxFitFrames ?? 10000);
  const maxStructureFrames = positiveInteger('maxStructureFrames', o.maxStructureFrames ?? 20000);
  if (o.model !== undefined && (typeof o.model !== 'string' || o.model.length === 0)) throw invalidType('a model file path', 'model', o.model);
  const latentPairs = positiveInteger('latentPairs', o.latentPairs ?? 5000);
  const stageCount = evaluateStageCount(o);
  const device = checkDevice(o.device, 'device');
  const subsampling: string[] = [];
  let stage = 0;
  const next = async (name: (typeof STAGES)[number] | typeof LATENT_STAGE) => {
    // Yield so a SIGINT handler can run between the synchronous stages.
    await new Promise((r) => setImmediate(r));
    if (o.signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'evaluate: cancelled');
    o.onProgress?.(name, stage++, stageCount + laterStages);
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
  // Read now, so a model that does not fit is refused before the long stages.
  const latentModel = o.model === undefined ? undefined : await loadLatentModel(o.model, atoms, o.threads, device);

  await next('energy');
  const { section: energy, referenceTotal } = await energySection(ff, ref, traj, o.threads, device);

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

  const ensemble = samples > 1 ? ensembleSection(traj, trajFiles, samples, ref, beads?.atoms ?? null) : undefined;

  let latent: Metrics['latent'];
  if (latentModel) {
    await next(LATENT_STAGE);
    latent = await latentSection(latentModel, ref, referenceTotal, { maxPairs: latentPairs, signal: o.signal });
    if (latent.pairs < latent.available) subsampling.push(`latent space: ${latent.pairs} evenly spaced of the ${latent.available} reference pairs`);
  }

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
    ...(latent ? { latent } : {}),
    ...(ensemble ? { ensemble } : {}),
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
  checkReportDir(o.out);
  const metrics = await evaluateStages(o, 1);
  o.onProgress?.('report', evaluateStageCount(o), evaluateStageCount(o) + 1);
  const files = await writeReport(metrics, o.out);
  return { metrics, files };
}

/** Stages evaluate() reports through onProgress: the latent space's only with a model. */
function evaluateStageCount(o: EvaluateOptions): number {
  return STAGES.length + (o.model === undefined ? 0 : 1);
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

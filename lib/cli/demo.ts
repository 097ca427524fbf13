// `tcbackmap demo`: the bundled ADP model and sample, end to end and offline:
// coarse-grain the atomistic sample, backmap the CG trajectory, and evaluate the
// result against the atomistic reference (metrics.json and an HTML report).
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Backmapper } from '../inference/backmap';
import type { RelaxOptions } from '../inference/relax';
import { coarseGrain } from '../inference/coarsegrain';
import { TcbmError } from '../core/errors';
import { writePdb } from '../io/pdb';
import { openTrajectory } from '../io/trajectory';
import { packageRoot } from '../core/native';
import { evaluateReport, type Metrics } from '../evaluate';
import { lazyBar, report } from './common';

export interface DemoOptions {
  out: string;
  /** which bundled molecule: alanine dipeptide (default) or chignolin */
  molecule?: DemoMolecule;
  /** another model for the same molecule (default: the bundled one) */
  model?: string;
  threads?: number;
  segments?: number;
  /** refine each frame (`backmap --relax`) with the molecule's measured settings (DEMO_SETS) */
  relax?: boolean;
  onStage?: (stage: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoSummary {
  /** ADP or chignolin */
  molecule: string;
  model: string;
  reference: string;
  cg: string;
  backmapped: string;
  frames: number;
  framesPerSecond: number;
  /** the evaluation report: metrics.json and index.html */
  report: { dir: string; html: string; metrics: string };
  metrics: Metrics;
  seconds: number;
}

export type DemoMolecule = 'adp' | 'cln';

export interface DemoCommandOptions {
  out: string;
  molecule: DemoMolecule;
  threads?: number;
  relax?: boolean;
  json?: boolean;
}

/**
 * The bundled model and data of each molecule: its CG mapping, model, topology,
 * System and atomistic sample, and the `--relax` settings measured best for it
 * (README, "backmap --relax"): the reference MD's temperature; chignolin's vacuum
 * System screened (ε = 4); ADP on its exact beads, 50 minimisation steps, then
 * 500 fs of dynamics (250 steps of 2 fs, its X–H bonds rigid).
 */
export const DEMO_SETS: Record<DemoMolecule, { name: string; map: string; model: string; top: string; system: string; reference: string; relax: RelaxOptions }> = {
  adp: {
    name: 'ADP',
    map: 'adp',
    model: path.join(packageRoot, 'models', 'adp-cpu.tcbm'),
    top: path.join(packageRoot, 'data', 'adp', 'adp.pdb'),
    system: path.join(packageRoot, 'data', 'adp', 'system-vacuum.xml'),
    reference: path.join(packageRoot, 'data', 'adp', 'test-1000.dcd'),
    relax: { temperature: 300, exactCg: true, steps: 50, thermalSteps: 250, restraint: 50 },
  },
  cln: {
    name: 'chignolin',
    map: 'ca',
    model: path.join(packageRoot, 'models', 'cln-cpu.tcbm'),
    top: path.join(packageRoot, 'data', 'chignolin', 'cln.pdb'),
    system: path.join(packageRoot, 'data', 'chignolin', 'system-vacuum.xml'),
    reference: path.join(packageRoot, 'data', 'chignolin', 'test-200.dcd'),
    relax: { temperature: 340, dielectric: 4 },
  },
};

/** The ADP set (the demo's default). */
export const DEMO_FILES = DEMO_SETS.adp;

/** Runs the demo with its stages and progress on a TTY, then prints the summary. */
export async function demoCommand(opts: DemoCommandOptions): Promise<DemoSummary> {
  const bar = lazyBar('backmap', opts.json);
  try {
    const r = await demo({
      ...opts,
      onStage: (stage) => !opts.json && process.stderr.isTTY && process.stderr.write(`demo: ${stage}\n`),
      onProgress: (d, t) => bar.update(d, t),
    });
    bar.stop();
    const e = r.metrics.energy;
    const s = r.metrics.summary;
    const num = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));
    report(
      opts.json,
      r,
      `demo: backmapped ${r.frames} ${r.molecule} frames at ${r.framesPerSecond.toFixed(0)} frames/s; internal energy ` +
        `${num(e.backmapped.total.mean, 1)} ± ${num(e.backmapped.total.std, 1)} kJ/mol vs reference ` +
        `${num(e.reference.total.mean, 1)} ± ${num(e.reference.total.std, 1)}; FES JS ${num(s.fesJensenShannon, 3)}; ` +
        `clash frames ${num((s.clashFrameFraction.backmapped ?? NaN) * 100, 1)} %${opts.relax ? ' (--relax)' : ''}; ` +
        `report ${r.report.html} (${r.seconds.toFixed(0)} s)`,
    );
    return r;
  } finally {
    bar.stop();
  }
}

export async function demo(o: DemoOptions): Promise<DemoSummary> {
  const start = Date.now();
  const molecule = o.molecule ?? 'adp';
  if (!Object.hasOwn(DEMO_SETS, molecule)) throw new TcbmError('ERR_INVALID_ARG_VALUE', `demo: --molecule must be adp or cln, got ${molecule}`);
  const set = DEMO_SETS[molecule];
  const { name, map, relax, ...bundled } = set;
  const files = { ...bundled, model: o.model ?? set.model };
  for (const [what, file] of Object.entries(files)) {
    if (!(await fsp.stat(file).catch(() => null))) throw new TcbmError('ERR_FILE_NOT_FOUND', `demo: the bundled ${what} ${file} is missing from this install`);
  }
  await fsp.mkdir(o.out, { recursive: true });
  const cg = path.join(o.out, 'cg.dcd');
  const backmapped = path.join(o.out, 'backmapped.dcd');

  o.onStage?.('coarse-graining the atomistic sample');
  await coarseGrain({ model: files.model, traj: files.reference, out: cg });

  o.onStage?.(o.relax ? 'backmapping and refining (--relax)' : 'backmapping');
  const bm = await Backmapper.load(files.model, { threads: o.threads });
  const { exactCg, ...refine } = relax;
  const run = await bm.backmapFile(cg, backmapped, {
    segments: o.segments ?? 1, seed: 1, onProgress: o.onProgress,
    ...(o.relax ? { relax: refine, exactCg } : {}),
  });
  // The first frames as multi-model PDB, for a quick look in VMD or PyMOL.
  const reader = await openTrajectory(backmapped);
  try {
    const first = await reader.read(0, Math.min(50, run.frames));
    await writePdb(path.join(o.out, 'backmapped-first-frames.pdb'), bm.info.topology, first.coords);
  } finally {
    await reader.close();
  }

  o.onStage?.('evaluating against the atomistic reference');
  const evaluation = await evaluateReport({
    top: files.top, system: files.system, ref: files.reference, traj: backmapped, map,
    threads: o.threads, out: path.join(o.out, 'report'),
  });

  return {
    molecule: name,
    report: { dir: evaluation.files.dir, html: evaluation.files.html, metrics: evaluation.files.metrics },
    metrics: evaluation.metrics,
    model: files.model,
    reference: files.reference,
    cg,
    backmapped,
    frames: run.frames,
    framesPerSecond: run.frames / run.seconds,
    seconds: (Date.now() - start) / 1000,
  };
}

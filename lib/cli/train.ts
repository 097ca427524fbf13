// `tcbackmap train`: load data, train with progress and a JSON-lines log,
// checkpoint every K steps (and on SIGINT), then write the .tcbm model and
// print a summary (an interrupted run exits 130).
import { promises as fsp } from 'fs';
import { loadDataset, loadTrajectories } from '../model/dataset';
import { checkOutput, openAtomic } from '../io/atomic';
import { TcbmError } from '../core/errors';
import { progress } from '../core/progress';
import { Trainer, resolvePreset, type StepReport } from '../model/train';
import { trainerStateFromModel } from '../inference/init';
import type { ValidationReport } from '../model/validation';
import type { TrainingPrecision } from '../model/presets';
import { ProcessGroup, distributedSettings, type DistributedOptions } from '../model/distributed';

export interface TrainCommandOptions {
  top: string;
  traj: string[];
  system: string;
  map: string;
  /** default: adp-cpu for --map adp, else cln-cpu; with `resume`, the checkpoint's */
  preset?: string;
  steps?: number;
  batch?: number;
  /** default: the preset's (fp32) */
  precision?: TrainingPrecision;
  threads?: number;
  /** libtorch device of the model (checked by the option parser) */
  device?: string;
  seed: number;
  out: string;
  resume?: string;
  /** a model file whose weights the run starts from (fresh optimiser, at the model's step) */
  init?: string;
  checkpoint?: string;
  checkpointEvery: number;
  /** also write a finished model `<out>.step-N.tcbm` every K steps, to choose among by a held-out figure */
  keepEvery?: number;
  /** with keepEvery: keep no model before this step (default 0) */
  keepFrom?: number;
  log?: string;
  dryRun?: boolean;
  frameBased?: boolean;
  /** held-out trajectories validated on every `validateEvery` steps */
  validate?: string[];
  validateEvery?: number;
  json?: boolean;
  /** data-parallel training over a c10d group; unset fields come from the launcher's environment (distributedSettings) */
  distributed?: boolean | Partial<DistributedOptions>;
}

export interface TrainSummary {
  out?: string;
  preset: string;
  parameters: number;
  pairs: number;
  steps: number;
  seconds: number;
  interrupted: boolean;
  checkpoint?: string;
  final?: Pick<StepReport, 'total' | 'voxel' | 'coord' | 'cg' | 'edm' | 'energy' | 'kl'>;
  /** mean of each loss term over the last 100 steps run (absent when none ran) */
  last100?: Record<string, number>;
  /** how many steps last100 averages */
  last100Steps?: number;
  mixture?: { components: number; logLikelihood: number };
  /** the last validation run */
  validation?: ValidationReport;
  /** the models written by --keep-every, oldest first */
  kept?: string[];
  /** this process's place in a distributed run */
  rank?: number;
  worldSize?: number;
}

/** Trains (or with --dry-run only sizes up) the model, then prints the summary; an interrupted run exits 130. */
export async function trainCommand(opts: TrainCommandOptions): Promise<TrainSummary> {
  const s = await train(opts);
  if (opts.json) {
    console.log(JSON.stringify(s));
  } else if (opts.dryRun) {
    console.log(`preset ${s.preset}: ${s.parameters.toLocaleString('en-US')} parameters, ${s.pairs} training pairs, ${s.steps} steps planned`);
  } else if (s.interrupted && s.rank !== undefined && s.rank > 0) {
    console.log(`rank ${s.rank} of ${s.worldSize}: interrupted at step ${s.steps}; rank 0 saved the checkpoint`);
  } else if (s.interrupted) {
    console.log(`interrupted at step ${s.steps}: checkpoint saved to ${s.checkpoint} (continue with --resume ${s.checkpoint})`);
  } else if (s.rank !== undefined && s.rank > 0) {
    console.log(`rank ${s.rank} of ${s.worldSize}: trained ${s.steps} steps in ${s.seconds.toFixed(0)} s; rank 0 wrote the model`);
  } else {
    const f = s.last100;
    const losses = f
      ? `last ${s.last100Steps} steps: coord ${f.coord.toExponential(2)} nm², edm ${f.edm.toExponential(2)}, energy ${f.energy.toExponential(2)}, kl ${f.kl.toFixed(2)}`
      : 'no steps left to run (the checkpoint was already there)';
    const kept = s.kept ? ` and ${s.kept.length} kept model${s.kept.length > 1 ? 's' : ''} (${s.kept.join(', ')})` : '';
    console.log(`trained ${s.preset} (${s.parameters.toLocaleString('en-US')} parameters) for ${s.steps} steps in ${s.seconds.toFixed(0)} s; ${losses}; wrote ${s.out}${kept}`);
  }
  if (s.interrupted) process.exitCode = 130;
  return s;
}

async function train(o: TrainCommandOptions): Promise<TrainSummary> {
  if (!o.traj || o.traj.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'train: give at least one --traj');
  if (o.resume && o.init) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'train: --resume continues a checkpoint, --init starts from a model: give one of them');
  if (o.keepFrom !== undefined && o.keepEvery === undefined) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'train: --keep-from needs --keep-every');
  if (!o.distributed || o.dryRun) return trainIn(o);
  const settings = distributedSettings(o.distributed === true ? {} : o.distributed);
  // Under --device cuda each process takes its machine's GPU number LOCAL_RANK.
  const device = o.device === 'cuda' ? `cuda:${settings.localRank}` : o.device;
  const group = await ProcessGroup.join(settings);
  try {
    return { ...(await trainIn({ ...o, device }, group)), rank: group.rank, worldSize: group.world };
  } finally {
    group.close();
  }
}

async function trainIn(o: TrainCommandOptions, group?: ProcessGroup): Promise<TrainSummary> {
  // Rank 0 writes the log, checkpoints and the model, and validates; the other ranks wait for it.
  const root = !group || group.isRoot;
  const rootOnly = async (tag: string, work: () => Promise<void>): Promise<void> => {
    if (group) await group.rootOnly(tag, work);
    else await work();
  };
  const preset = resolvePreset(o.preset ?? (o.map === 'adp' ? 'adp-cpu' : 'cln-cpu'));
  const start = Date.now();
  const data = await loadDataset({ top: o.top, trajs: o.traj, system: o.system, map: o.map });
  const training = {
    ...(o.steps ? { steps: o.steps } : {}), ...(o.batch ? { batch: o.batch } : {}), ...(o.precision ? { precision: o.precision } : {}),
  };
  const checkpointFile = o.checkpoint ?? `${o.out}.ckpt`;
  const logFile = o.log ?? `${o.out}.log.jsonl`;
  const inputs: Record<string, string> = { [o.top]: 'the topology (--top)', [o.system]: 'the System XML (--system)' };
  for (const t of o.traj) inputs[t] = 'a training trajectory (--traj)';
  for (const t of o.validate ?? []) inputs[t] = 'a validation trajectory (--validate)';
  // The checkpoint may be the one resumed from (the run continues in it); the model and log may not.
  if (o.init) inputs[o.init] = 'the model started from (--init)';
  for (const out of [o.out, logFile]) checkOutput(out, { ...inputs, ...(o.resume ? { [o.resume]: 'the checkpoint resumed from (--resume)' } : {}) });
  checkOutput(checkpointFile, inputs);
  const continued = { threads: o.threads, device: o.device, energy: data.energy, preset: o.preset ? preset : undefined, training: Object.keys(training).length ? training : undefined };
  const trainer = o.resume
    ? await Trainer.resumeFrom(o.resume, data, continued)
    : o.init
      ? await Trainer.resume(data, await trainerStateFromModel(o.init, o.seed), continued)
      : Trainer.create(data, { preset, training, seed: o.seed, threads: o.threads, device: o.device, previousFrame: !o.frameBased, energy: data.energy });
  if (group) await trainer.distribute(group);
  const steps = o.steps ?? trainer.settings.steps;
  const summary: TrainSummary = {
    preset: trainer.preset.name,
    parameters: trainer.parameterCount,
    pairs: trainer.pairCount,
    steps,
    seconds: 0,
    interrupted: false,
  };
  if (o.dryRun) return summary;

  const held = root && o.validate && o.validate.length > 0 ? await loadTrajectories(o.validate, data.topology.atoms.length) : [];
  const validating = (o.validate?.length ?? 0) > 0;
  const validateEvery = o.validateEvery ?? trainer.settings.validateEvery ?? 250;
  if (o.resume && root) await truncateLog(logFile, trainer.step);
  const log = root ? await fsp.open(logFile, o.resume ? 'a' : 'w') : undefined;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const bar = progress(group ? `train (rank ${group.rank} of ${group.world})` : 'train', steps, 'steps', root && !o.json && process.stderr.isTTY === true, 'coord {coord} edm {edm} E {energy} kl {kl} γ {gamma} | val {val}');
  let val = '–';
  const recent: StepReport[] = [];
  let last: StepReport | undefined;
  try {
    for await (const report of trainer.run(steps, abort.signal)) {
      last = report;
      recent.push(report);
      if (recent.length > 100) recent.shift();
      await log?.write(JSON.stringify(report) + '\n');
      bar.update(report.step + 1, {
        coord: report.coord.toExponential(1), edm: report.edm.toExponential(1), energy: report.energy.toExponential(1),
        kl: report.kl.toFixed(2), gamma: report.gamma.toExponential(0), val,
      });
      const validateNow = validating && (report.step + 1) % validateEvery === 0;
      const checkpointNow = (report.step + 1) % o.checkpointEvery === 0;
      const keepNow = o.keepEvery !== undefined && (report.step + 1) % o.keepEvery === 0 && report.step + 1 >= (o.keepFrom ?? 0) && report.step + 1 < steps;
      if (!validateNow && !checkpointNow && !keepNow) continue;
      await rootOnly(`step-${report.step + 1}`, async () => {
        if (validateNow) {
          const v = await trainer.validate(held);
          summary.validation = v;
          await log?.write(JSON.stringify({ validation: v }) + '\n');
          val = validationLine(v);
        }
        if (checkpointNow) await trainer.saveCheckpoint(checkpointFile);
        if (keepNow) {
          const file = keptModelFile(o.out, report.step + 1);
          await trainer.finalize(file);
          (summary.kept ??= []).push(file);
        }
      });
    }
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
    await log?.close();
  }
  summary.seconds = (Date.now() - start) / 1000;
  if (last) summary.final = pick(last);
  if (recent.length > 0) {
    summary.last100 = meanTerms(recent);
    summary.last100Steps = recent.length;
  }
  if (abort.signal.aborted || last?.stop) {
    // A signal on any rank stops every rank after the same step (Trainer.run); rank 0 saves.
    if (root) await trainer.saveCheckpoint(checkpointFile);
    summary.interrupted = true;
    summary.checkpoint = checkpointFile;
    summary.steps = trainer.step;
    return summary;
  }
  summary.checkpoint = checkpointFile;
  await rootOnly('end', async () => {
    await trainer.saveCheckpoint(checkpointFile);
    const report = await trainer.finalize(o.out);
    summary.out = o.out;
    summary.mixture = { components: report.mixture.k, logLikelihood: report.mixture.logLikelihood };
  });
  return summary;
}

/** Where --keep-every writes the model of step `step`: beside `out`, its step before the extension. */
export function keptModelFile(out: string, step: number): string {
  return out.endsWith('.tcbm') ? `${out.slice(0, -'.tcbm'.length)}.step-${step}.tcbm` : `${out}.step-${step}.tcbm`;
}

function pick(r: StepReport): TrainSummary['final'] {
  return { total: r.total, voxel: r.voxel, coord: r.coord, cg: r.cg, edm: r.edm, energy: r.energy, kl: r.kl };
}

function meanTerms(reports: StepReport[]): Record<string, number> {
  const keys = ['total', 'voxel', 'coord', 'cg', 'edm', 'energy', 'kl'] as const;
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = reports.reduce((s, r) => s + r[k], 0) / Math.max(reports.length, 1);
  return out;
}

const pct = (x: number) => `${Math.round(100 * x)} %`;

/** The progress line's validation figures: RMSDs in Å, energies, active latent dimensions, clash frames (decoded/rollout), rollout JS. */
export function validationLine(v: ValidationReport): string {
  const parts = [`bead ${(v.beadRmsd * 10).toFixed(2)} Å`, `other ${(v.otherRmsd * 10).toFixed(2)} Å (renamed ${(v.otherRmsdRenamed * 10).toFixed(2)})`];
  if (v.energy) parts.push(`E ${v.energy.decoded.toFixed(0)}/${v.energy.reference.toFixed(0)}`);
  parts.push(`z ${v.activeDimensions}/${v.klPerDimension.length}`);
  parts.push(`clash ${pct(v.clashFrames)}${v.rollout ? `/${pct(v.rollout.clashFrames)}` : ''}`);
  if (v.rollout?.phiPsiJs != null) parts.push(`JS ${v.rollout.phiPsiJs.toFixed(3)}`);
  if (v.averaged !== undefined) parts.push(`mean of ${v.averaged}`);
  return parts.join(' ');
}

/**
 * Before a resumed run appends: drops the log lines of steps at or after the
 * checkpoint's (a run killed between checkpoints logged steps it will now redo),
 * so each step appears once. Lines that do not parse are kept as they are.
 */
async function truncateLog(file: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return; // no log yet
  }
  const keep = text.split('\n').filter((line) => {
    if (!line) return false;
    try {
      const r = JSON.parse(line) as { step?: number; validation?: { step?: number } };
      const s = r.step ?? (r.validation?.step !== undefined ? r.validation.step - 1 : undefined);
      return s === undefined || s < step;
    } catch {
      return true;
    }
  });
  const out = await openAtomic(file);
  await out.finish(() => out.handle.writeFile(keep.map((l) => l + '\n').join(''), 'utf8'));
}

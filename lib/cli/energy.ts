// `tcbackmap energy`: per-frame internal energy of a trajectory, per OpenMM force, as CSV.
import { InvalidArgumentError } from 'commander';
import { loadTopology } from '../model/dataset';
import { Energy, type Precision } from '../forcefield/energy';
import { loadForceField } from '../forcefield/system';
import { checkOutput, openAtomic } from '../io/atomic';
import { openTrajectory } from '../io/trajectory';
import { lazyBar } from './common';

export interface EnergyCommandOptions {
  top: string;
  system: string;
  traj: string;
  out?: string;
  precision: string;
  threads?: number;
  json?: boolean;
}

export interface EnergyCsvOptions {
  top: string;
  system: string;
  traj: string;
  out?: string;
  precision?: Precision;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EnergySummary {
  frames: number;
  terms: string[];
  /** mean and standard deviation of each column over the frames, kJ/mol */
  mean: Record<string, number>;
  std: Record<string, number>;
  /** each column's largest value and the (0-based) frame where it is */
  max: Record<string, { value: number; frame: number }>;
  out?: string;
}

/** Without --out the rows go to standard output; with --out (or --json) a summary is printed instead. */
export async function energyCommand(opts: EnergyCommandOptions): Promise<EnergySummary> {
  if (opts.precision !== 'float64' && opts.precision !== 'float32') {
    throw new InvalidArgumentError(`--precision must be float64 or float32, got "${opts.precision}"`);
  }
  const bar = lazyBar('energy', opts.json || !opts.out);
  try {
    const toStdout = !opts.out && !opts.json;
    const r = await energyCsv(
      { ...opts, precision: opts.precision, onProgress: (d, t) => bar.update(d, t) },
      toStdout ? (text) => process.stdout.write(text) : undefined,
    );
    bar.stop();
    if (opts.json) console.log(JSON.stringify(r));
    else if (opts.out) console.log(`energies of ${r.frames} frames written to ${r.out}: total ${r.mean.total.toFixed(2)} ± ${r.std.total.toFixed(2)} kJ/mol`);
    return r;
  } finally {
    bar.stop();
  }
}

/** Streams energies; rows go to `out` (atomically) or to `write` (stdout) as CSV. */
export async function energyCsv(o: EnergyCsvOptions, write: (text: string) => void = () => {}): Promise<EnergySummary> {
  if (o.out) checkOutput(o.out, { [o.traj]: 'the trajectory (--traj)', [o.top]: 'the topology (--top)', [o.system]: 'the System XML (--system)' });
  const ff = await loadForceField(o.system);
  const top = await loadTopology(o.top, ff);
  const energy = Energy.fromForceField(ff);
  const reader = await openTrajectory(o.traj, { atoms: top.atoms.length });
  const file = o.out ? await openAtomic(o.out) : undefined;
  const columns = ['total', ...energy.terms];
  const sum = new Float64Array(columns.length);
  const sq = new Float64Array(columns.length);
  const max = columns.map(() => ({ value: -Infinity, frame: -1 }));
  let frames = 0;
  try {
    const emit = async (text: string) => (file ? void (await file.handle.write(text)) : write(text));
    await emit(`frame,${columns.join(',')}\n`);
    const total = await reader.frameCount();
    for await (const chunk of reader.chunks(256)) {
      const e = await energy.evaluate({ data: chunk.coords, shape: [chunk.frames, chunk.atoms, 3] }, { precision: o.precision, threads: o.threads });
      let rows = '';
      for (let f = 0; f < chunk.frames; f++) {
        const values = columns.map((c) => (c === 'total' ? e.total[f] : e.terms[c][f]));
        values.forEach((v, i) => {
          sum[i] += v;
          sq[i] += v * v;
          if (v > max[i].value) max[i] = { value: v, frame: chunk.start + f };
        });
        rows += `${chunk.start + f},${values.map((v) => v.toPrecision(10)).join(',')}\n`;
      }
      await emit(rows);
      frames += chunk.frames;
      o.onProgress?.(frames, total);
    }
    await file?.commit();
  } catch (err) {
    await file?.abort();
    throw err;
  } finally {
    await reader.close();
  }
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  columns.forEach((c, i) => {
    mean[c] = sum[i] / frames;
    std[c] = Math.sqrt(Math.max(sq[i] / frames - mean[c] ** 2, 0));
  });
  return { frames, terms: columns, mean, std, max: Object.fromEntries(columns.map((c, i) => [c, max[i]])), out: o.out };
}

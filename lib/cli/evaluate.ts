// `tcbackmap evaluate`: a backmapped trajectory against reference MD, written
// as metrics.json and a self-contained index.html with plots.
import { TcbmError } from '../core/errors';
import { progress } from '../core/progress';
import { evaluateReport, type Metrics } from '../evaluate';
import { interruptible, report } from './common';

export interface EvaluateCommandOptions {
  top: string;
  system: string;
  ref: string[];
  traj: string[];
  out: string;
  dtPs: number;
  map: string;
  lags?: number[];
  msmLag: number;
  ticaLag: number;
  clusters?: number;
  bootstrap: number;
  seed: number;
  threads?: number;
  json?: boolean;
}

/** What --json prints: the report's files, the headline metrics and the run's cost. */
export interface EvaluateSummary {
  out: string;
  metrics: string;
  html: string;
  summary: Metrics['summary'];
  subsampling: Metrics['subsampling'];
  seconds: number;
}

export async function evaluateCommand(opts: EvaluateCommandOptions): Promise<EvaluateSummary> {
  if (opts.ref.length === 0 || opts.traj.length === 0) {
    throw new TcbmError('ERR_INVALID_ARG_VALUE', 'evaluate: give at least one --ref and one --traj trajectory');
  }
  let bar: ReturnType<typeof progress> | undefined;
  try {
    const r = await interruptible((signal) =>
      evaluateReport({
        ...opts,
        signal,
        onProgress: (stage, done, total) => {
          bar ??= progress('evaluate', total, 'stages', !opts.json && process.stderr.isTTY === true, '{stage}');
          bar.update(done, { stage });
        },
      }),
    );
    bar?.stop();
    const s = r.metrics.summary;
    const f = (x: number | null, d = 3) => (x === null ? '-' : x.toPrecision(d));
    const result: EvaluateSummary = { out: opts.out, metrics: r.files.metrics, html: r.files.html, summary: s, subsampling: r.metrics.subsampling, seconds: r.metrics.seconds };
    report(
      opts.json,
      result,
      `evaluated ${r.metrics.inputs.framesTraj.reduce((a, b) => a + b, 0)} frames vs ${r.metrics.inputs.framesRef.reduce((a, b) => a + b, 0)} reference frames: ` +
        `energy W1 ${f(s.energyW1)} kJ/mol, bonds ${f(s.bondMeanW1Nm)} nm, angles ${f(s.angleMeanW1Deg)} deg, FES JS ${f(s.fesJensenShannon)}, ` +
        `slowest timescale ${f(s.slowestTimescalePs.backmapped)} vs ${f(s.slowestTimescalePs.reference)} ps, velocity scale ${f(s.velocityScale)}; ` +
        `report in ${r.files.html} (${r.metrics.seconds.toFixed(1)} s)`,
    );
    return result;
  } finally {
    bar?.stop();
  }
}

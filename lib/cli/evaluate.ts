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
  /** each --traj is an ensemble of this many sample files (backmap --samples) */
  samples?: number;
  /** a model file: adds the latent-space section */
  model?: string;
  latentPairs?: number;
  threads?: number;
  /** libtorch device of the energies (checked by the option parser) */
  device?: string;
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
        `slowest timescale ${f(s.slowestTimescalePs.backmapped)} vs ${f(s.slowestTimescalePs.reference)} ps, velocity scale ${f(s.velocityScale)}` +
        (r.metrics.latent ? `, latent KL ${f(r.metrics.latent.kl.total)} nats (${r.metrics.latent.kl.activeDimensions} of ${r.metrics.latent.dimensions} dimensions active)` : '') +
        (r.metrics.ensemble ? `, ${r.metrics.ensemble.samples} samples spread ${f(r.metrics.ensemble.spread.other)} nm RMS (bead atoms ${f(r.metrics.ensemble.spread.bead)}) vs reference frame-to-frame ${f(r.metrics.ensemble.referenceFrameToFrame.other)}` : '') +
        '; ' +
        `report in ${r.files.html} (${r.metrics.seconds.toFixed(1)} s)`,
    );
    return result;
  } finally {
    bar?.stop();
  }
}

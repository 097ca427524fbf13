// `tcbackmap backmap`: a CG trajectory (beads in the model's order) to atomistic
// resolution, optionally as K segments rolled out as one batch.
import { Backmapper } from '../inference/backmap';
import { checkOutput } from '../io/atomic';
import { interruptible, lazyBar, report } from './common';

export interface BackmapCommandOptions {
  model: string;
  cg: string;
  out: string;
  segments: number;
  seed: number;
  threads?: number;
  exactCg?: boolean;
  json?: boolean;
}

export type BackmapFileSummary = Awaited<ReturnType<Backmapper['backmapFile']>>;

export async function backmapCommand(opts: BackmapCommandOptions): Promise<BackmapFileSummary> {
  checkOutput(opts.out, { [opts.model]: 'the model (--model)', [opts.cg]: 'the CG input (--cg)' });
  const bar = lazyBar('backmap', opts.json);
  try {
    const bm = await Backmapper.load(opts.model, { threads: opts.threads });
    const r = await interruptible((signal) =>
      bm.backmapFile(opts.cg, opts.out, {
        segments: opts.segments,
        seed: opts.seed,
        exactCg: opts.exactCg ?? false,
        signal,
        onProgress: (d, t) => bar.update(d, t),
      }),
    );
    bar.stop();
    const seams = r.seams.length ? `, ${r.seams.length} seams at frames ${r.seams.join(', ')}` : '';
    report(opts.json, r, `backmapped ${r.frames} frames in ${r.seconds.toFixed(1)} s (${(r.frames / r.seconds).toFixed(0)} frames/s, ${r.segments} segment${r.segments > 1 ? 's' : ''}${seams}) to ${r.out}`);
    return r;
  } finally {
    bar.stop();
  }
}

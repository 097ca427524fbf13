// `tcbackmap coarse-grain`: an atomistic trajectory to CG beads with a model's mapping.
import { coarseGrain } from '../inference/coarsegrain';
import { interruptible, lazyBar, report } from './common';

export interface CoarseGrainCommandOptions {
  model: string;
  traj: string;
  out: string;
  json?: boolean;
}

export type CoarseGrainSummary = Awaited<ReturnType<typeof coarseGrain>>;

export async function coarseGrainCommand(opts: CoarseGrainCommandOptions): Promise<CoarseGrainSummary> {
  const bar = lazyBar('coarse-grain', opts.json);
  try {
    const r = await interruptible((signal) => coarseGrain({ ...opts, signal, onProgress: (d, t) => bar.update(d, t) }));
    bar.stop();
    report(opts.json, r, `coarse-grained ${r.frames} frames to ${r.beads} beads in ${r.out} (${r.seconds.toFixed(1)} s)`);
    return r;
  } finally {
    bar.stop();
  }
}

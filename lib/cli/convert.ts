// `tcbackmap convert`: a trajectory from one of DCD, XTC and multi-model PDB
// to another, chosen by the file extensions.
import { convert, type ConvertResult } from '../io/convert';
import { lazyBar, report } from './common';

export interface ConvertCommandOptions {
  top?: string;
  traj: string;
  out: string;
  precision: number;
  json?: boolean;
}

export async function convertCommand(opts: ConvertCommandOptions): Promise<ConvertResult> {
  const bar = lazyBar('convert', opts.json);
  try {
    const result = await convert({ ...opts, onProgress: (d, t) => bar.update(d, t) });
    bar.stop();
    report(opts.json, result, `converted ${result.frames} frames x ${result.atoms} atoms to ${result.out} in ${result.seconds.toFixed(1)} s`);
    return result;
  } finally {
    bar.stop();
  }
}

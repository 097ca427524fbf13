// `tcbackmap convert`: a trajectory from one of DCD, XTC and multi-model PDB
// to another, chosen by the file extensions; `tcbackmap concat`: shards' outputs into one.
import { convert, type ConvertResult } from '../io/convert';
import { concatShards, type ConcatSummary } from '../inference/shard';
import { interruptible, lazyBar, report } from './common';

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

export interface ConcatCommandOptions {
  shards: string[];
  out: string;
  json?: boolean;
}

/** `tcbackmap concat`: the outputs of backmap --shard, checked and joined in order (shard.ts). */
export async function concatCommand(opts: ConcatCommandOptions): Promise<ConcatSummary & { seconds: number }> {
  const start = Date.now();
  const bar = lazyBar('concat', opts.json);
  try {
    const r = await interruptible((signal) => concatShards(opts.shards, opts.out, { signal, onProgress: (d, t) => bar.update(d, t) }));
    bar.stop();
    const result = { ...r, seconds: (Date.now() - start) / 1000 };
    report(opts.json, result, `joined ${r.shards} shards (${r.frames} frames x ${r.atoms} atoms) into ${r.out} in ${result.seconds.toFixed(1)} s`);
    return result;
  } finally {
    bar.stop();
  }
}

// `tcbackmap backmap`: a CG trajectory (beads in the model's order) to atomistic
// resolution, optionally as K segments rolled out as one batch.
import { Backmapper } from '../inference/backmap';
import type { Shard } from '../inference/shard';
import { checkOutput } from '../io/atomic';
import { interruptible, lazyBar, report } from './common';

export interface BackmapCommandOptions {
  model: string;
  cg: string;
  out: string;
  segments: number;
  /** shard i of n (checked by the option parser) */
  shard?: Shard;
  seed: number;
  samples?: number;
  precision?: 'fp32' | 'bf16';
  threads?: number;
  /** libtorch device of the network (checked by the option parser) */
  device?: string;
  exactCg?: boolean;
  /** the CG input's noise level (nm) or 'auto', for a model with a noise input */
  cgNoise?: number | 'auto';
  relax?: boolean;
  relaxSteps?: number;
  restraint?: number;
  relaxCondition?: string;
  relaxTemperature?: number;
  relaxThermalSteps?: number;
  relaxTimestep?: number;
  relaxDielectric?: number;
  relaxConstraints?: string;
  system?: string;
  json?: boolean;
}

export type BackmapFileSummary = Awaited<ReturnType<Backmapper['backmapFile']>>;

export async function backmapCommand(opts: BackmapCommandOptions): Promise<BackmapFileSummary> {
  checkOutput(opts.out, { [opts.model]: 'the model (--model)', [opts.cg]: 'the CG input (--cg)', ...(opts.system ? { [opts.system]: 'the System XML (--system)' } : {}) });
  const bar = lazyBar('backmap', opts.json);
  try {
    const bm = await Backmapper.load(opts.model, { threads: opts.threads, device: opts.device });
    if (opts.system) await bm.useSystem(opts.system);
    const relax = opts.relax
      ? { steps: opts.relaxSteps, restraint: opts.restraint, condition: opts.relaxCondition as 'raw' | 'refined', temperature: opts.relaxTemperature, thermalSteps: opts.relaxThermalSteps, timestep: opts.relaxTimestep, dielectric: opts.relaxDielectric, constraints: opts.relaxConstraints as 'auto' | 'hbonds' | 'none' }
      : undefined;
    const r = await interruptible((signal) =>
      bm.backmapFile(opts.cg, opts.out, {
        segments: opts.segments,
        shard: opts.shard,
        seed: opts.seed,
        samples: opts.samples,
        precision: opts.precision,
        exactCg: opts.exactCg ?? false,
        // 'auto', the option's default, is a default: a model without a noise input ignores it
        cgNoise: opts.cgNoise,
        relax,
        signal,
        onProgress: (d, t) => bar.update(d, t),
      }),
    );
    bar.stop();
    const seams = r.seams.length ? `, ${r.seams.length} seams at frames ${r.seams.join(', ')}` : '';
    const refined = r.relax
      ? `; refined ${r.relax.frames} frames: mean energy ${r.relax.energyBefore.toPrecision(4)} -> ${r.relax.energyAfter.toPrecision(4)} kJ/mol, ${r.relax.repairs} stereo centres repaired, ${r.relax.retried} entangled frames refined again from the previous one`
      : '';
    const nm = (x: number) => x.toFixed(4);
    const group = (name: string, g: { rms: number; max: number } | null | undefined) => (g ? `${name} RMS ${nm(g.rms)} (max ${nm(g.max)})` : '');
    const spread = r.spread ? `; spread across samples, nm: ${[group('bead atoms', r.spread.bead), group('other atoms', r.spread.nonBead)].filter(Boolean).join(', ')}` : '';
    const frames = (r.samples ?? 1) > 1 ? `${r.samples} x ${r.frames}` : `${r.frames}`;
    const to = r.outputs.length > 1 ? `${r.outputs[0]} ... ${r.outputs[r.outputs.length - 1]}` : r.out;
    const shard = r.shard ? ` (shard ${r.shard.index}/${r.shard.count}: frames ${r.shard.first}..${r.shard.first + r.shard.frames - 1} of ${r.shard.total})` : '';
    // the level matters only when it is not 0 (the JSON always has it)
    const noise = r.cgNoise && r.cgNoise.level > 0
      ? `; CG noise level ${r.cgNoise.level.toFixed(4)} nm${r.cgNoise.estimated ? ` (estimated: CG bond-length spread ${nm(r.cgNoise.inputBondStd ?? 0)} nm, training ${nm(r.cgNoise.trainingBondStd ?? 0)})` : ''}${r.cgNoise.denoised ? ', input denoised' : ''}`
      : '';
    report(opts.json, r, `backmapped ${frames} frames${shard} in ${r.seconds.toFixed(1)} s (${(((r.samples ?? 1) * r.frames) / r.seconds).toFixed(0)} frames/s, ${r.segments} segment${r.segments > 1 ? 's' : ''}${seams}) to ${to}${noise}${spread}${refined}`);
    return r;
  } finally {
    bar.stop();
  }
}

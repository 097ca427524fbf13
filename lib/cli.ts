// The tcbackmap command line. Bad input ends with one line naming the problem
// and a non-zero exit, never a stack trace; long work shows progress on a TTY
// and a summary line at the end; --json prints one JSON object instead.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { Backmapper } from './backmap';
import { coarseGrain } from './coarsegrain';
import { demo, type DemoMolecule } from './commands/demo';
import { energyCommand } from './commands/energy';
import { evaluateReport } from './evaluate';
import { trainCommand } from './commands/train';
import { convert } from './convert';
import { TcbmError } from './errors';
import { PRESET_NAMES } from './presets';
import { info } from './info';
import { progress } from './progress';
import { selfCheck } from './selfcheck';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

/** A progress bar created on the first report (the total is known only then). */
function lazyBar(label: string, json?: boolean) {
  let bar: ReturnType<typeof progress> | undefined;
  return {
    update(done: number, total: number) {
      bar ??= progress(label, total, 'frames', !json && process.stderr.isTTY === true);
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Runs `work` with SIGINT turned into an abort of its signal (outputs are then discarded, not half-written). */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await work(abort.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** Prints either the JSON object or the human summary line. */
function report(json: boolean | undefined, result: object, summary: string): void {
  console.log(json ? JSON.stringify(result) : summary);
}

function program(): Command {
  const cli = new Command('tcbackmap')
    .description('Temporally coherent backmapping of coarse-grained trajectories to atomistic resolution')
    .showHelpAfterError('(run "tcbackmap --help" for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`tcbackmap: ${str.replace(/^error: /, '')}`) });

  cli
    .command('info')
    .description('show the package and libtorch versions, device and threads, and check that the addon loads')
    .option('--check', 'also run the kernels once and check their results')
    .option('--json', 'print one JSON object')
    .action(async (opts: { check?: boolean; json?: boolean }) => {
      const i = info();
      const check = opts.check ? await selfCheck() : undefined;
      if (opts.json) {
        const { parallel: _, ...summary } = i;
        console.log(JSON.stringify({ ...summary, check }));
      } else {
        console.log(`tcbackmap ${i.version}`);
        console.log(`libtorch ${i.torchVersion}, ${i.cuda ? 'CUDA available' : 'CPU only'}, ${i.threads} threads`);
        if (check) {
          console.log(
            `check ${check.ok ? 'passed' : 'FAILED'}: voxelize -> collapse of ${check.particles} particles back to ` +
              `${check.roundTripError.toExponential(1)} nm; fused = reference to ${check.fusedVsReference.toExponential(1)} ` +
              `(${check.ms.toFixed(0)} ms)`,
          );
        }
      }
      if (check && !check.ok) throw new TcbmError('ERR_ADDON_LOAD', 'the kernel check failed: this build computes wrong results');
    });

  cli
    .command('convert')
    .description('convert a trajectory between DCD, XTC and multi-model PDB (chosen by extension)')
    .option('--top <pdb>', 'topology PDB (checks the atom count; needed to write PDB from DCD/XTC)')
    .requiredOption('--traj <file>', 'input trajectory (.dcd, .xtc, .pdb)')
    .requiredOption('--out <file>', 'output trajectory (.dcd, .xtc, .pdb)')
    .option('--precision <p>', 'XTC precision in 1/nm', positiveNumber, 1000)
    .option('--json', 'print one JSON object')
    .action(async (opts: { top?: string; traj: string; out: string; precision: number; json?: boolean }) => {
      let bar: ReturnType<typeof progress> | undefined;
      try {
        const result = await convert({
          ...opts,
          onProgress: (done, total) => {
            bar ??= progress('convert', total, 'frames', !opts.json && process.stderr.isTTY === true);
            bar.update(done);
          },
        });
        bar?.stop();
        report(opts.json, result, `converted ${result.frames} frames x ${result.atoms} atoms to ${result.out} in ${result.seconds.toFixed(1)} s`);
      } finally {
        bar?.stop();
      }
    });

  cli
    .command('demo')
    .description('a bundled model and sample end to end, offline: coarse-grain, backmap, compare')
    .option('--out <dir>', 'folder for the outputs', 'tcbackmap-demo')
    .option('--molecule <adp|cln>', 'alanine dipeptide (1,000 frames) or chignolin (200 frames)', 'adp')
    .option('--threads <n>', 'libtorch threads (default: every core)', positiveInt)
    .option('--json', 'print one JSON object')
    // demo() refuses a molecule it has no bundled set for
    .action(async (opts: { out: string; molecule: DemoMolecule; threads?: number; json?: boolean }) => {
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
            `report ${r.report.html} (${r.seconds.toFixed(0)} s)`,
        );
      } finally {
        bar.stop();
      }
    });

  cli
    .command('coarse-grain')
    .description("map an atomistic trajectory to CG beads with a model's mapping")
    .requiredOption('--model <model.tcbm>', 'a trained model (its mapping and topology)')
    .requiredOption('--traj <file>', 'atomistic trajectory')
    .requiredOption('--out <file>', 'CG trajectory to write (.dcd, .xtc)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; traj: string; out: string; json?: boolean }) => {
      const bar = lazyBar('coarse-grain', opts.json);
      try {
        const r = await interruptible((signal) => coarseGrain({ ...opts, signal, onProgress: (d, t) => bar.update(d, t) }));
        bar.stop();
        report(opts.json, r, `coarse-grained ${r.frames} frames to ${r.beads} beads in ${r.out} (${r.seconds.toFixed(1)} s)`);
      } finally {
        bar.stop();
      }
    });

  cli
    .command('backmap')
    .description('backmap a CG trajectory (beads in the model\'s order) to atomistic resolution')
    .requiredOption('--model <model.tcbm>', 'a trained model')
    .requiredOption('--cg <file>', 'CG trajectory (.dcd, .xtc, .pdb)')
    .requiredOption('--out <file>', 'atomistic trajectory to write (.dcd, .xtc, .pdb)')
    .option('--segments <k>', 'split into K contiguous segments rolled out as one batch (K-1 seams)', positiveInt, 1)
    .option('--seed <s>', 'seed of the latent samples: the same seed gives the same output', integer, 1)
    .option('--threads <n>', 'libtorch threads (default: every core)', positiveInt)
    .option('--exact-cg', "move each frame onto its CG frame exactly (bead atoms on their beads); default: the network's output as is")
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; cg: string; out: string; segments: number; seed: number; threads?: number; exactCg?: boolean; json?: boolean }) => {
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
      } finally {
        bar.stop();
      }
    });

  cli
    .command('energy')
    .description('per-frame internal energy per OpenMM force (kJ/mol), as CSV')
    .requiredOption('--top <pdb>', 'topology (PDB)')
    .requiredOption('--system <xml>', 'OpenMM System XML')
    .requiredOption('--traj <file>', 'trajectory (.dcd, .xtc, .pdb)')
    .option('--out <csv>', 'CSV file to write (default: standard output)')
    .option('--precision <p>', 'float64 (default) or float32', 'float64')
    .option('--threads <n>', 'libtorch threads', positiveInt)
    .option('--json', 'print one JSON object (a summary; rows go to --out)')
    .action(async (opts: { top: string; system: string; traj: string; out?: string; precision: string; threads?: number; json?: boolean }) => {
      if (opts.precision !== 'float64' && opts.precision !== 'float32') {
        throw new InvalidArgumentError(`--precision must be float64 or float32, got "${opts.precision}"`);
      }
      const bar = lazyBar('energy', opts.json || !opts.out);
      try {
        const toStdout = !opts.out && !opts.json;
        const r = await energyCommand(
          { ...opts, precision: opts.precision, onProgress: (d, t) => bar.update(d, t) },
          toStdout ? (text) => process.stdout.write(text) : undefined,
        );
        bar.stop();
        if (opts.json) console.log(JSON.stringify(r));
        else if (opts.out) console.log(`energies of ${r.frames} frames written to ${r.out}: total ${r.mean.total.toFixed(2)} ± ${r.std.total.toFixed(2)} kJ/mol`);
      } finally {
        bar.stop();
      }
    });

  cli
    .command('evaluate')
    .description('compare a backmapped trajectory with reference MD: metrics.json and a self-contained index.html with plots')
    .requiredOption('--top <pdb>', 'atomistic topology (PDB)')
    .requiredOption('--system <xml>', 'OpenMM System XML (energies, bond graph, angles)')
    .option('--ref <file>', 'reference atomistic trajectory; repeat for several (each its own trajectory)', collect, [])
    .option('--traj <file>', 'backmapped trajectory; repeat for several (each its own trajectory)', collect, [])
    .requiredOption('--out <dir>', 'report folder (created): metrics.json, index.html')
    .option('--dt-ps <ps>', 'ps between frames', positiveNumber, 1)
    .option('--map <auto|ca|adp|file.json>', 'CG beads, for the non-bead velocities (auto: adp for a dipeptide, else ca)', 'auto')
    .option('--lags <list>', 'MSM lags in frames, comma-separated (default 1,2,5,10,20,50 that fit)', (v: string) =>
      v.split(',').map((x) => {
        const n = Number(x.trim());
        if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected positive integers separated by commas, got "${v}"`);
        return n;
      }),
    )
    .option('--msm-lag <n>', 'lag of the compared MSM eigenvectors, frames', positiveInt, 5)
    .option('--tica-lag <n>', 'TICA lag for proteins, frames', positiveInt, 10)
    .option('--clusters <k>', 'k-means centres (default 100 for φ/ψ, 150 for TICA)', positiveInt)
    .option('--bootstrap <n>', 'bootstrap samples for the timescale error bars', positiveInt, 20)
    .option('--seed <s>', 'seed of k-means++ and the bootstrap', integer, 1)
    .option('--threads <n>', 'libtorch threads for the energies (default: every core)', positiveInt)
    .option('--json', 'print one JSON object')
    .action(async (opts: {
      top: string; system: string; ref: string[]; traj: string[]; out: string; dtPs: number; map: string; lags?: number[];
      msmLag: number; ticaLag: number; clusters?: number; bootstrap: number; seed: number; threads?: number; json?: boolean;
    }) => {
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
        report(
          opts.json,
          { out: opts.out, metrics: r.files.metrics, html: r.files.html, summary: s, subsampling: r.metrics.subsampling, seconds: r.metrics.seconds },
          `evaluated ${r.metrics.inputs.framesTraj.reduce((a, b) => a + b, 0)} frames vs ${r.metrics.inputs.framesRef.reduce((a, b) => a + b, 0)} reference frames: ` +
            `energy W1 ${f(s.energyW1)} kJ/mol, bonds ${f(s.bondMeanW1Nm)} nm, angles ${f(s.angleMeanW1Deg)} deg, FES JS ${f(s.fesJensenShannon)}, ` +
            `slowest timescale ${f(s.slowestTimescalePs.backmapped)} vs ${f(s.slowestTimescalePs.reference)} ps, velocity scale ${f(s.velocityScale)}; ` +
            `report in ${r.files.html} (${r.metrics.seconds.toFixed(1)} s)`,
        );
      } finally {
        bar?.stop();
      }
    });

  cli
    .command('train')
    .description('train a backmapping model on atomistic trajectories (each --traj file is its own trajectory)')
    .requiredOption('--top <pdb>', 'atomistic topology (PDB)')
    .option('--traj <file>', 'atomistic trajectory (.dcd, .xtc, .pdb); repeat for several', collect, [])
    .requiredOption('--system <xml>', 'OpenMM System XML of the molecule in vacuum (energy loss, bond graph, masses)')
    .requiredOption('--map <ca|adp|file.json>', 'CG mapping: a preset or a JSON bead file')
    .option('--preset <name>', `model preset: ${PRESET_NAMES.join(', ')} (default adp-cpu for --map adp, else cln-cpu; with --resume, continue under this preset's schedule)`)
    .option('--steps <n>', 'training steps in all, counting resumed ones (default: the preset\'s)', positiveInt)
    .option('--batch <n>', 'batch size (default: the preset\'s)', positiveInt)
    .option('--threads <n>', 'libtorch threads (default: every core)', positiveInt)
    .option('--seed <s>', 'random seed: the same seed gives the same run on one machine', integer, 1)
    .requiredOption('--out <model.tcbm>', 'model file to write')
    .option('--resume <checkpoint>', 'continue a run from its checkpoint, exactly as if uninterrupted')
    .option('--checkpoint <file>', 'checkpoint file (default <out>.ckpt)')
    .option('--checkpoint-every <k>', 'steps between checkpoints', positiveInt, 500)
    .option('--log <file>', 'JSON-lines log of every step (default <out>.log.jsonl)')
    .option('--frame-based', 'the ablation: condition on C(t) only, never on the previous frame')
    .option('--validate <file>', 'held-out atomistic trajectory for validation during training; repeat for several', collect, [])
    .option('--validate-every <k>', "steps between validations (default: the preset's, else 250)", positiveInt)
    .option('--dry-run', 'load everything, print the model size and stop')
    .option('--json', 'print one JSON object')
    .action(async (opts: Parameters<typeof trainCommand>[0]) => {
      const s = await trainCommand(opts);
      if (opts.json) {
        console.log(JSON.stringify(s));
      } else if (opts.dryRun) {
        console.log(`preset ${s.preset}: ${s.parameters.toLocaleString('en-US')} parameters, ${s.pairs} training pairs, ${s.steps} steps planned`);
      } else if (s.interrupted) {
        console.log(`interrupted at step ${s.steps}: checkpoint saved to ${s.checkpoint} (continue with --resume ${s.checkpoint})`);
      } else {
        const f = s.last100;
        const losses = f
          ? `last ${s.last100Steps} steps: coord ${f.coord.toExponential(2)} nm², edm ${f.edm.toExponential(2)}, energy ${f.energy.toExponential(2)}, kl ${f.kl.toFixed(2)}`
          : 'no steps left to run (the checkpoint was already there)';
        console.log(`trained ${s.preset} (${s.parameters.toLocaleString('en-US')} parameters) for ${s.steps} steps in ${s.seconds.toFixed(0)} s; ${losses}; wrote ${s.out}`);
      }
      if (s.interrupted) process.exitCode = 130;
    });

  return cli;
}

export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined; // a command may set it (130 after an interrupted train)
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0; // e.g. 130 after an interrupted train
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed its one line
    console.error(`tcbackmap: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  }
}

// The tcbackmap command line. Bad input ends with one line naming the problem
// and a non-zero exit, never a stack trace; long work shows progress on a TTY
// and a summary line at the end; --json prints one JSON object instead.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { convert } from './convert';
import { info } from './info';
import { progress } from './progress';
import { selfCheck } from './selfcheck';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
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
      if (check && !check.ok) throw new Error('the kernel check failed: this build computes wrong results');
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

  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed its one line
    console.error(`tcbackmap: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  }
}

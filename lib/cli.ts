// The tcbackmap command line. Bad input ends with one line naming the problem
// and a non-zero exit, never a stack trace.
import { Command, CommanderError } from 'commander';
import { info } from './info';
import { selfCheck } from './selfcheck';

function program(): Command {
  const cli = new Command('tcbackmap')
    .description('Temporally coherent backmapping of coarse-grained trajectories to atomistic resolution')
    .showHelpAfterError('(run "tcbackmap --help" for usage)')
    .exitOverride();

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
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed its message
    console.error(`tcbackmap: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  }
}

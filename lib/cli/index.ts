// The tcbackmap command line. Bad input ends with one line naming the problem
// and a non-zero exit, never a stack trace; long work shows progress on a TTY
// and a summary line at the end; --json prints one JSON object instead.
// This file builds the program; each command's action is lib/cli/<command>.ts.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import * as os from 'os';
import { deviceProblem, isDeviceName, type Device } from '../core/device';
import { packageVersion } from '../core/native';
import { removeLiveTemps } from '../io/atomic';
import { PRESET_NAMES, TRAINING_PRECISIONS, type TrainingPrecision } from '../model/presets';
import { backmapCommand } from './backmap';
import { coarseGrainCommand } from './coarse-grain';
import { convertCommand, concatCommand } from './convert';
import { parseShard, type Shard } from '../inference/shard';
import { demoCommand } from './demo';
import { energyCommand } from './energy';
import { evaluateCommand } from './evaluate';
import { infoCommand } from './info';
import { trainCommand, type TrainCommandOptions } from './train';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** A thread count: at most the cores here (more only oversubscribes them), with a warning when capped. */
function threadCount(value: string): number {
  const n = positiveInt(value);
  const cores = os.availableParallelism();
  if (n <= cores) return n;
  process.emitWarning(`--threads ${n} is more than the ${cores} cores here; using ${cores}`, 'TcbmWarning');
  return cores;
}

function shardOption(value: string): Shard {
  const shard = parseShard(value);
  if (!shard) throw new InvalidArgumentError(`expected i/n with 0 ≤ i < n (e.g. 0/4), got "${value}"`);
  return shard;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

/** A parser accepting one of `values`: commander's one-line error (exit 2) otherwise. */
function oneOf<T extends string>(...values: T[]): (value: string) => T {
  return (value) => {
    if (!(values as string[]).includes(value)) throw new InvalidArgumentError(`expected ${values.join(', ').replace(/, ([^,]*)$/, ' or $1')}, got "${value}"`);
    return value as T;
  };
}

function precision(value: string): TrainingPrecision {
  if (!(TRAINING_PRECISIONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${TRAINING_PRECISIONS.join(' or ')}, got "${value}"`);
  }
  return value as TrainingPrecision;
}

/**
 * An option refused with a message that is the whole story (no usage hint):
 * one line and exit 2, like commander's own usage errors.
 */
class OptionError extends Error {}

/** --device: well formed, and one this libtorch can run on, before any work starts. */
function device(value: string): Device {
  if (!isDeviceName(value)) throw new OptionError(`--device ${value}: expected cpu, cuda or cuda:N`);
  const problem = deviceProblem(value);
  if (problem) throw new OptionError(`--device ${value}: ${problem}; use --device cpu`);
  return value;
}

const DEVICE_HELP = 'libtorch device: cpu, cuda or cuda:N (CUDA is untested: no GPU on the development machines)';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return n;
}

function noiseLevel(value: string): number | 'auto' {
  if (value === 'auto') return value;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected "auto" or a noise level in nm in [0, 1), got "${value}"`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

/** A command's action for commander: runs it; the summary it returns is already printed. */
function run<O>(command: (opts: O) => Promise<unknown>): (opts: O) => Promise<void> {
  return async (opts) => {
    await command(opts);
  };
}

function program(): Command {
  const cli = new Command('tcbackmap')
    .description('Temporally coherent backmapping of coarse-grained trajectories to atomistic resolution')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // usage errors are one line too, with the pointer to --help on it
    .configureOutput({ outputError: (str, write) => write(`tcbackmap: ${str.replace(/^error: /, '').trimEnd()} (run "tcbackmap --help" for usage)\n`) });

  cli
    .command('info')
    .description('show the package and libtorch versions, device and threads, and check that the addon loads')
    .option('--check', 'also run the kernels once and check their results')
    .option('--json', 'print one JSON object')
    .action(run(infoCommand));

  cli
    .command('convert')
    .description('convert a trajectory between DCD, XTC and multi-model PDB (chosen by extension)')
    .option('--top <pdb>', 'topology PDB (checks the atom count; needed to write PDB from DCD/XTC)')
    .requiredOption('--traj <file>', 'input trajectory (.dcd, .xtc, .pdb) (required)')
    .requiredOption('--out <file>', 'output trajectory (.dcd, .xtc, .pdb) (required)')
    .option('--precision <p>', 'XTC precision in 1/nm', positiveNumber, 1000)
    .option('--json', 'print one JSON object')
    .action(run(convertCommand));

  cli
    .command('demo')
    .description('a bundled model and sample end to end, offline: coarse-grain, backmap, compare')
    .option('--out <dir>', 'folder for the outputs', 'tcbackmap-demo')
    .option('--molecule <adp|cln>', 'alanine dipeptide (1,000 frames) or chignolin (200 frames)', 'adp')
    .option('--threads <n>', 'libtorch threads (default: every core)', threadCount)
    .option('--relax', "refine each frame with the molecule's measured --relax settings (README, backmap --relax)")
    .option('--json', 'print one JSON object')
    // demo() refuses a molecule it has no bundled set for
    .action(run(demoCommand));

  cli
    .command('coarse-grain')
    .description("map an atomistic trajectory to CG beads with a model's mapping")
    .requiredOption('--model <model.tcbm>', 'a trained model (its mapping and topology) (required)')
    .requiredOption('--traj <file>', 'atomistic trajectory (required)')
    .requiredOption('--out <file>', 'CG trajectory to write (.dcd, .xtc) (required)')
    .option('--json', 'print one JSON object')
    .action(run(coarseGrainCommand));

  cli
    .command('backmap')
    .description('backmap a CG trajectory (beads in the model\'s order) to atomistic resolution')
    .requiredOption('--model <model.tcbm>', 'a trained model (required)')
    .requiredOption('--cg <file>', 'CG trajectory (.dcd, .xtc, .pdb) (required)')
    .requiredOption('--out <file>', 'atomistic trajectory to write (.dcd, .xtc, .pdb) (required)')
    .option('--segments <k>', 'split into K contiguous segments rolled out as one batch (K-1 seams)', positiveInt, 1)
    .option('--shard <i/n>', 'only the i-th (from 0) of n contiguous pieces, computed as segment i of --segments n; join the pieces with `tcbackmap concat`', shardOption)
    .option('--seed <s>', 'seed of the latent samples: the same seed gives the same output', integer, 1)
    .option('--precision <fp32|bf16>', "decoder arithmetic: bf16 runs its convolutions in bf16 (oneDNN; opt-in, fast with AVX512-BF16; coordinates within ~1e-3 nm of fp32's per step)", precision, 'fp32')
    .option('--samples <S>', 'S independent rollouts (seeds seed..seed+S-1) run in lockstep, written to S files: out.0.dcd, out.1.dcd, ...', positiveInt, 1)
    .option('--threads <n>', 'libtorch threads (default: every core)', threadCount)
    .option('--device <cpu|cuda|cuda:N>', `${DEVICE_HELP}; --relax runs on the CPU`, device, 'cpu')
    .option('--cg-noise <nm|auto>', "how rough the CG input is, nm of Gaussian noise per bead coordinate (0: MD-quality CG, taken as it is); auto: estimated from its CG bond lengths. Rough input is denoised first (a model trained with a noise input is told the level instead)", noiseLevel, 'auto')
    .option('--exact-cg', "move each frame onto its CG frame exactly (bead atoms on their beads); default: the network's output as is")
    .option('--relax', "refine each frame with the model's force field (restrained FIRE minimisation, chirality repair) before it is written")
    .option('--relax-steps <n>', 'minimisation steps per frame with --relax', positiveInt, 200)
    .option('--restraint <k>', 'kJ/mol/nm² holding every atom near the network\'s output with --relax', nonNegativeNumber, 200)
    .option('--relax-condition <refined|raw>', 'which frame conditions the next step with --relax', oneOf('refined', 'raw'), 'refined')
    .option('--relax-temperature <K>', 'with --relax: restrained Langevin dynamics at this temperature after the minimisation (thermal energies)', nonNegativeNumber, 0)
    .option('--relax-thermal-steps <n>', 'with --relax-temperature: steps of that dynamics (default: 200 fs of it)', positiveInt)
    .option('--relax-timestep <fs>', 'with --relax-temperature: its step (default: 2 fs when every bond to hydrogen is held rigid, else 1 fs)', positiveNumber)
    .option('--relax-constraints <auto|hbonds|none>', "with --relax-temperature: bonds to hydrogen held rigid in the dynamics (auto: those rigid in the model's own frames)", oneOf('auto', 'hbonds', 'none'), 'auto')
    .option('--relax-dielectric <eps>', 'with --relax: relative permittivity screening the Coulomb energy while frames are refined (a vacuum System of a solvated molecule; chignolin: 4)', positiveNumber, 1)
    .option('--system <xml>', "the model's OpenMM System XML, for --relax with a model that does not store it")
    .option('--json', 'print one JSON object')
    .action(run(backmapCommand));

  cli
    .command('energy')
    .description('per-frame internal energy per OpenMM force (kJ/mol), as CSV')
    .requiredOption('--top <pdb>', 'topology (PDB) (required)')
    .requiredOption('--system <xml>', 'OpenMM System XML (required)')
    .requiredOption('--traj <file>', 'trajectory (.dcd, .xtc, .pdb) (required)')
    .option('--out <csv>', 'CSV file to write (default: standard output)')
    .option('--precision <p>', 'float64 (default) or float32', 'float64')
    .option('--threads <n>', 'libtorch threads', threadCount)
    .option('--json', 'print one JSON object (a summary; rows go to --out)')
    .action(run(energyCommand));

  cli
    .command('evaluate')
    .description('compare a backmapped trajectory with reference MD: metrics.json and a self-contained index.html with plots')
    .requiredOption('--top <pdb>', 'atomistic topology (PDB) (required)')
    .requiredOption('--system <xml>', 'OpenMM System XML (energies, bond graph, angles) (required)')
    .option('--ref <file>', 'reference atomistic trajectory; repeat for several (each its own trajectory)', collect, [])
    .option('--traj <file>', 'backmapped trajectory; repeat for several (each its own trajectory)', collect, [])
    .requiredOption('--out <dir>', 'report folder (created): metrics.json, index.html (required)')
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
    .option('--samples <S>', 'each --traj names a `backmap --samples S` output: read its S files (out.0.dcd …), pool them, and report their spread', positiveInt, 1)
    .option('--model <model.tcbm>', "add a latent-space section: the model's encoder on the reference pairs (PCA of the posterior means coloured by energy, the latent mixture, KL per dimension)")
    .option('--latent-pairs <n>', 'with --model: at most this many reference pairs encoded, evenly spaced', positiveInt, 5000)
    .option('--threads <n>', 'libtorch threads for the energies and the --model encoder (default: every core)', threadCount)
    .option('--device <cpu|cuda|cuda:N>', `${DEVICE_HELP}, for the energies`, device, 'cpu')
    .option('--json', 'print one JSON object')
    .action(run(evaluateCommand));

  cli
    .command('concat')
    .description('join the outputs of backmap --shard 0/n … (n-1)/n into one trajectory, in order, checking that they are one run, consecutive and complete')
    .argument('<shards...>', "the shards' outputs (.dcd, .xtc), in any order; each with its .shard.json beside it")
    .requiredOption('--out <file>', 'trajectory to write (.dcd, .xtc) (required)')
    .option('--json', 'print one JSON object')
    .action((shards: string[], o: { out: string; json?: boolean }) => concatCommand({ shards, ...o }).then(() => undefined));

  cli
    .command('train')
    .description('train a backmapping model on atomistic trajectories (each --traj file is its own trajectory)')
    .requiredOption('--top <pdb>', 'atomistic topology (PDB) (required)')
    .option('--traj <file>', 'atomistic trajectory (.dcd, .xtc, .pdb); repeat for several', collect, [])
    .requiredOption('--system <xml>', 'OpenMM System XML of the molecule in vacuum (energy loss, bond graph, masses) (required)')
    .requiredOption('--map <ca|adp|file.json>', 'CG mapping: a preset or a JSON bead file (required)')
    .option('--preset <name>', `model preset: ${PRESET_NAMES.join(', ')} (default adp-cpu for --map adp, else cln-cpu; with --resume or --init, continue under this preset's schedule)`)
    .option('--steps <n>', 'training steps in all, counting resumed ones (default: the preset\'s)', positiveInt)
    .option('--batch <n>', 'batch size (default: the preset\'s)', positiveInt)
    .option('--precision <fp32|bf16>', "training arithmetic: bf16 runs the convolutions under bf16 autocast with fp32 master weights (CPU; default: the preset's, fp32)", precision)
    .option('--threads <n>', 'libtorch threads (default: every core)', threadCount)
    .option('--device <cpu|cuda|cuda:N>', DEVICE_HELP, device, 'cpu')
    .option('--seed <s>', 'random seed: the same seed gives the same run on one machine', integer, 1)
    .requiredOption('--out <model.tcbm>', 'model file to write (required)')
    .option('--resume <checkpoint>', 'continue a run from its checkpoint, exactly as if uninterrupted')
    .option('--init <model.tcbm>', "start from a finished model's weights (a shipped one, or a run whose checkpoint is lost) at the step it was trained to, with a fresh optimiser; --preset (same architecture) changes the schedule")
    .option('--checkpoint <file>', 'checkpoint file (default <out>.ckpt)')
    .option('--checkpoint-every <k>', 'steps between checkpoints', positiveInt, 500)
    .option('--keep-every <k>', 'also write a finished model <out>.step-N.tcbm every K steps (to choose among by a held-out figure)', positiveInt)
    .option('--keep-from <step>', 'with --keep-every: keep no model before this step', nonNegativeInt)
    .option('--log <file>', 'JSON-lines log of every step (default <out>.log.jsonl)')
    .option('--frame-based', 'the ablation: condition on C(t) only, never on the previous frame')
    .option('--validate <file>', 'held-out atomistic trajectory for validation during training; repeat for several', collect, [])
    .option('--validate-every <k>', "steps between validations (default: the preset's, else 250)", positiveInt)
    .option('--dry-run', 'load everything, print the model size and stop')
    .option('--distributed', 'data-parallel training with the other ranks of a c10d (Gloo) group; where to find them comes from the options below, else MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK (torchrun), else SLURM_PROCID, SLURM_NTASKS')
    .option('--rank <r>', 'with --distributed: this process\'s rank (0 writes the model)', nonNegativeInt)
    .option('--world-size <n>', 'with --distributed: how many ranks', positiveInt)
    .option('--master-addr <host>', 'with --distributed: rank 0\'s address (default 127.0.0.1)')
    .option('--master-port <port>', 'with --distributed: rank 0\'s rendezvous port (default 29500)', positiveInt)
    .option('--dist-timeout <s>', 'with --distributed: seconds before a missing or silent rank fails the run', positiveNumber, 60)
    .option('--json', 'print one JSON object')
    .action(run((o: TrainCommandOptions & { rank?: number; worldSize?: number; masterAddr?: string; masterPort?: number; distTimeout: number }) => {
      const { rank, worldSize, masterAddr, masterPort, distTimeout, distributed, ...rest } = o;
      const explicit = {
        ...(rank !== undefined ? { rank } : {}), ...(worldSize !== undefined ? { world: worldSize } : {}),
        ...(masterAddr !== undefined ? { addr: masterAddr } : {}), ...(masterPort !== undefined ? { port: masterPort } : {}),
        timeoutMs: distTimeout * 1000,
      };
      if (!distributed && (rank !== undefined || worldSize !== undefined || masterAddr !== undefined || masterPort !== undefined)) {
        throw new OptionError('--rank, --world-size, --master-addr and --master-port need --distributed');
      }
      return trainCommand({ ...rest, distributed: distributed ? explicit : undefined });
    }));

  return cli;
}

/**
 * Process-wide behaviour of the command line: warnings as one `tcbackmap:` line,
 * and SIGTERM ending a command that is not listening for it with its temporary
 * files removed (exit 143, as a shell reports a TERM).
 */
function installProcessHandlers(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => console.error(`tcbackmap: warning: ${w.message}`));
  process.on('SIGTERM', function onTerm() {
    if (process.listeners('SIGTERM').some((l) => l !== onTerm)) return; // a command aborts its own work
    removeLiveTemps();
    process.exit(143);
  });
}

let installed = false;

export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined; // a command may set it (130 after an interrupted train)
  if (!installed) {
    installed = true;
    installProcessHandlers();
  }
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0; // e.g. 130 after an interrupted train
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed its one line
    if (err instanceof OptionError) {
      console.error(`tcbackmap: ${err.message}`);
      return 2;
    }
    console.error(`tcbackmap: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  }
}

// npm run bench: every benchmark in one run, with the machine noted; figures are
// ratios measured side by side, since absolute times wander on a shared machine.
// `--only train,io` runs just those sections.
import { Command } from 'commander';
import { info } from '../lib/core/info';
import { machine } from './common';
import { benchVoxel } from './voxel';
import { benchEnergy } from './energy';
import { benchTrain } from './train';
import { benchIo } from './io';
import { benchBackmap } from './backmap';
import { benchRelax } from './relax';
import { benchRoofline } from './roofline';
import { benchDist } from './dist';

const SECTIONS = ['roofline', 'voxel', 'energy', 'train', 'dist', 'io', 'backmap', 'relax'] as const;
type Section = (typeof SECTIONS)[number];

function sections(list: string): Section[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const n of names) {
    if (!(SECTIONS as readonly string[]).includes(n)) {
      throw new Error(`--only: unknown section "${n}" (expected a comma-separated list of ${SECTIONS.join(', ')})`);
    }
  }
  return names as Section[];
}

async function main(): Promise<void> {
  const opts = new Command('bench')
    .option('--threads <n>', 'libtorch threads', (v) => Number(v), 2)
    .option('--repeats <n>', 'timed repetitions per case', (v) => Number(v), 20)
    .option('--train-repeats <n>', 'timed training steps per case and side', (v) => Number(v), 4)
    .option('--io-frames <n>', 'frames of the large XTC (the DCD gets a fifth)', (v) => Number(v), 1_000_000)
    .option('--backmap-frames <n>', 'CG frames of the backmapping memory run (the issue: 1M, or a projection from 100k)', (v) => Number(v), 100_000)
    .option('--only <sections>', `comma-separated subset of ${SECTIONS.join(', ')}`, sections, [...SECTIONS])
    .parse(process.argv)
    .opts<{ threads: number; repeats: number; trainRepeats: number; ioFrames: number; backmapFrames: number; only: Section[] }>();
  const i = info();
  console.log(`tcbackmap ${i.version} bench: libtorch ${i.torchVersion}, ${machine()}`);
  const run = new Set(opts.only);
  const peaks = run.has('roofline') ? await benchRoofline({ repeats: opts.repeats }) : undefined;
  if (run.has('voxel')) await benchVoxel(opts);
  if (run.has('energy')) await benchEnergy(opts);
  if (run.has('train')) await benchTrain({ threads: opts.threads, repeats: opts.trainRepeats });
  if (run.has('dist')) await benchDist();
  if (run.has('io')) await benchIo({ threads: opts.threads, frames: opts.ioFrames });
  if (run.has('backmap')) await benchBackmap({ rssFrames: opts.backmapFrames, peaks });
  if (run.has('relax')) await benchRelax();
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});

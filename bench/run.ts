// npm run bench: every benchmark in one run, with the machine noted; figures are
// ratios measured side by side, since absolute times wander on a shared machine.
import { Command } from 'commander';
import { info } from '../lib/info';
import { machine } from './common';
import { benchVoxel } from './voxel';
import { benchEnergy } from './energy';

async function main(): Promise<void> {
  const opts = new Command('bench')
    .option('--threads <n>', 'libtorch threads', (v) => Number(v), 2)
    .option('--repeats <n>', 'timed repetitions per case', (v) => Number(v), 20)
    .parse(process.argv)
    .opts<{ threads: number; repeats: number }>();
  const i = info();
  console.log(`tcbackmap ${i.version} bench: libtorch ${i.torchVersion}, ${machine()}`);
  await benchVoxel(opts);
  await benchEnergy(opts);
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});

// One rank of the distributed-training bench (bench/dist.ts): trains `steps`
// steps of a preset on the bundled data, in a c10d group when world > 1, and
// prints one JSON line: the median step time and the gradient all-reduce's
// time and bytes per step. Usage:
//   node dist/bench/dist_worker.js PRESET MOLECULE RANK WORLD PORT THREADS STEPS
import * as path from 'path';
import { packageRoot } from '../lib/core/native';
import { loadDataset } from '../lib/model/dataset';
import { ProcessGroup } from '../lib/model/distributed';
import { Trainer } from '../lib/model/train';
import { median } from './common';

async function main(): Promise<void> {
  const [preset, molecule, rankText, worldText, portText, threadsText, stepsText] = process.argv.slice(2);
  const [rank, world, port, threads, steps] = [rankText, worldText, portText, threadsText, stepsText].map(Number);
  const dir = path.join(packageRoot, 'data', molecule === 'cln' ? 'chignolin' : 'adp');
  const data = await loadDataset({
    top: path.join(dir, molecule === 'cln' ? 'cln.pdb' : 'adp.pdb'),
    trajs: [path.join(dir, molecule === 'cln' ? 'test-200.dcd' : 'test-1000.dcd')],
    system: path.join(dir, 'system-vacuum.xml'),
    map: molecule === 'cln' ? 'ca' : 'adp',
  });
  const trainer = Trainer.create(data, { preset, seed: 1, threads });
  const group = world > 1 ? await ProcessGroup.join({ addr: '127.0.0.1', port, rank, world, localRank: rank, timeoutMs: 600_000 }) : undefined;
  try {
    if (group) await trainer.distribute(group);
    // Per step: its time, and the all-reduce's (which includes waiting for the
    // other rank to finish its backward; the minimum is closest to the transfer alone).
    const times: number[] = [];
    const reduces: number[] = [];
    let bytes = 0;
    for (let s = 0; s < steps; s++) {
      const before = group?.native.stats();
      const t0 = process.hrtime.bigint();
      await trainer.next();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const after = group?.native.stats();
      if (s === 0) continue; // the first step warms up
      times.push(ms);
      if (before && after) {
        reduces.push((after.seconds - before.seconds) * 1000);
        bytes = after.bytes - before.bytes;
      }
    }
    console.log(JSON.stringify({
      rank, world, threads, parameters: trainer.parameterCount, batch: trainer.settings.batch, stepMs: median(times),
      allreduceMs: reduces.length ? median(reduces) : 0, allreduceMinMs: reduces.length ? Math.min(...reduces) : 0, allreduceBytes: bytes,
    }));
  } finally {
    group?.close();
  }
}

main().catch((err: Error) => {
  console.error(`dist_worker: ${err.message.split('\n')[0]}`);
  process.exit(1);
});

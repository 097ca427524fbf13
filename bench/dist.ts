// Data-parallel training (train --distributed) on this machine: the training
// step of a preset as world size 2 × 1 thread (two processes, c10d Gloo over
// 127.0.0.1, the global batch split) against world size 1 × 2 threads, the
// gradient all-reduce's cost per step, and, from those measurements, a
// projection (not a measurement) of 8 machines on a 10 Gb/s link.
import { spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import { table } from './common';

interface RankResult {
  rank: number;
  world: number;
  threads: number;
  parameters: number;
  batch: number;
  stepMs: number;
  allreduceMs: number;
  allreduceMinMs: number;
  allreduceBytes: number;
}

const WORKER = path.join(__dirname, 'dist_worker.js');

function worker(args: (string | number)[]): Promise<RankResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as RankResult) : reject(new Error(err.trim() || `worker exited ${code}`))));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Ring all-reduce of `bytes` over p machines: 2(p−1)/p of the data each way, 2(p−1) latency hops. */
export function ringAllreduceSeconds(bytes: number, p: number, bytesPerSecond: number, hopSeconds: number): number {
  return (2 * (p - 1) * bytes) / (p * bytesPerSecond) + 2 * (p - 1) * hopSeconds;
}

export async function benchDist({ steps = 6 }: { steps?: number } = {}): Promise<void> {
  console.log(`\ndistributed training (train --distributed): one step of the global batch, median of ${steps - 1} after a warm-up`);
  const rows: (string | number)[][] = [['preset', 'parameters', 'gradient MB', '1 × 2 thr s/step', '2 × 1 thr s/step', '2×1 / 1×2 throughput', 'all-reduce ms (min / median)', 'projected 8 × 2 thr speed-up']];
  for (const [preset, molecule] of [['adp', 'adp'], ['cln', 'cln']]) {
    const one = await worker([preset, molecule, 0, 1, 0, 2, steps]);
    const port = await freePort();
    const [r0, r1] = await Promise.all([worker([preset, molecule, 0, 2, port, 1, steps]), worker([preset, molecule, 1, 2, port, 1, steps])]);
    const two = Math.max(r0.stepMs, r1.stepMs);
    const reduce = Math.min(r0.allreduceMinMs, r1.allreduceMinMs);
    // Projection: 8 machines, one rank of 2 threads each, the same global batch: each
    // computes B/8 at the per-sample rate measured here at B on 2 threads (linear in
    // the batch: optimistic for small shares), then a ring all-reduce of the measured
    // gradient over 10 Gb/s (1.25 GB/s) with 50 µs per hop, not overlapped with the
    // backward pass (as implemented).
    const compute8 = one.stepMs / 1000 / 8;
    const ring8 = ringAllreduceSeconds(r0.allreduceBytes, 8, 1.25e9, 50e-6);
    const speedup8 = one.stepMs / 1000 / (compute8 + ring8);
    rows.push([
      preset, one.parameters, r0.allreduceBytes / 1e6, one.stepMs / 1000, two / 1000, one.stepMs / two,
      `${reduce.toFixed(1)} / ${Math.max(r0.allreduceMs, r1.allreduceMs).toFixed(1)}`, `${speedup8.toFixed(1)}× (ring ${(ring8 * 1000).toFixed(1)} ms)`,
    ]);
  }
  table(rows);
  console.log('  all-reduce: Gloo over loopback, gradients in 25 MiB buckets; its median includes waiting for the slower rank, its minimum is closest to the transfer alone');
  console.log('  projected 8 × 2 thr: each machine computes an eighth of the global batch at the per-sample rate of the 1 × 2 thr run, then a ring all-reduce over 10 Gb/s (50 µs per hop): a projection, not a measurement');
}

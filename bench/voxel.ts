// voxelize + collapse, forward + backward through autograd at the paper's ADP
// batch: our fused kernels vs our tensor paths vs the PyTorch mirror, one run.
import { native } from '../lib/core/native';
import { median, runPython, table } from './common';

export interface VoxelBenchOptions {
  threads: number;
  repeats: number;
}

export async function benchVoxel({ threads, repeats }: VoxelBenchOptions): Promise<Record<string, number>> {
  const shape = { batch: 32, particles: 50, grid: 12, width: 1.8, sigma: 0.05398 };
  console.log(`\nvoxelize + collapse, forward + backward (B=32, N=50, G=12, ADP grid), ${threads} threads, median of ${repeats}`);
  const ms: Record<string, number> = {};
  for (const impl of ['fused', 'tensor', 'reference'] as const) {
    ms[`ours ${impl}`] = median(await native().timeVoxelRoundTrip({ ...shape, impl, threads, repeats }));
  }
  const py = runPython<{ torch: string; direct: number[]; separable: number[] }>('voxel_torch.py', [
    '--threads', String(threads), '--repeats', String(repeats),
  ]);
  if (py) {
    ms[`PyTorch ${py.torch} direct formula`] = median(py.direct);
    ms[`PyTorch ${py.torch} separable`] = median(py.separable);
  }
  const fused = ms['ours fused'];
  const labels: Record<string, string> = {
    'ours fused': 'fused CPU kernels (libtorch autograd Function)',
    'ours tensor': 'our device-agnostic tensor path (the CUDA path)',
    'ours reference': 'our direct formula, plain autograd (reference)',
  };
  table([
    ['implementation', 'ms/iter', 'x slower than fused'],
    ...Object.entries(ms).map(([k, v]) => [labels[k] ?? k, v, v / fused]),
  ]);
  console.log(`  fused vs tensor-expression reference: ${(ms['ours reference'] / fused).toFixed(1)}x faster (goal >= 5x)`);
  return ms;
}

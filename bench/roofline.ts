// The machine's roofline, so every speed in the README can be stated as a
// fraction of it: the best rate of our GEMM kernels (the Winograd products: fp32
// on AVX-512 and on the AVX2 fallback, bf16 on AVX512-BF16) and of libtorch's fp32
// and bf16 matrix products (1536³) and 3×3×3 convolutions
// (64 → 64 channels on a 12³ grid, batch 32: forward, and forward + backward as
// training runs them), on 1 and 2 threads. Rates are of the nominal FLOPs
// (2·M·N·K; 2·B·G³·Cin·Cout·27, ×3 with backward), best of `repeats`.
import { native } from '../lib/core/native';
import { table } from './common';

export interface RooflineOptions {
  repeats: number;
}

const OPS: { op: string; label: string; size: number }[] = [
  { op: 'ours-gemm-fp32', label: `our GEMM kernel, fp32 (${native().info().winogradKernel}, 1536³)`, size: 1536 },
  { op: 'ours-gemm-fp32-avx2', label: 'our GEMM kernel, fp32, the AVX2/FMA fallback (1536³)', size: 1536 },
  ...(native().info().bf16Winograd ? [{ op: 'ours-gemm-bf16', label: 'our GEMM kernel, bf16 (AVX512-BF16, fp32 accumulation, 1536³)', size: 1536 }] : []),
  { op: 'libtorch-mm-fp32', label: 'libtorch at::mm, fp32 (1536³)', size: 1536 },
  { op: 'libtorch-mm-bf16', label: 'libtorch at::mm, bf16 (oneDNN, 1536³)', size: 1536 },
  { op: 'libtorch-conv3d-fp32', label: 'libtorch conv3d 64→64, 12³, batch 32, fp32, forward', size: 64 },
  { op: 'libtorch-conv3d-bf16', label: 'libtorch conv3d 64→64, 12³, batch 32, bf16, forward', size: 64 },
  { op: 'libtorch-conv3d-fp32-train', label: 'the same, fp32, forward + backward', size: 64 },
  { op: 'libtorch-conv3d-bf16-train', label: 'the same, bf16, forward + backward', size: 64 },
];

/** Prints the roofline table; resolves with GFLOP/s per op and thread count. */
export async function benchRoofline({ repeats }: RooflineOptions): Promise<Record<string, number>> {
  console.log(`\nroofline: best of ${Math.min(repeats, 5)} runs after a warm-up, GFLOP/s of the nominal FLOPs`);
  const rates: Record<string, number> = {};
  const rows: (string | number)[][] = [['kernel', '1 thread', '2 threads']];
  for (const { op, label, size } of OPS) {
    const row: (string | number)[] = [label];
    for (const threads of [1, 2]) {
      const r = await native().roofline({ op, size, threads, repeats: Math.min(repeats, 5) });
      rates[`${op}, ${threads} threads`] = r.gflops;
      row.push(Number(r.gflops.toFixed(0)));
    }
    rows.push(row);
  }
  table(rows);
  return rates;
}

// What this install runs on: package and libtorch versions, device, threads.
import { DEFAULT_DEVICE, cudaInfo, type Device } from './device';
import { defaultThreads, native, packageVersion } from './native';

export interface Info {
  version: string;
  torchVersion: string;
  /** whether this libtorch can run on CUDA (a CUDA build that sees a GPU) */
  cuda: boolean;
  /** CUDA devices seen: 0 without CUDA; null when CUDA is there but the addon cannot count them */
  cudaDevices: number;
  /** the device train, backmap and evaluate use unless given another (--device, options.device) */
  device: Device;
  /** this build has libtorch's c10d with Gloo: train --distributed works */
  distributed: boolean;
  /**
   * The CPU kernels of backmapping's Winograd convolutions: the fp32 GEMM chosen for this
   * CPU ("avx512", "avx2", or "none": then at::conv3d), and whether `precision: 'bf16'`
   * runs them with bf16 products (AVX512-BF16; otherwise oneDNN's bf16 convolutions).
   */
  winograd: { kernel: string; bf16: boolean };
  /** The force-field energy's nonbonded loop: "avx512" (8 pairs at a time) or "scalar". */
  energyKernel: string;
  /** Threads libtorch jobs use by default (TCBM_THREADS or every core). */
  threads: number;
  /** libtorch's own report of its parallel backend. */
  parallel: string;
}

export function info(): Info {
  const n = native().info();
  const cuda = cudaInfo();
  return {
    version: packageVersion(), torchVersion: n.torchVersion, cuda: cuda.available, cudaDevices: cuda.devices, device: DEFAULT_DEVICE,
    distributed: native().distributed, winograd: { kernel: n.winogradKernel, bf16: n.bf16Winograd },
    energyKernel: n.energyKernel,
    threads: defaultThreads(), parallel: n.parallel,
  };
}

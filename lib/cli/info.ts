// `tcbackmap info`: the package and libtorch versions, device and threads,
// and with --check a run of the kernels against their reference.
import { TcbmError } from '../core/errors';
import { info, type Info } from '../core/info';
import { selfCheck, type SelfCheck } from '../core/selfcheck';

export interface InfoCommandOptions {
  check?: boolean;
  json?: boolean;
}

/** What --json prints: the versions, device and threads, and the kernel check if run. */
export type InfoSummary = Omit<Info, 'parallel'> & { check?: SelfCheck };

export async function infoCommand(opts: InfoCommandOptions): Promise<InfoSummary> {
  const i = info();
  const check = opts.check ? await selfCheck() : undefined;
  const { parallel: _, ...summary } = i;
  const result: InfoSummary = { ...summary, check };
  if (opts.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`tcbackmap ${i.version}`);
    console.log(`libtorch ${i.torchVersion}, ${i.cuda ? 'CUDA available' : 'CPU only'}, ${i.threads} threads`);
    const devices = `${i.cudaDevices} device${i.cudaDevices === 1 ? '' : 's'}`;
    console.log(`device: ${i.device} (what train, backmap and evaluate use; choose with --device)`);
    console.log(`cuda: ${i.cuda ? 'available' : 'not available'}, ${devices}`);
    const wino = i.winograd.kernel === 'none' ? 'at::conv3d (no AVX2/FMA: no Winograd kernel)' : `Winograd, ${i.winograd.kernel} GEMM kernel`;
    console.log(`backmapping convolutions: ${wino}; --precision bf16: ${i.winograd.bf16 ? 'Winograd with bf16 products (AVX512-BF16)' : "oneDNN's bf16 convolutions, emulated (no AVX512-BF16 on this CPU: slower than fp32)"}`);
    console.log(`force-field energy (training, relax, evaluate): ${i.energyKernel === 'avx512' ? 'AVX-512 nonbonded loop' : 'scalar nonbonded loop'}`);
    console.log(`distributed training: ${i.distributed ? 'c10d with Gloo (train --distributed)' : 'not in this build (needs Gloo headers: apt-get install libgloo-dev, then npm rebuild)'}`);
    if (check) {
      console.log(
        `check ${check.ok ? 'passed' : 'FAILED'}: voxelize -> collapse of ${check.particles} particles back to ` +
          `${check.roundTripError.toExponential(1)} nm; fused = reference to ${check.fusedVsReference.toExponential(1)} ` +
          `(${check.ms.toFixed(0)} ms)`,
      );
    }
  }
  if (check && !check.ok) throw new TcbmError('ERR_ADDON_LOAD', 'the kernel check failed: this build computes wrong results');
  return result;
}

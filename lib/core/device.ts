// The libtorch device a job runs on: "cpu" (the default), "cuda" or "cuda:N".
// Checked here, before anything is loaded or computed, so that a device this
// libtorch cannot use is one clear message rather than a c10::Error mid-run.
import { TcbmError, invalidType, outOfRange } from './errors';
import { native } from './native';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export const DEFAULT_DEVICE: Device = 'cpu';

const DEVICE_NAME = /^(cpu|cuda)(:\d+)?$/;

export function isDeviceName(value: string): value is Device {
  return DEVICE_NAME.test(value);
}

/** What libtorch here offers: CUDA, and how many devices it sees. */
export interface CudaInfo {
  available: boolean;
  devices: number;
}

export function cudaInfo(): CudaInfo {
  const n = native().info(); // at::hasCUDA(): a CUDA build that sees a GPU
  return { available: n.cuda, devices: n.cudaDevices };
}

/** A well-formed device name ("cpu", "cuda", "cuda:N"), whether or not this libtorch can use it. */
export function deviceName(device: unknown, name = 'options.device'): Device {
  if (typeof device !== 'string') throw invalidType('device string', name, device);
  if (!isDeviceName(device)) throw outOfRange('"cpu", "cuda" or "cuda:N"', name, device);
  return device;
}

/** Why this libtorch cannot run on `device`, or undefined when it can (as far as the addon can tell). */
export function deviceProblem(device: Device): string | undefined {
  if (!device.startsWith('cuda')) return undefined;
  const cuda = cudaInfo();
  if (!cuda.available) return 'this libtorch has no CUDA (a CPU-only build, or no GPU or driver found)';
  const index = device === 'cuda' ? 0 : Number(device.slice(5));
  if (index >= cuda.devices) return `this libtorch sees ${cuda.devices} CUDA device(s), cuda:0 to cuda:${cuda.devices - 1}`;
  return undefined;
}

/** `device` (default "cpu") checked for form and for this libtorch: the device a job will run on. */
export function checkDevice(device: unknown, name = 'options.device'): Device {
  const d = device === undefined ? DEFAULT_DEVICE : deviceName(device, name);
  const problem = deviceProblem(d);
  if (problem) throw new TcbmError('ERR_UNSUPPORTED', `${name} ${d}: ${problem}; use cpu`);
  return d;
}

/**
 * Whether this CPU does bf16 arithmetic natively (AVX512-BF16). Without it oneDNN
 * emulates bf16 through fp32 and `precision: 'bf16'` is far slower than fp32:
 * 13× (backmapping) and 15× (an adp-cpu training step) on an AVX2-only EPYC.
 */
export function nativeBf16(): boolean {
  return native().info().bf16Winograd;
}

let warnedBf16 = false;

/** A process warning (once per process) when bf16 is asked for on a CPU that can only emulate it. */
export function warnIfBf16Emulated(device: Device): void {
  if (warnedBf16 || device !== 'cpu' || nativeBf16()) return;
  warnedBf16 = true;
  process.emitWarning('bf16 on a CPU without AVX512-BF16: oneDNN emulates it, slower than fp32 (13-15x on an AVX2-only EPYC); fp32 is the default', 'TcbmWarning');
}

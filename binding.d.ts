// The exact surface of the native addon (native/binding*.cpp). Only lib/native.ts imports it.
// Every job takes one options object and returns a Promise; arrays cross zero-copy
// and outputs are new typed arrays of the input's dtype.

export type FloatArray = Float32Array | Float64Array;

/** Which code path computes an op: auto = fused kernel on CPU, tensor path elsewhere. */
export type Impl = 'auto' | 'fused' | 'tensor' | 'reference';

export interface JobOptions {
  /** libtorch intra-op threads for this job (set on the worker thread when it differs). */
  threads?: number;
  impl?: Impl;
  /** libtorch device string, e.g. "cpu" or "cuda:0". Inputs and outputs stay in host memory. */
  device?: string;
}

export interface FramesShape {
  batch: number;
  particles: number;
}

export interface GridOptions {
  grid: number;
  width: number;
}

export interface NativeInfo {
  torchVersion: string;
  cuda: boolean;
  threads: number;
  parallel: string;
}

export interface Binding {
  info(): NativeInfo;
  setThreads(threads: number): void;
  /** coords [B,N,3] nm -> density [B,N,G,G,G]. */
  voxelize<A extends FloatArray>(o: JobOptions & FramesShape & GridOptions & { coords: A; sigma: number }): Promise<A>;
  /** gradDensity [B,N,G,G,G] -> d(sum gradDensity*density)/d coords [B,N,3]. */
  voxelizeBackward<A extends FloatArray>(
    o: JobOptions & FramesShape & GridOptions & { coords: A; gradDensity: A; sigma: number },
  ): Promise<A>;
  /** density [B,N,G,G,G] -> coords [B,N,3] nm. */
  collapse<A extends FloatArray>(o: JobOptions & FramesShape & GridOptions & { density: A }): Promise<A>;
  /** gradCoords [B,N,3] -> d(sum gradCoords*coords)/d density [B,N,G,G,G]. */
  collapseBackward<A extends FloatArray>(
    o: JobOptions & FramesShape & GridOptions & { density: A; gradCoords: A },
  ): Promise<A>;
  /**
   * Benchmark: milliseconds of each of `repeats` forward+backward passes of
   * collapse(voxelize(x)) through autograd on random float32 coordinates (after `warmup` passes).
   */
  timeVoxelRoundTrip(
    o: JobOptions & FramesShape & GridOptions & { sigma: number; repeats: number; warmup?: number },
  ): Promise<Float64Array>;
}

// voxelize / collapse: particles <-> per-particle Gaussian densities on a G^3 grid
// (Shmilovich et al. 2022, Eq. 1-2). Async; the work runs on a libuv thread.
import type { Impl } from '../../binding';
import { invalidType, outOfRange } from '../core/errors';
import { deviceName } from '../core/device';
import { defaultThreads, native } from '../core/native';
import { serialize } from '../core/queue';
import { FloatArray, checkFinite, checkShape, floatArray, oneOf, positiveInteger, positiveNumber } from '../core/validate';

export type { FloatArray, Impl };

/** A dense float tensor in host memory, row-major. */
export interface Tensor<A extends FloatArray = FloatArray> {
  data: A;
  shape: number[];
}

/** The voxel grid: `size` points per axis spanning [-width/2, width/2] nm (end points included). */
export interface GridSpec {
  size: number;
  width: number;
  /** Gaussian width in nm. */
  sigma: number;
}

export interface OpOptions {
  /** Code path: auto (fused on CPU, tensor ops on other devices), fused, tensor or reference. */
  impl?: Impl;
  /** libtorch intra-op threads; default TCBM_THREADS or every core. */
  threads?: number;
  /** libtorch device, e.g. "cpu" (default) or "cuda:0". */
  device?: string;
}

const IMPLS: readonly Impl[] = ['auto', 'fused', 'tensor', 'reference'];

/** Grid spacing in nm: width / (size - 1). */
export function gridSpacing(grid: Pick<GridSpec, 'size' | 'width'>): number {
  return grid.width / (grid.size - 1);
}

function jobOptions(options: OpOptions = {}) {
  return {
    impl: options.impl === undefined ? 'auto' : oneOf('options.impl', options.impl, IMPLS),
    threads: options.threads === undefined ? defaultThreads() : positiveInteger('options.threads', options.threads),
    device: options.device === undefined ? 'cpu' : deviceName(options.device),
  };
}

function checkGrid(grid: unknown, withSigma: boolean): void {
  if (typeof grid !== 'object' || grid === null) throw invalidType('grid object', 'grid', grid);
  const g = grid as GridSpec;
  if (positiveInteger('grid.size', g.size) < 2) throw outOfRange('integer >= 2', 'grid.size', g.size);
  positiveNumber('grid.width', g.width);
  if (withSigma) positiveNumber('grid.sigma', g.sigma);
}

/** Checks a [B,N,3] coordinate tensor; returns B and N. */
function framesOf(name: string, t: Tensor): { batch: number; particles: number } {
  const data = floatArray(`${name}.data`, t?.data);
  if (!Array.isArray(t.shape) || t.shape.length !== 3 || t.shape[2] !== 3) {
    throw outOfRange('shape [B, N, 3]', `${name}.shape`, t.shape);
  }
  checkShape(name, data, t.shape);
  checkFinite(name, data, t.shape[1], 3);
  return { batch: t.shape[0], particles: t.shape[1] };
}

/** Checks a [B,N,G,G,G] density tensor against the grid; returns B and N. */
function densityOf(name: string, t: Tensor, size: number): { batch: number; particles: number } {
  const data = floatArray(`${name}.data`, t?.data);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== 5 || s[2] !== size || s[3] !== size || s[4] !== size) {
    throw outOfRange(`shape [B, N, ${size}, ${size}, ${size}]`, `${name}.shape`, s);
  }
  checkShape(name, data, s);
  return { batch: s[0], particles: s[1] };
}

function sameDtype(a: string, x: FloatArray, b: string, y: FloatArray): void {
  const tag = (v: FloatArray) => Object.prototype.toString.call(v).slice(8, -1);
  if (tag(x) !== tag(y)) throw invalidType(`${tag(x)} (the dtype of ${a})`, b, y);
}

/** coords [B,N,3] nm -> density [B,N,G,G,G]: exp(-|g - x|^2 / 2 sigma^2), one channel per particle. */
export async function voxelize<A extends FloatArray>(coords: Tensor<A>, grid: GridSpec, options?: OpOptions): Promise<Tensor<A>> {
  checkGrid(grid, true);
  const { batch, particles } = framesOf('coords', coords);
  const job = jobOptions(options);
  const data = await serialize(() =>
    native().voxelize({ ...job, coords: coords.data, batch, particles, grid: grid.size, width: grid.width, sigma: grid.sigma }),
  );
  return { data, shape: [batch, particles, grid.size, grid.size, grid.size] };
}

/** density [B,N,G,G,G] -> coords [B,N,3] nm: the density-weighted mean of the grid positions. */
export async function collapse<A extends FloatArray>(
  density: Tensor<A>,
  grid: Pick<GridSpec, 'size' | 'width'>,
  options?: OpOptions,
): Promise<Tensor<A>> {
  checkGrid(grid, false);
  const { batch, particles } = densityOf('density', density, grid.size);
  const job = jobOptions(options);
  const data = await serialize(() =>
    native().collapse({ ...job, density: density.data, batch, particles, grid: grid.size, width: grid.width }),
  );
  return { data, shape: [batch, particles, 3] };
}

/** Vector-Jacobian product of voxelize: d(sum gradDensity * voxelize(coords)) / d coords. */
export async function voxelizeBackward<A extends FloatArray>(
  coords: Tensor<A>,
  gradDensity: Tensor<A>,
  grid: GridSpec,
  options?: OpOptions,
): Promise<Tensor<A>> {
  checkGrid(grid, true);
  const { batch, particles } = framesOf('coords', coords);
  const g = densityOf('gradDensity', gradDensity, grid.size);
  if (g.batch !== batch || g.particles !== particles) {
    throw outOfRange(`[${batch}, ${particles}, …] like coords`, 'gradDensity.shape', gradDensity.shape);
  }
  sameDtype('coords', coords.data, 'gradDensity', gradDensity.data);
  const job = jobOptions(options);
  const data = await serialize(() =>
    native().voxelizeBackward({
      ...job,
      coords: coords.data,
      gradDensity: gradDensity.data,
      batch,
      particles,
      grid: grid.size,
      width: grid.width,
      sigma: grid.sigma,
    }),
  );
  return { data, shape: [batch, particles, 3] };
}

/** Vector-Jacobian product of collapse: d(sum gradCoords * collapse(density)) / d density. */
export async function collapseBackward<A extends FloatArray>(
  density: Tensor<A>,
  gradCoords: Tensor<A>,
  grid: Pick<GridSpec, 'size' | 'width'>,
  options?: OpOptions,
): Promise<Tensor<A>> {
  checkGrid(grid, false);
  const { batch, particles } = densityOf('density', density, grid.size);
  const g = framesOf('gradCoords', gradCoords);
  if (g.batch !== batch || g.particles !== particles) {
    throw outOfRange(`[${batch}, ${particles}, 3] like density`, 'gradCoords.shape', gradCoords.shape);
  }
  sameDtype('density', density.data, 'gradCoords', gradCoords.data);
  const job = jobOptions(options);
  const data = await serialize(() =>
    native().collapseBackward({
      ...job,
      density: density.data,
      gradCoords: gradCoords.data,
      batch,
      particles,
      grid: grid.size,
      width: grid.width,
    }),
  );
  return { data, shape: density.shape.slice() };
}

// Histograms on fixed grids and free-energy surfaces F = −kT ln p, so that two trajectories
// (reference, backmapped) are always compared bin by bin on the same grid.
import { invalidType, outOfRange } from '../core/errors';
import { positiveInteger, type FloatArray } from '../core/validate';

export interface Axis {
  /** [lo, hi] edges of the grid */
  range: readonly [number, number];
  bins: number;
  /** wrap values into [lo, hi) (angles: range [−π, π]) instead of dropping those outside */
  periodic?: boolean;
}

function checkAxis(name: string, axis: Axis): void {
  if (typeof axis !== 'object' || axis === null) throw invalidType('an axis { range, bins }', name, axis);
  positiveInteger(`${name}.bins`, axis.bins);
  const [lo, hi] = axis.range ?? [];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) throw outOfRange('finite [lo, hi] with hi > lo', `${name}.range`, axis.range);
}

/** Bin of value v on the axis, or −1 when it falls outside a non-periodic range (hi itself goes in the last bin). */
export function binOf(axis: Axis, v: number): number {
  const [lo, hi] = axis.range;
  if (!Number.isFinite(v)) return -1;
  const width = hi - lo;
  if (axis.periodic) {
    v = lo + ((((v - lo) % width) + width) % width);
  } else if (v < lo || v > hi) {
    return -1;
  }
  const b = Math.floor(((v - lo) / width) * axis.bins);
  return Math.min(axis.bins - 1, Math.max(0, b));
}

/** Bin centres of an axis. */
export function binCenters(axis: Axis): Float64Array {
  const [lo, hi] = axis.range;
  const w = (hi - lo) / axis.bins;
  return Float64Array.from({ length: axis.bins }, (_, i) => lo + (i + 0.5) * w);
}

export interface Histogram1d {
  counts: Float64Array;
  axis: Axis;
  /** samples outside a non-periodic range (or not finite): not in counts */
  outside: number;
}

export function histogram1d(x: ArrayLike<number>, axis: Axis): Histogram1d {
  checkAxis('axis', axis);
  const counts = new Float64Array(axis.bins);
  let outside = 0;
  for (let i = 0; i < x.length; i++) {
    const b = binOf(axis, x[i]);
    if (b < 0) outside++;
    else counts[b]++;
  }
  return { counts, axis, outside };
}

export interface Histogram2d {
  /** [x.bins, y.bins] row-major: counts[ix * y.bins + iy] */
  counts: Float64Array;
  x: Axis;
  y: Axis;
  outside: number;
}

export function histogram2d(x: ArrayLike<number>, y: ArrayLike<number>, xAxis: Axis, yAxis: Axis): Histogram2d {
  checkAxis('xAxis', xAxis);
  checkAxis('yAxis', yAxis);
  if (x.length !== y.length) throw outOfRange(`${x.length} values like x`, 'y', y.length);
  const counts = new Float64Array(xAxis.bins * yAxis.bins);
  let outside = 0;
  for (let i = 0; i < x.length; i++) {
    const bx = binOf(xAxis, x[i]);
    const by = binOf(yAxis, y[i]);
    if (bx < 0 || by < 0) outside++;
    else counts[bx * yAxis.bins + by]++;
  }
  return { counts, x: xAxis, y: yAxis, outside };
}

/** counts / Σ counts (all zeros stay zeros). */
export function probabilities(counts: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < counts.length; i++) {
    if (!(counts[i] >= 0)) throw outOfRange('non-negative counts', `counts[${i}]`, counts[i]);
    s += counts[i];
  }
  return Float64Array.from(counts, (c) => (s > 0 ? c / s : 0));
}

export interface FreeEnergyOptions {
  /** kT in the output unit; 1 (default) gives F in kT, 2.494 gives kJ/mol at 300 K */
  kT?: number;
  /** subtract the minimum so the lowest bin is 0 (default true) */
  shift?: boolean;
}

/** F = −kT ln p per bin; empty bins are +Infinity (never NaN), and the minimum is 0 unless shift is false. */
export function freeEnergy(counts: ArrayLike<number>, options: FreeEnergyOptions = {}): Float64Array {
  const kT = options.kT ?? 1;
  if (!(kT > 0)) throw outOfRange('positive number', 'kT', kT);
  const p = probabilities(counts);
  const F = Float64Array.from(p, (q) => (q > 0 ? -kT * Math.log(q) : Infinity));
  if (options.shift ?? true) {
    let min = Infinity;
    for (const f of F) if (f < min) min = f;
    if (Number.isFinite(min)) for (let i = 0; i < F.length; i++) F[i] -= min;
  }
  return F;
}

export interface FreeEnergySurface extends Histogram2d {
  /** probabilities per bin, same layout as counts */
  probability: Float64Array;
  /** −kT ln p, minimum 0, +Infinity where empty */
  freeEnergy: Float64Array;
  xCenters: Float64Array;
  yCenters: Float64Array;
}

/** 2-D free-energy surface on a fixed grid, e.g. φ/ψ with both axes { range: [−π, π], bins: 60, periodic: true }. */
export function freeEnergySurface(x: ArrayLike<number>, y: ArrayLike<number>, xAxis: Axis, yAxis: Axis, options: FreeEnergyOptions = {}): FreeEnergySurface {
  const h = histogram2d(x, y, xAxis, yAxis);
  return {
    ...h,
    probability: probabilities(h.counts),
    freeEnergy: freeEnergy(h.counts, options),
    xCenters: binCenters(xAxis),
    yCenters: binCenters(yAxis),
  };
}

/** The Ramachandran grid: φ and ψ on [−π, π) with `bins` periodic bins each. */
export function ramachandranAxes(bins = 60): [Axis, Axis] {
  const axis: Axis = { range: [-Math.PI, Math.PI], bins, periodic: true };
  return [axis, { ...axis }];
}

/** Column c of [n, m] row-major data as its own array. */
export function column(data: FloatArray, m: number, c: number): Float64Array {
  const n = data.length / m;
  return Float64Array.from({ length: n }, (_, i) => data[i * m + c]);
}

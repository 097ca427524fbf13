// Helpers the metric families share: moments, medians, plotting ranges and histograms, column
// extraction, frame striding and atom labels.
import { histogram1d, type Axis, type Coordinates } from '../analysis';
import type { Atom } from '../io/types';
import type { HistogramSet, Moments } from './metrics';

export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function moments(v: ArrayLike<number>): Moments {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean: finite(mean), std: finite(Math.sqrt(q / v.length)) };
}

function sortedQuantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export function median(values: number[]): number | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

export function meanOf(values: number[]): number | null {
  const v = values.filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/**
 * A plotting range covering the 0.1–99.9 % quantiles of both samples, but extending at most two
 * reference spans beyond the reference's own range, so a few wild backmapped frames cannot squash the plot.
 */
export function plotRange(reference: ArrayLike<number>, other: ArrayLike<number>): [number, number] {
  const a = Float64Array.from(reference).sort();
  const b = Float64Array.from(other).sort();
  const rLo = sortedQuantile(a, 0.001);
  const rHi = sortedQuantile(a, 0.999);
  const span = rHi - rLo || Math.abs(rLo) * 1e-3 || 1e-3;
  let lo = Math.min(rLo, sortedQuantile(b, 0.001));
  let hi = Math.max(rHi, sortedQuantile(b, 0.999));
  lo = Math.max(lo, rLo - 2 * span);
  hi = Math.min(hi, rHi + 2 * span);
  const pad = 0.02 * (hi - lo);
  return [lo - pad, hi + pad];
}

export function histogramSet(samples: Record<string, ArrayLike<number>>, range: [number, number], bins: number): HistogramSet {
  const axis: Axis = { range, bins };
  const counts: Record<string, number[]> = {};
  const outside: Record<string, number> = {};
  for (const [k, v] of Object.entries(samples)) {
    const h = histogram1d(v, axis);
    counts[k] = Array.from(h.counts);
    outside[k] = h.outside;
  }
  return { lo: range[0], hi: range[1], bins, counts, outside };
}

export function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function column(data: Float64Array, m: number, k: number, scale = 1): Float64Array {
  const n = data.length / m;
  return Float64Array.from({ length: n }, (_, f) => data[f * m + k] * scale);
}

/** Every `stride`-th frame of each trajectory, the stride chosen so that at most `max` frames remain in all. */
export function strided(trajs: Coordinates[], max: number): { trajs: Coordinates[]; stride: number; frames: number; total: number } {
  const total = trajs.reduce((a, t) => a + t.frames, 0);
  const stride = Math.max(1, Math.ceil(total / max));
  if (stride === 1) return { trajs, stride, frames: total, total };
  let frames = 0;
  const out = trajs.map((t) => {
    const n = Math.ceil(t.frames / stride);
    const size = t.atoms * 3;
    const coords = new Float32Array(n * size);
    for (let f = 0; f < n; f++) coords.set(t.coords.subarray(f * stride * size, (f * stride + 1) * size), f * size);
    frames += n;
    return { coords, frames: n, atoms: t.atoms };
  });
  return { trajs: out, stride, frames, total };
}

export function atomLabel(atoms: readonly Atom[], i: number): string {
  const a = atoms[i];
  return `${a.resName}${a.resSeq}:${a.name}`;
}

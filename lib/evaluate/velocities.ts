// Temporal coherence, velocities: RMS frame-to-frame speeds of all atoms and of the non-bead atoms,
// compared before and after rescaling (paper §3.1.3).
import { compareRescaled, frameSpeeds, rmsSpeeds, type Coordinates } from '../analysis';
import { concat, finite, histogramSet, moments, plotRange } from './common';
import type { Metrics, SpeedSection } from './metrics';

/** RMS speed of the selected atoms per frame pair, in windows of frames so memory stays bounded for long trajectories. */
function rmsSpeedSeries(t: Coordinates, dtPs: number, selection: number[]): Float64Array {
  const out = new Float64Array(t.frames - 1);
  const size = t.atoms * 3;
  const window = 2048;
  for (let s = 0; s + 1 < t.frames; s += window) {
    const n = Math.min(window + 1, t.frames - s);
    const part = { coords: t.coords.subarray(s * size, (s + n) * size), frames: n, atoms: t.atoms };
    out.set(rmsSpeeds(frameSpeeds(part, dtPs, selection), selection.length), s);
  }
  return out;
}

function speedSection(ref: Coordinates[], traj: Coordinates[], dtPs: number, selection: number[]): SpeedSection {
  const rms = (trajs: Coordinates[]) => concat(trajs.map((t) => rmsSpeedSeries(t, dtPs, selection)));
  const r = rms(ref);
  const b = rms(traj);
  const empty = (v: number | null) => ({ scale: v, jsBefore: v, jsAfter: v, w1Before: v, w1After: v });
  let cmp: ReturnType<typeof empty> = empty(null);
  let rescaled = b;
  try {
    const c = compareRescaled(r, b);
    cmp = { scale: finite(c.scale), jsBefore: finite(c.jsBefore), jsAfter: finite(c.jsAfter), w1Before: finite(c.w1Before), w1After: finite(c.w1After) };
    rescaled = Float64Array.from(b, (v) => v * c.scale);
  } catch {
    // A frozen trajectory (mean speed 0) has no rescale factor.
  }
  const [, hi] = plotRange(r, b);
  return {
    atoms: selection.length,
    reference: moments(r),
    backmapped: moments(b),
    ...cmp,
    histogram: histogramSet({ reference: r, backmapped: b, rescaled }, [0, hi], 60),
  };
}

export function velocitySection(ref: Coordinates[], traj: Coordinates[], dtPs: number, beadAtoms: number[] | null, atoms: number): Metrics['velocities'] {
  const all = speedSection(ref, traj, dtPs, Array.from({ length: atoms }, (_, i) => i));
  if (!beadAtoms) return { unit: 'nm/ps', all, nonBead: null, reason: 'no bead atoms given (beadAtoms or map): non-bead speeds not computed' };
  const bead = new Set(beadAtoms);
  const others = Array.from({ length: atoms }, (_, i) => i).filter((i) => !bead.has(i));
  if (others.length === 0) return { unit: 'nm/ps', all, nonBead: null, reason: 'every atom is a bead atom' };
  return { unit: 'nm/ps', all, nonBead: speedSection(ref, traj, dtPs, others) };
}

// Evenly spaced picks out of a sequence: the frames and pairs training,
// validation and the latent report subsample without randomness; the
// (t−1, t) pairs training draws from, and the gap of a drawn pair.

/** Evenly spaced picks of `count` out of `n` indices. */
export function spaced(n: number, count: number): number[] {
  const m = Math.min(n, count);
  return Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

/**
 * Up to `count` frames evenly spaced over `trajectories` taken as one run (each
 * [frames, values] with `perFrame` numbers a frame), gathered into one array.
 */
export function spacedFrames(trajectories: Float32Array[], perFrame: number, count: number): { coords: Float32Array; frames: number } {
  const all = trajectories.flatMap((t, trajectory) => Array.from({ length: t.length / perFrame }, (_, frame) => ({ trajectory, frame })));
  const picks = spaced(all.length, count).map((i) => all[i]);
  const coords = new Float32Array(picks.length * perFrame);
  picks.forEach(({ trajectory, frame }, k) => coords.set(trajectories[trajectory].subarray(frame * perFrame, (frame + 1) * perFrame), k * perFrame));
  return { coords, frames: picks.length };
}

/** A training pair: frames t−1 and t of one trajectory. */
export interface Pair {
  trajectory: number;
  frame: number; // t; the pair is (t-1, t)
}

/** Every (t-1, t) pair inside each trajectory; none spans two files. */
export function framePairs(frameCounts: number[]): Pair[] {
  const pairs: Pair[] = [];
  frameCounts.forEach((n, trajectory) => {
    for (let frame = 1; frame < n; frame++) pairs.push({ trajectory, frame });
  });
  return pairs;
}

/**
 * The gap k of a training pair (t − k, t) drawn at frame t: 1, or under `lag`
 * with probability lag.share uniform in 2 … lag.max, never reaching before the
 * trajectory's first frame. Draws from `uniform` only when `lag` is given, so
 * runs without it keep their random stream.
 */
export function pairGap(frame: number, uniform: () => number, lag?: { share: number; max: number }): number {
  if (!lag || uniform() >= lag.share) return 1;
  return Math.min(frame, 2 + Math.floor(uniform() * (lag.max - 1)));
}

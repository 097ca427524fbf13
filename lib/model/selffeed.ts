// Training on the model's own previous frames (training `selfFeed`). A rollout
// conditions every frame on the frame it decoded last, never on the data's, so
// its small errors (a ring a little too close, a bond a little long) are fed
// back and can add up over frames: chignolin's held-out pairs decoded from the
// data's A(t-1) clash in 1.6 % of frames, its rollout of the same run in 12 %
// (docs/fidelity.md, run Z33). With `selfFeed`, a share of each batch's samples
// gets as A(t-1) the model's own rollout of the `steps` frames before t, started
// from the data's frame before them, with z from the prior and no gradient; the
// target stays the data's A(t). The decoder so learns to correct what it would
// otherwise pass on (scheduled sampling, Bengio et al. 2015).
import type { NativeModel } from '../../binding';
import { centroid } from '../inference/superpose';
import type { Rng } from '../core/rng';
import type { ConditionedBatch } from './noise';
import { centreRotate, type PairLayout } from './placement';
import type { TrainingSettings } from './presets';

export type SelfFeedSettings = NonNullable<TrainingSettings['selfFeed']>;

/** One batch row as globalBatch placed it: its trajectory, the previous frame's index and the rotation. */
export interface PlacedRow {
  trajectory: number;
  frame: number;
  previous: number;
  rotation: Float64Array;
}

/** The rows of one batch to self-feed, each a rollout of `steps` frames ending at its previous frame: [B, …] arrays, sliced with the batch. */
export interface SelfFeedPlan {
  /** [B]: 1 where the row's A(t-1) is replaced */
  feedRows: Float32Array;
  /** [B, atoms, 3] nm, unrotated: the data's frame the rollout starts from */
  feedStart: Float32Array;
  /** [B, steps, beads, 3] nm, unrotated: the CG frames rolled out, the last being the previous frame's */
  feedCg: Float32Array;
  /** [B, steps, latent]: the prior's z of each rolled-out frame */
  feedZ: Float32Array;
  /** [B, 9]: the row's rotation (row-major), [B, 3]: its C(t) centroid */
  feedRotation: Float32Array;
  feedCentre: Float32Array;
}

/** Whether self-feeding is on at `step`. */
export function selfFeedOn(step: number, s?: SelfFeedSettings): s is SelfFeedSettings {
  return s !== undefined && s.share > 0 && step >= (s.from ?? 0);
}

/**
 * Picks the rows of a global batch to self-feed (each with probability s.share,
 * among rows whose previous frame has `steps` frames before it in its
 * trajectory) and gathers what their rollouts need. Draws from `rng` for every
 * row, so every rank of a group picks the same rows.
 */
export function planSelfFeed(
  s: SelfFeedSettings, rows: PlacedRow[], aa: Float32Array[], cg: Float32Array[], layout: PairLayout, latent: number, rng: Rng,
): SelfFeedPlan {
  const B = rows.length;
  const N = layout.atoms;
  const n = layout.beads;
  const T = s.steps ?? 1;
  const plan: SelfFeedPlan = {
    feedRows: new Float32Array(B),
    feedStart: new Float32Array(B * N * 3),
    feedCg: new Float32Array(B * T * n * 3),
    feedZ: rng.normals(new Float32Array(B * T * latent)),
    feedRotation: new Float32Array(B * 9),
    feedCentre: new Float32Array(B * 3),
  };
  rows.forEach(({ trajectory, frame, previous, rotation }, b) => {
    const pick = rng.uniform() < s.share;
    if (!pick || previous < T) return;
    plan.feedRows[b] = 1;
    const start = previous - T;
    plan.feedStart.set(aa[trajectory].subarray(start * N * 3, (start + 1) * N * 3), b * N * 3);
    plan.feedCg.set(cg[trajectory].subarray((start + 1) * n * 3, (previous + 1) * n * 3), b * T * n * 3);
    plan.feedRotation.set(rotation, b * 9);
    plan.feedCentre.set(centroid(cg[trajectory], frame * n * 3, n), b * 3);
  });
  return plan;
}

const PLAN_KEYS = ['feedRows', 'feedStart', 'feedCg', 'feedZ', 'feedRotation', 'feedCentre'] as const;

/** `batch` without the plan's arrays (what the native step is given). */
export function withoutPlan(batch: ConditionedBatch & Partial<SelfFeedPlan>): ConditionedBatch {
  const out: Record<string, unknown> = { ...batch };
  for (const k of PLAN_KEYS) delete out[k];
  return out as unknown as ConditionedBatch;
}

/**
 * `batch` (this rank's share, the plan's rows sliced with it) with each planned
 * row's aaPrev replaced by the model's rollout's last frame, centred and
 * rotated as the data's A(t-1) would have been (placement.ts).
 */
export async function applySelfFeed(
  model: NativeModel, batch: ConditionedBatch & Partial<SelfFeedPlan>, steps: number, layout: PairLayout, latent: number,
  options: { threads: number; bf16: boolean },
): Promise<ConditionedBatch> {
  const { feedRows, feedStart, feedCg, feedZ, feedRotation, feedCentre } = batch;
  const clean = withoutPlan(batch);
  if (!feedRows || !feedStart || !feedCg || !feedZ || !feedRotation || !feedCentre) return clean;
  const picked = [...feedRows.keys()].filter((b) => feedRows[b] > 0);
  if (picked.length === 0) return clean;
  const N = layout.atoms;
  const n = layout.beads;
  const R = picked.length;
  const T = steps;
  const prev = new Float32Array(R * N * 3);
  const cg = new Float32Array(T * R * n * 3); // native order [steps, batch, …]
  const z = new Float32Array(T * R * latent);
  picked.forEach((b, r) => {
    prev.set(feedStart.subarray(b * N * 3, (b + 1) * N * 3), r * N * 3);
    for (let t = 0; t < T; t++) {
      cg.set(feedCg.subarray((b * T + t) * n * 3, (b * T + t + 1) * n * 3), (t * R + r) * n * 3);
      z.set(feedZ.subarray((b * T + t) * latent, (b * T + t + 1) * latent), (t * R + r) * latent);
    }
  });
  const out = await model.rollout({ prev, cg, z, steps: T, batch: R, threads: options.threads, bf16: options.bf16 });
  const aaPrev = clean.aaPrev.slice();
  picked.forEach((b, r) => {
    const o = ((T - 1) * R + r) * N * 3;
    const c = layout.centring === 'own' ? centroid(out, o, N) : Array.from(feedCentre.subarray(b * 3, b * 3 + 3));
    centreRotate(out, o, N, c, Float64Array.from(feedRotation.subarray(b * 9, b * 9 + 9)), aaPrev, b * N * 3);
  });
  return { ...clean, aaPrev };
}

// How a (A(t-1), A(t), C(t)) sample is placed before the network sees it: centred as
// the architecture says and given one rotation for its three configurations. Training,
// the posterior fit at its end and evaluate's latent-space section all place pairs here,
// so what the encoder sees in evaluation is exactly what it saw in training.
import { centroid, optimalRotation } from '../inference/superpose';

export const IDENTITY = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);

/** What placing a pair needs of a model: its sizes, centring and canonical reference. */
export interface PairLayout {
  atoms: number;
  beads: number;
  /** 'own': each configuration on its own mean; else all on C(t)'s centroid */
  centring?: 'own' | 'cg';
  /** canonical orientation: the reference CG frame [beads*3] nm, centred */
  reference?: Float32Array;
}

/** One batch's buffers: aaT and aaPrev [B, atoms, 3], cgT [B, beads, 3]. */
export interface PairBatch {
  aaT: Float32Array;
  aaPrev: Float32Array;
  cgT: Float32Array;
}

/** Applies the row-major 3x3 rotation r to `count` points of `src` (after subtracting c) into `dst`. */
export function centreRotate(src: Float32Array, srcOffset: number, count: number, c: number[], r: Float64Array, dst: Float32Array, dstOffset: number): void {
  for (let i = 0; i < count; i++) {
    const x = src[srcOffset + 3 * i] - c[0];
    const y = src[srcOffset + 3 * i + 1] - c[1];
    const z = src[srcOffset + 3 * i + 2] - c[2];
    dst[dstOffset + 3 * i] = r[0] * x + r[1] * y + r[2] * z;
    dst[dstOffset + 3 * i + 1] = r[3] * x + r[4] * y + r[5] * z;
    dst[dstOffset + 3 * i + 2] = r[6] * x + r[7] * y + r[8] * z;
  }
}

/**
 * Writes pair (previous, frame) of `aa` (with its CG frames `cg`), rotated by r, as item
 * b of `out`. `previous` is frame − 1 (frame − k for a pair drawn with a longer gap,
 * picks.ts pairGap), except for a frame-based model, whose encoder ignores A(t-1):
 * any frame of the trajectory does there.
 */
export function placeRotated(layout: PairLayout, aa: Float32Array, cg: Float32Array, frame: number, previous: number, r: Float64Array, b: number, out: PairBatch): void {
  const N = layout.atoms;
  const n = layout.beads;
  const c = centroid(cg, frame * n * 3, n);
  const own = layout.centring === 'own';
  centreRotate(aa, frame * N * 3, N, own ? centroid(aa, frame * N * 3, N) : c, r, out.aaT, b * N * 3);
  centreRotate(aa, previous * N * 3, N, own ? centroid(aa, previous * N * 3, N) : c, r, out.aaPrev, b * N * 3);
  centreRotate(cg, frame * n * 3, n, c, r, out.cgT, b * n * 3);
}

/** The rotation of a pair whose C(t) is frame `frame` of `cg`: onto the canonical reference if there is one, else `other()`. */
export function pairRotation(layout: PairLayout, cg: Float32Array, frame: number, other: () => Float64Array): Float64Array {
  return layout.reference ? optimalRotation(cg, frame * layout.beads * 3, layout.reference, 0, layout.beads) : other();
}

/** A pair placed without random rotation (encoding, validation): onto the reference under canonical orientation, else none. */
export function placePair(layout: PairLayout, aa: Float32Array, cg: Float32Array, frame: number, previous: number, b: number, out: PairBatch): void {
  placeRotated(layout, aa, cg, frame, previous, pairRotation(layout, cg, frame, () => IDENTITY), b, out);
}

// Evenly spaced picks out of a sequence: the frames and pairs training,
// validation and the latent report subsample without randomness.

/** Evenly spaced picks of `count` out of `n` indices. */
export function spaced(n: number, count: number): number[] {
  const m = Math.min(n, count);
  return Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

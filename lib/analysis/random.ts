// A small seeded PRNG so every estimator that samples (k-means++, bootstrap) is reproducible for a seed.
import { invalidType } from '../core/errors';

export type Random = () => number;

/** mulberry32: uniform in [0, 1), 2^32 period; plenty for initialisation and resampling. */
export function seededRandom(seed: number): Random {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw invalidType('finite number', 'seed', seed);
  let s = Math.trunc(seed) | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/** Standard normal by Box–Muller (used by tests and synthetic processes). */
export function randomNormal(random: Random): number {
  let u = random();
  while (u <= 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

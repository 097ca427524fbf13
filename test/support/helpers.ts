// Shared test helpers: a seeded PRNG and array comparisons.
import type { FloatArray } from '../../lib/core/validate';

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform<A extends FloatArray>(ctor: { new (n: number): A }, n: number, lo: number, hi: number, seed: number): A {
  const r = rng(seed);
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** max |a - b| divided by max(1, max |b|): an absolute error for O(1) data, relative for large. */
export function scaledMaxError(a: FloatArray, b: FloatArray): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

export function dot(a: FloatArray, b: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function typeTag(x: unknown): string {
  return Object.prototype.toString.call(x).slice(8, -1);
}

// (appended for the I/O tests)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** max |a[i] - b[i]| (lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err;
}

/** A fresh temporary directory for one test file's outputs. */
/** A fresh folder under the system temp dir, removed after the test file's tests (make none in a file whose tests all skip: Jest runs no afterAll there). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

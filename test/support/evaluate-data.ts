// Derived trajectories for the evaluate tests: strided subsets and seeded noise, written as DCD.
import { createTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { rng } from './helpers';

/** Writes every `stride`-th frame of `src` from frame `start` (at most `frames` of them) to `out`, optionally with seeded uniform noise (nm) on some atoms. */
export async function writeSubset(src: string, out: string, o: { start?: number; stride?: number; frames?: number; noise?: number; noiseAtoms?: (a: number) => boolean } = {}): Promise<void> {
  const t = await readTrajectory(src);
  const start = o.start ?? 0;
  const stride = o.stride ?? 1;
  const n = Math.min(o.frames ?? Infinity, Math.ceil((t.frames - start) / stride));
  const size = t.atoms * 3;
  const coords = new Float32Array(n * size);
  for (let f = 0; f < n; f++) coords.set(t.coords.subarray((start + f * stride) * size, (start + f * stride + 1) * size), f * size);
  if (o.noise) {
    const r = rng(7);
    for (let i = 0; i < coords.length; i++) {
      if (!o.noiseAtoms || o.noiseAtoms(Math.floor(i / 3) % t.atoms)) coords[i] += o.noise * (2 * r() - 1);
    }
  }
  const w = await createTrajectory(out, { atoms: t.atoms });
  await w.write({ coords, frames: n });
  await w.close();
}


// Atomistic trajectories to CG beads with a model's mapping, streamed.
import { readModelFile } from './backmap';
import { TcbmError } from './errors';
import { createTrajectory, openTrajectory } from './io/trajectory';
import { applyMapping } from './mapping';

export interface CoarseGrainOptions {
  model: string;
  traj: string;
  out: string;
  chunkFrames?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function coarseGrain(o: CoarseGrainOptions): Promise<{ frames: number; beads: number; out: string; seconds: number }> {
  const start = Date.now();
  const { info } = await readModelFile(o.model);
  const reader = await openTrajectory(o.traj, { atoms: info.topology.atoms.length });
  try {
    const total = await reader.frameCount();
    const writer = await createTrajectory(o.out, { atoms: info.mapping.beads });
    let done = 0;
    try {
      for await (const chunk of reader.chunks(o.chunkFrames)) {
        if (o.signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'coarse-grain: cancelled');
        await writer.write({ frames: chunk.frames, coords: applyMapping(info.mapping, chunk.coords, chunk.frames) });
        done += chunk.frames;
        o.onProgress?.(done, total);
      }
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return { frames: done, beads: info.mapping.beads, out: o.out, seconds: (Date.now() - start) / 1000 };
  } finally {
    await reader.close();
  }
}

// Atomistic trajectories to CG beads with a model's mapping, streamed.
import { checkOutput } from '../io/atomic';
import { readModelFile } from './modelinfo';
import { copyFrames, createTrajectory, openTrajectory } from '../io/trajectory';
import { applyMapping } from '../model/mapping';

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
  checkOutput(o.out, { [o.traj]: 'the input trajectory (--traj)', [o.model]: 'the model (--model)' });
  const { info } = await readModelFile(o.model);
  const reader = await openTrajectory(o.traj, { atoms: info.topology.atoms.length });
  try {
    const writer = await createTrajectory(o.out, { atoms: info.mapping.beads });
    const frames = await copyFrames(reader, writer, {
      ...o,
      what: 'coarse-grain',
      transform: (chunk) => ({ frames: chunk.frames, coords: applyMapping(info.mapping, chunk.coords, chunk.frames) }),
    });
    return { frames, beads: info.mapping.beads, out: o.out, seconds: (Date.now() - start) / 1000 };
  } finally {
    await reader.close();
  }
}

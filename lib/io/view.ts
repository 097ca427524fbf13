// A reader that serves frames made from another reader's: a window of its
// frames (a shard) or its frames transformed (denoised CG input). Closing the
// view closes the reader under it.
import type { FrameChunk, TrajectoryReader } from './types';

/**
 * A TrajectoryReader of `frameCount()` frames whose frames [start, start +
 * count) are `read(start, count)`, with `under`'s path and atom count; its
 * chunks come from `read`, in order.
 */
export function readerView(under: TrajectoryReader, frameCount: () => Promise<number>, read: (start: number, count: number) => Promise<FrameChunk>): TrajectoryReader {
  return {
    path: under.path,
    atoms: under.atoms,
    frameCount,
    read,
    async *chunks(chunkFrames = 1024) {
      const frames = await frameCount();
      for (let s = 0; s < frames; s += chunkFrames) yield await read(s, Math.min(chunkFrames, frames - s));
    },
    close: () => under.close(),
  };
}

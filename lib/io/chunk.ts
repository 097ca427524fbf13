// The argument checks every trajectory writer makes on a chunk it is handed, and
// the check every reader makes on the frames it decodes.
import { fileError, invalidType, outOfRange } from '../core/errors';
import type { FrameChunk } from './types';

export interface CheckedChunk {
  frames: number;
  /** float32 (a Float64Array input is converted) */
  coords: Float32Array;
  cells: FrameChunk['cells'];
}

/**
 * Checks a chunk for a writer of `atoms`-atom frames that has written
 * `written` frames so far: frame count, coordinate type and length, cells.
 */
export function checkChunk(file: string, atoms: number, written: number, chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): CheckedChunk {
  if (typeof chunk !== 'object' || chunk === null) throw invalidType('FrameChunk', 'chunk', chunk);
  const { frames, cells } = chunk;
  if (!Number.isSafeInteger(frames) || frames < 0) throw outOfRange('integer >= 0', 'chunk.frames', frames);
  const tag = Object.prototype.toString.call(chunk.coords);
  if (tag !== '[object Float32Array]' && tag !== '[object Float64Array]') {
    throw invalidType('Float32Array or Float64Array', 'chunk.coords', chunk.coords);
  }
  const coords = tag === '[object Float32Array]' ? chunk.coords : Float32Array.from(chunk.coords as ArrayLike<number>);
  if (coords.length !== frames * atoms * 3) {
    const per = frames > 0 ? coords.length / (3 * frames) : NaN;
    const problem = Number.isInteger(per)
      ? `chunk has ${per} atoms per frame, expected ${atoms}`
      : `chunk has ${coords.length} coordinates, expected ${frames * atoms * 3} (${frames} frames × ${atoms} atoms × 3)`;
    throw fileError('ERR_ATOM_COUNT', file, problem, written);
  }
  if (cells !== undefined && (!Array.isArray(cells) || cells.length !== frames)) {
    throw outOfRange(`one cell per frame (${frames})`, 'chunk.cells', cells);
  }
  return { frames, coords, cells };
}

/**
 * Refuses decoded frames with a NaN or infinite coordinate, naming the input file,
 * the frame (within the file) and the atom: every command then reports the input,
 * not a later output or an internal tensor.
 */
export function checkFiniteFrames(file: string, coords: Float32Array, atoms: number, start: number): void {
  for (let i = 0; i < coords.length; i++) {
    if (!Number.isFinite(coords[i])) {
      const atom = Math.floor(i / 3) % atoms;
      throw fileError('ERR_NON_FINITE', file, `coordinate ${'xyz'[i % 3]} of atom ${atom} is ${coords[i]}`, start + Math.floor(i / (3 * atoms)));
    }
  }
}

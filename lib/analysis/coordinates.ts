// The [frames, atoms, 3] coordinate arrays the analysis functions take, and their argument checks.
import { invalidType, outOfRange } from '../core/errors';
import type { FloatArray } from '../core/validate';

/** Frames of one trajectory; a FrameChunk from lib/io fits. */
export interface Coordinates {
  /** [frames, atoms, 3] nm, row-major */
  coords: FloatArray;
  frames: number;
  atoms: number;
}

export function checkCoordinates(traj: Coordinates): void {
  if (typeof traj !== 'object' || traj === null || !ArrayBuffer.isView(traj.coords)) throw invalidType('{ coords, frames, atoms }', 'trajectory', traj);
  if (traj.coords.length !== traj.frames * traj.atoms * 3) {
    throw outOfRange(`${traj.frames * traj.atoms * 3} values for [${traj.frames}, ${traj.atoms}, 3]`, 'trajectory.coords', traj.coords);
  }
}

export function checkIndices(traj: Coordinates, tuples: readonly (readonly number[])[], size: number, name: string): void {
  if (!Array.isArray(tuples)) throw invalidType(`an array of ${size}-atom index lists`, name, tuples);
  tuples.forEach((t, k) => {
    if (!Array.isArray(t) || t.length !== size) throw invalidType(`${size} atom indices`, `${name}[${k}]`, t);
    t.forEach((a) => {
      if (!Number.isInteger(a) || a < 0 || a >= traj.atoms) throw outOfRange(`atom index in [0, ${traj.atoms})`, `${name}[${k}]`, a);
    });
  });
}

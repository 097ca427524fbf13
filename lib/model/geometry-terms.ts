// The geometric loss terms' data: the local-geometry term's atom pairs (the bond
// graph's 1-2 and 1-3 pairs), and the pair-floor term's floors, each atom pair's
// closest approach in the training frames (a decoded frame is pushed apart only
// where two atoms come closer than the data ever had them, with a bounded gradient),
// or, with `floorPairs: "steric"`, only the heavy-atom pairs a clash check looks at.
import type { NativeModel } from '../../binding';
import { heavyAtomClashOptions, stericPairs } from '../analysis/clashes';
import { localPairs } from '../forcefield/system';
import { setSymmetries } from './symmetry';
import type { Topology } from '../io/types';
import type { TrainingSettings } from './presets';

/** Gives the model the pairs and floors its settings' geometric terms need (none when their weights are 0), and its symmetric atoms. */
export function setGeometryTerms(model: NativeModel, settings: TrainingSettings, topology: Topology, trajectories: Float32Array[]): void {
  const atoms = topology.atoms.length;
  setSymmetries(model, topology, settings.renameSymmetric === true);
  if ((settings.localWeight ?? 0) > 0) model.setLocalPairs(localPairs(topology.bonds, atoms));
  if ((settings.floorWeight ?? 0) > 0) {
    const floors = pairFloors(trajectories, atoms);
    model.setPairFloors(settings.floorPairs === 'steric' ? stericFloors(floors, topology, settings.floorVdw ?? DEFAULT_FLOOR_VDW) : floors);
  }
}

/** The steric floors' default margin: a pair is held at least this × its vdW sum apart (clashes count below 0.8 ×). */
export const DEFAULT_FLOOR_VDW = 0.85;

/**
 * Keeps of `floors` (pairFloors' [atoms*atoms]) only the heavy-atom pairs more than
 * three bonds apart, those a clash check compares with 0.8 × their vdW sum, each
 * raised to at least vdwScale × that sum; every other pair's floor becomes 0 (off).
 * Such pairs never overlap in the data, so their floor pushes only where a decoded
 * frame would clash, and bonds and angles are left to the other terms.
 */
export function stericFloors(floors: Float32Array, topology: Topology, vdwScale: number): Float32Array {
  const n = topology.atoms.length;
  const { I, J, cut2 } = stericPairs(n, heavyAtomClashOptions(topology, vdwScale));
  const out = new Float32Array(n * n);
  for (let k = 0; k < I.length; k++) {
    const d = Math.max(floors[I[k] * n + J[k]], Math.sqrt(cut2[k]));
    out[I[k] * n + J[k]] = d;
    out[J[k] * n + I[k]] = d;
  }
  return out;
}

/**
 * floors [atoms*atoms] (nm, symmetric, zero diagonal): the minimum over every frame
 * of `trajectories` (each [frames*atoms*3] nm) of each pair's distance.
 */
export function pairFloors(trajectories: Float32Array[], atoms: number): Float32Array {
  const n = atoms;
  const best = new Float64Array(n * n).fill(Infinity); // squared distances, upper triangle
  for (const t of trajectories) {
    const frames = t.length / (n * 3);
    for (let f = 0; f < frames; f++) {
      const o = f * n * 3;
      for (let i = 0; i < n; i++) {
        const xi = t[o + 3 * i], yi = t[o + 3 * i + 1], zi = t[o + 3 * i + 2];
        for (let j = i + 1; j < n; j++) {
          const dx = t[o + 3 * j] - xi, dy = t[o + 3 * j + 1] - yi, dz = t[o + 3 * j + 2] - zi;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 < best[i * n + j]) best[i * n + j] = d2;
        }
      }
    }
  }
  const floors = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = Number.isFinite(best[i * n + j]) ? Math.sqrt(best[i * n + j]) : 0;
      floors[i * n + j] = d;
      floors[j * n + i] = d;
    }
  }
  return floors;
}

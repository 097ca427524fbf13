// A quick end-to-end check of an install: the addon loads, the fused kernels
// agree with the direct formula, and a voxelize -> collapse round trip
// returns the coordinates it was given.
import { collapse, gridSpacing, voxelize, type GridSpec } from '../model/voxel';

export interface SelfCheck {
  ok: boolean;
  particles: number;
  /** max |collapse(voxelize(x)) - x| in nm, sigma = one grid spacing */
  roundTripError: number;
  /** max |fused - reference| of the density */
  fusedVsReference: number;
  ms: number;
}

export async function selfCheck(particles = 1000): Promise<SelfCheck> {
  const start = process.hrtime.bigint();
  const grid: GridSpec = { size: 12, width: 1.8, sigma: gridSpacing({ size: 12, width: 1.8 }) };
  const data = new Float32Array(particles * 3);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 16807) % 2147483647; // Park-Miller: deterministic, no dependency
    data[i] = (seed / 2147483647 - 0.5) * (grid.width / 2);
  }
  const coords = { data, shape: [1, particles, 3] };
  const fused = await voxelize(coords, grid, { impl: 'fused' });
  const reference = await voxelize(coords, grid, { impl: 'reference' });
  const back = await collapse(fused, grid);
  let roundTripError = 0;
  for (let i = 0; i < data.length; i++) roundTripError = Math.max(roundTripError, Math.abs(back.data[i] - data[i]));
  let fusedVsReference = 0;
  for (let i = 0; i < fused.data.length; i++) {
    fusedVsReference = Math.max(fusedVsReference, Math.abs(fused.data[i] - reference.data[i]));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ok: roundTripError < 1e-3 && fusedVsReference < 1e-5, particles, roundTripError, fusedVsReference, ms };
}

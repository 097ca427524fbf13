// The training frames' internal energy statistics, which the reference's
// standardised energy term (energyStandardise) divides by.
import type { Energy } from '../forcefield/energy';
import type { Device } from '../core/device';
import { spacedFrames } from './picks';

export interface EnergyStats {
  /** kJ/mol */
  mean: number;
  std: number;
  frames: number;
}

/** Mean and standard deviation (kJ/mol) of the internal energy of up to 2,000 evenly spaced frames of `trajectories` ([frames, atoms, 3] nm each). */
export async function energyStats(energy: Energy, trajectories: Float32Array[], atoms: number, options: { threads: number; device: Device }): Promise<EnergyStats> {
  const { coords, frames } = spacedFrames(trajectories, atoms * 3, 2000);
  const { total } = await energy.evaluate({ data: coords, shape: [frames, atoms, 3] }, options);
  let mean = 0;
  for (const e of total) mean += e / total.length;
  let variance = 0;
  for (const e of total) variance += (e - mean) ** 2 / total.length;
  return { mean, std: Math.sqrt(variance), frames: total.length };
}

// Any supported trajectory format to any other, streamed chunk by chunk.
import { checkOutput } from './atomic';
import { topologyFromPdb } from './pdb';
import { copyFrames, createTrajectory, formatOf, openTrajectory } from './trajectory';
import type { Topology } from './types';

export interface ConvertOptions {
  /** topology PDB: checks the atom count; needed to write PDB from DCD/XTC */
  top?: string;
  traj: string;
  out: string;
  /** XTC precision when writing XTC (1/nm, default 1000) */
  precision?: number;
  chunkFrames?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ConvertResult {
  frames: number;
  atoms: number;
  out: string;
  seconds: number;
}

export async function convert(o: ConvertOptions): Promise<ConvertResult> {
  const start = Date.now();
  formatOf(o.out); // an unknown output extension fails before any work
  checkOutput(o.out, { [o.traj]: 'the input trajectory (--traj)', ...(o.top ? { [o.top]: 'the topology (--top)' } : {}) });
  let topology: Topology | undefined;
  if (o.top) topology = await topologyFromPdb(o.top);
  else if (formatOf(o.traj) === 'pdb') topology = await topologyFromPdb(o.traj);
  const reader = await openTrajectory(o.traj, { atoms: topology?.atoms.length });
  try {
    const writer = await createTrajectory(o.out, { atoms: reader.atoms, topology, precision: o.precision });
    const frames = await copyFrames(reader, writer, { ...o, what: 'convert' });
    return { frames, atoms: reader.atoms, out: o.out, seconds: (Date.now() - start) / 1000 };
  } finally {
    await reader.close();
  }
}

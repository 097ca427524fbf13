// The bundled sample data (data/), loaded once per test file.
import * as path from 'path';
import { openDcd } from '../../lib/io/dcd';
import { topologyFromPdb } from '../../lib/io/pdb';
import type { Topology } from '../../lib/io/types';

export const DATA = path.resolve(__dirname, '../../data');

export async function adpSample(frames = 1000): Promise<{ topology: Topology; coords: Float32Array; frames: number }> {
  const topology = await topologyFromPdb(path.join(DATA, 'adp/adp.pdb'));
  const reader = await openDcd(path.join(DATA, 'adp/test-1000.dcd'), { atoms: topology.atoms.length });
  try {
    const chunk = await reader.read(0, frames);
    return { topology, coords: chunk.coords, frames: chunk.frames };
  } finally {
    await reader.close();
  }
}

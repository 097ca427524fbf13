// The bundled sample data (data/), loaded once per test file.
import { loadDataset, type Dataset } from '../../lib/model/dataset';
import { presetMapping } from '../../lib/model/mapping';
import type { TrainingData } from '../../lib/model/train';
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

/**
 * The bundled 1,000 ADP frames as one run, loaded as `train` loads a dataset: with the
 * vacuum System's force field, bonds and masses and the adp mapping.
 */
export function adpDataset(): Promise<Dataset> {
  const root = path.join(DATA, 'adp');
  return loadDataset({ top: path.join(root, 'adp.pdb'), trajs: [path.join(root, 'test-1000.dcd')], system: path.join(root, 'system-vacuum.xml'), map: 'adp' });
}

/** 40 bundled ADP frames as two separate 20-frame trajectories (frames 0-19 and 20-39), with the adp mapping. */
export async function adpTwoTrajectories(): Promise<TrainingData> {
  const adp = await adpSample(40);
  return {
    topology: adp.topology,
    mapping: presetMapping('adp', adp.topology),
    trajectories: [adp.coords.slice(0, 20 * 66), adp.coords.slice(20 * 66, 40 * 66)],
  };
}

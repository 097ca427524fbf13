// Loading what training needs from files: the topology (PDB) with its bond graph
// from the System XML, the force field and energy, the CG mapping, and every
// trajectory file in memory as its own trajectory.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Energy } from '../forcefield/energy';
import { TcbmError } from '../core/errors';
import { bondGraph, loadForceField, type ForceField } from '../forcefield/system';
import { topologyFromPdb } from '../io/pdb';
import { TrajectorySet } from '../io/trajectory';
import type { Topology } from '../io/types';
import { loadMapping } from './mapping';
import type { TrainingData } from './train';

export interface DatasetFiles {
  top: string;
  trajs: string[];
  system: string;
  map: string;
}

export interface Dataset extends TrainingData {
  forceField: ForceField;
  energy: Energy;
  frames: number[];
}

/** The topology of `top` with bonds from the System XML (PDB CONECT records are often partial). */
export async function loadTopology(top: string, forceField?: ForceField): Promise<Topology> {
  const topology = await topologyFromPdb(top);
  if (forceField) {
    if (forceField.particles.length !== topology.atoms.length) {
      throw new TcbmError('ERR_ATOM_COUNT', `${forceField.name}: has ${forceField.particles.length} particles, ${top} has ${topology.atoms.length} atoms`);
    }
    topology.bonds = bondGraph(forceField);
  }
  return topology;
}

export async function loadDataset(files: DatasetFiles, onFile?: (file: string, frames: number) => void): Promise<Dataset> {
  const forceField = await loadForceField(files.system);
  const topology = await loadTopology(files.top, forceField);
  const mapping = await loadMapping(files.map, topology, forceField.masses);
  const energy = Energy.fromForceField(forceField);
  const set = await TrajectorySet.open(files.trajs, { atoms: topology.atoms.length });
  try {
    const trajectories: Float32Array[] = [];
    for (let t = 0; t < set.readers.length; t++) {
      const chunk = await set.readers[t].read(0, set.frameCounts[t]);
      trajectories.push(chunk.coords);
      onFile?.(files.trajs[t], chunk.frames);
    }
    return {
      topology, mapping, forceField, energy, trajectories, systemXml: await fsp.readFile(files.system, 'utf8'),
      frames: set.frameCounts, names: files.trajs.map((f) => path.basename(f)),
    };
  } finally {
    await set.close();
  }
}

/** Whole trajectories of a known atom count, one array per file (e.g. held-out validation runs). */
export async function loadTrajectories(files: string[], atoms: number): Promise<Float32Array[]> {
  const set = await TrajectorySet.open(files, { atoms });
  try {
    const out: Float32Array[] = [];
    for (let t = 0; t < set.readers.length; t++) out.push((await set.readers[t].read(0, set.frameCounts[t])).coords);
    return out;
  } finally {
    await set.close();
  }
}

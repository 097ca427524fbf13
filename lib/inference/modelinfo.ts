// A .tcbm model file read and checked: what backmapping, coarse-graining, the
// latent report and train --init need from it.
import { fileError } from '../core/errors';
import { GaussianMixtureModel, type GaussianMixtureJSON } from '../model/gmm';
import type { Topology } from '../io/types';
import type { CgMapping } from '../model/mapping';
import { floatsOf, readContainer } from '../model/modelfile';
import type { CanonicalFrame } from '../model/orientation';
import type { Preset, TrainingSettings } from '../model/presets';

export interface ModelInfo {
  preset: Preset;
  previousFrame: boolean;
  topology: Topology;
  mapping: CgMapping;
  mixture: GaussianMixtureModel;
  /** [S, beads, 3] nm: CG frame t of each seed pair */
  seedCg: Float32Array;
  /** [S, atoms, 3] nm: atomistic frame t-1 of each seed pair */
  seedPrevAa: Float32Array;
  seedFrames: number;
  training: { steps: number; seed: number; pairs: number; files: string[] };
  tcbackmap: string;
  /** canonical orientation: the reference CG frame [beads*3] nm, centred (absent under random rotations) */
  canonicalReference?: Float32Array;
  /** the OpenMM System XML the model was trained with (models that store it) */
  systemXml?: string;
  /** the training settings it was trained under (its preset's with any overrides; older files: the preset's) */
  settings: TrainingSettings;
}

interface ModelHeader {
  kind: string;
  preset: Preset;
  previousFrame: boolean;
  topology: Topology;
  mapping: { name: string; atoms: number; beads: number; beadNames: string[]; indices?: number[] };
  mixture: GaussianMixtureJSON;
  seedBank: { frames: number };
  training: ModelInfo['training'];
  tcbackmap: string;
  canonical?: CanonicalFrame;
  settings?: TrainingSettings;
}

/** Reads and checks a .tcbm model file (not a checkpoint). */
export async function readModelFile(file: string): Promise<{ info: ModelInfo; weights: Uint8Array }> {
  const { header, sections } = await readContainer(file);
  const h = header as unknown as ModelHeader;
  if (h.kind !== 'model') {
    throw fileError('ERR_BAD_FORMAT', file, h.kind === 'checkpoint' ? 'is a training checkpoint, not a model (finish training or use it with train --resume)' : 'is not a tcbackmap model');
  }
  for (const name of ['weights', 'mapping', 'seedCg', 'seedPrevAa']) {
    if (!sections[name]) throw fileError('ERR_BAD_FORMAT', file, `model file has no "${name}" section`);
  }
  const atoms = h.topology.atoms.length;
  const beads = h.mapping.beads;
  const matrix = floatsOf(sections.mapping);
  const seedCg = floatsOf(sections.seedCg);
  const seedPrevAa = floatsOf(sections.seedPrevAa);
  const S = h.seedBank.frames;
  if (matrix.length !== atoms * beads || seedCg.length !== S * beads * 3 || seedPrevAa.length !== S * atoms * 3 || S < 1) {
    throw fileError('ERR_BAD_FORMAT', file, 'model file sections do not match its header');
  }
  // A canonical-orientation model needs its reference CG frame, and only it has one.
  const reference = Array.isArray(h.canonical?.reference) ? Float32Array.from(h.canonical.reference) : undefined;
  const valid = reference !== undefined && reference.length === beads * 3 && reference.every(Number.isFinite);
  if (h.preset.architecture.orientation === 'canonical' ? !valid : h.canonical !== undefined) {
    throw fileError('ERR_BAD_FORMAT', file, `model file's canonical reference does not fit its header (orientation ${h.preset.architecture.orientation ?? 'random'}, ${beads} beads)`);
  }
  const mapping: CgMapping = {
    name: h.mapping.name,
    atoms,
    beads,
    beadNames: h.mapping.beadNames,
    matrix,
    indices: h.mapping.indices ? Int32Array.from(h.mapping.indices) : undefined,
  };
  return {
    info: {
      preset: h.preset, previousFrame: h.previousFrame, topology: h.topology, mapping,
      mixture: GaussianMixtureModel.fromJSON(h.mixture), seedCg, seedPrevAa, seedFrames: S,
      training: h.training, tcbackmap: h.tcbackmap, canonicalReference: reference, settings: h.settings ?? h.preset.training,
      systemXml: sections.system ? Buffer.from(sections.system).toString('utf8') : undefined,
    },
    weights: new Uint8Array(sections.weights),
  };
}

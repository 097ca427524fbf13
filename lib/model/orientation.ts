// Canonical orientation (Architecture.orientation = 'canonical'): the reference CG
// frame a training run superposes every sample's C(t) on, chosen once from the
// data and stored in model files and checkpoints. The rotations themselves are
// superpose.ts's (TypeScript, training) and the native rollout's (Model).
import { TcbmError } from '../core/errors';
import { centroid } from '../inference/superpose';

/** The reference as a model file or checkpoint header stores it. */
export interface CanonicalFrame {
  /** [beads*3] nm, centred on its centroid */
  reference: number[];
}

/** CG frame `frame` of `cg` centred on its centroid: the reference a run chooses; fewer than 3 beads fix no orientation and are refused. */
export function canonicalReference(cg: Float32Array, frame: number, beads: number): Float32Array {
  if (beads < 3) throw new TcbmError('ERR_INVALID_ARG_VALUE', `canonical orientation needs at least 3 CG beads to fix an orientation, the mapping has ${beads}`);
  const c = centroid(cg, frame * beads * 3, beads);
  return cg.slice(frame * beads * 3, (frame + 1) * beads * 3).map((x, i) => x - c[i % 3]);
}

/** The header form of a reference (undefined under random orientation), exact: float32 values survive JSON. */
export function canonicalFrame(reference: Float32Array | undefined): CanonicalFrame | undefined {
  return reference && { reference: Array.from(reference) };
}

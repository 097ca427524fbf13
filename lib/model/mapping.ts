// Coarse-grained mappings: which atoms make each CG bead and with what weights.
// A mapping is a [beads, atoms] matrix M with rows summing to 1, bead = M · atoms;
// when every bead is a single atom it is a plain gather (the fast path).
import { promises as fsp } from 'fs';
import { TcbmError, fileError, invalidType } from '../core/errors';
import type { Topology } from '../io/types';

export interface CgMapping {
  /** "ca", "adp" or the JSON file's name */
  name: string;
  atoms: number;
  beads: number;
  beadNames: string[];
  /** [beads, atoms] row-major; each row sums to 1 */
  matrix: Float32Array;
  /** the atom index of each bead when every bead is a single atom */
  indices?: Int32Array;
}

export const MAPPING_PRESETS = ['ca', 'adp'] as const;

/** The paper's 6 ADP beads, in this order (residue name, atom name). */
const ADP_BEADS: [string, string][] = [
  ['ACE', 'C'],
  ['ALA', 'N'],
  ['ALA', 'CA'],
  ['ALA', 'C'],
  ['NME', 'N'],
  ['ALA', 'CB'],
];

/** Standard atomic masses (u) of the elements found in biomolecules, for centre-of-mass beads. */
const ELEMENT_MASS: Record<string, number> = {
  H: 1.008, C: 12.011, N: 14.007, O: 15.999, S: 32.06, P: 30.974, F: 18.998, Cl: 35.45, Br: 79.904, I: 126.9,
  Na: 22.99, K: 39.098, Mg: 24.305, Ca: 40.078, Zn: 65.38, Fe: 55.845,
};

function fromIndices(name: string, atoms: number, indices: number[], beadNames: string[]): CgMapping {
  const matrix = new Float32Array(indices.length * atoms);
  indices.forEach((a, b) => (matrix[b * atoms + a] = 1));
  return { name, atoms, beads: indices.length, beadNames, matrix, indices: Int32Array.from(indices) };
}

/** `ca`: one bead per CA atom of an amino-acid residue (carbon, not a calcium ion). */
function caMapping(top: Topology): CgMapping {
  const indices: number[] = [];
  top.atoms.forEach((a, i) => {
    if (a.name === 'CA' && a.element === 'C') indices.push(i);
  });
  if (indices.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'mapping "ca": the topology has no CA carbon atoms');
  return fromIndices('ca', top.atoms.length, indices, indices.map((i) => `${top.atoms[i].resName}${top.atoms[i].resSeq}:CA`));
}

function adpMapping(top: Topology): CgMapping {
  const indices = ADP_BEADS.map(([res, atom]) => {
    const i = top.atoms.findIndex((a) => a.resName === res && a.name === atom);
    if (i < 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', `mapping "adp": the topology has no atom ${atom} in residue ${res}`);
    return i;
  });
  return fromIndices('adp', top.atoms.length, indices, ADP_BEADS.map(([r, a]) => `${r}:${a}`));
}

export function presetMapping(preset: (typeof MAPPING_PRESETS)[number], top: Topology): CgMapping {
  return preset === 'ca' ? caMapping(top) : adpMapping(top);
}

/**
 * A JSON mapping file:
 * { "beads": [ { "name": "BB1", "atoms": [0, "2:CA", …], "weights": "mass" | "centroid" | [w, …] }, … ] }
 * Atoms are 0-based indices or "<resSeq>:<atom name>"; weights default to "centroid";
 * "mass" gives the centre of mass (masses from `masses`, else from each atom's element).
 */
export function parseMapping(json: unknown, top: Topology, name: string, masses?: ArrayLike<number>): CgMapping {
  const fail = (problem: string) => fileError('ERR_BAD_FORMAT', name, problem);
  const beadsIn = (json as { beads?: unknown })?.beads;
  if (!Array.isArray(beadsIn) || beadsIn.length === 0) throw fail('expected {"beads": [ … ]} with at least one bead');
  const n = top.atoms.length;
  const matrix = new Float32Array(beadsIn.length * n);
  const beadNames: string[] = [];
  let single = true;
  beadsIn.forEach((bead: { name?: unknown; atoms?: unknown; weights?: unknown }, b) => {
    const label = typeof bead?.name === 'string' ? bead.name : `bead ${b}`;
    beadNames.push(label);
    if (!Array.isArray(bead?.atoms) || bead.atoms.length === 0) throw fail(`${label}: expected a non-empty "atoms" list`);
    const atoms = bead.atoms.map((sel: unknown) => resolveAtom(sel, top, (p) => fail(`${label}: ${p}`)));
    let w: number[];
    const spec = bead.weights ?? 'centroid';
    if (spec === 'centroid') w = atoms.map(() => 1);
    else if (spec === 'mass') {
      w = atoms.map((a) => {
        const m = masses ? masses[a] : ELEMENT_MASS[top.atoms[a].element];
        if (!(m > 0)) throw fail(`${label}: no mass for atom ${a} (${top.atoms[a].element})`);
        return m;
      });
    } else if (Array.isArray(spec) && spec.length === atoms.length && spec.every((x) => typeof x === 'number' && x >= 0)) {
      w = spec as number[];
    } else {
      throw fail(`${label}: "weights" must be "mass", "centroid" or ${atoms.length} non-negative numbers`);
    }
    const total = w.reduce((s, x) => s + x, 0);
    if (!(total > 0)) throw fail(`${label}: weights sum to zero`);
    atoms.forEach((a, k) => (matrix[b * n + a] += w[k] / total));
    if (atoms.length !== 1) single = false;
  });
  const mapping: CgMapping = { name, atoms: n, beads: beadsIn.length, beadNames, matrix };
  if (single) mapping.indices = Int32Array.from(beadsIn.map((_, b) => matrix.subarray(b * n, (b + 1) * n).indexOf(1)));
  return mapping;
}

function resolveAtom(sel: unknown, top: Topology, fail: (p: string) => Error): number {
  if (typeof sel === 'number') {
    if (!Number.isInteger(sel) || sel < 0 || sel >= top.atoms.length) {
      throw fail(`atom index ${sel} is outside 0..${top.atoms.length - 1}`);
    }
    return sel;
  }
  if (typeof sel === 'string') {
    const m = /^(-?\d+):(\S+)$/.exec(sel);
    if (!m) throw fail(`atom "${sel}" is not "<resSeq>:<name>"`);
    const i = top.atoms.findIndex((a) => a.resSeq === Number(m[1]) && a.name === m[2]);
    if (i < 0) throw fail(`no atom ${m[2]} in residue ${m[1]}`);
    return i;
  }
  throw fail(`atom ${JSON.stringify(sel)} must be an index or "<resSeq>:<name>"`);
}

/** `spec` is a preset name or the path of a JSON mapping file. */
export async function loadMapping(spec: string, top: Topology, masses?: ArrayLike<number>): Promise<CgMapping> {
  if (typeof spec !== 'string') throw invalidType('"ca", "adp" or a .json path', 'mapping', spec);
  if ((MAPPING_PRESETS as readonly string[]).includes(spec)) return presetMapping(spec as 'ca' | 'adp', top);
  let text: string;
  try {
    text = await fsp.readFile(spec, 'utf8');
  } catch {
    throw fileError('ERR_FILE_NOT_FOUND', spec, `no such mapping file (presets: ${MAPPING_PRESETS.join(', ')})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fileError('ERR_BAD_FORMAT', spec, `not valid JSON (${(err as Error).message})`);
  }
  return parseMapping(json, top, spec, masses);
}

/** CG coordinates [frames, beads, 3] of atomistic ones [frames, atoms, 3]. */
export function applyMapping(mapping: CgMapping, coords: Float32Array, frames: number): Float32Array {
  const { atoms, beads, indices, matrix } = mapping;
  if (coords.length !== frames * atoms * 3) {
    throw new RangeError(`Expected ${frames * atoms * 3} coordinates (${frames} frames x ${atoms} atoms) but received ${coords.length}`);
  }
  const out = new Float32Array(frames * beads * 3);
  for (let f = 0; f < frames; f++) {
    const src = f * atoms * 3;
    const dst = f * beads * 3;
    for (let b = 0; b < beads; b++) {
      if (indices) {
        const a = src + indices[b] * 3;
        out[dst + b * 3] = coords[a];
        out[dst + b * 3 + 1] = coords[a + 1];
        out[dst + b * 3 + 2] = coords[a + 2];
        continue;
      }
      let x = 0, y = 0, z = 0;
      const row = b * atoms;
      for (let a = 0; a < atoms; a++) {
        const w = matrix[row + a];
        if (w === 0) continue;
        x += w * coords[src + a * 3];
        y += w * coords[src + a * 3 + 1];
        z += w * coords[src + a * 3 + 2];
      }
      out[dst + b * 3] = x;
      out[dst + b * 3 + 1] = y;
      out[dst + b * 3 + 2] = z;
    }
  }
  return out;
}

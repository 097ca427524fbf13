// An OpenMM System XML (XmlSerializer.serialize(system)) as typed parameters, in
// OpenMM's names and units: nm, kJ/mol, rad, e, amu. Struct-of-arrays so that the
// parameters cross into C++ as typed arrays without a copy per term.
import { promises as fsp } from 'fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fileError } from '../core/errors';

export interface HarmonicBondForce {
  p1: Int32Array;
  p2: Int32Array;
  /** equilibrium length r0, nm */
  length: Float64Array;
  /** kJ/mol/nm², energy ½k(r − r0)² */
  k: Float64Array;
}

export interface HarmonicAngleForce {
  p1: Int32Array;
  p2: Int32Array;
  p3: Int32Array;
  /** equilibrium angle θ0, rad */
  angle: Float64Array;
  /** kJ/mol/rad², energy ½k(θ − θ0)² */
  k: Float64Array;
}

export interface PeriodicTorsionForce {
  p1: Int32Array;
  p2: Int32Array;
  p3: Int32Array;
  p4: Int32Array;
  periodicity: Int32Array;
  /** phase φ0, rad */
  phase: Float64Array;
  /** kJ/mol, energy k(1 + cos(nφ − φ0)) */
  k: Float64Array;
}

export interface NonbondedExceptions {
  p1: Int32Array;
  p2: Int32Array;
  /** qi·qj of the pair, e² (0 with epsilon 0: the pair is excluded) */
  chargeProd: Float64Array;
  sigma: Float64Array;
  epsilon: Float64Array;
}

export interface NonbondedForce {
  /** OpenMM's NonbondedMethod number; only 0 (NoCutoff) is supported */
  method: number;
  /** per particle: charge (e), sigma (nm), epsilon (kJ/mol) */
  charge: Float64Array;
  sigma: Float64Array;
  epsilon: Float64Array;
  /** pairs whose parameters replace the combining rules */
  exceptions: NonbondedExceptions;
}

export interface CmapMap {
  /** grid points per angle; the map spans [-π, π) in each */
  size: number;
  /** size × size energies, kJ/mol, φ-major as OpenMM stores them */
  energy: Float64Array;
}

export interface CMAPTorsionForce {
  maps: CmapMap[];
  /** per torsion: map index and the two dihedrals' atoms (a1-a4 for φ, b1-b4 for ψ) */
  map: Int32Array;
  a1: Int32Array;
  a2: Int32Array;
  a3: Int32Array;
  a4: Int32Array;
  b1: Int32Array;
  b2: Int32Array;
  b3: Int32Array;
  b4: Int32Array;
}

/** The energy terms tcbackmap evaluates, by OpenMM class name. */
export type EnergyTermName =
  | 'HarmonicBondForce'
  | 'HarmonicAngleForce'
  | 'PeriodicTorsionForce'
  | 'NonbondedForce'
  | 'CMAPTorsionForce';

export interface ForceField {
  /** where the parameters came from (a path or a caller's label) */
  name: string;
  particles: { mass: number }[];
  /** the same masses, amu */
  masses: Float64Array;
  bonds: HarmonicBondForce;
  angles: HarmonicAngleForce;
  torsions: PeriodicTorsionForce;
  nonbonded: NonbondedForce;
  cmap?: CMAPTorsionForce;
  /** the energy terms in file order (forces without energy, like CMMotionRemover, are left out) */
  forceNames: EnergyTermName[];
}

export interface ForceFieldCounts {
  HarmonicBondForce: number;
  HarmonicAngleForce: number;
  PeriodicTorsionForce: number;
  NonbondedForce: { particles: number; exceptions: number };
  CMAPTorsionForce?: { maps: number; torsions: number };
}

const NONBONDED_METHODS = ['NoCutoff', 'CutoffNonPeriodic', 'CutoffPeriodic', 'Ewald', 'PME', 'LJPME'];
/** Forces that contribute no energy and are accepted silently. */
const IGNORED_FORCES = new Set(['CMMotionRemover']);
const ENERGY_FORCES = new Set<string>(['HarmonicBondForce', 'HarmonicAngleForce', 'PeriodicTorsionForce', 'NonbondedForce', 'CMAPTorsionForce']);

// Elements that may repeat; everything else is a single child.
const LISTS = new Set(['Particle', 'Force', 'Bond', 'Angle', 'Torsion', 'Exception', 'Map', 'Energy', 'Constraint']);

type XmlNode = Record<string, unknown>;

/** Reads and parses a System XML file. */
export async function loadForceField(file: string): Promise<ForceField> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError('ERR_FILE_NOT_FOUND', file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`);
  }
  return parseForceField(text, file);
}

/** Parses System XML text; `name` labels errors (usually the file path). */
export function parseForceField(xml: string, name: string): ForceField {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw fileError('ERR_BAD_FORMAT', name, `malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    isArray: (tag: string) => LISTS.has(tag),
  }).parse(xml) as XmlNode;
  const system = doc.System as XmlNode | undefined;
  if (!system || typeof system !== 'object') throw fileError('ERR_BAD_FORMAT', name, 'no <System> element (not an OpenMM System XML)');
  const reader = new Reader(name);

  const particles = children(system.Particles, 'Particle').map((p, i) => ({ mass: reader.number(p, 'mass', `Particle ${i}`) }));
  const n = particles.length;
  if (n === 0) throw fileError('ERR_BAD_FORMAT', name, 'the System has no particles');
  reader.particles = n;

  const forces = children(system.Forces, 'Force');
  const types = forces.map((f, i) => {
    const type = f.type;
    if (typeof type !== 'string') throw fileError('ERR_BAD_FORMAT', name, `Force ${i} has no type attribute`);
    return type;
  });
  const unsupported = [...new Set(types.filter((t) => !ENERGY_FORCES.has(t) && !IGNORED_FORCES.has(t)))];
  if (unsupported.length > 0) {
    throw fileError(
      'ERR_UNSUPPORTED',
      name,
      `unsupported force${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')} ` +
        `(supported: ${[...ENERGY_FORCES].join(', ')}; ${[...IGNORED_FORCES].join(', ')} is ignored)`,
    );
  }

  const bondParts: HarmonicBondForce[] = [];
  const angleParts: HarmonicAngleForce[] = [];
  const torsionParts: PeriodicTorsionForce[] = [];
  let nonbonded: NonbondedForce | undefined;
  let cmap: CMAPTorsionForce | undefined;
  if (forces.every((_, i) => IGNORED_FORCES.has(types[i]))) {
    throw fileError('ERR_BAD_FORMAT', name, 'the System defines no forces with energy (expected HarmonicBondForce, NonbondedForce, …)');
  }
  const forceNames: EnergyTermName[] = [];
  forces.forEach((force, i) => {
    const type = types[i];
    if (IGNORED_FORCES.has(type)) return;
    // Two forces of one class (bonded) add up into one term, as one energy column.
    if (!forceNames.includes(type as EnergyTermName)) forceNames.push(type as EnergyTermName);
    switch (type) {
      case 'HarmonicBondForce':
        bondParts.push(reader.bonds(force));
        break;
      case 'HarmonicAngleForce':
        angleParts.push(reader.angles(force));
        break;
      case 'PeriodicTorsionForce':
        torsionParts.push(reader.torsions(force));
        break;
      case 'NonbondedForce':
        if (nonbonded) throw fileError('ERR_UNSUPPORTED', name, 'more than one NonbondedForce');
        nonbonded = reader.nonbonded(force);
        break;
      case 'CMAPTorsionForce':
        if (cmap) throw fileError('ERR_UNSUPPORTED', name, 'more than one CMAPTorsionForce');
        cmap = reader.cmap(force);
        break;
    }
  });

  const masses = Float64Array.from(particles, (p) => p.mass);
  return {
    name,
    particles,
    masses,
    bonds: concat(bondParts, ['p1', 'p2', 'length', 'k']),
    angles: concat(angleParts, ['p1', 'p2', 'p3', 'angle', 'k']),
    torsions: concat(torsionParts, ['p1', 'p2', 'p3', 'p4', 'periodicity', 'phase', 'k']),
    nonbonded: nonbonded ?? emptyNonbonded(n),
    ...(cmap ? { cmap } : {}),
    forceNames,
  };
}

/** Bonds of the HarmonicBondForce as sorted pairs [i, j], i < j, each once. */
export function bondGraph(ff: ForceField): [number, number][] {
  const seen = new Set<number>();
  const pairs: [number, number][] = [];
  const n = ff.particles.length;
  for (let b = 0; b < ff.bonds.p1.length; b++) {
    const i = Math.min(ff.bonds.p1[b], ff.bonds.p2[b]);
    const j = Math.max(ff.bonds.p1[b], ff.bonds.p2[b]);
    if (i === j || seen.has(i * n + j)) continue;
    seen.add(i * n + j);
    pairs.push([i, j]);
  }
  return pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Each atom's bonded neighbours, from bonds as index pairs. */
export function neighbourLists(bonds: [number, number][], atoms: number): number[][] {
  const neighbours: number[][] = Array.from({ length: atoms }, () => []);
  for (const [a, b] of bonds) {
    neighbours[a].push(b);
    neighbours[b].push(a);
  }
  return neighbours;
}

/** Every bonded triplet [x, centre, z] of the bond graph, x < z, each once, by centre. */
export function bondedTriplets(bonds: [number, number][], atoms: number): [number, number, number][] {
  const triplets: [number, number, number][] = [];
  neighbourLists(bonds, atoms).forEach((nb, centre) => {
    for (let i = 0; i < nb.length; i++) {
      for (let j = i + 1; j < nb.length; j++) if (nb[i] !== nb[j]) triplets.push([Math.min(nb[i], nb[j]), centre, Math.max(nb[i], nb[j])]);
    }
  });
  return triplets;
}

/** Term counts, shaped as energies.json records them. */
export function forceFieldCounts(ff: ForceField): ForceFieldCounts {
  const counts: ForceFieldCounts = {
    HarmonicBondForce: ff.bonds.p1.length,
    HarmonicAngleForce: ff.angles.p1.length,
    PeriodicTorsionForce: ff.torsions.p1.length,
    NonbondedForce: { particles: ff.nonbonded.charge.length, exceptions: ff.nonbonded.exceptions.p1.length },
  };
  if (ff.cmap) counts.CMAPTorsionForce = { maps: ff.cmap.maps.length, torsions: ff.cmap.map.length };
  return counts;
}

function children(parent: unknown, tag: string): XmlNode[] {
  if (parent === undefined || parent === null || parent === '') return [];
  const list = (parent as XmlNode)[tag];
  return Array.isArray(list) ? (list as XmlNode[]) : [];
}

function emptyNonbonded(n: number): NonbondedForce {
  return {
    method: 0,
    charge: new Float64Array(n),
    sigma: new Float64Array(n).fill(1),
    epsilon: new Float64Array(n),
    exceptions: { p1: new Int32Array(0), p2: new Int32Array(0), chargeProd: new Float64Array(0), sigma: new Float64Array(0), epsilon: new Float64Array(0) },
  };
}

// Joins the struct-of-arrays of several forces of one class, field by field.
function concat<T extends object>(parts: T[], keys: (keyof T)[]): T {
  const out = {} as T;
  for (const key of keys) {
    const arrays = parts.map((p) => p[key] as unknown as Int32Array | Float64Array);
    const isInt = key === 'p1' || key === 'p2' || key === 'p3' || key === 'p4' || key === 'periodicity';
    const total = arrays.reduce((s, a) => s + a.length, 0);
    const joined = isInt ? new Int32Array(total) : new Float64Array(total);
    let offset = 0;
    for (const a of arrays) {
      joined.set(a, offset);
      offset += a.length;
    }
    (out as Record<string, unknown>)[key as string] = joined;
  }
  return out;
}

// Attribute readers that name the file, the element and its index on bad values.
class Reader {
  particles = 0;
  constructor(private readonly name: string) {}

  number(node: XmlNode, attr: string, where: string): number {
    const raw = node[attr];
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) {
      throw fileError('ERR_BAD_FORMAT', this.name, `${where}: attribute ${attr} is ${raw === undefined ? 'missing' : `not a number (${JSON.stringify(raw)})`}`);
    }
    return value;
  }

  integer(node: XmlNode, attr: string, where: string): number {
    const value = this.number(node, attr, where);
    if (!Number.isInteger(value)) throw fileError('ERR_BAD_FORMAT', this.name, `${where}: attribute ${attr} must be an integer, got ${value}`);
    return value;
  }

  atom(node: XmlNode, attr: string, where: string): number {
    const value = this.integer(node, attr, where);
    if (value < 0 || value >= this.particles) {
      throw fileError('ERR_BAD_FORMAT', this.name, `${where}: atom ${attr}=${value} is outside 0..${this.particles - 1}`);
    }
    return value;
  }

  // One Int32Array per atom attribute and one Float64Array per parameter attribute.
  table(items: XmlNode[], label: string, atoms: string[], ints: string[], floats: string[]): Record<string, Int32Array | Float64Array> {
    const out: Record<string, Int32Array | Float64Array> = {};
    for (const a of [...atoms, ...ints]) out[a] = new Int32Array(items.length);
    for (const f of floats) out[f] = new Float64Array(items.length);
    items.forEach((item, i) => {
      const where = `${label} ${i}`;
      for (const a of atoms) out[a][i] = this.atom(item, a, where);
      for (const a of ints) out[a][i] = this.integer(item, a, where);
      for (const f of floats) out[f][i] = this.number(item, f, where);
    });
    return out;
  }

  bonds(force: XmlNode): HarmonicBondForce {
    const t = this.table(children(force.Bonds, 'Bond'), 'HarmonicBondForce Bond', ['p1', 'p2'], [], ['d', 'k']);
    return { p1: t.p1 as Int32Array, p2: t.p2 as Int32Array, length: t.d as Float64Array, k: t.k as Float64Array };
  }

  angles(force: XmlNode): HarmonicAngleForce {
    const t = this.table(children(force.Angles, 'Angle'), 'HarmonicAngleForce Angle', ['p1', 'p2', 'p3'], [], ['a', 'k']);
    return { p1: t.p1 as Int32Array, p2: t.p2 as Int32Array, p3: t.p3 as Int32Array, angle: t.a as Float64Array, k: t.k as Float64Array };
  }

  torsions(force: XmlNode): PeriodicTorsionForce {
    const t = this.table(children(force.Torsions, 'Torsion'), 'PeriodicTorsionForce Torsion', ['p1', 'p2', 'p3', 'p4'], ['periodicity'], ['phase', 'k']);
    return {
      p1: t.p1 as Int32Array,
      p2: t.p2 as Int32Array,
      p3: t.p3 as Int32Array,
      p4: t.p4 as Int32Array,
      periodicity: t.periodicity as Int32Array,
      phase: t.phase as Float64Array,
      k: t.k as Float64Array,
    };
  }

  nonbonded(force: XmlNode): NonbondedForce {
    const method = this.integer(force, 'method', 'NonbondedForce');
    if (method !== 0) {
      throw fileError('ERR_UNSUPPORTED', this.name, `NonbondedForce method ${NONBONDED_METHODS[method] ?? method} (method="${method}") is not supported; only NoCutoff (method="0") is`);
    }
    const offsets = [...children(force.ParticleOffsets, 'Offset'), ...children(force.ExceptionOffsets, 'Offset')];
    if (offsets.length > 0) {
      throw fileError('ERR_UNSUPPORTED', this.name, 'NonbondedForce parameter offsets are not supported');
    }
    const particles = children(force.Particles, 'Particle');
    if (particles.length !== this.particles) {
      throw fileError('ERR_BAD_FORMAT', this.name, `NonbondedForce has ${particles.length} particles but the System has ${this.particles}`);
    }
    const p = this.table(particles, 'NonbondedForce Particle', [], [], ['q', 'sig', 'eps']);
    const e = this.table(children(force.Exceptions, 'Exception'), 'NonbondedForce Exception', ['p1', 'p2'], [], ['q', 'sig', 'eps']);
    return {
      method,
      charge: p.q as Float64Array,
      sigma: p.sig as Float64Array,
      epsilon: p.eps as Float64Array,
      exceptions: {
        p1: e.p1 as Int32Array,
        p2: e.p2 as Int32Array,
        chargeProd: e.q as Float64Array,
        sigma: e.sig as Float64Array,
        epsilon: e.eps as Float64Array,
      },
    };
  }

  cmap(force: XmlNode): CMAPTorsionForce {
    const maps = children(force.Maps, 'Map').map((m, i) => {
      const size = this.integer(m, 'size', `CMAPTorsionForce Map ${i}`);
      const values = children(m, 'Energy');
      if (size < 1 || values.length !== size * size) {
        throw fileError('ERR_BAD_FORMAT', this.name, `CMAPTorsionForce Map ${i}: size ${size} needs ${size * size} energies, found ${values.length}`);
      }
      return { size, energy: Float64Array.from(values, (v, j) => this.number(v, 'e', `CMAPTorsionForce Map ${i} Energy ${j}`)) };
    });
    const atoms = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4'];
    const t = this.table(children(force.Torsions, 'Torsion'), 'CMAPTorsionForce Torsion', atoms, ['map'], []);
    t.map.forEach((m, i) => {
      if (m < 0 || m >= maps.length) throw fileError('ERR_BAD_FORMAT', this.name, `CMAPTorsionForce Torsion ${i}: map ${m} is outside 0..${maps.length - 1}`);
    });
    return { maps, map: t.map as Int32Array, ...(Object.fromEntries(atoms.map((a) => [a, t[a]])) as Record<string, Int32Array>) } as CMAPTorsionForce;
  }
}

/** The bond graph's 1-2 and 1-3 atom pairs (bonds and angles), i < j, each once, as Int32Array [P*2]. */
export function localPairs(bonds: [number, number][], atoms: number): Int32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  const pairs: [number, number][] = [...bonds, ...bondedTriplets(bonds, atoms).map(([x, , z]): [number, number] => [x, z])];
  for (const [i, j] of pairs) {
    const [a, b] = i < j ? [i, j] : [j, i];
    if (a === b || seen.has(a * atoms + b)) continue;
    seen.add(a * atoms + b);
    out.push(a, b);
  }
  return Int32Array.from(out);
}

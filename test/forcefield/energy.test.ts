// The force-field energy against OpenMM: the 20 reference frames of ADP and
// chignolin, forces against central finite differences, fused kernel against the
// tensor path, random systems against OpenMM itself, and coincident atoms.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Energy, type EnergyResult } from '../../lib/forcefield/energy';
import { parseForceField } from '../../lib/forcefield/system';
import { openDcd } from '../../lib/io/dcd';
import type { Impl } from '../../lib/model/voxel';
import { native } from '../../lib/core/native';
import { typeTag } from '../support/helpers';

// the bundled data/: System XML, OpenMM's energies of the first 20 test frames, and those frames
const DATA = path.resolve(__dirname, '../../data');

interface Reference {
  frames: { frame: number; terms: Record<string, number>; total: number }[];
}

interface System {
  energy: Energy;
  reference: Reference;
  coords: Float32Array; // the 20 reference frames, nm
  particles: number;
}

async function loadSystem(name: string): Promise<System> {
  const dir = path.join(DATA, name);
  const reference = JSON.parse(fs.readFileSync(path.join(dir, 'energies.json'), 'utf8')) as Reference;
  const energy = await Energy.load(path.join(dir, 'system-vacuum.xml'));
  const reader = await openDcd(path.join(dir, name === 'adp' ? 'test-1000.dcd' : 'test-200.dcd'));
  try {
    const chunk = await reader.read(0, reference.frames.length);
    return { energy, reference, coords: chunk.coords, particles: chunk.atoms };
  } finally {
    await reader.close();
  }
}

/** Worst error of every term and the total against OpenMM, as max relative and max absolute (kJ/mol). */
function errors(result: EnergyResult, ref: Reference): { relative: number; absolute: number; tolerance: (rel: number, abs: number) => string[] } {
  const rows: { what: string; ours: number; theirs: number }[] = [];
  ref.frames.forEach((f, b) => {
    for (const [term, value] of Object.entries(f.terms)) rows.push({ what: `frame ${b} ${term}`, ours: result.terms[term][b], theirs: value });
    rows.push({ what: `frame ${b} total`, ours: result.total[b], theirs: f.total });
  });
  let relative = 0;
  let absolute = 0;
  for (const r of rows) {
    absolute = Math.max(absolute, Math.abs(r.ours - r.theirs));
    relative = Math.max(relative, Math.abs(r.ours - r.theirs) / Math.abs(r.theirs));
  }
  const tolerance = (rel: number, abs: number) =>
    rows
      .filter((r) => !(Math.abs(r.ours - r.theirs) <= abs || Math.abs(r.ours - r.theirs) <= rel * Math.abs(r.theirs)))
      .map((r) => `${r.what}: ${r.ours} vs OpenMM ${r.theirs}`);
  return { relative, absolute, tolerance };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function frame(coords: Float32Array, particles: number, b: number): Float64Array {
  return Float64Array.from(coords.subarray(b * particles * 3, (b + 1) * particles * 3));
}

describe.each(['adp', 'chignolin'])('%s: 20 frames of test.dcd against OpenMM', (name) => {
  let sys: System;
  beforeAll(async () => {
    sys = await loadSystem(name);
  });

  test.each<Impl>(['fused', 'tensor', 'reference'])('float64 %s: every term and the total within 1e-4 relative or 0.01 kJ/mol', async (impl) => {
    const result = await sys.energy.evaluate({ data: sys.coords, shape: [20, sys.particles, 3] }, { impl, precision: 'float64' });
    expect(typeTag(result.total)).toBe('Float64Array');
    const e = errors(result, sys.reference);
    console.log(`${name} float64 ${impl}: max relative error ${e.relative.toExponential(2)}, max absolute ${e.absolute.toExponential(2)} kJ/mol`);
    expect(e.tolerance(1e-4, 0.01)).toEqual([]);
  });

  test.each<Impl>(['fused', 'tensor'])('float32 %s: every term and the total within 1e-3 relative', async (impl) => {
    const result = await sys.energy.evaluate({ data: sys.coords, shape: [20, sys.particles, 3] }, { impl, precision: 'float32' });
    expect(typeTag(result.total)).toBe('Float32Array');
    const e = errors(result, sys.reference);
    console.log(`${name} float32 ${impl}: max relative error ${e.relative.toExponential(2)}, max absolute ${e.absolute.toExponential(2)} kJ/mol`);
    expect(e.tolerance(1e-3, 0)).toEqual([]);
  });

  test('forces agree with central finite differences (float64) within 1e-4 relative', async () => {
    const N = sys.particles;
    const h = 1e-5; // nm
    const frames = name === 'adp' ? [0, 5, 10, 19] : [0, 19];
    let worst = 0;
    for (const b of frames) {
      const x = frame(sys.coords, N, b);
      const { forces } = await sys.energy.evaluate({ data: x, shape: [1, N, 3] }, { forces: true });
      // All 2·3N displaced copies of the frame as one batch.
      const batch = new Float64Array(2 * 3 * N * 3 * N);
      for (let c = 0; c < 3 * N; c++) {
        for (const [k, s] of [
          [2 * c, h],
          [2 * c + 1, -h],
        ]) {
          batch.set(x, k * 3 * N);
          batch[k * 3 * N + c] += s;
        }
      }
      const { total } = await sys.energy.evaluate({ data: batch, shape: [6 * N, N, 3] });
      const fd = new Float64Array(3 * N);
      for (let c = 0; c < 3 * N; c++) fd[c] = -(total[2 * c] - total[2 * c + 1]) / (2 * h);
      worst = Math.max(worst, maxDiff(forces!.data, fd) / maxAbs(fd));
    }
    console.log(`${name} forces vs central differences (h = 1e-5 nm): max error ${worst.toExponential(2)} of the largest force`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  test('fused kernel and tensor path agree (terms and forces)', async () => {
    const coords = { data: sys.coords, shape: [20, sys.particles, 3] };
    for (const precision of ['float64', 'float32'] as const) {
      const fused = await sys.energy.evaluate(coords, { impl: 'fused', forces: true, precision });
      const tensor = await sys.energy.evaluate(coords, { impl: 'tensor', forces: true, precision });
      const tol = precision === 'float64' ? 1e-9 : 1e-3;
      for (const term of sys.energy.terms) {
        expect(maxDiff(fused.terms[term], tensor.terms[term]) / maxAbs(tensor.terms[term])).toBeLessThanOrEqual(tol);
      }
      expect(maxDiff(fused.forces!.data, tensor.forces!.data) / maxAbs(tensor.forces!.data)).toBeLessThanOrEqual(tol);
    }
  });
});

test('the AVX-512 nonbonded loop gives the scalar loop\'s energies and forces, coincident atoms and row tails included', async () => {
  const sys = await loadSystem('chignolin');
  const N = sys.particles;
  // 20 MD frames plus one with atom 40 on top of atom 7 (below the distance floor) and one with a NaN-free far outlier
  const data = new Float64Array(22 * N * 3);
  data.set(sys.coords);
  const overlap = frame(sys.coords, N, 3);
  overlap.set(overlap.subarray(21, 24), 120);
  data.set(overlap, 20 * N * 3);
  const far = frame(sys.coords, N, 4);
  far[0] += 50;
  data.set(far, 21 * N * 3);
  const coords = { data, shape: [22, N, 3] };
  const results: EnergyResult[] = [];
  try {
    for (const kernel of ['scalar', 'avx512'] as const) {
      if (!native().setEnergyKernel(kernel)) return; // a CPU without AVX-512: only the scalar loop exists
      results.push(await sys.energy.evaluate(coords, { impl: 'fused', forces: true, threads: 1 }));
    }
  } finally {
    native().setEnergyKernel('auto');
  }
  const [scalar, wide] = results;
  for (let f = 0; f < 22; f++) expect(Math.abs(wide.total[f] - scalar.total[f])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(scalar.total[f])));
  expect(maxDiff(wide.forces!.data, scalar.forces!.data) / maxAbs(scalar.forces!.data)).toBeLessThanOrEqual(1e-12);
});

test('coincident atoms give finite energies and forces; the clamp keeps them finite and bounded', async () => {
  const sys = await loadSystem('chignolin');
  const N = sys.particles;
  const x = frame(sys.coords, N, 0);
  const move = (c: Float64Array, from: number, onto: number) => c.set(c.subarray(3 * onto, 3 * onto + 3), 3 * from);
  const bonded = Float64Array.from(x);
  move(bonded, 1, 0); // a bond of zero length
  const nonbonded = Float64Array.from(x);
  move(nonbonded, 60, 10); // a nonbonded pair on top of each other
  move(nonbonded, 61, 10); // three atoms at one point (angles of zero-length arms)
  const collapsed = new Float64Array(3 * N); // every atom at the origin
  const straight = Float64Array.from(x); // a torsion's atoms on one line
  for (let i = 0; i < 4; i++) straight.set([0.1 * i, 0, 0], 3 * i);
  const batch = new Float64Array(4 * 3 * N);
  [bonded, nonbonded, collapsed, straight].forEach((c, b) => batch.set(c, b * 3 * N));
  for (const precision of ['float64', 'float32'] as const) {
    for (const impl of ['fused', 'tensor', 'reference'] as const) {
      const r = await sys.energy.evaluate({ data: batch, shape: [4, N, 3] }, { impl, precision, forces: true });
      const all = [...r.total, ...r.forces!.data, ...Object.values(r.terms).flatMap((t) => [...t])];
      expect(all.every(Number.isFinite)).toBe(true);
      const clamped = await sys.energy.evaluate({ data: batch, shape: [4, N, 3] }, { impl, precision, forces: true, clamp: 1e5 });
      expect([...clamped.total, ...clamped.forces!.data].every(Number.isFinite)).toBe(true);
      for (let b = 0; b < 4; b++) {
        if (r.total[b] > 1e5) expect(clamped.total[b]).toBeCloseTo(1e5 + Math.log1p(r.total[b] - 1e5), precision === 'float64' ? 6 : -1);
        else expect(clamped.total[b]).toBe(r.total[b]);
      }
    }
  }
});

test('the clamp scales forces by 1 / (1 + E - clamp) above it (a stretched bond)', async () => {
  const xml =
    '<System type="System" version="1"><Particles><Particle mass="12"/><Particle mass="12"/></Particles><Forces>' +
    '<Force type="HarmonicBondForce" version="2"><Bonds><Bond d=".1" k="1000" p1="0" p2="1"/></Bonds></Force></Forces></System>';
  const energy = Energy.fromForceField(parseForceField(xml, 'bond.xml'));
  const coords = { data: Float64Array.from([0, 0, 0, 0.5, 0, 0]), shape: [1, 2, 3] };
  const free = await energy.evaluate(coords, { forces: true });
  expect(free.total[0]).toBeCloseTo(0.5 * 1000 * 0.4 ** 2, 9); // 80 kJ/mol
  expect(free.forces!.data[3]).toBeCloseTo(-1000 * 0.4, 9);
  for (const impl of ['fused', 'tensor'] as const) {
    const clamped = await energy.evaluate(coords, { forces: true, clamp: 75, impl });
    expect(clamped.total[0]).toBeCloseTo(75 + Math.log1p(5), 9);
    expect(clamped.terms.HarmonicBondForce[0]).toBeCloseTo(80, 9); // terms stay unclamped
    expect(clamped.forces!.data[3]).toBeCloseTo(-400 / 6, 9);
  }
});

// Random small systems with every term (arbitrary torsion phases, all kinds of
// exceptions) built and evaluated by OpenMM itself, when Python + OpenMM are here.
const OPENMM_SCRIPT = String.raw`
import json, math, sys
import numpy as np
try:
    import openmm as mm
except ImportError:
    from simtk import openmm as mm
rng = np.random.default_rng(int(sys.argv[1]))
n = 14
system = mm.System()
for i in range(n): system.addParticle(12.0)
forces = [mm.HarmonicBondForce(), mm.HarmonicAngleForce(), mm.PeriodicTorsionForce(), mm.NonbondedForce()]
for i in range(n - 1): forces[0].addBond(i, i + 1, rng.uniform(0.1, 0.15), rng.uniform(1e5, 3e5))
for i in range(n - 2): forces[1].addAngle(i, i + 1, i + 2, rng.uniform(1.8, 2.1), rng.uniform(200, 600))
for i in range(n - 3):
    for _ in range(2): forces[2].addTorsion(i, i + 1, i + 2, i + 3, int(rng.integers(1, 7)), rng.uniform(-math.pi, math.pi), rng.uniform(0.5, 10))
forces[2].addTorsion(0, 5, 9, 13, 2, 1.1, 4.0)  # an "improper" across the chain
nb = forces[3]
nb.setNonbondedMethod(mm.NonbondedForce.NoCutoff)
for i in range(n): nb.addParticle(rng.uniform(-0.8, 0.8), rng.uniform(0.2, 0.35), rng.uniform(0.1, 1.0))
nb.addException(0, 1, 0, 1, 0); nb.addException(1, 2, 0, 1, 0)
nb.addException(0, 3, 0.12, 0.3, 0)          # Coulomb only
nb.addException(2, 5, 0, 0.28, 0.4)          # LJ only
nb.addException(4, 7, -0.05, 0.31, 0.2)      # both, replacing the combining rules
for g, f in enumerate(forces):
    f.setForceGroup(g)
    system.addForce(f)
system.addForce(mm.CMMotionRemover())
ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName('Reference'))
frames = []
for _ in range(3):
    # a jittered zig-zag: no two atoms closer than ~0.1 nm
    x = np.stack([np.arange(n) * 0.13, 0.08 * (np.arange(n) % 2), np.zeros(n)], 1) + rng.normal(scale=0.03, size=(n, 3))
    ctx.setPositions(x)
    terms = [ctx.getState(getEnergy=True, groups={g}).getPotentialEnergy()._value for g in range(4)]
    f = ctx.getState(getForces=True).getForces(asNumpy=True)._value
    frames.append({"x": x.ravel().tolist(), "terms": terms, "forces": np.asarray(f).ravel().tolist()})
print(json.dumps({"xml": mm.XmlSerializer.serialize(system), "frames": frames}))
`;

describe('random systems against OpenMM (Python)', () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import openmm'], { encoding: 'utf8' });
  const haveOpenMM = !probe.error && probe.status === 0;
  if (!haveOpenMM) console.log('energy.test: /usr/bin/python3 with openmm is absent; the OpenMM cross-check is skipped');
  (haveOpenMM ? test.each : test.skip.each)([1, 2])('seed %i: terms and forces within 1e-9 relative', async (seed) => {
    const run = spawnSync('/usr/bin/python3', ['-c', OPENMM_SCRIPT, String(seed)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { xml: string; frames: { x: number[]; terms: number[]; forces: number[] }[] };
    const energy = Energy.fromForceField(parseForceField(out.xml, `openmm-${seed}.xml`));
    expect(energy.terms).toEqual(['HarmonicBondForce', 'HarmonicAngleForce', 'PeriodicTorsionForce', 'NonbondedForce']);
    const B = out.frames.length;
    const data = Float64Array.from(out.frames.flatMap((f) => f.x));
    for (const impl of ['fused', 'tensor', 'reference'] as const) {
      const r = await energy.evaluate({ data, shape: [B, 14, 3] }, { impl, forces: true });
      out.frames.forEach((f, b) => {
        energy.terms.forEach((t, k) => expect(Math.abs(r.terms[t][b] - f.terms[k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(f.terms[k]))));
        const ours = r.forces!.data.subarray(b * 42, (b + 1) * 42);
        expect(maxDiff(ours, f.forces) / maxAbs(f.forces)).toBeLessThanOrEqual(1e-9);
      });
    }
  });
});

describe('argument checks', () => {
  const xml =
    '<System type="System" version="1"><Particles><Particle mass="12"/><Particle mass="12"/></Particles><Forces>' +
    '<Force type="HarmonicBondForce" version="2"><Bonds><Bond d=".1" k="1000" p1="0" p2="1"/></Bonds></Force></Forces></System>';
  const energy = Energy.fromForceField(parseForceField(xml, 'bond.xml'));

  test('atom count, shape and non-finite coordinates are rejected with expected-vs-received messages', async () => {
    await expect(energy.evaluate({ data: new Float64Array(9), shape: [1, 3, 3] })).rejects.toThrow(
      'Expected shape [B, 2, 3] (the 2 particles of bond.xml) for coords.shape but received [1, 3, 3]',
    );
    await expect(energy.evaluate({ data: new Float64Array(5), shape: [1, 2, 3] })).rejects.toThrow(
      'Expected 6 elements for shape [1, 2, 3] for coords.data but received Float64Array(5)',
    );
    await expect(energy.evaluate({ data: Float64Array.from([0, 0, 0, NaN, 0, 0]), shape: [1, 2, 3] })).rejects.toThrow(
      'coords is not finite (NaN) at frame 0, particle 1',
    );
    await expect(energy.evaluate({ data: new Float64Array(6), shape: [1, 2, 3] }, { precision: 'half' as never })).rejects.toThrow(
      /Expected one of float32, float64 for options.precision/,
    );
  });

  test('CMAP energies are not implemented: ERR_UNSUPPORTED', () => {
    const cmap =
      '<System type="System" version="1"><Particles>' +
      '<Particle mass="1"/>'.repeat(5) +
      '</Particles><Forces><Force type="CMAPTorsionForce" version="2"><Maps><Map size="1"><Energy e="0"/></Map></Maps>' +
      '<Torsions><Torsion a1="0" a2="1" a3="2" a4="3" b1="1" b2="2" b3="3" b4="4" map="0"/></Torsions></Force></Forces></System>';
    expect(() => Energy.fromForceField(parseForceField(cmap, 'cmap.xml'))).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringMatching(/^cmap\.xml: CMAPTorsionForce energy is not implemented/) }),
    );
  });
});

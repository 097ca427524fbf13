// `--relax`: the restrained refinement keeps the CG beads where the input puts
// them, removes a planted clash, repairs a planted mirror image and leaves a
// minimal structure where it is.
import * as path from 'path';
import { chiralCenters, chiralVolumes } from '../../lib/analysis/geometry';
import { clashes } from '../../lib/analysis/clashes';
import { bondGraph, loadForceField } from '../../lib/forcefield/system';
import { hydrogenConstraints, Relaxer, stereoCentres } from '../../lib/inference/relax';
import { applyMapping, presetMapping } from '../../lib/model/mapping';
import { adpSample, DATA } from '../support/data';
import { rng } from '../support/helpers';

const N = 22;

/** The ADP sample, its System and its CG mapping, as a model has them. */
async function adp() {
  const sample = await adpSample(40);
  const ff = await loadForceField(path.join(DATA, 'adp', 'system-vacuum.xml'));
  sample.topology.bonds = bondGraph(ff); // the System's bonds, as a model's topology has them (the PDB lists 12)
  const mapping = presetMapping('adp', sample.topology);
  return { sample, ff, mapping };
}

async function setup(options = {}) {
  const { sample, ff, mapping } = await adp();
  const relaxer = await Relaxer.create(ff, sample.topology, mapping, sample.coords, options);
  return { sample, mapping, relaxer };
}

const frame = (coords: Float32Array, f: number) => coords.slice(f * N * 3, (f + 1) * N * 3);
const dist = (x: Float32Array, i: number, j: number) => Math.hypot(x[3 * i] - x[3 * j], x[3 * i + 1] - x[3 * j + 1], x[3 * i + 2] - x[3 * j + 2]);
const rmsd = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / (a.length / 3));

test('with exactCg the CG mapping of refined frames stays within 1e-3 nm of the input beads', async () => {
  const { sample, mapping, relaxer } = await setup({ exactCg: true });
  const frames = 8;
  const target = sample.coords.slice(0, frames * N * 3);
  const cg = applyMapping(mapping, target, frames);
  const random = rng(7);
  const noisy = target.map((v) => v + 0.02 * (random() - 0.5) * 2); // 0.02 nm of noise: bonds and beads off
  const r = await relaxer.relax(noisy, cg, frames, 2);
  const mapped = applyMapping(mapping, r.coords, frames);
  let worst = 0;
  for (let i = 0; i < mapped.length; i++) worst = Math.max(worst, Math.abs(mapped[i] - cg[i]));
  expect(worst).toBeLessThan(1e-3);
  for (let f = 0; f < frames; f++) expect(r.after[f]).toBeLessThan(r.before[f]);
});

test('with exactCg and an atom-slice mapping the bead atoms are held exactly on the beads, through the thermal stage, on both paths', async () => {
  const frames = 4;
  for (const impl of ['auto', 'tensor'] as const) {
    const { sample, mapping, relaxer } = await setup({ exactCg: true, temperature: 300, impl });
    const target = sample.coords.slice(0, frames * N * 3);
    const cg = applyMapping(mapping, target, frames);
    const random = rng(9);
    const noisy = target.map((v) => v + 0.02 * (random() - 0.5) * 2);
    const r = await relaxer.relax(noisy, cg, frames, 1);
    const mapped = applyMapping(mapping, r.coords, frames);
    expect(mapped.reduce((m, v, i) => Math.max(m, Math.abs(v - cg[i])), 0)).toBeLessThan(1e-5);
    // the others did move (thermal)
    expect(rmsd(r.coords, noisy)).toBeGreaterThan(0.01);
  }
});

test('a planted clash (two heavy atoms 0.05 nm apart) comes out clash-free', async () => {
  const { sample, mapping, relaxer } = await setup();
  const x = frame(sample.coords, 3);
  const heavy = sample.topology.atoms.map((a, i) => (a.element === 'H' ? -1 : i)).filter((i) => i >= 0);
  const elements = sample.topology.atoms.map((a) => a.element);
  // the ACE methyl carbon (1) onto the NME methyl carbon (18): far apart in the bond graph
  const [i, j] = [1, 18];
  for (let k = 0; k < 3; k++) x[3 * i + k] = x[3 * j + k] + (k === 0 ? 0.05 : 0);
  const opts = { atoms: heavy, bonds: sample.topology.bonds, elements };
  expect(clashes({ coords: x, frames: 1, atoms: N }, opts).frameFraction).toBe(1);
  const r = await relaxer.relax(x, applyMapping(mapping, x, 1), 1, 2);
  expect(clashes({ coords: r.coords, frames: 1, atoms: N }, opts).frameFraction).toBe(0);
  expect(dist(r.coords, i, j)).toBeGreaterThan(0.25);
});

test('a planted mirror image at the alanine CA is repaired, and the hand holds through the minimisation', async () => {
  const { sample, mapping, relaxer } = await setup();
  const centres = chiralCenters(sample.topology.atoms);
  expect(centres).toHaveLength(1);
  const { ca } = centres[0];
  const stereo = stereoCentres(sample.topology, sample.coords);
  const x = frame(sample.coords, 5);
  const cg = applyMapping(mapping, x, 1); // the input beads are the true frame's (CB is one of them)
  // mirror the CB branch and HA through the N–CA–C plane, as a wrong-handed decoding would have them
  const [c, a, b] = [ca, centres[0].n, centres[0].c].map((k) => [x[3 * k], x[3 * k + 1], x[3 * k + 2]]);
  const u = a.map((v, k) => v - c[k]);
  const v = b.map((w, k) => w - c[k]);
  const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
  const len = Math.hypot(...n);
  for (let atom = 0; atom < N; atom++) {
    if (!stereo.reflect[atom]) continue;
    const d = ((x[3 * atom] - c[0]) * n[0] + (x[3 * atom + 1] - c[1]) * n[1] + (x[3 * atom + 2] - c[2]) * n[2]) / len;
    for (let k = 0; k < 3; k++) x[3 * atom + k] -= (2 * d * n[k]) / len;
  }
  expect(chiralVolumes({ coords: x, frames: 1, atoms: N }, centres)[0]).toBeLessThan(0);
  const r = await relaxer.relax(x, cg, 1, 2);
  expect(r.repairs).toBe(1);
  expect(chiralVolumes({ coords: r.coords, frames: 1, atoms: N }, centres)[0]).toBeGreaterThan(5e-4);
});

test('an already minimal frame moves less than 0.01 nm RMSD', async () => {
  const { sample, ff, mapping } = await adp();
  const x = frame(sample.coords, 9);
  const cg = applyMapping(mapping, x, 1);
  // a minimum of the restrained energy first (long, no restraint to the start), then the refinement proper
  const minimiser = await Relaxer.create(ff, sample.topology, mapping, sample.coords, { steps: 3000, restraint: 0 });
  const minimal = (await minimiser.relax(x, cg, 1, 2)).coords;
  const again = await (await setup()).relaxer.relax(minimal, applyMapping(mapping, minimal, 1), 1, 2);
  expect(rmsd(again.coords, minimal)).toBeLessThan(0.01);
});

test('a hopeless frame among good ones is refined again from the previous refined frame', async () => {
  const { sample, mapping, relaxer } = await setup();
  const frames = 12;
  const x = sample.coords.slice(0, frames * N * 3);
  const cg = applyMapping(mapping, x, frames);
  // frames 0-10 as they are; frame 11 with its atoms shuffled: no local minimisation untangles that
  const random = rng(3);
  const order = Array.from({ length: N }, (_, i) => i).sort(() => random() - 0.5);
  const last = frame(x, 11);
  order.forEach((from, to) => x.set(last.subarray(3 * from, 3 * from + 3), (11 * N + to) * 3));
  // frames 0-10 set the trajectory's energy statistics; frame 11 is an outlier among them
  const plain = await relaxer.relax(frame(x, 11), cg.slice(11 * 18), 1, 2);
  const r = await relaxer.refineTrajectory(x, cg, frames, undefined, 2);
  expect(r.retried).toBe(1);
  const others = Array.from(r.after.subarray(0, 11));
  expect(plain.after[0]).toBeGreaterThan(Math.max(...others) + 100);
  expect(r.after[11]).toBeLessThan(Math.max(...others) + 50);
  // the same frames without the shuffled one: nothing is retried
  expect((await (await setup()).relaxer.refineTrajectory(x.slice(0, 11 * N * 3), cg.slice(0, 11 * 18), 11, undefined, 2)).retried).toBe(0);
});

test('the native per-frame loops minimise as the tensor path does, and the thermal stage stays thermal', async () => {
  const frames = 6;
  const { sample, mapping, relaxer } = await setup();
  const { relaxer: reference } = await setup({ impl: 'tensor' });
  const target = sample.coords.slice(0, frames * N * 3);
  const cg = applyMapping(mapping, target, frames);
  const random = rng(3);
  const noisy = target.map((v) => v + 0.03 * (random() - 0.5) * 2);
  const [fused, tensor] = await Promise.all([relaxer.relax(noisy, cg, frames, 1), reference.relax(noisy, cg, frames, 1)]);
  expect(rmsd(fused.coords, tensor.coords)).toBeLessThan(1e-5);
  for (let f = 0; f < frames; f++) expect(fused.after[f]).toBeCloseTo(tensor.after[f], 3);
  // with a temperature the noise differs (per frame vs per batch) but both are thermal: the same mean energy within noise
  const { relaxer: hot } = await setup({ temperature: 300 });
  const { relaxer: hotTensor } = await setup({ temperature: 300, impl: 'tensor' });
  const [a, b] = await Promise.all([hot.relax(noisy, cg, frames, 1), hotTensor.relax(noisy, cg, frames, 1)]);
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  expect(Math.abs(mean(a.after) - mean(b.after))).toBeLessThan(15); // kJ/mol; kT·(3N/2) ≈ 82 over 22 atoms
  expect(mean(a.after)).toBeGreaterThan(mean(fused.after));
});

test('a dielectric ε refines as the System with charges scaled by 1/√ε does, on both paths, and reports the unscreened energies', async () => {
  const frames = 3;
  const { sample, ff, mapping } = await adp();
  const eps = 4;
  const nb = ff.nonbonded;
  const scaled = {
    ...ff,
    nonbonded: { ...nb, charge: nb.charge.map((q) => q / Math.sqrt(eps)), exceptions: { ...nb.exceptions, chargeProd: nb.exceptions.chargeProd.map((q) => q / eps) } },
  };
  const target = sample.coords.slice(0, frames * N * 3);
  const cg = applyMapping(mapping, target, frames);
  const random = rng(5);
  const noisy = target.map((v) => v + 0.02 * (random() - 0.5) * 2);
  for (const impl of ['auto', 'tensor'] as const) {
    const screened = await (await Relaxer.create(ff, sample.topology, mapping, sample.coords, { dielectric: eps, impl })).relax(noisy, cg, frames, 1);
    const byCharges = await (await Relaxer.create(scaled, sample.topology, mapping, sample.coords, { impl })).relax(noisy, cg, frames, 1);
    const plain = await (await Relaxer.create(ff, sample.topology, mapping, sample.coords, { impl })).relax(noisy, cg, frames, 1);
    expect(rmsd(screened.coords, byCharges.coords)).toBeLessThan(1e-5);
    expect(rmsd(screened.coords, plain.coords)).toBeGreaterThan(1e-3); // the screening does change where frames go
    // the energies are the System's own: the same frames scored unscreened, as the plain run scores its input
    const rescored = await (await Relaxer.create(ff, sample.topology, mapping, sample.coords, { impl, steps: 1, restraint: 1e9, cgRestraint: 0 })).relax(screened.coords, cg, frames, 1);
    for (let f = 0; f < frames; f++) {
      expect(screened.before[f]).toBeCloseTo(plain.before[f], 6);
      expect(screened.after[f]).toBeCloseTo(rescored.before[f], 3); // the output is float32
      expect(byCharges.after[f]).not.toBeCloseTo(screened.after[f], 1);
    }
  }
});

test('a dielectric that is not a positive number is refused', async () => {
  const { sample, ff, mapping } = await adp();
  for (const dielectric of [0, -1, Number.NaN, Infinity]) {
    await expect(Relaxer.create(ff, sample.topology, mapping, sample.coords, { dielectric })).rejects.toThrow(/relax\.dielectric/);
  }
});

test('bonds to hydrogen that the reference MD held rigid stay at their length through the thermal stage, on both paths', async () => {
  const frames = 3;
  const { sample, ff, mapping } = await adp();
  // 'auto' finds them in the frames: the ADP reference MD constrained its 12 X–H bonds
  const rigid = hydrogenConstraints(ff, sample.topology, sample.coords);
  const every = hydrogenConstraints(ff, sample.topology);
  expect(rigid.length.length).toBe(12);
  expect(every.length.length).toBe(12);
  rigid.length.forEach((d, k) => expect(d).toBeCloseTo(every.length[k], 4));
  // frames whose X–H bonds vibrate are not taken for constrained ones
  const random = rng(11);
  const shaken = sample.coords.map((v) => v + 0.01 * (random() - 0.5));
  expect(hydrogenConstraints(ff, sample.topology, shaken).length.length).toBe(0);

  const target = sample.coords.slice(0, frames * N * 3);
  const cg = applyMapping(mapping, target, frames);
  const noisy = target.map((v) => v + 0.02 * (random() - 0.5) * 2);
  const spread = (x: Float32Array) => {
    let worst = 0;
    for (let f = 0; f < frames; f++) {
      rigid.length.forEach((d, k) => {
        worst = Math.max(worst, Math.abs(dist(frame(x, f), rigid.pairs[2 * k], rigid.pairs[2 * k + 1]) - d));
      });
    }
    return worst;
  };
  for (const impl of ['auto', 'tensor'] as const) {
    for (const exactCg of [false, true]) {
      const held = await (await Relaxer.create(ff, sample.topology, mapping, sample.coords, { temperature: 300, impl, exactCg })).relax(noisy, cg, frames, 1);
      expect(spread(held.coords)).toBeLessThan(1e-5); // float32 output
      const free = await (await Relaxer.create(ff, sample.topology, mapping, sample.coords, { temperature: 300, impl, exactCg, constraints: 'none' })).relax(noisy, cg, frames, 1);
      expect(spread(free.coords)).toBeGreaterThan(1e-3); // thermal X–H vibration: ~0.003 nm
    }
  }
  await expect(Relaxer.create(ff, sample.topology, mapping, sample.coords, { constraints: 'all' as 'auto' })).rejects.toThrow(/relax\.constraints/);
});

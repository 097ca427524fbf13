// evaluate --model: the latent-space section. The encoder sees reference pairs placed exactly as in
// training; the KL, the PCA and the mixture's projection follow their formulas; a model of another
// molecule is refused naming its file; and the report gains the section only when a model is given.
import * as fs from 'fs';
import * as path from 'path';
import type { Coordinates } from '../../lib/analysis';
import { main } from '../../lib/cli';
import { evaluate, evaluateReport, type Metrics } from '../../lib/evaluate';
import { encodeReference, latentSection, loadLatentModel, principalPlane, type LatentModel } from '../../lib/evaluate/latent';
import { readTrajectory } from '../../lib/io/trajectory';
import { applyMapping } from '../../lib/model/mapping';
import { PRESETS } from '../../lib/model/presets';
import { Trainer } from '../../lib/model/train';
import { adpTwoTrajectories, DATA } from '../support/data';
import { writeSubset } from '../support/evaluate-data';
import { tempDir } from '../support/helpers';

const ADP = path.join(DATA, 'adp');
const TOP = path.join(ADP, 'adp.pdb');
const SYSTEM = path.join(ADP, 'system-vacuum.xml');
const SAMPLE = path.join(ADP, 'test-1000.dcd');
const ADP_MODEL = path.resolve(__dirname, '../../models/adp-cpu.tcbm');
const CLN_MODEL = path.resolve(__dirname, '../../models/cln-cpu.tcbm');
const dir = tempDir('tcbm-latent-');

let ref: Coordinates[];
let adp: LatentModel;

beforeAll(async () => {
  // The bundled sample as two files: frames 0-599 and 600-999 (pairs never cross them).
  const t = await readTrajectory(SAMPLE, { atoms: 22 });
  const size = 22 * 3;
  ref = [
    { coords: t.coords.slice(0, 600 * size), frames: 600, atoms: 22 },
    { coords: t.coords.slice(600 * size), frames: 400, atoms: 22 },
  ];
  adp = await loadLatentModel(ADP_MODEL, 22, 1);
});

test('adp-cpu on the sample: pairs within files, KL per dimension by its formula, a PCA and the mixture in its plane', async () => {
  const enc = await encodeReference(adp, ref, 300);
  expect(enc.available).toBe(599 + 399);
  expect(enc.pairs).toHaveLength(300);
  expect(enc.pairs.every((p) => p.frame >= 1)).toBe(true);
  expect(new Set(enc.pairs.map((p) => p.trajectory))).toEqual(new Set([0, 1]));
  const L = enc.latent;
  expect(L).toBe(16);
  expect(enc.mu).toHaveLength(300 * L);

  // Energies stand in as the global frame index, so each point's colour names its frame.
  const energy = Float64Array.from({ length: 1000 }, (_, i) => i);
  const s = await latentSection(adp, ref, energy, { maxPairs: 300 });
  expect(s).toMatchObject({ model: ADP_MODEL, dimensions: 16, previousFrame: true, pairs: 300, available: 998, energyUnit: 'kJ/mol' });

  // KL(N(mu, e^logvar) ‖ N(0, 1)) per dimension, averaged over the pairs, from the encoder's own output.
  const expected = new Array<number>(L).fill(0);
  for (let p = 0; p < 300; p++) {
    for (let d = 0; d < L; d++) {
      const m = enc.mu[p * L + d];
      const lv = enc.logvar[p * L + d];
      expected[d] += (0.5 * (m * m + Math.exp(lv) - 1 - lv)) / 300;
    }
  }
  expect(s.kl.perDimension).toHaveLength(L);
  s.kl.perDimension.forEach((kl, d) => {
    expect(kl).toBeGreaterThanOrEqual(0);
    expect(kl).toBeCloseTo(expected[d], 10);
  });
  expect(s.kl.total).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 10);
  expect(s.kl.activeDimensions).toBe(s.kl.perDimension.filter((x) => x > 0.01).length);

  // PCA: fractions in [0, 1] summing to at most 1; orthonormal components.
  const [f1, f2] = s.explainedVariance as number[];
  for (const f of [f1, f2]) {
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThanOrEqual(1);
  }
  expect(f1).toBeGreaterThanOrEqual(f2);
  expect(f1 + f2).toBeLessThanOrEqual(1 + 1e-9);
  const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);
  expect(dot(s.components[0], s.components[0])).toBeCloseTo(1, 9);
  expect(dot(s.components[1], s.components[1])).toBeCloseTo(1, 9);
  expect(dot(s.components[0], s.components[1])).toBeCloseTo(0, 9);

  // Every pair is a point here (300 < 2000), coloured by the energy of its frame A(t).
  expect(s.points.pc1).toHaveLength(300);
  expect(s.points.energy).toEqual(enc.pairs.map((p) => (p.trajectory === 0 ? 0 : 600) + p.frame));
  const first = s.components.map((c) => c.reduce((sum, x, d) => sum + x * (enc.mu[d] - s.centre[d]), 0));
  expect(s.points.pc1[0]).toBeCloseTo(first[0], 6);
  expect(s.points.pc2[0]).toBeCloseTo(first[1], 6);

  // The mixture: P (m − centre) and P Σ Pᵀ for each component; 2σ semi-axes from the projected covariance.
  const g = adp.info.mixture;
  expect(s.mixture).toHaveLength(g.k);
  s.mixture.forEach((c, k) => {
    const m = Array.from(g.means.subarray(k * L, (k + 1) * L));
    const v = Array.from(g.variances.subarray(k * L, (k + 1) * L));
    const [a, b] = s.components;
    expect(c.weight).toBeCloseTo(g.weights[k], 12);
    expect(c.mean[0]).toBeCloseTo(a.reduce((sum, x, d) => sum + x * (m[d] - s.centre[d]), 0), 9);
    expect(c.covariance[1]).toBeCloseTo(a.reduce((sum, x, d) => sum + x * b[d] * v[d], 0), 9);
    const [major, minor] = c.ellipse.semiAxes;
    expect(major).toBeGreaterThanOrEqual(minor);
    // trace is invariant: (major² + minor²) / 4 = xx + yy
    expect((major ** 2 + minor ** 2) / 4).toBeCloseTo(c.covariance[0] + c.covariance[2], 9);
  });
  console.log(
    `adp-cpu on test-1000 (${s.pairs} pairs): explained ${f1.toFixed(3)} + ${f2.toFixed(3)}, KL total ${s.kl.total.toExponential(2)} nats, ` +
      `${s.kl.activeDimensions} of ${L} dimensions above 0.01 nats`,
  );
});

test('principalPlane: the known answer of a stretched Gaussian cloud', () => {
  // x = (3u, v, 0.1w): variances 9, 1, 0.01 along the axes.
  const n = 4000;
  const x = new Float64Array(n * 3);
  let seed = 1;
  const normal = () => {
    const u = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  };
  for (let i = 0; i < n; i++) [3 * normal(), normal(), 0.1 * normal()].forEach((v, d) => (x[i * 3 + d] = v + 5));
  const { centre, components, explained } = principalPlane(x, n, 3);
  centre.forEach((c) => expect(c).toBeCloseTo(5, 0));
  expect(Math.abs(components[0][0])).toBeCloseTo(1, 2);
  expect(Math.abs(components[1][1])).toBeCloseTo(1, 2);
  expect(explained[0]).toBeCloseTo(9 / 10.01, 1);
  expect(explained[1]).toBeCloseTo(1 / 10.01, 1);
});

test('placement is training\'s: a canonical model finalized, read back, encodes as its trainer placed the pairs; frame-based models encode every frame', async () => {
  const data = await adpTwoTrajectories(); // two 20-frame files
  const coords: Coordinates[] = data.trajectories.map((t) => ({ coords: t, frames: 20, atoms: 22 }));
  for (const previousFrame of [true, false]) {
    const preset = { ...PRESETS.tiny, name: 'tiny-canonical', architecture: { ...PRESETS.tiny.architecture, orientation: 'canonical' as const } };
    const trainer = Trainer.create(data, { preset, threads: 1, previousFrame });
    const file = path.join(dir, `tiny-${previousFrame}.tcbm`);
    await trainer.finalize(file, { posteriorPairs: 16, seedFrames: 4, components: 2 });
    const m = await loadLatentModel(file, 22, 1);
    const enc = await encodeReference(m, coords, 1000);
    expect(enc.available).toBe(previousFrame ? 38 : 40);
    expect(enc.pairs.some((p) => p.frame === 0)).toBe(!previousFrame);

    // The trainer's own placement of the pairs t ≥ 1, encoded by its own network.
    const pairs = enc.pairs.map((p, i) => ({ ...p, i })).filter((p) => p.frame >= 1);
    const aaT = new Float32Array(pairs.length * 66);
    const aaPrev = new Float32Array(pairs.length * 66);
    const cgT = new Float32Array(pairs.length * 18);
    const cg = data.trajectories.map((t) => applyMapping(data.mapping, t, 20));
    pairs.forEach((p, b) => trainer.placePair(data.trajectories[p.trajectory], cg[p.trajectory], p.frame, b, aaT, aaPrev, cgT));
    const { mu } = await trainer.model.encode({ batch: pairs.length, aaT, aaPrev, cgT, threads: 1 });
    const L = enc.latent;
    let err = 0;
    pairs.forEach((p, b) => {
      for (let d = 0; d < L; d++) err = Math.max(err, Math.abs(mu[b * L + d] - enc.mu[p.i * L + d]));
    });
    expect(err).toBeLessThan(1e-5);
  }
});

test('a model of another molecule is refused with one line naming the model file, before any stage runs', async () => {
  await expect(loadLatentModel(CLN_MODEL, 22, 1)).rejects.toMatchObject({ code: 'ERR_ATOM_COUNT', message: `${CLN_MODEL}: the model is for 166 atoms, the reference trajectories have 22` });
  const stages: string[] = [];
  await expect(evaluate({ top: TOP, system: SYSTEM, ref: SAMPLE, traj: SAMPLE, model: CLN_MODEL, onProgress: (s) => stages.push(s) })).rejects.toMatchObject({ code: 'ERR_ATOM_COUNT' });
  expect(stages).toEqual(['reading']);

  const errors: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
  try {
    const out = path.join(dir, 'refused');
    const code = await main(['node', 'tcbackmap', 'evaluate', '--top', TOP, '--system', SYSTEM, '--ref', SAMPLE, '--traj', SAMPLE, '--out', out, '--model', CLN_MODEL]);
    expect(code).toBe(1);
    expect(fs.existsSync(path.join(out, 'metrics.json'))).toBe(false);
  } finally {
    spy.mockRestore();
  }
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(new RegExp(`^tcbackmap: ${CLN_MODEL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the model is for 166 atoms`));
  expect(errors[0]).not.toContain('\n');
});

test('evaluateReport with a model: a "latent space" stage, metrics.latent and the section; without one, neither', async () => {
  const short = path.join(dir, 'short.dcd');
  const noisy = path.join(dir, 'short-noisy.dcd');
  await writeSubset(SAMPLE, short, { frames: 200 });
  await writeSubset(SAMPLE, noisy, { frames: 200, noise: 0.01 });
  const stages: string[] = [];
  const common = { top: TOP, system: SYSTEM, ref: short, traj: noisy, bootstrap: 2, lags: [1, 2], msmLag: 2, clusters: 20, threads: 1 };
  const { metrics, files } = await evaluateReport({ ...common, out: path.join(dir, 'with'), model: ADP_MODEL, latentPairs: 150, onProgress: (s) => stages.push(s) });
  expect(stages.slice(-3)).toEqual(['side chains', 'latent space', 'report']);
  const json = JSON.parse(fs.readFileSync(files.metrics, 'utf8')) as Metrics;
  expect(json.latent).toMatchObject({ pairs: 150, available: 199, dimensions: 16 });
  expect(json.latent!.points.energy.every((e) => typeof e === 'number')).toBe(true);
  expect(metrics.subsampling).toContain('latent space: 150 evenly spaced of the 199 reference pairs');
  const html = fs.readFileSync(files.html, 'utf8');
  expect(html).toContain('<h2>Latent space</h2>');
  expect(html).toContain('PC 1 (');
  expect(html).toContain('reference energy (kJ/mol)');

  const without = await evaluateReport({ ...common, out: path.join(dir, 'without') });
  expect(without.metrics.latent).toBeUndefined();
  expect(fs.readFileSync(without.files.html, 'utf8')).not.toContain('Latent space');
});

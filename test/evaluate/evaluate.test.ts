// `evaluate`: metrics of a backmapped trajectory against reference MD, metrics.json + index.html,
// and the CLI command. Identical inputs must give zero distances; independent MD runs of the same
// molecule must agree within sampling noise; a trajectory with the wrong time step must be caught.
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../lib/cli';
import { backboneDihedrals, evaluate, evaluateReport, type Metrics } from '../../lib/evaluate';
import { topologyFromPdb } from '../../lib/io/pdb';
import { createTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { sampleFile } from '../../lib/inference/ensemble';
import { DATA } from '../support/data';
import { tempDir } from '../support/helpers';
import { writeSubset } from '../support/evaluate-data';

const ADP = path.join(DATA, 'adp');
const TOP = path.join(ADP, 'adp.pdb');
const SYSTEM = path.join(ADP, 'system-vacuum.xml');
const SAMPLE = path.join(ADP, 'test-1000.dcd');
const dir = tempDir('tcbm-evaluate-');

/** The keys metrics.json documents (lib/evaluate.ts Metrics). */
const TOP_KEYS = [
  'format', 'version', 'inputs', 'settings', 'subsampling', 'summary', 'energy', 'bonds', 'angles',
  'chirality', 'clashes', 'thermodynamics', 'kinetics', 'velocities', 'sidechains', 'seconds',
];
const SUMMARY_KEYS = [
  'energyW1', 'bondMeanW1Nm', 'angleMeanW1Deg', 'chiralityDiffering', 'clashFrameFraction', 'fesJensenShannon',
  'slowestTimescalePs', 'eigenvectorSimilarity', 'velocityScale', 'velocityJsAfter', 'nonBeadVelocityScale',
  'nonBeadVelocityJsAfter', 'sidechainMedianRateRatio',
];

test('φ/ψ of ADP: exactly one pair, bonded across residues (dipeptide-like)', async () => {
  const top = await topologyFromPdb(TOP);
  // The PDB's CONECT records suffice here; evaluate uses the System XML's bond graph.
  const bb = backboneDihedrals(top);
  expect(bb.phi).toEqual([[4, 6, 8, 14]]);
  expect(bb.psi).toEqual([[6, 8, 14, 16]]);
});

test('bundled sample vs a noisy copy: metrics.json and index.html with the documented keys', async () => {
  // Noise on the atoms that are not the paper's 6 ADP beads: structure and non-bead speeds must change, bead speeds not.
  const beads = new Set([4, 6, 8, 14, 16, 10]);
  const noisy = path.join(dir, 'noisy.dcd');
  await writeSubset(SAMPLE, noisy, { noise: 0.05, noiseAtoms: (a) => !beads.has(a) });
  const out = path.join(dir, 'report-noisy');
  const stages: string[] = [];
  const { metrics: m, files } = await evaluateReport({
    top: TOP, system: SYSTEM, ref: SAMPLE, traj: noisy, out, map: 'auto', bootstrap: 5, lags: [1, 2, 5, 10],
    onProgress: (stage) => stages.push(stage),
  });
  expect(stages).toEqual(['reading', 'energy', 'bonds and angles', 'chirality and clashes', 'free energy', 'kinetics', 'velocities', 'side chains', 'report']);

  const json = JSON.parse(fs.readFileSync(files.metrics, 'utf8')) as Metrics;
  expect(Object.keys(json).sort()).toEqual([...TOP_KEYS].sort());
  expect(Object.keys(json.summary).sort()).toEqual([...SUMMARY_KEYS].sort());
  expect(json.format).toBe('tcbackmap-metrics');
  expect(json.inputs).toMatchObject({ atoms: 22, framesRef: [1000], framesTraj: [1000], dtPs: 1 });
  expect(json.settings).toMatchObject({ beads: 'auto: adp', beadAtoms: [4, 6, 8, 10, 14, 16], clusters: 100, lags: [1, 2, 5, 10], msmLag: 5 });
  expect(json.energy.terms).toEqual(['total', 'HarmonicBondForce', 'HarmonicAngleForce', 'PeriodicTorsionForce', 'NonbondedForce']);
  expect(json.energy.files.backmapped).toEqual([{ frames: 1000, median: expect.any(Number), columns: json.energy.backmapped }]);
  expect(json.bonds.count).toBe(21);
  expect(json.angles).toMatchObject({ count: 36, source: 'HarmonicAngleForce', unit: 'deg' });
  expect(json.thermodynamics.method).toBe('phi-psi');
  expect(json.kinetics.reference!.bootstrap!.samples).toBe(5);
  expect(json.sidechains.items).toEqual([]);

  // Noise of ±0.05 nm stretches bonds (W1 > 0), speeds up non-bead atoms (s < 1) and leaves the hand of the CA (all beads) alone.
  console.log(`noisy copy: bond W1 ${m.summary.bondMeanW1Nm} nm, energy W1 ${m.summary.energyW1} kJ/mol, s ${m.summary.velocityScale} (all), ${m.summary.nonBeadVelocityScale} (non-bead)`);
  expect(m.summary.bondMeanW1Nm!).toBeGreaterThan(5e-3);
  expect(m.summary.energyW1!).toBeGreaterThan(100);
  expect(m.summary.nonBeadVelocityScale!).toBeLessThan(0.97);
  expect(m.summary.velocityScale!).toBeLessThan(1);
  expect(m.summary.nonBeadVelocityScale!).toBeLessThan(m.summary.velocityScale!);
  expect(m.summary.chiralityDiffering).toBe(0);

  const html = fs.readFileSync(files.html, 'utf8');
  expect(html).not.toContain('Per file'); // one file a side: the pooled table says it all
  // Self-contained: plots are inline SVG, no script, no stylesheet or image from anywhere.
  expect(html).not.toMatch(/<script|<link|<img|<iframe/i);
  expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, '')).not.toMatch(/https?:\/\//);
  expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(13);
  for (const heading of ['Energy', 'Bond lengths', 'Bond angles', 'Free-energy surface', 'Kinetics', 'Temporal coherence']) expect(html).toContain(`<h2>${heading}`);
});

test('several files: the energy section also reports each file, so a pooled excess can be traced to its run', async () => {
  const half = [path.join(dir, 'half-0.dcd'), path.join(dir, 'half-1.dcd'), path.join(dir, 'half-1-noisy.dcd')];
  await writeSubset(SAMPLE, half[0], { frames: 400 });
  await writeSubset(SAMPLE, half[1], { start: 400, frames: 600 });
  await writeSubset(SAMPLE, half[2], { start: 400, frames: 600, noise: 0.03 });
  const { metrics: m, files } = await evaluateReport({
    top: TOP, system: SYSTEM, ref: half.slice(0, 2), traj: [half[0], half[2]], out: path.join(dir, 'report-files'), map: 'auto', bootstrap: 2, lags: [1, 2, 5],
  });
  const e = m.energy;
  expect(e.files.reference.map((f) => f.frames)).toEqual([400, 600]);
  expect(e.files.backmapped.map((f) => f.frames)).toEqual([400, 600]);
  // The clean file is the reference's own: identical moments; only the noisy one is hot.
  expect(e.files.backmapped[0]).toEqual(e.files.reference[0]);
  expect(e.files.backmapped[1].columns.HarmonicBondForce.mean!).toBeGreaterThan(e.files.reference[1].columns.HarmonicBondForce.mean! + 100);
  expect(e.files.backmapped[1].median!).toBeGreaterThan(e.files.reference[1].median! + 100);
  // The pooled mean is the frame-weighted mean of the files'.
  for (const side of ['reference', 'backmapped'] as const) {
    const f = e.files[side];
    expect(e[side].total.mean!).toBeCloseTo((400 * f[0].columns.total.mean! + 600 * f[1].columns.total.mean!) / 1000, 6);
  }
  const html = fs.readFileSync(files.html, 'utf8');
  expect(html).toContain('Per file (mean of each term)');
  expect(html).toContain('backmapped half-1-noisy.dcd');
});

test('bundled chignolin sample (a protein): TICA on CA distances, side-chain χ kinetics, CA chirality', async () => {
  const CLN = path.join(DATA, 'chignolin');
  const sample = path.join(CLN, 'test-200.dcd');
  const top = await topologyFromPdb(path.join(CLN, 'cln.pdb'));
  // Side-chain atoms (beyond CB) jittered, backbone and CB untouched: χ dynamics change, CA hands do not.
  const backbone = new Set(['N', 'CA', 'C', 'O', 'CB', 'H', 'HA', 'OXT', 'H1', 'H2', 'H3']);
  const jittered = path.join(dir, 'cln-jittered.dcd');
  await writeSubset(sample, jittered, { noise: 0.03, noiseAtoms: (a) => !backbone.has(top.atoms[a].name) });
  const m = await evaluate({ top: path.join(CLN, 'cln.pdb'), system: path.join(CLN, 'system-vacuum.xml'), ref: sample, traj: jittered, map: 'auto', bootstrap: 3 });
  expect(m.settings.beads).toBe('auto: ca');
  expect(m.settings.beadAtoms).toHaveLength(10);
  expect(m.thermodynamics).toMatchObject({ method: 'tica', tica: { lag: 10, features: 45, caAtoms: 10 }, x: { label: 'IC1', bins: 40 } });
  expect(m.kinetics).toMatchObject({ clusters: 150, lags: [1, 2, 5, 10, 20], msmLag: 5 });
  expect(m.chirality.centers.length).toBe(9); // every residue but the glycine
  expect(m.chirality.differing.backmapped).toBe(0);
  expect(m.sidechains.dihedrals).toBeGreaterThan(10);
  const chi = m.sidechains.items[0];
  expect(chi.acf.reference[0]).toBeCloseTo(1, 12);
  expect(chi.acf.reference).toHaveLength(m.sidechains.maxLagFrames + 1);
  // Jitter makes rotamers flicker: more transitions than the reference.
  expect(m.sidechains.medianRateRatio!).toBeGreaterThan(1);
  expect(m.summary.nonBeadVelocityScale!).toBeLessThan(1);
  expect(Number.isFinite(m.thermodynamics.jensenShannon!)).toBe(true);
});

test('CLI: evaluate --json writes the report; bad input is one line and writes nothing', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const run = (...args: string[]) => main(['node', 'tcbackmap', 'evaluate', '--top', TOP, '--system', SYSTEM, ...args]);
  try {
    const report = path.join(dir, 'cli-report');
    expect(await run('--ref', SAMPLE, '--traj', SAMPLE, '--out', report, '--bootstrap', '2', '--lags', '1,2,5', '--json')).toBe(0);
    const r = JSON.parse(out.pop()!);
    expect(r).toMatchObject({ out: report, metrics: path.join(report, 'metrics.json'), html: path.join(report, 'index.html') });
    expect(r.summary.fesJensenShannon).toBe(0);
    expect(fs.existsSync(r.html) && fs.existsSync(r.metrics)).toBe(true);

    const bad = path.join(dir, 'cli-bad');
    expect(await run('--ref', path.join(dir, 'nope.dcd'), '--traj', SAMPLE, '--out', bad)).toBe(1);
    expect(err.pop()).toMatch(/^tcbackmap: .*nope\.dcd: no such file$/);
    expect(await run('--ref', path.join(DATA, 'chignolin', 'test-200.dcd'), '--traj', SAMPLE, '--out', bad)).toBe(1);
    expect(err.pop()).toMatch(/test-200\.dcd: has 166 atoms, topology has 22/);
    expect(await run('--traj', SAMPLE, '--out', bad)).toBe(1);
    expect(err.pop()).toMatch(/at least one --ref/);
    expect(fs.existsSync(bad)).toBe(false);
    expect(err.join('')).not.toMatch(/\n\s+at .*:\d+:\d+/);
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
});

test('--samples: an ensemble of S files is pooled, and its spread is set against the reference frame-to-frame motion', async () => {
  // Three "samples" of one trajectory: the first 300 frames with independent noise of 0.02 nm on the non-bead atoms.
  const beads = new Set([4, 6, 8, 14, 16, 10]);
  const base = path.join(dir, 'ens.dcd');
  const clean = await readTrajectory(SAMPLE);
  const F = 300;
  let seed = 11;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let i = 0; i < 3; i++) {
    const coords = clean.coords.slice(0, F * 66);
    for (let k = 0; k < coords.length; k++) if (!beads.has(Math.floor(k / 3) % 22)) coords[k] += 0.02 * rand();
    const w = await createTrajectory(sampleFile(base, i), { atoms: 22 });
    await w.write({ frames: F, coords });
    await w.close();
  }
  const out = path.join(dir, 'report-ens');
  const { metrics: m, files } = await evaluateReport({ top: TOP, system: SYSTEM, ref: SAMPLE, traj: base, samples: 3, out, map: 'auto', bootstrap: 2, lags: [1, 2, 5] });
  expect(m.inputs.traj).toEqual([0, 1, 2].map((i) => sampleFile(base, i)));
  expect(m.inputs.framesTraj).toEqual([F, F, F]);
  const e = m.ensemble!;
  expect(e.samples).toBe(3);
  expect(e.ensembles).toHaveLength(1);
  expect(e.spread.bead).toBe(0); // beads untouched: the samples agree exactly
  // uniform noise of half-width h per coordinate: variance h²/3 per axis, h² per atom; around the mean of 3, times 2/3
  expect(e.spread.other).toBeGreaterThan(0.02 * Math.sqrt(2 / 3) * 0.9);
  expect(e.spread.other).toBeLessThan(0.02 * Math.sqrt(2 / 3) * 1.1);
  expect(e.referenceFrameToFrame.other).toBeGreaterThan(e.referenceFrameToFrame.bead!);
  expect(e.spreadOverFluctuation.other).toBeCloseTo(e.spread.other! / e.referenceFrameToFrame.other, 10);
  expect(fs.readFileSync(files.html, 'utf8')).toMatch(/<h2>Ensemble \(3 samples\)<\/h2>/);

  // a sample that is not of the same CG trajectory (another length) is named
  await writeSubset(SAMPLE, sampleFile(base, 2), { frames: F - 1 });
  await expect(evaluate({ top: TOP, system: SYSTEM, ref: SAMPLE, traj: base, samples: 3 })).rejects.toThrow(/ens\.2\.dcd: has 299 frames, sample 0 of its ensemble \(.*ens\.0\.dcd\) 300/);
  await expect(evaluate({ top: TOP, system: SYSTEM, ref: SAMPLE, traj: path.join(dir, 'none.dcd'), samples: 2 })).rejects.toThrow(/none\.0\.dcd: no such file/);
});

// lib/analysis on the ADP reference data (train.dcd vs test.dcd) against an independent
// mdtraj + numpy script (test/ref_msm.py) on the same discretisation (issue 7, "Must show" 2).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Kmeans,
  MarkovStateModel,
  angleEmbedding,
  chiralCenters,
  chiralVolumes,
  clashes,
  compareRescaled,
  dihedrals,
  eigenvectorSimilarity,
  fractionL,
  freeEnergySurface,
  frameSpeeds,
  impliedTimescales,
  jensenShannon,
  ramachandranAxes,
  type Coordinates,
} from '../../lib/analysis';
import { topologyFromPdb } from '../../lib/io/pdb';
import { readTrajectory } from '../../lib/io/trajectory';
import { PYTHON, hasPython, hasSharedData, sharedData } from '../support/python';

const PHI = [4, 6, 8, 14];
const PSI = [6, 8, 14, 16];
const LAGS = [1, 2, 5, 10, 20]; // frames of 1 ps
const K = 100; // k-means centres on φ/ψ, as the paper
const BINS = 60; // 6° FES bins
const N_TIMESCALES = 2;

const ready = hasSharedData && fs.existsSync(sharedData('adp', 'train.dcd')) && hasPython('mdtraj') && hasPython('scipy');
if (!ready) console.log('skipping the ADP comparison: needs ../shared/data/adp and mdtraj + scipy for /usr/bin/python3');
const maybe = ready ? describe : describe.skip;

interface RefTraj {
  frames: number;
  phi: number[];
  psi: number[];
  dtraj: number[];
  timescales: number[][];
  activeStates: number[];
  probability: number[];
  freeEnergy: (number | null)[];
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const wrapAngle = (a: number) => a - 2 * Math.PI * Math.round(a / (2 * Math.PI));

maybe('ADP train vs test: ours vs mdtraj + numpy on the same discretisation', () => {
  const trajs: Coordinates[] = [];
  const angles: { phi: Float64Array; psi: Float64Array }[] = [];
  let dtrajs: Int32Array[] = [];
  let centers: Float64Array;
  let ref: { trajs: RefTraj[]; js: number };
  let tmp: string;

  beforeAll(async () => {
    for (const name of ['train.dcd', 'test.dcd']) {
      const chunk = await readTrajectory(sharedData('adp', name));
      trajs.push(chunk);
      const a = dihedrals(chunk, [PHI, PSI]);
      angles.push({ phi: Float64Array.from({ length: chunk.frames }, (_, f) => a[2 * f]), psi: Float64Array.from({ length: chunk.frames }, (_, f) => a[2 * f + 1]) });
    }
    // Periodic features: (cos φ, sin φ, cos ψ, sin ψ); k-means fitted on the reference (train) only.
    const embed = (i: number) => angleEmbedding(dihedrals(trajs[i], [PHI, PSI]), trajs[i].frames, 2);
    const model = new Kmeans({ k: K, seed: 1 }).fit(embed(0), trajs[0].frames, 4);
    centers = model.centers;
    dtrajs = [model.assign(embed(0)), model.assign(embed(1))];

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-adp-'));
    const request = path.join(tmp, 'request.json');
    fs.writeFileSync(
      request,
      JSON.stringify({
        top: sharedData('adp', 'adp.pdb'),
        trajs: [sharedData('adp', 'train.dcd'), sharedData('adp', 'test.dcd')],
        centers: Array.from({ length: K }, (_, c) => Array.from(centers.subarray(4 * c, 4 * c + 4))),
        phi: PHI,
        psi: PSI,
        lags: LAGS,
        dt: 1,
        k: N_TIMESCALES,
        bins: BINS,
      }),
    );
    const r = spawnSync(PYTHON, [path.join(__dirname, '../support/ref_msm.py'), request], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`ref_msm.py failed: ${r.stderr}`);
    ref = JSON.parse(r.stdout);
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('φ/ψ equal mdtraj.compute_dihedrals and the frames fall into the same k-means states', () => {
    for (let i = 0; i < 2; i++) {
      expect(ref.trajs[i].frames).toBe(trajs[i].frames);
      let worst = 0;
      for (let f = 0; f < trajs[i].frames; f++) {
        worst = Math.max(worst, Math.abs(wrapAngle(angles[i].phi[f] - ref.trajs[i].phi[f])), Math.abs(wrapAngle(angles[i].psi[f] - ref.trajs[i].psi[f])));
      }
      // mdtraj computes in float32: agreement to its rounding.
      expect(worst).toBeLessThan(1e-4);
      let same = 0;
      for (let f = 0; f < trajs[i].frames; f++) if (dtrajs[i][f] === ref.trajs[i].dtraj[f]) same++;
      console.log(`${i === 0 ? 'train' : 'test'}: max |Δ angle| vs mdtraj ${worst.toExponential(2)} rad, same state in ${same} / ${trajs[i].frames} frames`);
      expect(same / trajs[i].frames).toBeGreaterThan(0.999);
    }
  });

  test('implied timescales agree with the independent script to ≤ 2 % at every lag', () => {
    const lines: string[] = [];
    for (let i = 0; i < 2; i++) {
      const ours = impliedTimescales([dtrajs[i]], LAGS, { k: N_TIMESCALES, dt: 1, nStates: K });
      LAGS.forEach((lag, li) => {
        expect(ours.activeStates[li]).toBe(ref.trajs[i].activeStates[li]);
        const theirs = ref.trajs[i].timescales[li];
        lines.push(
          `${i === 0 ? 'train' : 'test '} lag ${String(lag).padStart(2)} ps: t1 ${ours.timescales[li][0].toFixed(2)} vs ${theirs[0].toFixed(2)} ps, t2 ${ours.timescales[li][1].toFixed(2)} vs ${theirs[1].toFixed(2)} ps (${ours.activeStates[li]} states)`,
        );
        for (let j = 0; j < N_TIMESCALES; j++) expect(relative(ours.timescales[li][j], theirs[j])).toBeLessThan(0.02);
      });
    }
    console.log(`implied timescales, ours vs mdtraj+numpy:\n${lines.join('\n')}`);
  });

  test('the φ/ψ free-energy surfaces and their train-vs-test Jensen–Shannon divergence agree to ≤ 2 %', () => {
    const [ax, ay] = ramachandranAxes(BINS);
    const fes = angles.map((a) => freeEnergySurface(a.phi, a.psi, ax, ay));
    for (let i = 0; i < 2; i++) {
      let dp = 0;
      let dF = 0;
      fes[i].probability.forEach((p, b) => {
        dp = Math.max(dp, Math.abs(p - ref.trajs[i].probability[b]));
        const theirs = ref.trajs[i].freeEnergy[b];
        expect(Number.isFinite(fes[i].freeEnergy[b])).toBe(theirs !== null);
        // Compare F where a bin holds ≥ 20 frames, where −ln p is not dominated by counting noise.
        if (theirs !== null && p * ref.trajs[i].frames >= 20) dF = Math.max(dF, Math.abs(fes[i].freeEnergy[b] - theirs));
      });
      console.log(`${i === 0 ? 'train' : 'test'} FES: max |Δp| ${dp.toExponential(2)}, max |ΔF| ${dF.toFixed(4)} kT on bins with ≥ 20 frames`);
      expect(dp).toBeLessThan(2e-4);
      expect(dF).toBeLessThan(0.02);
    }
    const js = jensenShannon(fes[0].counts, fes[1].counts);
    console.log(`JS(train, test) of the ${BINS}×${BINS} φ/ψ histograms: ours ${js.toFixed(5)} vs mdtraj+numpy ${ref.js.toFixed(5)} nats`);
    expect(relative(js, ref.js)).toBeLessThan(0.02);
    expect(js).toBeGreaterThan(0);
    expect(js).toBeLessThan(Math.LN2);
  });

  test('train vs test: bootstrap error bars, eigenvector similarity, chirality, clashes and speeds (reported)', async () => {
    const its = impliedTimescales([dtrajs[0]], [5], { k: 1, dt: 1, nStates: K, bootstrap: 20, seed: 1 });
    const bs = its.bootstrap!;
    console.log(`train t1 at lag 5 ps: ${its.timescales[0][0].toFixed(1)} ps, bootstrap mean ${bs.mean[0][0].toFixed(1)} ± ${bs.std[0][0].toFixed(1)} ps (${bs.resample}, ${bs.blockLength} frames)`);
    expect(bs.std[0][0]).toBeGreaterThan(0);
    expect(its.timescales[0][0]).toBeGreaterThan(bs.lower[0][0] - bs.std[0][0]);

    const a = new MarkovStateModel({ lag: 5, dt: 1 }).fit([dtrajs[0]], K);
    const b = new MarkovStateModel({ lag: 5, dt: 1 }).fit([dtrajs[1]], K);
    const sim = eigenvectorSimilarity(a, b, { k: 2 });
    console.log(`eigenvector cosine similarity train vs test (lag 5 ps, ${sim.sharedStates.length} shared states): π ${sim.similarity[0].toFixed(4)}, slowest ${sim.similarity[1].toFixed(4)}`);
    expect(sim.similarity[0]).toBeGreaterThan(0.9);

    const top = await topologyFromPdb(sharedData('adp', 'adp.pdb'));
    const centersCA = chiralCenters(top.atoms);
    expect(centersCA.map((c) => [c.n, c.ca, c.c, c.cb])).toEqual([[6, 8, 14, 10]]);
    for (const t of trajs) expect(fractionL(chiralVolumes(t, centersCA))).toBe(1);

    // The bond graph of the System XML's HarmonicBondForce (adp.pdb has CONECT records only for ACE and NME).
    const xml = fs.readFileSync(sharedData('adp', 'system-vacuum.xml'), 'utf8');
    const bonds = [...xml.matchAll(/<Bond [^>]*p1="(\d+)" p2="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    expect(bonds.length).toBe(21);
    const heavy = top.atoms.flatMap((atom, i) => (atom.element === 'H' ? [] : [i]));
    const elements = top.atoms.map((atom) => atom.element);
    const clash = trajs.map((t) => clashes(t, { atoms: heavy, bonds, elements }));
    console.log(`clashes (heavy atoms ≥ 4 bonds apart below 0.8 × vdW sum): train ${clash[0].frameFraction}, test ${clash[1].frameFraction} of frames; closest pair ${Math.min(...clash[0].minDistance).toFixed(3)} nm`);
    expect(clash[0].frameFraction).toBe(0);
    expect(clash[1].frameFraction).toBe(0);

    const speeds = trajs.map((t) => frameSpeeds(t, 1));
    const cmp = compareRescaled(speeds[0], speeds[1]);
    console.log(`frame-to-frame speeds: mean train ${cmp.meanReference.toFixed(4)}, test ${cmp.meanOther.toFixed(4)} nm/ps, rescale ${cmp.scale.toFixed(4)}, JS after ${cmp.jsAfter.toExponential(2)}`);
    expect(Math.abs(cmp.scale - 1)).toBeLessThan(0.02);
    expect(cmp.jsAfter).toBeLessThan(0.01);
  });
});

// `evaluate` on the ADP reference MD of ../shared/data (skipped when absent): identical inputs give
// zero distances, independent runs agree within sampling noise, a wrong time step is caught.
import * as fs from 'fs';
import * as path from 'path';
import { evaluate } from '../../lib/evaluate';
import { writeSubset } from '../support/evaluate-data';
import { tempDir } from '../support/helpers';
import { hasSharedData, sharedData } from '../support/python';


const shared = hasSharedData && fs.existsSync(sharedData('adp', 'train.dcd'));
if (!shared) console.log('skipping the ADP train/test evaluations: ../shared/data/adp is absent');
const maybe = shared ? describe : describe.skip;
const dir = shared ? tempDir('tcbm-evaluate-adp-') : '';

maybe('ADP reference MD (../shared/data/adp)', () => {
  const files = () => ({ top: sharedData('adp', 'adp.pdb'), system: sharedData('adp', 'system-vacuum.xml') });

  test('test.dcd against itself: every distance 0, rescale 1, identical timescales', async () => {
    // Two bootstrap samples suffice: identical inputs with one seed must give identical samples.
    const m = await evaluate({ ...files(), ref: sharedData('adp', 'test.dcd'), traj: sharedData('adp', 'test.dcd'), map: 'auto', bootstrap: 2 });
    for (const w of Object.values(m.energy.w1)) expect(w).toBe(0);
    expect(m.bonds.maxW1).toBe(0);
    expect(m.angles.maxW1).toBe(0);
    expect(m.thermodynamics.jensenShannon).toBe(0);
    expect(m.chirality.differing).toEqual({ reference: 0, backmapped: 0 });
    for (const v of [m.velocities.all!, m.velocities.nonBead!]) {
      expect(v.scale).toBe(1);
      expect(v).toMatchObject({ jsBefore: 0, jsAfter: 0, w1Before: 0, w1After: 0 });
    }
    expect(m.kinetics.backmapped).toEqual(m.kinetics.reference);
    m.kinetics.eigenvectorSimilarity.forEach((s) => expect(s).toBeCloseTo(1, 10));
  });

  test('every reference implied timescale lies inside its own bootstrap interval, and the interval has width', async () => {
    const m = await evaluate({ ...files(), ref: sharedData('adp', 'test.dcd'), traj: sharedData('adp', 'test.dcd'), map: 'auto', bootstrap: 20 });
    const r = m.kinetics.reference!;
    const b = r.bootstrap!;
    let checked = 0;
    r.timescales.forEach((row, li) =>
      row.forEach((t, p) => {
        if (t === null) return;
        checked++;
        expect(b.lower[li][p]!).toBeLessThan(t);
        expect(b.upper[li][p]!).toBeGreaterThan(t);
        expect(Number.isFinite(b.bias[li][p]!)).toBe(true);
      }),
    );
    expect(checked).toBe(m.kinetics.lags.length * 3); // 6 lags × 3 processes = 18
  });

  test('test (reference) vs train: sampling noise only, well under a minute', async () => {
    const m = await evaluate({ ...files(), ref: sharedData('adp', 'test.dcd'), traj: sharedData('adp', 'train.dcd'), map: 'auto' });
    const s = m.summary;
    console.log(
      `ADP test vs train (${m.seconds.toFixed(1)} s): energy W1 ${s.energyW1!.toFixed(3)} kJ/mol, bond W1 ${s.bondMeanW1Nm!.toExponential(2)} nm, ` +
        `angle W1 ${s.angleMeanW1Deg!.toFixed(3)} deg, FES JS ${s.fesJensenShannon!.toFixed(4)}, t1 ${s.slowestTimescalePs.reference!.toFixed(1)} vs ${s.slowestTimescalePs.backmapped!.toFixed(1)} ps, ` +
        `eigenvectors ${s.eigenvectorSimilarity.map((x) => x!.toFixed(3)).join('/')}, velocity s ${s.velocityScale!.toFixed(4)} (JS after ${s.velocityJsAfter!.toFixed(4)})`,
    );
    // Jest's module contexts slow Math.* calls several-fold (the CLI takes ~7 s on an idle 2-core machine): only a hang guard here.
    expect(m.seconds).toBeLessThan(120);
    expect(m.subsampling).toEqual([]);
    expect(s.energyW1!).toBeLessThan(1);
    expect(s.bondMeanW1Nm!).toBeLessThan(1e-4);
    expect(s.angleMeanW1Deg!).toBeLessThan(0.3);
    expect(s.fesJensenShannon!).toBeGreaterThan(0);
    expect(s.fesJensenShannon!).toBeLessThan(0.1);
    const ratio = s.slowestTimescalePs.backmapped! / s.slowestTimescalePs.reference!;
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
    expect(s.eigenvectorSimilarity[0]!).toBeGreaterThan(0.95);
    expect(s.eigenvectorSimilarity[1]!).toBeGreaterThan(0.9);
    expect(Math.abs(s.velocityScale! - 1)).toBeLessThan(0.03);
    expect(s.velocityJsAfter!).toBeLessThan(0.02);
    expect(s.chiralityDiffering).toBe(0);
    expect(s.clashFrameFraction).toEqual({ reference: 0, backmapped: 0 });
  });

  test('every 2nd train frame passed off as 1 ps apart: faster speeds (s < 1) and halved timescales', async () => {
    const half = path.join(dir, 'train-every-2nd.dcd');
    await writeSubset(sharedData('adp', 'train.dcd'), half, { stride: 2 });
    const m = await evaluate({ ...files(), ref: sharedData('adp', 'test.dcd'), traj: half, map: 'auto', bootstrap: 0 });
    const s = m.summary;
    console.log(`ADP test vs every 2nd train frame: velocity s ${s.velocityScale!.toFixed(3)}, t1 ${s.slowestTimescalePs.reference!.toFixed(1)} vs ${s.slowestTimescalePs.backmapped!.toFixed(1)} ps`);
    // Equilibrium distributions are unchanged by subsampling; the dynamics are not.
    expect(s.bondMeanW1Nm!).toBeLessThan(1e-4);
    expect(s.fesJensenShannon!).toBeLessThan(0.1);
    expect(s.velocityScale!).toBeLessThan(0.85);
    const ratio = s.slowestTimescalePs.backmapped! / s.slowestTimescalePs.reference!;
    expect(ratio).toBeGreaterThan(0.35);
    expect(ratio).toBeLessThan(0.7);
  });
});

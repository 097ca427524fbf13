// Format dispatch, cross-format agreement and round trips, multi-file sets.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convert } from '../../lib/io/convert';
import { TrajectorySet, openTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { DATA } from '../support/data';
import { hasSharedData, sharedData } from '../support/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-traj-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

(hasSharedData ? test : test.skip)('adp test.dcd and test.xtc (the same 5000 frames) agree to 0.0011 nm', async () => {
  const dcd = await readTrajectory(sharedData('adp/test.dcd'), { atoms: 22 });
  const xtc = await readTrajectory(sharedData('adp/test.xtc'), { atoms: 22 });
  expect(dcd.frames).toBe(5000);
  expect(xtc.frames).toBe(5000);
  expect(maxDiff(xtc.coords, dcd.coords)).toBeLessThanOrEqual(0.0011);
});

test('DCD -> XTC -> DCD is exact to XTC precision (0.5/1000 nm); PDB -> PDB is exact', async () => {
  const src = path.join(DATA, 'adp/test-1000.dcd');
  const xtc = path.join(dir, 'a.xtc');
  const back = path.join(dir, 'back.dcd');
  await convert({ traj: src, out: xtc });
  await convert({ traj: xtc, out: back });
  const a = await readTrajectory(src);
  const b = await readTrajectory(back);
  expect(maxDiff(b.coords, a.coords)).toBeLessThanOrEqual(0.0005 + 1e-6);
  // and the XTC -> DCD step itself loses only float32 rounding of DCD's nm -> Å -> nm
  expect(maxDiff(b.coords, (await readTrajectory(xtc)).coords)).toBeLessThanOrEqual(1e-6);

  const pdb1 = path.join(dir, 'a.pdb');
  const pdb2 = path.join(dir, 'b.pdb');
  await convert({ top: path.join(DATA, 'adp/adp.pdb'), traj: back, out: pdb1 });
  await convert({ traj: pdb1, out: pdb2 });
  expect(fs.readFileSync(pdb2, 'utf8')).toBe(fs.readFileSync(pdb1, 'utf8'));
  expect(maxDiff((await readTrajectory(pdb1)).coords, b.coords)).toBeLessThanOrEqual(0.00005 + 1e-6); // %8.3f Å
});

test('a trajectory set keeps files separate and streams bounded chunks', async () => {
  const src = path.join(DATA, 'adp/test-1000.dcd');
  const xtc = path.join(dir, 'set.xtc');
  await convert({ traj: src, out: xtc });
  const set = await TrajectorySet.open([src, xtc], { atoms: 22 });
  try {
    expect(set.frameCounts).toEqual([1000, 1000]);
    const seen: [number, number, number][] = [];
    for await (const c of set.chunks(300)) {
      expect(c.frames).toBeLessThanOrEqual(300);
      seen.push([c.trajectory, c.start, c.frames]);
    }
    expect(seen.filter(([t]) => t === 0).map(([, s]) => s)).toEqual([0, 300, 600, 900]);
    expect(seen.filter(([t]) => t === 1).reduce((s, [, , n]) => s + n, 0)).toBe(1000);
  } finally {
    await set.close();
  }
  await expect(TrajectorySet.open([src, path.join(DATA, 'chignolin/test-200.dcd')])).rejects.toThrow(/has 166 atoms, topology has 22/);
});

test('random access equals streaming in every format', async () => {
  for (const ext of ['dcd', 'xtc', 'pdb']) {
    const file = path.join(dir, `ra.${ext}`);
    await convert({ top: path.join(DATA, 'adp/adp.pdb'), traj: path.join(DATA, 'adp/test-1000.dcd'), out: file });
    const r = await openTrajectory(file);
    try {
      const all = await r.read(0, 1000);
      const part = await r.read(417, 9);
      expect(Array.from(part.coords)).toEqual(Array.from(all.coords.subarray(417 * 66, 426 * 66)));
    } finally {
      await r.close();
    }
  }
});

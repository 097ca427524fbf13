// System XML parsing: the shared ADP and chignolin systems, and the one-line
// errors for unsupported forces, cutoff methods, malformed XML and missing files.
import * as fs from 'fs';
import * as path from 'path';
import { bondGraph, forceFieldCounts, loadForceField, parseForceField } from '../../lib/forcefield/system';

// the bundled data/: System XML, OpenMM's energies of the first 20 test frames, and those frames
const DATA = path.resolve(__dirname, '../../data');

function system(forces: string, particles = 3): string {
  const p = Array.from({ length: particles }, () => '<Particle mass="12"/>').join('');
  return `<?xml version="1.0" ?><System openmmVersion="7.7" type="System" version="1"><Particles>${p}</Particles><Constraints/><Forces>${forces}</Forces></System>`;
}

const NONBONDED = (method: number) =>
  `<Force method="${method}" type="NonbondedForce" version="4"><GlobalParameters/><ParticleOffsets/><ExceptionOffsets/>` +
  `<Particles><Particle eps=".1" q=".5" sig=".3"/><Particle eps=".2" q="-.5" sig=".32"/><Particle eps="0" q="0" sig="1"/></Particles>` +
  `<Exceptions><Exception eps="0" p1="0" p2="1" q="0" sig="1"/></Exceptions></Force>`;

test.each(['adp', 'chignolin'])('%s system-vacuum.xml parses with the counts of energies.json', async (name) => {
  const ff = await loadForceField(path.join(DATA, name, 'system-vacuum.xml'));
  const expected = JSON.parse(fs.readFileSync(path.join(DATA, name, 'energies.json'), 'utf8')).counts;
  expect(forceFieldCounts(ff)).toEqual(expected);
  expect(ff.forceNames).toEqual(['HarmonicBondForce', 'HarmonicAngleForce', 'PeriodicTorsionForce', 'NonbondedForce']);
  expect(ff.particles.length).toBe(expected.NonbondedForce.particles);
  expect(ff.masses.length).toBe(ff.particles.length);
  expect(ff.nonbonded.method).toBe(0);
  expect(ff.cmap).toBeUndefined();
  const graph = bondGraph(ff);
  expect(graph.length).toBe(expected.HarmonicBondForce);
  for (let b = 0; b < graph.length; b++) {
    expect(graph[b][0]).toBeLessThan(graph[b][1]);
    if (b > 0) expect(graph[b - 1][0] < graph[b][0] || (graph[b - 1][0] === graph[b][0] && graph[b - 1][1] < graph[b][1])).toBe(true);
  }
});

test('ADP values in OpenMM units', async () => {
  const ff = await loadForceField(path.join(DATA, 'adp', 'system-vacuum.xml'));
  expect(forceFieldCounts(ff)).toEqual({
    HarmonicBondForce: 21,
    HarmonicAngleForce: 36,
    PeriodicTorsionForce: 42,
    NonbondedForce: { particles: 22, exceptions: 98 },
  });
  // <Bond d=".1522" k="265265.6" p1="4" p2="1"/>, the first bond of the file
  expect([ff.bonds.p1[0], ff.bonds.p2[0], ff.bonds.length[0], ff.bonds.k[0]]).toEqual([4, 1, 0.1522, 265265.6]);
  expect(ff.masses[1]).toBeCloseTo(12.01078, 10);
  expect(ff.nonbonded.charge[4]).toBeCloseTo(0.5972, 10);
  expect(ff.torsions.periodicity[1]).toBe(3);
  expect(ff.torsions.phase[1]).toBeCloseTo(Math.PI, 10);
  let total = 0;
  ff.nonbonded.charge.forEach((q) => (total += q));
  expect(total).toBeCloseTo(0, 6); // ADP is neutral
});

test('two forces of one class join into one term; CMMotionRemover is ignored', () => {
  const bond = (a: number, b: number) => `<Force type="HarmonicBondForce" version="2"><Bonds><Bond d=".1" k="1000" p1="${a}" p2="${b}"/></Bonds></Force>`;
  const ff = parseForceField(system(bond(0, 1) + '<Force frequency="1" type="CMMotionRemover" version="1"/>' + bond(2, 1)), 'two.xml');
  expect(ff.forceNames).toEqual(['HarmonicBondForce']);
  expect(Array.from(ff.bonds.p1)).toEqual([0, 2]);
  expect(bondGraph(ff)).toEqual([
    [0, 1],
    [1, 2],
  ]);
  expect(ff.nonbonded.charge.length).toBe(3);
});

test('CMAPTorsionForce parses (maps and 8-atom torsions)', () => {
  const cmap =
    '<Force type="CMAPTorsionForce" version="2"><Maps><Map size="2"><Energy e=".1"/><Energy e=".2"/><Energy e=".3"/><Energy e=".4"/></Map></Maps>' +
    '<Torsions><Torsion a1="0" a2="1" a3="2" a4="3" b1="1" b2="2" b3="3" b4="4" map="0"/></Torsions></Force>';
  const ff = parseForceField(system(cmap, 5), 'cmap.xml');
  expect(ff.forceNames).toEqual(['CMAPTorsionForce']);
  expect(ff.cmap!.maps[0].size).toBe(2);
  expect(Array.from(ff.cmap!.maps[0].energy)).toEqual([0.1, 0.2, 0.3, 0.4]);
  expect([ff.cmap!.map[0], ff.cmap!.a1[0], ff.cmap!.b4[0]]).toEqual([0, 0, 4]);
  expect(forceFieldCounts(ff).CMAPTorsionForce).toEqual({ maps: 1, torsions: 1 });
});

test('unsupported forces are rejected in one line naming them and the file', () => {
  const xml = system(
    '<Force type="GBSAOBCForce" version="2"><Particles/></Force><Force type="CustomGBForce" version="1"/><Force type="GBSAOBCForce" version="2"/>',
  );
  let error: unknown;
  try {
    parseForceField(xml, 'implicit.xml');
  } catch (err) {
    error = err;
  }
  expect(error).toMatchObject({ code: 'ERR_UNSUPPORTED' });
  const message = (error as Error).message;
  expect(message).toMatch(/^implicit\.xml: unsupported forces GBSAOBCForce, CustomGBForce /);
  expect(message).not.toContain('\n');
});

test('NonbondedForce with a cutoff method is rejected, naming the method', () => {
  expect(() => parseForceField(system(NONBONDED(4)), 'pme.xml')).toThrow(
    expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringMatching(/^pme\.xml: NonbondedForce method PME \(method="4"\)/) }),
  );
  const ff = parseForceField(system(NONBONDED(0)), 'nocutoff.xml');
  expect(Array.from(ff.nonbonded.sigma)).toEqual([0.3, 0.32, 1]);
  expect(ff.nonbonded.exceptions.p2[0]).toBe(1);
});

test('malformed XML and bad values are ERR_BAD_FORMAT in one line', () => {
  const cases: [string, RegExp][] = [
    ['<System><Particles><Particle mass="1"></Particles></System>', /^bad\.xml: malformed XML at line 1: /],
    ['<Other/>', /^bad\.xml: no <System> element/],
    [system('<Force type="HarmonicBondForce"><Bonds><Bond d="x" k="1" p1="0" p2="1"/></Bonds></Force>'), /HarmonicBondForce Bond 0: attribute d is not a number/],
    [system('<Force type="HarmonicBondForce"><Bonds><Bond d=".1" k="1" p1="0" p2="7"/></Bonds></Force>'), /atom p2=7 is outside 0\.\.2/],
  ];
  for (const [xml, pattern] of cases) {
    let error: unknown;
    try {
      parseForceField(xml, 'bad.xml');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT' });
    expect((error as Error).message).toMatch(pattern);
    expect((error as Error).message).not.toContain('\n');
  }
});

test('a missing file is ERR_FILE_NOT_FOUND', async () => {
  await expect(loadForceField('/nonexistent/system.xml')).rejects.toMatchObject({
    code: 'ERR_FILE_NOT_FOUND',
    message: '/nonexistent/system.xml: no such file',
  });
});

// CG mappings: presets, JSON bead groups with weights, and the slicing fast path.
import * as fs from 'fs';
import * as path from 'path';
import type { Atom, Topology } from '../../lib/io/types';
import { applyMapping, loadMapping, parseMapping, presetMapping } from '../../lib/model/mapping';
import { tempDir } from '../support/helpers';

// alanine dipeptide as adp.pdb orders it (OpenMM names)
const ADP_ATOMS: [string, string, number][] = [
  ['H1', 'ACE', 1], ['CH3', 'ACE', 1], ['H2', 'ACE', 1], ['H3', 'ACE', 1], ['C', 'ACE', 1], ['O', 'ACE', 1],
  ['N', 'ALA', 2], ['H', 'ALA', 2], ['CA', 'ALA', 2], ['HA', 'ALA', 2], ['CB', 'ALA', 2], ['HB1', 'ALA', 2],
  ['HB2', 'ALA', 2], ['HB3', 'ALA', 2], ['C', 'ALA', 2], ['O', 'ALA', 2], ['N', 'NME', 3], ['H', 'NME', 3],
  ['C', 'NME', 3], ['H1', 'NME', 3], ['H2', 'NME', 3], ['H3', 'NME', 3],
];

function topology(atoms: [string, string, number][], elements?: string[]): Topology {
  return {
    atoms: atoms.map(([name, resName, resSeq], i): Atom => ({
      name,
      resName,
      resSeq,
      residueIndex: resSeq - 1,
      chain: 'A',
      element: elements?.[i] ?? name[0],
      hetero: false,
    })),
    bonds: [],
  };
}

const adp = topology(ADP_ATOMS);

test('adp preset: the paper beads ACE C, ALA N, CA, C, NME N, ALA CB = atoms 4, 6, 8, 14, 16, 10', () => {
  const m = presetMapping('adp', adp);
  expect(Array.from(m.indices!)).toEqual([4, 6, 8, 14, 16, 10]);
  expect(m.beads).toBe(6);
  expect(m.beadNames[5]).toBe('ALA:CB');
});

test('ca preset takes CA carbons and skips a calcium ion named CA', () => {
  const top = topology(
    [['N', 'GLY', 1], ['CA', 'GLY', 1], ['C', 'GLY', 1], ['N', 'ALA', 2], ['CA', 'ALA', 2], ['CA', 'CA', 3]],
    ['N', 'C', 'C', 'N', 'C', 'Ca'],
  );
  const m = presetMapping('ca', top);
  expect(Array.from(m.indices!)).toEqual([1, 4]);
  expect(() => presetMapping('ca', topology([['O', 'HOH', 1]]))).toThrow(/no CA carbon atoms/);
});

test('adp preset names the missing atom', () => {
  expect(() => presetMapping('adp', topology([['CA', 'ALA', 1]]))).toThrow(/no atom C in residue ACE/);
});

test('JSON beads: centroid, centre of mass and explicit weights', () => {
  const m = parseMapping(
    {
      beads: [
        { name: 'methyl', atoms: [0, 1, 2, 3], weights: 'mass' },
        { name: 'carbonyl', atoms: ['1:C', '1:O'] },
        { name: 'ca', atoms: ['2:CA'] },
        { name: 'mix', atoms: [6, 8], weights: [3, 1] },
      ],
    },
    adp,
    'test.json',
  );
  expect(m.indices).toBeUndefined();
  const coords = new Float32Array(22 * 3);
  for (let i = 0; i < 22; i++) coords.set([i, 2 * i, -i], i * 3);
  const cg = applyMapping(m, coords, 1);
  const hMass = 1.008;
  const cMass = 12.011;
  const comX = (0 * hMass + 1 * cMass + 2 * hMass + 3 * hMass) / (3 * hMass + cMass);
  expect(cg[0]).toBeCloseTo(comX, 5);
  expect(cg[3]).toBeCloseTo((4 + 5) / 2, 5);
  expect(Array.from(cg.subarray(6, 9))).toEqual([8, 16, -8]);
  expect(cg[9]).toBeCloseTo((3 * 6 + 8) / 4, 5);
});

test('a JSON of single atoms takes the slicing fast path, equal to the matrix product', () => {
  const m = parseMapping({ beads: [{ atoms: [4] }, { atoms: ['2:CA'] }] }, adp, 'x.json');
  expect(Array.from(m.indices!)).toEqual([4, 8]);
  const coords = Float32Array.from({ length: 3 * 22 * 3 }, (_, i) => Math.sin(i));
  const fast = applyMapping(m, coords, 3);
  const slow = applyMapping({ ...m, indices: undefined }, coords, 3);
  expect(Array.from(fast)).toEqual(Array.from(slow));
});

const dir = tempDir('tcbm-map-');

test('bad mapping files give one-line errors naming file and bead', async () => {
  expect(() => parseMapping({ beads: [{ name: 'b0', atoms: [99] }] }, adp, 'm.json')).toThrow(/m.json: b0: atom index 99 is outside 0..21/);
  expect(() => parseMapping({ beads: [{ atoms: ['7:XX'] }] }, adp, 'm.json')).toThrow(/bead 0: no atom XX in residue 7/);
  expect(() => parseMapping({ beads: [{ atoms: [1, 2], weights: [1] }] }, adp, 'm.json')).toThrow(/"weights" must be/);
  expect(() => parseMapping({}, adp, 'm.json')).toThrow(/expected \{"beads"/);
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{ nope');
  await expect(loadMapping(bad, adp)).rejects.toThrow(/bad.json: not valid JSON/);
  await expect(loadMapping(path.join(dir, 'missing.json'), adp)).rejects.toThrow(/no such mapping file/);
  expect((await loadMapping('adp', adp)).beads).toBe(6);
});

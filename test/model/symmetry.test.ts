// Symmetric atoms: which groups the topology gives, and the renaming of the target
// to the decoded frame inside the native loss.
import * as path from 'path';
import { topologyFromPdb } from '../../lib/io/pdb';
import { bondGraph, loadForceField } from '../../lib/forcefield/system';
import { PRESETS } from '../../lib/model/presets';
import { packSymmetries, slotOrders, symmetricGroups } from '../../lib/model/symmetry';
import { Trainer, type TrainingData } from '../../lib/model/train';
import { adpTwoTrajectories, DATA } from '../support/data';

let data: TrainingData;
beforeAll(async () => {
  data = await adpTwoTrajectories();
  // the bundled PDB's CONECT records cover only ACE and NME: bonds from the System, as training loads them
  data.topology.bonds = bondGraph(await loadForceField(path.join(DATA, 'adp/system-vacuum.xml')));
});

const names = (top: TrainingData['topology'], slots: number[][]) => slots.map((s) => s.map((i) => `${top.atoms[i].resName}${top.atoms[i].residueIndex + 1}-${top.atoms[i].name}`).join('+'));

test('ADP: its three methyls; chignolin: carboxylates, the N-terminal ammonium, methyls, methylenes and three ring flips', async () => {
  const adp = symmetricGroups(data.topology).map((g) => names(data.topology, g.slots).join(' '));
  expect(adp).toEqual(['ACE1-H1 ACE1-H2 ACE1-H3', 'ALA2-HB1 ALA2-HB2 ALA2-HB3', 'NME3-H1 NME3-H2 NME3-H3']);

  const cln = await topologyFromPdb(path.join(DATA, 'chignolin/cln.pdb'));
  cln.bonds = bondGraph(await loadForceField(path.join(DATA, 'chignolin/system-vacuum.xml')));
  const groups = symmetricGroups(cln).map((g) => names(cln, g.slots).join(' '));
  for (const g of [
    'TYR1-H TYR1-H2 TYR1-H3', 'ASP3-OD1 ASP3-OD2', 'GLU5-OE1 GLU5-OE2', 'TYR10-O TYR10-OXT', 'THR6-HG21 THR6-HG22 THR6-HG23',
    'TYR2-CD1+TYR2-HD1+TYR2-CE1+TYR2-HE1 TYR2-CD2+TYR2-HD2+TYR2-CE2+TYR2-HE2', 'GLY7-HA2 GLY7-HA3',
  ]) expect(groups).toContain(g);
  expect(groups.filter((g) => g.includes('CD1+')).length).toBe(3);
  // a backbone carbonyl is not a carboxylate: one terminal O on its carbon
  expect(groups.some((g) => g.includes('ASP3-O ') || g === 'TYR2-O')).toBe(false);
  const atoms = symmetricGroups(cln).flatMap((g) => g.slots.flat());
  expect(new Set(atoms).size).toBe(atoms.length); // each atom in one group at most
});

test('packSymmetries: every order of each group\'s slots, padded with -1 and identity rows', () => {
  const packed = packSymmetries([{ slots: [[0], [1], [2]] }, { slots: [[3, 4], [5, 6]] }]);
  expect(packed).toMatchObject({ count: 2, size: 4 });
  expect(Array.from(packed.groups)).toEqual([0, 1, 2, -1, 3, 4, 5, 6]);
  const rows = (g: number) => Array.from({ length: 6 }, (_, p) => Array.from(packed.permutations.slice((g * 6 + p) * 4, (g * 6 + p + 1) * 4)));
  expect(new Set(rows(0).map((r) => r.join())).size).toBe(6);
  for (const r of rows(0)) expect([...r].sort()).toEqual([-1, 0, 1, 2]);
  expect(rows(1).slice(0, 2).map((r) => r.join()).sort()).toEqual(['3,4,5,6', '5,6,3,4']);
  expect(rows(1).slice(2).every((r) => r.join() === '3,4,5,6')).toBe(true); // the identity
  expect(slotOrders(3)[0]).toEqual([0, 1, 2]);
});

/** A centred pair of the bundled frames, and the same target with each methyl's hydrogens relabelled (H1 <- H2 <- H3 <- H1). */
function pairAndRelabelled(): { aaT: Float32Array; aaPrev: Float32Array; swapped: Float32Array } {
  const N = data.topology.atoms.length;
  const aaT = data.trajectories[0].slice(N * 3, 2 * N * 3);
  const aaPrev = data.trajectories[0].slice(0, N * 3);
  const mean = [0, 1, 2].map((k) => aaT.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0) / N);
  for (let i = 0; i < aaT.length; i++) aaT[i] -= mean[i % 3];
  for (let i = 0; i < aaPrev.length; i++) aaPrev[i] -= mean[i % 3];
  const swapped = aaT.slice();
  for (const g of symmetricGroups(data.topology)) {
    const [h1, h2, h3] = g.slots.map((s) => s[0]);
    for (let k = 0; k < 3; k++) {
      swapped[h1 * 3 + k] = aaT[h2 * 3 + k];
      swapped[h2 * 3 + k] = aaT[h3 * 3 + k];
      swapped[h3 * 3 + k] = aaT[h1 * 3 + k];
    }
  }
  return { aaT, aaPrev, swapped };
}

const batchOf = (x: Float32Array, aaPrev: Float32Array) => ({ batch: 1, aaT: x, aaPrev, cgT: new Float32Array(18), eps: new Float32Array(8), gamma: 0, beta: 0, energyClamp: 0, threads: 2 });

test('renaming: relabelled symmetric atoms score as the original (the renaming minimises over every labelling); without it they score differently', async () => {
  const t = Trainer.create(data, { preset: PRESETS.tiny, seed: 3, threads: 2 });
  const { aaT, aaPrev, swapped } = pairAndRelabelled();
  t.model.setSymmetries(packSymmetries(symmetricGroups(data.topology)));
  const on = [await t.model.evaluate(batchOf(aaT, aaPrev)), await t.model.evaluate(batchOf(swapped, aaPrev))];
  t.model.setSymmetries(null);
  const off = [await t.model.evaluate(batchOf(aaT, aaPrev)), await t.model.evaluate(batchOf(swapped, aaPrev))];
  // The encoder sees A(t) as labelled, so the decoded frames differ slightly
  // between the two targets; the renamed losses agree far more closely than the
  // plain ones, and are lower: the renaming picks the closest labelling.
  expect(Math.abs(on[0].coord - on[1].coord)).toBeLessThan(0.2 * Math.abs(off[0].coord - off[1].coord));
  for (const k of ['coord', 'edm'] as const) {
    expect(on[0][k]).toBeLessThan(off[0][k]);
    expect(on[1][k]).toBeLessThan(off[1][k]);
  }
  // bad groups are refused with a one-line error
  expect(() => t.model.setSymmetries({ groups: new Int32Array([0, 1]), permutations: new Int32Array([0, 2]), count: 1, size: 2 })).toThrow(/rearrange its group's atoms/);
  expect(() => t.model.setSymmetries({ groups: new Int32Array([0, 1, 1, 2]), permutations: new Int32Array([0, 1, 1, 2]), count: 2, size: 2 })).toThrow(/more than one group/);
  expect(() => t.model.setSymmetries({ groups: new Int32Array([0, 99]), permutations: new Int32Array([0, 99]), count: 1, size: 2 })).toThrow(/out of range/);
  expect(() => t.model.setSymmetries({ groups: new Int32Array([0, 1]), permutations: new Int32Array([0]), count: 1, size: 2 })).toThrow(/count \* size/);
});

test('renameSymmetric in a preset gives the trainer the groups', async () => {
  const { aaT, aaPrev, swapped } = pairAndRelabelled();
  const scores = async (renameSymmetric: boolean) => {
    const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, renameSymmetric } };
    const t = Trainer.create(data, { preset, seed: 3, threads: 2 });
    return [(await t.model.evaluate(batchOf(aaT, aaPrev))).coord, (await t.model.evaluate(batchOf(swapped, aaPrev))).coord];
  };
  const [on, off] = [await scores(true), await scores(false)];
  expect(Math.abs(on[0] - on[1])).toBeLessThan(0.2 * Math.abs(off[0] - off[1]));
  expect(on[0]).toBeLessThan(off[0]);
});

test('cln-cpu states the shipped recipe: the energy phase from 7,000, the steric floor from 12,000, 15,000 steps', () => {
  expect(PRESETS['cln-cpu'].training).toMatchObject({
    steps: 15000, gamma: { n0: 7000, n1: 600, start: 1e-5, end: 1e-3 }, energyScale: 415, localWeight: 10, localFrom: 3000,
    latentWarmup: { steps: 1500, ramp: 500 }, floorWeight: 1, floorPairs: 'steric', floorFrom: 12000,
  });
  expect(PRESETS['cln-cpu'].training.renameSymmetric).toBeUndefined();
});

test('renameFrom and floorFrom: the renaming and the floor start at those steps; the step weights say so', async () => {
  const preset = { ...PRESETS.tiny, training: { ...PRESETS.tiny.training, renameSymmetric: true, renameFrom: 2, floorWeight: 1, floorPairs: 'steric' as const, floorFrom: 2 } };
  const t = Trainer.create(data, { preset, seed: 3, threads: 2 });
  const weights = () => t['lossWeights']();
  expect(await weights()).toMatchObject({ renameSymmetric: false, floorWeight: 0 });
  for await (const _ of t.run(2));
  expect(await weights()).toMatchObject({ renameSymmetric: true, floorWeight: 1 });
  // renameSymmetric: false in a step's weights turns the renaming off
  const { aaT, aaPrev, swapped } = pairAndRelabelled();
  const coord = async (x: Float32Array, renameSymmetric: boolean) => (await t.model.evaluate({ ...batchOf(x, aaPrev), renameSymmetric })).coord;
  const on = [await coord(aaT, true), await coord(swapped, true)];
  const off = [await coord(aaT, false), await coord(swapped, false)];
  expect(Math.abs(on[0] - on[1])).toBeLessThan(0.2 * Math.abs(off[0] - off[1]));
});

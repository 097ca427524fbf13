// Noise on the CG condition: the CG bond tree and noise on bond lengths alone.
import { cgBondTree, withConditionNoise } from '../../lib/model/noise';
import { PRESETS } from '../../lib/model/presets';
import { Rng } from '../../lib/core/rng';
import type { TrainingData } from '../../lib/model/train';
import { loadTopology } from '../../lib/model/dataset';
import { loadForceField } from '../../lib/forcefield/system';
import * as path from 'path';
import { DATA, adpTwoTrajectories } from '../support/data';

let data: TrainingData;

beforeAll(async () => {
  data = await adpTwoTrajectories();
  // the bonds come from the System XML, as in training
  const xml = path.join(DATA, 'adp/system-vacuum.xml');
  data.topology = await loadTopology(path.join(DATA, 'adp/adp.pdb'), await loadForceField(xml));
});

const bead = (x: Float32Array, o: number, b: number) => [0, 1, 2].map((k) => x[o + 3 * b + k]);
const sub = (a: number[], b: number[]) => a.map((v, k) => v - b[k]);
const norm = (a: number[]) => Math.hypot(a[0], a[1], a[2]);
const unit = (a: number[]) => a.map((v) => v / norm(a));

test("ADP's CG bond tree is its chemical chain: ACE C–N–CA–C–NME N, and CB on CA", () => {
  const tree = cgBondTree(data.topology, data.mapping);
  // beads: 0 ACE C, 1 ALA N, 2 ALA CA, 3 ALA C, 4 NME N, 5 ALA CB
  expect(Array.from(tree.parent)).toEqual([-1, 0, 1, 2, 3, 2]);
  expect(tree.order[0]).toBe(0);
  expect([...tree.order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
});

test('cgNoiseShape "bonds": bond lengths change by √2 · cgNoise, bond directions and the centre do not, the target stays clean', () => {
  const B = 64, n = 6, N = 22;
  const frames = data.trajectories[0];
  const cgT = new Float32Array(B * n * 3);
  const atoms = data.mapping.indices!;
  for (let b = 0; b < B; b++) atoms.forEach((a, k) => cgT.set(frames.subarray(((b % 20) * N + a) * 3, ((b % 20) * N + a) * 3 + 3), (b * n + k) * 3));
  const clean = { aaT: new Float32Array(B * N * 3), aaPrev: new Float32Array(B * N * 3), cgT, eps: new Float32Array(B * 8) };
  const tree = cgBondTree(data.topology, data.mapping);
  const settings = { ...PRESETS['adp-cpu'].training, cgNoise: 0.02, cgNoiseShape: 'bonds' as const };
  const noisy = withConditionNoise(clean, B, settings, new Rng(3), tree);
  expect(noisy.cgT).toBe(cgT);
  const changes: number[] = [];
  for (let b = 0; b < B; b++) {
    const o = b * n * 3;
    for (let c = 1; c < n; c++) {
      const p = tree.parent[c];
      const before = sub(bead(cgT, o, c), bead(cgT, o, p));
      const after = sub(bead(noisy.cgCondition!, o, c), bead(noisy.cgCondition!, o, p));
      unit(before).forEach((v, k) => expect(unit(after)[k]).toBeCloseTo(v, 4));
      changes.push(norm(after) - norm(before));
    }
    for (let k = 0; k < 3; k++) {
      let shift = 0;
      for (let c = 0; c < n; c++) shift += noisy.cgCondition![o + 3 * c + k] - cgT[o + 3 * c + k];
      expect(Math.abs(shift)).toBeLessThan(1e-5);
    }
  }
  const sd = Math.sqrt(changes.reduce((s, x) => s + x * x, 0) / changes.length);
  expect(sd).toBeGreaterThan(0.8 * Math.SQRT2 * 0.02);
  expect(sd).toBeLessThan(1.2 * Math.SQRT2 * 0.02);
  expect(() => withConditionNoise(clean, B, settings, new Rng(3))).toThrow(/bond tree/);
});

test('the CA mapping of a chain: each CA hangs on its neighbour along the chain', () => {
  // three residues N-CA-C each, joined by peptide bonds: CA beads are 3 bonds apart
  const atoms = Array.from({ length: 9 }, (_, i) => ({ name: ['N', 'CA', 'C'][i % 3], element: i % 3 === 0 ? 'N' : 'C', resName: 'GLY', resSeq: 1 + Math.floor(i / 3), residueIndex: Math.floor(i / 3), chain: 'A', hetero: false }));
  const bonds = Array.from({ length: 8 }, (_, i) => [i, i + 1] as [number, number]);
  const matrix = new Float32Array(3 * 9);
  [1, 4, 7].forEach((a, b) => (matrix[b * 9 + a] = 1));
  const tree = cgBondTree({ atoms, bonds }, { name: 'ca', atoms: 9, beads: 3, beadNames: [], matrix });
  expect(Array.from(tree.parent)).toEqual([-1, 0, 1]);
  expect(() => cgBondTree({ atoms, bonds: [] }, { name: 'ca', atoms: 9, beads: 3, beadNames: ['A', 'B', 'C'], matrix })).toThrow(/bead B has no chain of bonds to bead A/);
});

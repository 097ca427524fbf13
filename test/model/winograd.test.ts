// The decoder's Winograd F(2x2x2, 3x3x3) convolutions (inference) against at::conv3d, and the roofline bench's kernels.
import { native } from '../../lib/core/native';
import { PRESETS } from '../../lib/model/presets';
import { Rng } from '../../lib/core/rng';
import { Trainer, type TrainingData } from '../../lib/model/train';
import { adpDataset } from '../support/data';

let data: TrainingData;

beforeAll(async () => {
  // with the System's bonds, as every real run: adp-cpu's prior decode denoises along the CG bonds
  const d = await adpDataset();
  data = { topology: d.topology, mapping: d.mapping, trajectories: [d.trajectories[0].slice(0, 20 * 66)] };
});

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// decode(A(t-1) = frames 0..B-1, C(t) = their CG mapping shrunk, z) by both paths
async function bothPaths(t: Trainer, B: number) {
  const L = t.preset.architecture.latent;
  const z = new Rng(4).normals(new Float32Array(B * L));
  const prev = data.trajectories[0].slice(0, B * 66);
  const cg = new Float32Array(B * 18);
  for (let b = 0; b < B; b++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cg.set(prev.subarray(b * 66 + a * 3, b * 66 + a * 3 + 3).map((x) => 0.9 * x), b * 18 + k * 3));
  const fast = await t.model.decode({ batch: B, aaPrev: prev, cgT: cg, z, winograd: true, threads: 2 });
  const direct = await t.model.decode({ batch: B, aaPrev: prev, cgT: cg, z, winograd: false, threads: 2 });
  return { fast, direct };
}

// Every fp32 GEMM kernel this CPU has: the AVX2 fallback is tested wherever AVX-512 is chosen.
const kernels = (['avx512', 'avx2'] as const).filter((k) => {
  const ok = native().setWinogradKernel(k);
  native().setWinogradKernel('auto');
  return ok;
});
afterEach(() => native().setWinogradKernel('auto'));

describe.each(kernels)('the %s kernel', (kernel) => {
  test.each([
    ['tiny', 5], // grid 8: 64 tiles per item, not a multiple of the 12-row GEMM block
    ['adp-cpu', 3], // grid 12, widths 16/32, a head of 22 channels (not a multiple of 16)
    ['adp', 2], // the paper's widths 32/64
  ])('%s: Winograd decoding equals at::conv3d to float32 rounding (batch %d)', async (preset, B) => {
    expect(native().setWinogradKernel(kernel)).toBe(true);
    const t = Trainer.create(data, { preset, seed: 7, threads: 2 });
    const { fast, direct } = await bothPaths(t, B);
    expect(fast.length).toBe(B * 66);
    expect(maxDiff(fast, direct)).toBeLessThan(1e-5); // nm
    expect(fast.every(Number.isFinite)).toBe(true);
  });
});

test('info names the kernels; an unknown kernel is refused and changes nothing', () => {
  const i = native().info();
  expect(['avx512', 'avx2', 'none']).toContain(i.winogradKernel);
  expect(typeof i.bf16Winograd).toBe('boolean');
  expect(native().setWinogradKernel('sse' as 'avx2')).toBe(false);
  expect(native().info().winogradKernel).toBe(i.winogradKernel);
});

const bf16 = native().info().bf16Winograd ? test : test.skip;

bf16('bf16 Winograd products: a rollout within bf16 rounding of fp32, deterministic, and as close as oneDNN\'s bf16', async () => {
  const t = Trainer.create(data, { preset: 'adp', seed: 12, threads: 2 });
  const T = 3, K = 3, L = PRESETS.adp.architecture.latent;
  const prev = data.trajectories[0].slice(0, K * 66);
  const cg = new Float32Array(T * K * 18);
  for (let i = 0; i < T * K; i++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cg.set(data.trajectories[0].subarray((i + 1) * 66 + a * 3, (i + 1) * 66 + a * 3 + 3), i * 18 + k * 3));
  const z = new Rng(3).normals(new Float32Array(T * K * L));
  const opts = { prev, cg, z, steps: T, batch: K, threads: 2 };
  const fp32 = await t.model.rollout({ ...opts, winograd: false });
  const wino = await t.model.rollout({ ...opts, bf16: true });
  const onednn = await t.model.rollout({ ...opts, bf16: true, winograd: false });
  expect(await t.model.rollout({ ...opts, bf16: true })).toEqual(wino);
  const err = maxDiff(wino, fp32);
  expect(err).toBeGreaterThan(0); // it ran in bf16
  expect(err).toBeLessThan(Math.max(0.02, 3 * maxDiff(onednn, fp32))); // nm, untrained weights
});

test('the Winograd filters follow the weights through training steps and loads', async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 8, threads: 2 });
  const before = (await bothPaths(t, 2)).fast;
  for await (const _ of t.run(2));
  const after = await bothPaths(t, 2);
  expect(maxDiff(after.fast, before)).toBeGreaterThan(1e-6); // the weights moved
  expect(maxDiff(after.fast, after.direct)).toBeLessThan(1e-5); // and the fast path saw it

  const other = Trainer.create(data, { preset: 'tiny', seed: 9, threads: 2 });
  await bothPaths(other, 2); // builds its filters from its own initial weights
  const state = await t.checkpoint();
  await other.model.load({ bytes: state.weights, optimizer: true, threads: 2 });
  expect(maxDiff((await bothPaths(other, 2)).fast, after.fast)).toBeLessThan(1e-6);
});

test('rollout by both paths gives the same trajectory', async () => {
  const t = Trainer.create(data, { preset: 'adp-cpu', seed: 10, threads: 2 });
  const T = 4, K = 2, L = PRESETS['adp-cpu'].architecture.latent;
  const prev = data.trajectories[0].slice(0, K * 66);
  const cg = new Float32Array(T * K * 18);
  for (let i = 0; i < T * K; i++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cg.set(data.trajectories[0].subarray((i + 1) * 66 + a * 3, (i + 1) * 66 + a * 3 + 3), i * 18 + k * 3));
  const z = new Rng(3).normals(new Float32Array(T * K * L));
  const fast = await t.model.rollout({ prev, cg, z, steps: T, batch: K, threads: 2 });
  const direct = await t.model.rollout({ prev, cg, z, steps: T, batch: K, threads: 2, winograd: false });
  expect(maxDiff(fast, direct)).toBeLessThan(1e-4);
});

test('a rollout of K trajectories (in per-thread groups on CPU) equals each trajectory rolled out alone', async () => {
  const t = Trainer.create(data, { preset: 'tiny', seed: 11, threads: 2 });
  const T = 3, K = 5, N = 66, n = 18, L = PRESETS.tiny.architecture.latent;
  const prev = data.trajectories[0].slice(0, K * N);
  const cg = new Float32Array(T * K * n);
  for (let i = 0; i < T * K; i++) [4, 6, 8, 14, 16, 10].forEach((a, k) => cg.set(data.trajectories[0].subarray(i * N + a * 3, i * N + a * 3 + 3), i * n + k * 3));
  const z = new Rng(5).normals(new Float32Array(T * K * L));
  const all = await t.model.rollout({ prev, cg, z, steps: T, batch: K, threads: 2 });
  expect(all.length).toBe(T * K * N);
  for (let k = 0; k < K; k++) {
    const pick = (src: Float32Array, width: number) => {
      const out = new Float32Array(T * width);
      for (let s = 0; s < T; s++) out.set(src.subarray((s * K + k) * width, (s * K + k + 1) * width), s * width);
      return out;
    };
    const alone = await t.model.rollout({ prev: prev.slice(k * N, (k + 1) * N), cg: pick(cg, n), z: pick(z, L), steps: T, batch: 1, threads: 1 });
    expect(maxDiff(pick(all, N), alone)).toBeLessThan(1e-6);
  }
});

test('the roofline kernels run off the JS thread and report a rate; an unknown op is refused', async () => {
  const n = native();
  for (const [op, size] of [['ours-gemm-fp32', 96], ['ours-gemm-fp32-avx2', 96], ...(native().info().bf16Winograd ? [['ours-gemm-bf16', 96] as const] : []), ['libtorch-mm-fp32', 64], ['libtorch-mm-bf16', 64], ['libtorch-conv3d-fp32', 8],
    ['libtorch-conv3d-bf16-train', 8]] as const) {
    const r = await n.roofline({ op, size, threads: 1, repeats: 1 });
    expect(r.gflops).toBeGreaterThan(0);
    expect(Number.isFinite(r.seconds)).toBe(true);
  }
  await expect(n.roofline({ op: 'gemm-fp64', size: 64 })).rejects.toThrow('roofline: unknown op "gemm-fp64"');
  await expect(n.roofline({ op: 'ours-gemm-fp32', size: 40 })).rejects.toThrow('size must be at least 48');
});

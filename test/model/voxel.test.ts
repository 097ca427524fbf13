// voxelize / collapse: fused kernels vs the direct formula, gradients vs finite
// differences, and the round trip's accuracy.
import { collapse, collapseBackward, gridSpacing, voxelize, voxelizeBackward, type GridSpec, type Impl, type Tensor } from '../../lib';
import { PRESETS, gaussianStd, nativeConfig } from '../../lib/model/presets';
import { dot, scaledMaxError, typeTag, uniform } from '../support/helpers';

const ADP_GRID: GridSpec = { size: 12, width: 1.8, sigma: 0.05398 };

describe('fused CPU kernels and the tensor path equal the direct formula (float32)', () => {
  const B = 8;
  const N = 13;
  const grid: GridSpec = { size: 12, width: 1.8, sigma: 0.1 };
  const G = grid.size;
  const coords: Tensor<Float32Array> = { data: uniform(Float32Array, B * N * 3, -0.6, 0.6, 1), shape: [B, N, 3] };
  const gradDensity: Tensor<Float32Array> = { data: uniform(Float32Array, B * N * G ** 3, -0.5, 0.5, 2), shape: [B, N, G, G, G] };
  const gradCoords: Tensor<Float32Array> = { data: uniform(Float32Array, B * N * 3, -0.5, 0.5, 3), shape: [B, N, 3] };
  // A density that is not a product of Gaussians, like a decoder's sigmoid output.
  const density: Tensor<Float32Array> = { data: uniform(Float32Array, B * N * G ** 3, 0, 1, 4), shape: [B, N, G, G, G] };

  const run = async (impl: Impl) => ({
    density: (await voxelize(coords, grid, { impl })).data,
    coords: (await collapse(density, grid, { impl })).data,
    gradCoords: (await voxelizeBackward(coords, gradDensity, grid, { impl })).data,
    gradDensity: (await collapseBackward(density, gradCoords, grid, { impl })).data,
  });

  let reference: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    reference = await run('reference');
  });

  test.each<Impl>(['fused', 'tensor', 'auto'])('%s forward and backward within 1e-5', async (impl) => {
    const ours = await run(impl);
    for (const key of ['density', 'coords', 'gradCoords', 'gradDensity'] as const) {
      expect(typeTag(ours[key])).toBe('Float32Array');
      expect(scaledMaxError(ours[key], reference[key])).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('double-precision gradients agree with central finite differences', () => {
  const h = 1e-6;

  test.each<Impl>(['fused', 'tensor'])('voxelize (%s)', async (impl) => {
    const grid: GridSpec = { size: 7, width: 1.2, sigma: 0.15 };
    const G = grid.size;
    const x: Tensor<Float64Array> = { data: uniform(Float64Array, 3 * 3, -0.4, 0.4, 5), shape: [1, 3, 3] };
    const v: Tensor<Float64Array> = { data: uniform(Float64Array, 3 * G ** 3, -1, 1, 6), shape: [1, 3, G, G, G] };
    const analytic = (await voxelizeBackward(x, v, grid, { impl })).data;
    for (let i = 0; i < x.data.length; i++) {
      const plus = Float64Array.from(x.data);
      const minus = Float64Array.from(x.data);
      plus[i] += h;
      minus[i] -= h;
      const fp = dot((await voxelize({ data: plus, shape: x.shape }, grid, { impl })).data, v.data);
      const fm = dot((await voxelize({ data: minus, shape: x.shape }, grid, { impl })).data, v.data);
      const numeric = (fp - fm) / (2 * h);
      expect(Math.abs(analytic[i] - numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });

  test.each<Impl>(['fused', 'tensor'])('collapse (%s)', async (impl) => {
    const grid = { size: 5, width: 1.0 };
    const G = grid.size;
    const d: Tensor<Float64Array> = { data: uniform(Float64Array, 2 * G ** 3, 0.05, 1, 7), shape: [1, 2, G, G, G] };
    const v: Tensor<Float64Array> = { data: uniform(Float64Array, 2 * 3, -1, 1, 8), shape: [1, 2, 3] };
    const analytic = (await collapseBackward(d, v, grid, { impl })).data;
    for (let i = 0; i < d.data.length; i++) {
      const plus = Float64Array.from(d.data);
      const minus = Float64Array.from(d.data);
      plus[i] += h;
      minus[i] -= h;
      const fp = dot((await collapse({ data: plus, shape: d.shape }, grid, { impl })).data, v.data);
      const fm = dot((await collapse({ data: minus, shape: d.shape }, grid, { impl })).data, v.data);
      expect(Math.abs(analytic[i] - (fp - fm) / (2 * h))).toBeLessThanOrEqual(1e-7);
    }
  });
});

describe('voxelize -> collapse round trip', () => {
  // Particles inside the central half of the grid, i.e. |x| <= width / 4 on every axis.
  const roundTripError = async (grid: GridSpec) => {
    const n = 2000;
    const x: Tensor<Float64Array> = { data: uniform(Float64Array, n * 3, -grid.width / 4, grid.width / 4, 9), shape: [1, n, 3] };
    const back = (await collapse(await voxelize(x, grid), grid)).data;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < back.length; i++) {
      const e = Math.abs(back[i] - x.data[i]);
      max = Math.max(max, e);
      sum += e;
    }
    return { max, mean: sum / back.length };
  };

  // sigma >= 0.6 x spacing keeps the sampled Gaussian's centroid unaliased; the
  // Gaussian must also fit inside the grid: the central half leaves width/4 to
  // the edge, which must be >= 2.75 sigma (cases with less are below).
  test.each([
    [12, 0.6],
    [12, 0.8],
    [12, 1.0],
    [16, 0.6],
    [16, 1.2],
    [24, 0.6],
    [24, 1.5],
    [24, 2.0],
  ])('G=%i, sigma = %s x spacing: coordinates back to 1e-3 nm', async (size, factor) => {
    const grid: GridSpec = { size, width: 1.8, sigma: factor * gridSpacing({ size, width: 1.8 }) };
    expect(grid.width / 4 / grid.sigma).toBeGreaterThanOrEqual(2.75);
    expect((await roundTripError(grid)).max).toBeLessThanOrEqual(1e-3);
  });

  test('a Gaussian cut by the grid edge biases the round trip (G=12, sigma = 2 x spacing: 1.4 sigma to the edge)', async () => {
    const grid: GridSpec = { size: 12, width: 1.8, sigma: 2 * gridSpacing({ size: 12, width: 1.8 }) };
    const { max } = await roundTripError(grid);
    expect(max).toBeGreaterThan(0.02); // measured 0.036 nm, pulled towards the centre
  });

  test('documents the bias at the paper ADP setting (G=12, L=1.8 nm, sigma=0.05398 nm = 0.33 x spacing)', async () => {
    // sigma is a third of the 0.164 nm spacing, so a Gaussian covers ~1 grid point
    // per axis and collapse pulls each coordinate towards the nearest grid plane:
    // measured max 0.027 nm, mean 0.017 nm per coordinate. The decoder learns its
    // densities, so the model is not bound by this; the identity map is.
    const { max, mean } = await roundTripError(ADP_GRID);
    expect(max).toBeGreaterThan(0.02);
    expect(max).toBeLessThan(0.035);
    expect(mean).toBeGreaterThan(0.01);
    expect(mean).toBeLessThan(0.025);
  });

  test('a density that sums to zero collapses to the grid centre, not NaN', async () => {
    const G = 4;
    const zero: Tensor<Float32Array> = { data: new Float32Array(G ** 3), shape: [1, 1, G, G, G] };
    expect(Array.from((await collapse(zero, { size: G, width: 1 })).data)).toEqual([0, 0, 0]);
  });
});

describe("the reference code's Gaussian convention (exp(−d²/s), s = the paper's σ)", () => {
  test.each([
    ['adp', 0.05398, 1.8],
    ['cln', 0.30757, 5.5],
  ])('%s: a particle on a grid point gives exp(−h²/s) one voxel away and 1 on its own', async (_name, s, width) => {
    const size = 12;
    const h = gridSpacing({ size, width });
    const grid: GridSpec = { size, width, sigma: gaussianStd({ sigma: s, gaussian: 'reference' }) };
    const g = (i: number) => -width / 2 + i * h;
    const x: Tensor<Float64Array> = { data: Float64Array.of(g(5), g(6), g(4)), shape: [1, 1, 3] };
    const v = (await voxelize(x, grid)).data;
    const at = (i: number, j: number, k: number) => v[(i * size + j) * size + k];
    expect(at(5, 6, 4)).toBeCloseTo(1, 12);
    for (const [i, j, k] of [[6, 6, 4], [5, 7, 4], [5, 6, 3]]) expect(at(i, j, k)).toBeCloseTo(Math.exp(-(h * h) / s), 10);
    expect(at(6, 7, 4)).toBeCloseTo(Math.exp(-(2 * h * h) / s), 10);
  });

  test('the presets use it; models without the field keep the standard deviation they were trained with', () => {
    expect(gaussianStd(PRESETS.adp.architecture)).toBeCloseTo(Math.sqrt(0.05398 / 2), 12); // 0.164 nm
    expect(gaussianStd(PRESETS['cln-cpu'].architecture)).toBeCloseTo(Math.sqrt(0.30757 / 2), 12); // 0.392 nm
    expect(gaussianStd({ sigma: 0.05398 })).toBe(0.05398);
    expect(nativeConfig({ ...PRESETS.adp.architecture }, 22, 6, true)).toMatchObject({ sigma: Math.sqrt(0.05398 / 2), centreEach: true });
    expect(nativeConfig({ ...PRESETS.adp.architecture, gaussian: undefined, centring: undefined }, 22, 6, true)).toMatchObject({ sigma: 0.05398, centreEach: false });
  });
});

// Heavy native calls run off the JS thread: timers keep firing meanwhile.
import { voxelize, type GridSpec } from '../../lib';
import { uniform } from '../support/helpers';

test('a long voxelize batch does not block the event loop', async () => {
  const grid: GridSpec = { size: 18, width: 2, sigma: 0.1 };
  const B = 24;
  const N = 100;
  const coords = { data: uniform(Float32Array, B * N * 3, -0.5, 0.5, 11), shape: [B, N, 3] };
  await voxelize({ data: coords.data.slice(0, 3), shape: [1, 1, 3] }, grid); // load the addon outside the timing

  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const start = Date.now();
  // The direct formula is the slow path: a single call of several hundred ms.
  const out = await voxelize(coords, grid, { impl: 'reference' });
  const elapsed = Date.now() - start;
  clearInterval(timer);

  expect(out.data.length).toBe(B * N * grid.size ** 3);
  expect(elapsed).toBeGreaterThan(100);
  // A blocked loop would see 0 or 1 tick; a free one about elapsed / 5.
  expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
});

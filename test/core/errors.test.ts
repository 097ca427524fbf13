// Bad arguments give TypeError / RangeError naming the argument; C++ errors
// become JS Errors; nothing crashes the process.
import { collapse, info, voxelize, type GridSpec } from '../../lib';
import { native } from '../../lib/core/native';

const grid: GridSpec = { size: 6, width: 1, sigma: 0.1 };
const coords = () => ({ data: new Float32Array([0, 0, 0, 0.1, 0.2, -0.1]), shape: [1, 2, 3] });

describe('TypeScript validation', () => {
  test('wrong dtype is a TypeError', async () => {
    await expect(voxelize({ data: new Int32Array(6) as never, shape: [1, 2, 3] }, grid)).rejects.toThrow(
      /Expected Float32Array or Float64Array for coords.data but received Int32Array\(6\)/,
    );
    await expect(voxelize({ data: new Int32Array(6) as never, shape: [1, 2, 3] }, grid)).rejects.toHaveProperty(
      'name',
      'TypeError',
    );
  });

  test('shape and length mismatches are RangeErrors', async () => {
    await expect(voxelize({ data: new Float32Array(6), shape: [1, 3, 3] }, grid)).rejects.toThrow(
      /Expected 9 elements for shape \[1, 3, 3\] for coords.data but received Float32Array\(6\)/,
    );
    await expect(voxelize({ data: new Float32Array(6), shape: [2, 3] }, grid)).rejects.toThrow(
      /Expected shape \[B, N, 3\] for coords.shape but received \[2, 3\]/,
    );
    await expect(collapse({ data: new Float32Array(64), shape: [1, 1, 4, 4, 4] }, { size: 5, width: 1 })).rejects.toThrow(
      /Expected shape \[B, N, 5, 5, 5\]/,
    );
  });

  test('non-finite coordinates name frame and particle', async () => {
    const c = coords();
    c.data[4] = NaN;
    await expect(voxelize(c, grid)).rejects.toThrow(/coords is not finite \(NaN\) at frame 0, particle 1/);
    await expect(voxelize(c, grid)).rejects.toHaveProperty('name', 'RangeError');
  });

  test('bad grid and options are named', async () => {
    await expect(voxelize(coords(), { ...grid, sigma: -1 })).rejects.toThrow(
      /Expected positive finite number for grid.sigma but received -1 of type number/,
    );
    await expect(voxelize(coords(), { ...grid, size: 1 })).rejects.toThrow(/Expected integer >= 2 for grid.size/);
    await expect(voxelize(coords(), grid, { impl: 'fast' as never })).rejects.toThrow(/Expected one of auto, fused/);
    await expect(voxelize(coords(), grid, { threads: 0 })).rejects.toThrow(/options.threads/);
  });
});

describe('native boundary', () => {
  test('a NaN density is found in C++ and rejected as RangeError', async () => {
    const d = new Float32Array(2 * 4 ** 3).fill(0.5);
    d[4 ** 3 + 7] = NaN;
    await expect(collapse({ data: d, shape: [1, 2, 4, 4, 4] }, { size: 4, width: 1 })).rejects.toThrow(
      /collapse: density is not finite \(NaN or Infinity\) at frame 0, particle 1/,
    );
  });

  test('a c10::Error becomes a JS Error without the C++ backtrace', async () => {
    if (info().cuda) return; // on a CUDA build the device exists
    const err: Error = await voxelize(coords(), grid, { device: 'cuda' }).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/cuda/i);
    expect(err.message).not.toMatch(/Exception raised from|frame #/);
  });

  test('calling the addon directly with garbage throws instead of crashing', async () => {
    const b = native();
    expect(() => (b.voxelize as unknown as (x: unknown) => unknown)(42)).toThrow(/expected one options object/);
    expect(() => b.voxelize({ coords: new Uint8Array(3) as never, batch: 1, particles: 1, grid: 4, width: 1, sigma: 0.1 })).toThrow(
      /Float32Array or Float64Array/,
    );
    expect(() => b.voxelize({ coords: new Float32Array(3), batch: -1, particles: 1, grid: 4, width: 1, sigma: 0.1 })).toThrow(
      /positive integer for batch/,
    );
    expect(() => b.voxelize({ coords: new Float32Array(3), batch: 2, particles: 1, grid: 4, width: 1, sigma: 0.1 })).toThrow(
      /expected 6 elements/,
    );
    // a c10::Error thrown on the main thread, before any work is queued
    expect(() =>
      b.voxelize({ coords: new Float32Array(3), batch: 1, particles: 1, grid: 4, width: 1, sigma: 0.1, impl: 'x' as never }),
    ).toThrow(/unknown implementation 'x'/);
    await expect(
      b.voxelize({ coords: new Float32Array([0, NaN, 0]), batch: 1, particles: 1, grid: 4, width: 1, sigma: 0.1 }),
    ).rejects.toThrow(/not finite/);
  });
});

// Where a rank finds its group: explicit options, then torchrun's variables,
// then Slurm's; and which rows of each global batch it computes.
import { batchShare, distributedSettings, shareOf } from '../../lib/model/distributed';

test('explicit options win over torchrun variables, which win over Slurm', () => {
  const env = { MASTER_ADDR: 'node7', MASTER_PORT: '29400', WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1', SLURM_PROCID: '9', SLURM_NTASKS: '16' };
  expect(distributedSettings({}, env)).toEqual({ addr: 'node7', port: 29400, rank: 3, world: 4, localRank: 1, timeoutMs: 60000 });
  expect(distributedSettings({ rank: 0, port: 1234, timeoutMs: 5000 }, env)).toMatchObject({ rank: 0, port: 1234, world: 4, timeoutMs: 5000 });
  expect(distributedSettings({}, { SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1' })).toEqual({
    addr: '127.0.0.1', port: 29500, rank: 5, world: 8, localRank: 1, timeoutMs: 60000,
  });
});

test('a missing or malformed rank or world size is one line naming it', () => {
  expect(() => distributedSettings({}, {})).toThrow(/no world size \(give --world-size, or set WORLD_SIZE/);
  expect(() => distributedSettings({}, { WORLD_SIZE: '2' })).toThrow(/no rank/);
  expect(() => distributedSettings({}, { WORLD_SIZE: 'two', RANK: '0' })).toThrow(/WORLD_SIZE=two is not an integer/);
  expect(() => distributedSettings({ rank: 2, world: 2 }, {})).toThrow(/rank 2 is not below the world size 2/);
  expect(() => distributedSettings({ rank: 0, world: 1 }, { MASTER_PORT: '70000' })).toThrow(/port 70000/);
});

test('each rank takes its own contiguous rows of the global batch; together they are all of it', () => {
  const whole = { a: Float32Array.from({ length: 8 * 3 }, (_, i) => i), b: Float32Array.from({ length: 8 }, (_, i) => -i), c: undefined };
  const parts = [0, 1, 2, 3].map((rank) => shareOf(whole, 8, batchShare(8, { rank, world: 4 })));
  expect(parts.map((p) => p.a.length)).toEqual([6, 6, 6, 6]);
  expect(Float32Array.from(parts.flatMap((p) => [...p.a]))).toEqual(whole.a);
  expect(parts[2].b).toEqual(Float32Array.from([-4, -5]));
  expect(shareOf(whole, 8, batchShare(8))).toBe(whole);
});

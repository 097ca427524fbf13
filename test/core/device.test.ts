// The libtorch device: "cpu" by default, "cuda"/"cuda:N" only where this
// libtorch has CUDA; a device it cannot use is refused before any work.
import { checkDevice, deviceName } from '../../lib/core/device';
import { info } from '../../lib/core/info';
import { evaluate } from '../../lib/evaluate';
import { Backmapper } from '../../lib/inference/backmap';
import { Trainer } from '../../lib/model/train';
import { adpTwoTrajectories } from '../support/data';

const cuda = info().cuda;

test('names: cpu, cuda and cuda:N; anything else is an out-of-range or type error naming the option', () => {
  for (const d of ['cpu', 'cuda', 'cuda:0', 'cuda:12']) expect(deviceName(d)).toBe(d);
  expect(() => deviceName('gpu')).toThrow(/Expected "cpu", "cuda" or "cuda:N" for options.device but received "gpu" of type string/);
  expect(() => deviceName('cuda:')).toThrow(RangeError);
  expect(() => deviceName(0, 'device')).toThrow(/for device but received 0 of type number/);
  expect(checkDevice(undefined)).toBe('cpu');
  expect(info().device).toBe('cpu');
});

describe('without CUDA', () => {
  if (cuda) {
    test.skip('this libtorch has CUDA', () => undefined);
    return;
  }
  const refused = /device cuda(:1)?: this libtorch has no CUDA .*; use cpu/;

  test('checkDevice refuses cuda with ERR_UNSUPPORTED; info reports 0 devices', () => {
    expect(() => checkDevice('cuda')).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringMatching(refused) }));
    expect(() => checkDevice('cuda:1')).toThrow(refused);
    expect(info().cudaDevices).toBe(0);
  });

  test('Backmapper.load and evaluate refuse it before reading any file', async () => {
    await expect(Backmapper.load('/nonexistent/model.tcbm', { device: 'cuda' })).rejects.toThrow(refused);
    await expect(evaluate({ top: '/nonexistent/a.pdb', system: '/nonexistent/s.xml', ref: '/nonexistent/r.dcd', traj: '/nonexistent/t.dcd', device: 'cuda' })).rejects.toThrow(refused);
  });

  test('Trainer.create refuses it and runs on cpu', async () => {
    const data = await adpTwoTrajectories();
    expect(() => Trainer.create(data, { preset: 'tiny', seed: 1, threads: 1, device: 'cuda' })).toThrow(refused);
    expect(Trainer.create(data, { preset: 'tiny', seed: 1, threads: 1, device: 'cpu' }).device).toBe('cpu');
  });
});

test('bf16 asked for on a CPU that can only emulate it: one process warning, none on CUDA or with AVX512-BF16', () => {
  jest.isolateModules(() => {
    // a fresh module: the warning is once per process
    const device = require('../../lib/core/device') as typeof import('../../lib/core/device');
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      device.warnIfBf16Emulated('cuda');
      expect(warn).not.toHaveBeenCalled();
      device.warnIfBf16Emulated('cpu');
      device.warnIfBf16Emulated('cpu');
      if (device.nativeBf16()) expect(warn).not.toHaveBeenCalled();
      else {
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0][0])).toMatch(/^bf16 on a CPU without AVX512-BF16: oneDNN emulates it, slower than fp32/);
      }
    } finally {
      warn.mockRestore();
    }
  });
});

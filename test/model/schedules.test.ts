// The paper's loss schedules at chosen points (Eq. 5 gamma, Eq. 6 cyclic sigmoid beta) and the learning rate's.
import { betaAt, clipAt, gammaAt, latentNoiseAt, learningRateAt, priorDecodeWeights } from '../../lib/model/schedules';

describe('gamma (paper Eq. 5)', () => {
  const s = { n0: 100, n1: 60 };
  test('zero before n0, 1e-6 at n0, exponential to 1 over n1, then 1', () => {
    expect(gammaAt(0, s)).toBe(0);
    expect(gammaAt(99, s)).toBe(0);
    expect(gammaAt(100, s)).toBeCloseTo(1e-6, 15);
    expect(gammaAt(130, s)).toBeCloseTo(1e-3, 12); // half way in log space
    expect(gammaAt(120, s)).toBeCloseTo(1e-4, 13);
    expect(gammaAt(160, s)).toBe(1);
    expect(gammaAt(10000, s)).toBe(1);
  });
  test('log gamma is linear in the step during the anneal', () => {
    const l = (t: number) => Math.log10(gammaAt(t, s));
    expect(l(110) - l(100)).toBeCloseTo(l(150) - l(140), 12);
    expect(l(110) - l(100)).toBeCloseTo(1, 12);
  });
});

describe('beta (paper Eq. 6)', () => {
  const s = { kind: 'cyclic' as const, cycles: 3, length: 100, width: 10, centre: 0.5, max: 2 };
  test('a sigmoid in the position within each cycle, max/2 at the centre', () => {
    expect(betaAt(50, s)).toBeCloseTo(1, 12);
    expect(betaAt(150, s)).toBeCloseTo(1, 12);
    expect(betaAt(0, s)).toBeCloseTo(2 / (1 + Math.exp(5)), 12);
    expect(betaAt(100, s)).toBeCloseTo(betaAt(0, s), 12); // restarts
    expect(betaAt(80, s)).toBeCloseTo(2 / (1 + Math.exp(-3)), 12);
  });
  test('max after the last cycle; constant schedules are constant', () => {
    expect(betaAt(300, s)).toBe(2);
    expect(betaAt(12345, s)).toBe(2);
    expect(betaAt(7, { kind: 'constant', value: 0.3 })).toBe(0.3);
  });
});

test('gradient clipping starts with the energy term', () => {
  expect(clipAt(99, { n0: 100, n1: 10 }, 1)).toBe(0);
  expect(clipAt(100, { n0: 100, n1: 10 }, 1)).toBe(1);
});

test('the learning rate: constant without a decay; exponential per 1,000 steps from `from`, floored', () => {
  expect(learningRateAt(12345, 5e-4)).toBe(5e-4);
  const decay = { perThousand: 0.5, from: 3000, floor: 1e-4 };
  expect(learningRateAt(0, 5e-4, decay)).toBe(5e-4);
  expect(learningRateAt(3000, 5e-4, decay)).toBe(5e-4);
  expect(learningRateAt(4000, 5e-4, decay)).toBeCloseTo(2.5e-4, 15);
  expect(learningRateAt(4500, 5e-4, decay)).toBeCloseTo(5e-4 * Math.SQRT1_2 / 2, 15);
  expect(learningRateAt(9000, 5e-4, decay)).toBe(1e-4);
});

test('latentWarmup: the posterior mean alone, then the noise ramped in linearly', () => {
  expect(latentNoiseAt(0)).toBe(1);
  const w = { steps: 1000, ramp: 500 };
  expect(latentNoiseAt(0, w)).toBe(0);
  expect(latentNoiseAt(999, w)).toBe(0);
  expect(latentNoiseAt(1000, w)).toBe(0);
  expect(latentNoiseAt(1250, w)).toBe(0.5);
  expect(latentNoiseAt(1500, w)).toBe(1);
  expect(latentNoiseAt(99999, w)).toBe(1);
  expect(latentNoiseAt(99, { steps: 100 })).toBe(0);
  expect(latentNoiseAt(100, { steps: 100 })).toBe(1);
});

test('priorDecode: the step weights, zero before `from`; margins only for the one-sided energy term', () => {
  const off = { priorWeight: 0, priorEnergy: true, priorEnergySide: 'both', priorEnergyMargin: 0, priorFollowsCondition: false };
  expect(priorDecodeWeights(5)).toEqual(off);
  const prior = { weight: 10, from: 100, energy: 'above' as const, energyMargin: 27, cgNoise: 0.02, noisyEnergyMargin: 100, cgTarget: 'condition' as const };
  expect(priorDecodeWeights(99, prior).priorWeight).toBe(0);
  expect(priorDecodeWeights(100, prior)).toEqual({ priorWeight: 10, priorEnergy: true, priorEnergySide: 'above', priorEnergyMargin: 27, priorNoisyEnergyMargin: 100, priorFollowsCondition: true });
  expect(priorDecodeWeights(100, { ...prior, energy: 'band' })).toMatchObject({ priorEnergySide: 'band', priorEnergyMargin: 27, priorNoisyEnergyMargin: 100 });
  expect(priorDecodeWeights(100, { ...prior, noisyCgWeight: 1 })).toMatchObject({ priorNoisyCgWeight: 1 }); // the noisy conditions' own CG weight
  expect(priorDecodeWeights(100, { weight: 1, energy: false, energyMargin: 27 })).toEqual({ ...off, priorWeight: 1, priorEnergy: false });
});

// Evaluation numerics: clustering, MSMs, TICA, histograms and divergences, per-frame geometry.
export * from './divergence';
export * from './fes';
export * from './geometry';
export * from './kmeans';
export * from './msm';
export { seededRandom, randomInt, randomNormal, type Random } from './random';
export * from './tica';

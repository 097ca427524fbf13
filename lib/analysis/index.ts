// Evaluation numerics: clustering, MSMs, TICA, histograms and divergences, per-frame geometry.
export * from './backbone';
export * from './clashes';
export * from './divergence';
export * from './fes';
export * from './geometry';
export * from './kmeans';
export {
  countMatrix,
  largestConnectedSet,
  MarkovModel,
  MarkovStateModel,
  nonReversibleTransitionMatrix,
  reversibleTransitionMatrix,
  stateCount,
  stronglyConnectedComponents,
  submatrix,
  timescalesFromEigenvalues,
  type CountMatrix,
  type DiscreteTrajectory,
  type MarkovStateModelOptions,
  type ReversibleOptions,
  type TransitionEstimate,
} from './msm';
export { seededRandom, randomInt, randomNormal, type Random } from './random';
export * from './tica';
export * from './timescales';

// Public API of tcbackmap.
export { TcbmError, type ErrorCode } from './errors';
export { defaultThreads } from './native';
export { info, type Info } from './info';
export {
  collapse,
  collapseBackward,
  gridSpacing,
  voxelize,
  voxelizeBackward,
  type FloatArray,
  type GridSpec,
  type Impl,
  type OpOptions,
  type Tensor,
} from './voxel';
export type { Atom, FrameChunk, Topology, TrajectoryReader, TrajectoryWriter, UnitCell, WriteOptions } from './io/types';
export { TrajectorySet, createTrajectory, formatOf, openTrajectory, readTrajectory, type TrajectoryFormat } from './io/trajectory';
export { readPdb, topologyFromPdb, writePdb } from './io/pdb';
export { convert, type ConvertOptions, type ConvertResult } from './convert';
export { applyMapping, loadMapping, parseMapping, presetMapping, type CgMapping } from './mapping';
export { bondGraph, forceFieldCounts, loadForceField, parseForceField, type ForceField } from './forcefield';
export { Energy, type EnergyOptions, type EnergyResult } from './energy';
export { PRESETS, PRESET_NAMES, type Preset } from './presets';
export { Trainer, type StepReport, type TrainerOptions, type TrainingData } from './train';
export { loadDataset, loadTopology, type Dataset } from './dataset';
export { Backmapper, chooseSeed, readModelFile, type BackmapOptions, type BackmapSummary, type ModelInfo } from './backmap';
export { coarseGrain } from './coarsegrain';
export { evaluate, evaluateReport, type EvaluateOptions, type Metrics } from './evaluate';
export { renderReport, writeReport, type ReportFiles } from './report';
export { GaussianMixture, GaussianMixtureModel } from './gmm';
export * as analysis from './analysis';

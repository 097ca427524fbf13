// Public API of tcbackmap.
export { TcbmError, type ErrorCode } from './core/errors';
export { defaultThreads } from './core/native';
export { info, type Info } from './core/info';
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
} from './model/voxel';
export type { Atom, FrameChunk, Topology, TrajectoryReader, TrajectoryWriter, UnitCell, WriteOptions } from './io/types';
export { TrajectorySet, createTrajectory, formatOf, openTrajectory, readTrajectory, type TrajectoryFormat } from './io/trajectory';
export { readPdb, topologyFromPdb, writePdb } from './io/pdb';
export { convert, type ConvertOptions, type ConvertResult } from './io/convert';
export { applyMapping, loadMapping, parseMapping, presetMapping, type CgMapping } from './model/mapping';
export { bondGraph, forceFieldCounts, loadForceField, parseForceField, type ForceField } from './forcefield/system';
export { Energy, type EnergyOptions, type EnergyResult } from './forcefield/energy';
export { PRESETS, PRESET_NAMES, type Preset } from './model/presets';
export { Trainer, type StepReport, type TrainerOptions, type TrainingData } from './model/train';
export { loadDataset, loadTopology, type Dataset } from './model/dataset';
export { ProcessGroup, distributedSettings, type DistributedOptions } from './model/distributed';
export { concatShards, parseShard, shardRange, type ConcatSummary, type Shard, type ShardManifest } from './inference/shard';
export { Backmapper, chooseSeed, type BackmapOptions, type BackmapSummary } from './inference/backmap';
export { readModelFile, type ModelInfo } from './inference/modelinfo';
export { coarseGrain } from './inference/coarsegrain';
export { evaluate, evaluateReport, type EvaluateOptions, type Metrics } from './evaluate';
export { renderReport, writeReport, type ReportFiles } from './evaluate/report';
export { GaussianMixture, GaussianMixtureModel } from './model/gmm';
export * as analysis from './analysis';

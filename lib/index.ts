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

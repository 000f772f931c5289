export { buildGradientModel, type GradientModel, type GradientOptions } from './buildGradient';
export { AutodiffError, type AutodiffErrorCode } from './errors';
export { Emitter } from './emitter';
export type { GradientLoss, LossSpec, MseLoss, CrossEntropyLoss, SelfCrossEntropyLoss } from './loss';
export { differentiableOps } from './rules';
export { inferSymbolicShapes, type Dim, ShapeInfo } from './shapes';

export { buildGradientModel, type GradientModel, type GradientOptions } from './buildGradient';
export { AutodiffError, type AutodiffErrorCode } from './errors';
export type { LossSpec, MseLoss, CrossEntropyLoss } from './loss';
export { differentiableOps } from './rules';
export { inferSymbolicShapes, type Dim, ShapeInfo } from './shapes';

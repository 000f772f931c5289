// Which ONNX ops the channel-dependency analysis understands, and how each family treats the
// channel axis. The rules themselves live in dependencyGroups.ts; this module only classifies.
import type { NodeProto } from 'onnx-buf';
import { OnnxModelError, type OnnxModel } from '../onnx';

/** Ops with weights whose output channels are independent sources and whose input channels are consumed. */
export const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** One input, one output, each channel computed from the same channel only (plus scalar attributes). */
export const UNARY_PASS_THROUGH = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Celu', 'Gelu',
  'Softplus', 'Softsign', 'Mish', 'Erf', 'Exp', 'Log', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Floor',
  'Ceil', 'Round', 'Sign', 'ThresholdedRelu', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh',
  'Cosh', 'Asinh', 'Acosh', 'Atanh', 'IsNaN', 'IsInf', 'Not', 'Identity', 'Cast', 'Dropout',
  'AveragePool', 'MaxPool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
]);

/** Element-wise with numpy broadcasting: feature maps of equal channel count are coupled channel by channel. */
export const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'Pow', 'PRelu', 'Clip', 'Where', 'Mod',
  'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor',
]);

/** Per-channel normalisations with [C] parameters. */
export const CHANNEL_NORMS = new Set(['BatchNormalization', 'InstanceNormalization']);

/** Ops handled by rules that look at their axes (pass-through, range mapping, or lock). */
export const AXIS_OPS = new Set([
  'Concat', 'Split', 'Slice', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Resize',
  'Upsample', 'Pad', 'Softmax', 'LogSoftmax', 'Hardmax', 'LpNormalization', 'LayerNormalization',
  'MeanVarianceNormalization', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd',
  'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'Shape', 'Size',
]);

/** Known ops that always mix channels (or move them off axis 1): their channels are locked. */
export const CHANNEL_MIXING = new Set([
  'DepthToSpace', 'SpaceToDepth', 'LRN', 'GroupNormalization', 'Gather', 'GatherElements', 'GatherND',
  'ScatterND', 'ScatterElements', 'Einsum', 'Expand', 'Tile', 'CumSum', 'TopK', 'ArgMax', 'ArgMin',
  'NonZero', 'Compress', 'OneHot', 'ReverseSequence', 'Trilu', 'GridSample', 'RoiAlign', 'MaxRoiPool',
  'MaxUnpool', 'Col2Im', 'DFT', 'STFT',
]);

/** Ops that only build constants or shapes; they never see feature maps in the models we target. */
export const SHAPE_OPS = new Set(['Constant', 'ConstantOfShape', 'Range', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike']);

export function isDefaultDomain(node: NodeProto): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** Op name as reported to users: plain for the default domain, `domain:Op` otherwise. */
export function opLabel(node: NodeProto): string {
  return isDefaultDomain(node) ? node.opType : `${node.domain}:${node.opType}`;
}

export function isKnownOp(node: NodeProto): boolean {
  if (!isDefaultDomain(node)) return false;
  const op = node.opType;
  return (
    WEIGHT_OPS.has(op) ||
    UNARY_PASS_THROUGH.has(op) ||
    ELEMENTWISE.has(op) ||
    CHANNEL_NORMS.has(op) ||
    AXIS_OPS.has(op) ||
    CHANNEL_MIXING.has(op) ||
    SHAPE_OPS.has(op)
  );
}

/** Unknown op labels with their node counts, in order of first appearance. */
export function unknownOpCounts(model: OnnxModel): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.nodes) {
    if (isKnownOp(node)) continue;
    const label = opLabel(node);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/**
 * Strict mode: refuses models with ops the analysis does not understand instead of locking their
 * channels, so a user learns why fewer channels than expected are prunable.
 */
export function assertKnownOps(model: OnnxModel): void {
  const counts = unknownOpCounts(model);
  if (counts.size === 0) return;
  const list = [...counts].map(([op, n]) => `${op} (${n} node${n === 1 ? '' : 's'})`).join(', ');
  throw new OnnxModelError('unknown-ops', `the model uses ops the channel analysis does not know: ${list}; their channels cannot be pruned`);
}

/** Normalises a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

// Softmax, norms over axes and reductions: channels pass through unless the op works across the
// channel axis (or drops the batch axis), which mixes them.
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts } from '../../onnx';
import { normAxis } from './shapeMath';
import { forOps, type AnalysisContext, type RuleTable } from './types';

const REDUCTIONS = [
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
];

const mixing = (ctx: AnalysisContext, node: NodeProto) => ctx.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' works across the channel axis`);

function softmax(ctx: AnalysisContext, node: NodeProto): void {
  const x = ctx.slots(node.input[0])!;
  const legacy = ctx.opset < 13;
  const a = normAxis(attrInt(node, 'axis', legacy ? 1 : -1), x.rank);
  // Before opset 13 the op flattened every axis from `axis` on into one softmax.
  if (a <= 1) return mixing(ctx, node);
  ctx.pass(node, node.input[0]!, node.output[0]);
}

function axisNorm(ctx: AnalysisContext, node: NodeProto): void {
  const x = ctx.slots(node.input[0])!;
  const a = normAxis(attrInt(node, 'axis', -1), x.rank);
  if (a <= 1) return mixing(ctx, node);
  ctx.pass(node, node.input[0]!, node.output[0]);
}

function meanVarianceNorm(ctx: AnalysisContext, node: NodeProto): void {
  const x = ctx.slots(node.input[0])!;
  const axes = (attrInts(node, 'axes') ?? [0, 2, 3]).map((a) => normAxis(a, x.rank));
  if (axes.includes(1)) return mixing(ctx, node);
  ctx.pass(node, node.input[0]!, node.output[0]);
}

function reduction(ctx: AnalysisContext, node: NodeProto): void {
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const axes = ctx.axesOf(node, 1);
  if (axes === null) return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has run-time axes`);
  const keep = attrInt(node, 'keepdims', 1) === 1;
  if (!axes || axes.length === 0) {
    if (attrInt(node, 'noop_with_empty_axes', 0) === 1) {
      ctx.pass(node, X, node.output[0]);
      return;
    }
    return mixing(ctx, node);
  }
  const norm = axes.map((a) => normAxis(a, x.rank));
  if (norm.includes(1) || (norm.includes(0) && !keep)) return mixing(ctx, node);
  ctx.pass(node, X, node.output[0], { spatial: 'unknown', rank: keep ? x.rank : x.rank - norm.length });
}

export const reduceRules: RuleTable = {
  ...forOps(['Softmax', 'LogSoftmax', 'Hardmax'], softmax),
  ...forOps(['LpNormalization', 'LayerNormalization'], axisNorm),
  MeanVarianceNormalization: meanVarianceNorm,
  ...forOps(REDUCTIONS, reduction),
};

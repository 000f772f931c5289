// Ops that keep channel c in channel c: per-channel norms, unary activations and pools, and
// element-wise ops, whose feature-map operands of equal channel count are coupled channel by channel.
import type { NodeProto } from 'onnx-buf';
import type { Slots } from '../channelGraph';
import { forOps, type AnalysisContext, type RuleTable } from './types';

/** Per-channel normalisations with [C] parameters. */
export const CHANNEL_NORMS = new Set(['BatchNormalization', 'InstanceNormalization']);

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

function norm(ctx: AnalysisContext, node: NodeProto): void {
  const [X] = node.input;
  const Y = node.output[0];
  const y = ctx.pass(node, X!, Y);
  if (!y || !Y) return;
  const roles = node.opType === 'BatchNormalization' ? ['scale', 'bias', 'mean', 'var'] : ['scale', 'bias'];
  roles.forEach((role, k) => {
    const name = node.input[k + 1];
    if (!name) return;
    if (ctx.g.konst(name)) ctx.param(node, name, 0, Y, `${node.opType}.${role}`);
    else ctx.g.lockRange(y, 0, y.count, 'unresolved', `${node.opType} '${node.name}' has run-time ${role}`);
  });
}

function unary(ctx: AnalysisContext, node: NodeProto): void {
  const op = node.opType;
  const X = node.input[0]!;
  const x = ctx.slots(X);
  if (!x) return;
  if (op === 'MaxPool' && node.output[1] && ctx.model.consumers(node.output[1]).length > 0) {
    return ctx.lockNode(node, 'channel-mixing', `MaxPool '${node.name}' returns indices that encode channel positions`);
  }
  const global = op.startsWith('Global');
  const spatial = global ? new Array<number>(Math.max(0, x.rank - 2)).fill(1) : op.endsWith('Pool') ? 'unknown' : undefined;
  ctx.pass(node, X, node.output[0], { spatial });
  if (op === 'Dropout' && node.output[1]) ctx.pass(node, X, node.output[1], { spatial });
}

type Operand = { name: string; kind: 'slots'; s: Slots } | { name: string; kind: 'const' | 'other'; dims?: number[] };

function elementwise(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const Y = node.output[0];
  if (!Y) return;
  const ops: Operand[] = [];
  for (const name of node.input) {
    if (!name) continue;
    const s = ctx.slots(name);
    if (s) ops.push({ name, kind: 'slots', s });
    else if (g.konst(name)) ops.push({ name, kind: 'const', dims: g.konst(name)!.dims });
    else ops.push({ name, kind: 'other', dims: g.dims(name) });
  }
  const rankOf = (o: Operand) => (o.kind === 'slots' ? o.s.rank : o.dims?.length);
  const ranks = ops.map(rankOf);
  if (ranks.some((r) => r === undefined)) {
    return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' combines a tensor of unknown shape`);
  }
  const outRank = Math.max(...(ranks as number[]));
  const chanDim = (o: Operand): number => {
    const a = 1 - (outRank - rankOf(o)!);
    if (a < 0) return 1;
    return o.kind === 'slots' ? (a === 1 ? o.s.count : -1) : o.dims![a]!;
  };
  const full = ops.filter((o) => o.kind === 'slots' && rankOf(o) === outRank);
  const C = Math.max(...ops.map(chanDim));
  if (full.length === 0 || C < 1) return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has no feature-map operand the analysis can align`);
  const first = full[0] as { s: Slots };
  const y = g.alloc(Y, C, outRank, 'derived', node.name, first.s.spatial);
  for (const o of ops) {
    const c = chanDim(o);
    if (o.kind === 'slots') {
      if (rankOf(o) === outRank && o.s.count === C) g.uniteAll(o.s, y);
      else g.lockTensor(o.name, 'channel-mixing', `${node.opType} '${node.name}' broadcasts '${o.name}' (${o.s.count} channel${o.s.count === 1 ? '' : 's'}) over ${C} channels`);
    } else if (c === C && C > 1) {
      if (o.kind === 'const') ctx.param(node, o.name, 1 - (outRank - rankOf(o)!), Y, `${node.opType}.${node.opType === 'PRelu' ? 'slope' : 'constant'}`);
      else g.lockRange(y, 0, C, 'unresolved', `${node.opType} '${node.name}' combines per-channel values from '${o.name}', which the analysis cannot slice`);
    } else if (c !== 1 && c !== C) {
      g.lockRange(y, 0, C, 'unresolved', `${node.opType} '${node.name}': operand '${o.name}' has ${c < 0 ? 'an unknown number of' : c} channels, output ${C}`);
    }
  }
}

export const perChannelRules: RuleTable = {
  ...forOps(CHANNEL_NORMS, norm),
  ...forOps(UNARY_PASS_THROUGH, unary),
  ...forOps(ELEMENTWISE, elementwise),
};

// Ops that change spatial sizes only: Resize/Upsample and Pad pass channels on unless their
// scales, sizes or pads touch the channel axis.
import type { NodeProto } from 'onnx-buf';
import { attrInts } from '../../onnx';
import { intValues, normAxis } from './shapeMath';
import type { AnalysisContext, RuleTable } from './types';

function resize(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const scalesName = node.opType === 'Upsample' ? node.input[1] : node.input[2];
  const sizesName = node.opType === 'Upsample' ? undefined : node.input[3];
  const axesAttr = attrInts(node, 'axes');
  const pos = axesAttr ? axesAttr.findIndex((a) => normAxis(a, x.rank) === 1) : 1;
  if (scalesName) {
    const k = g.konst(scalesName);
    if (!k) return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has run-time scales`);
    const v = Array.from(k.data as ArrayLike<number>, Number);
    if (v.length > 0 && pos >= 0 && v[pos] !== 1) return ctx.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' scales the channel axis`);
  }
  if (sizesName) {
    const v = intValues(g.konst(sizesName));
    if (!v) return ctx.lockNode(node, 'unresolved', `Resize '${node.name}' has run-time output sizes`);
    if (v.length > 0 && pos >= 0 && v[pos] !== x.count) return ctx.lockNode(node, 'channel-mixing', `Resize '${node.name}' resizes the channel axis`);
  }
  ctx.pass(node, X, node.output[0], { spatial: 'unknown' });
}

function pad(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const pads = attrInts(node, 'pads') ?? intValues(g.konst(node.input[1]));
  if (!pads) return ctx.lockNode(node, 'unresolved', `Pad '${node.name}' has run-time pads`);
  const axes = node.input[3] ? intValues(g.konst(node.input[3])) : Array.from({ length: x.rank }, (_, i) => i);
  if (!axes) return ctx.lockNode(node, 'unresolved', `Pad '${node.name}' has run-time axes`);
  const k = axes.findIndex((a) => normAxis(a, x.rank) === 1);
  if (k >= 0 && (pads[k] !== 0 || pads[k + axes.length] !== 0)) {
    return ctx.lockNode(node, 'channel-mixing', `Pad '${node.name}' pads the channel axis`);
  }
  ctx.pass(node, X, node.output[0], { spatial: 'unknown' });
}

export const spatialRules: RuleTable = {
  Resize: resize,
  Upsample: resize,
  Pad: pad,
};

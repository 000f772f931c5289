// Layers with weights: their output channels are independent sources (one variable each unless
// something couples them later) and their input channels are consumed, where gates multiply.
import type { NodeProto } from 'onnx-buf';
import { attrInt } from '../../onnx';
import type { Slots } from '../channelGraph';
import type { AnalysisContext, RuleTable } from './types';

/** Ops with weights whose output channels are independent sources and whose input channels are consumed. */
export const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * Conv and ConvTranspose differ only in their weight layout: Conv's is [C_out, C_in/group, k...],
 * ConvTranspose's [C_in, C_out/group, k...], so the output channels live on weight axis 0 or 1.
 */
function convLike(ctx: AnalysisContext, node: NodeProto, transposed: boolean): void {
  const g = ctx.g;
  const op = node.opType;
  const [X, Wn, Bn] = node.input;
  const Y = node.output[0]!;
  const W = g.konst(Wn);
  if (!X || !W || W.dims.length < 3) return ctx.lockNode(node, 'unresolved', `${op} '${node.name}' has weights computed at run time`);
  const group = attrInt(node, 'group', 1);
  const rank = W.dims.length;
  const outAxis = transposed ? 1 : 0;
  const inAxis = 1 - outAxis;
  const cout = W.dims[outAxis]! * (transposed ? group : 1);
  const cin = W.dims[inAxis]! * (transposed ? 1 : group);
  const x = ctx.need(X, cin, rank);
  if (!x) return ctx.lockNode(node, 'unresolved', `${op} '${node.name}' reads a constant input`);
  if (group === 1) {
    const y = g.alloc(Y, cout, rank, 'source', node.name);
    g.markSource(y, ctx.index(node));
    ctx.param(node, Wn, outAxis, Y, `${op}.weight.out`);
    ctx.param(node, Bn, 0, Y, `${op}.bias`);
    ctx.param(node, Wn, inAxis, X, `${op}.weight.in`);
    ctx.gate(X, node, 0);
  } else if (x.count === cin && cin % group === 0 && cout % group === 0) {
    // Grouped (depthwise when each group reads one channel): output group k reads input group k
    // only, so the pruning unit is a whole group, its input and output channels together; the
    // kept groups stay equal in size and `group` becomes their count on export. Weight axis 0
    // holds whole groups in both layouts, following the output (Conv) or the input (ConvTranspose).
    wholeGroups(ctx, x, g.alloc(Y, cout, rank, 'derived', node.name), group, cin / group, cout / group);
    ctx.param(node, Wn, 0, transposed ? X : Y, cin === group ? `${op}.weight.depthwise` : `${op}.weight.grouped`);
    ctx.param(node, Bn, 0, Y, `${op}.bias`);
  } else {
    const detail = `${op} '${node.name}' has group=${group} over ${x.count} channels: removing a channel would leave groups of unequal size, which ONNX ${op} cannot express`;
    g.nodeLocks.set(node.name, { reason: 'grouped-conv', detail });
    g.lockTensor(X, 'grouped-conv', detail);
    const y = g.alloc(Y, cout, rank, 'locked', node.name);
    g.lockRange(y, 0, cout, 'grouped-conv', detail);
  }
}

/**
 * Couples input group k (channels k·ci … k·ci+ci−1) with output group k. Removing one group
 * removes a sum's every term together with the outputs it feeds, so nothing needs a gate here:
 * the group's leftover bias is cut at the next real consumer.
 */
function wholeGroups(ctx: AnalysisContext, x: Slots, y: Slots, group: number, ci: number, co: number): void {
  for (let k = 0; k < group; k++) {
    for (let p = 1; p < ci; p++) ctx.g.unite(x, k * ci, x, k * ci + p);
    for (let q = 0; q < co; q++) ctx.g.unite(y, k * co + q, x, k * ci);
  }
}

function gemm(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const [A, Bn, Cn] = node.input;
  const Y = node.output[0]!;
  const B = g.konst(Bn);
  if (!A || !B || B.dims.length !== 2) return ctx.lockNode(node, 'unresolved', `Gemm '${node.name}' has weights computed at run time`);
  if (attrInt(node, 'transA', 0) !== 0) return ctx.lockNode(node, 'channel-mixing', `Gemm '${node.name}' has transA=1: its features run along axis 0`);
  const transB = attrInt(node, 'transB', 0) !== 0;
  const K = transB ? B.dims[1]! : B.dims[0]!;
  const M = transB ? B.dims[0]! : B.dims[1]!;
  const a = ctx.need(A, K, 2);
  if (!a || a.rank !== 2) return ctx.lockNode(node, 'channel-mixing', `Gemm '${node.name}' reads a tensor of rank ${a?.rank ?? '?'}`);
  const y = g.alloc(Y, M, 2, 'source', node.name);
  g.markSource(y, ctx.index(node));
  ctx.param(node, Bn, transB ? 0 : 1, Y, 'Gemm.weight.out');
  if (Cn) {
    const C = g.konst(Cn);
    if (C) {
      if (C.dims.length > 0 && C.dims[C.dims.length - 1] === M && M > 1) ctx.param(node, Cn, C.dims.length - 1, Y, 'Gemm.bias');
    } else {
      const c = ctx.slots(Cn);
      if (c && c.count === M) g.uniteAll(c, y);
      else g.lockRange(y, 0, M, 'unresolved', `Gemm '${node.name}' adds a run-time bias the analysis cannot follow`);
    }
  }
  consumeFeatures(ctx, node, Bn!, transB ? 1 : 0, A);
}

function matmul(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const [A, Bn] = node.input;
  const Y = node.output[0]!;
  const B = g.konst(Bn);
  const a = ctx.slots(A);
  if (!A || !B || B.dims.length !== 2 || !a) return ctx.lockNode(node, 'channel-mixing', `MatMul '${node.name}' is not a feature × constant-weight product`);
  if (a.rank === 2) {
    const y = g.alloc(Y, B.dims[1]!, 2, 'source', node.name);
    g.markSource(y, ctx.index(node));
    ctx.param(node, Bn, 1, Y, 'MatMul.weight.out');
    consumeFeatures(ctx, node, Bn!, 0, A);
  } else {
    // [N, C, ..., K] × [K, M] contracts the last axis only: channels pass through.
    ctx.pass(node, A, Y);
  }
}

/** Input side of Gemm/MatMul: weight rows/columns follow the features (in blocks after a Flatten). */
function consumeFeatures(ctx: AnalysisContext, node: NodeProto, weight: string, axis: number, A: string): void {
  const flat = ctx.g.flatten.get(A);
  if (flat) ctx.param(node, weight, axis, flat.src, `${node.opType}.weight.in`, flat.block);
  else ctx.param(node, weight, axis, A, `${node.opType}.weight.in`);
  ctx.gate(A, node, 0);
}

export const weightRules: RuleTable = {
  Conv: (ctx, node) => convLike(ctx, node, false),
  ConvTranspose: (ctx, node) => convLike(ctx, node, true),
  Gemm: gemm,
  MatMul: matmul,
};

// Layers with weights: their output channels are independent sources (one variable each unless
// something couples them later) and their input channels are consumed, where gates multiply.
import type { NodeProto } from 'onnx-buf';
import { attrInt } from '../../onnx';
import type { Slots } from '../channelGraph';
import type { AnalysisContext, RuleTable } from './types';

/** Ops with weights whose output channels are independent sources and whose input channels are consumed. */
export const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function conv(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const [X, Wn, Bn] = node.input;
  const Y = node.output[0]!;
  const W = g.konst(Wn);
  if (!X || !W || W.dims.length < 3) return ctx.lockNode(node, 'unresolved', `Conv '${node.name}' has weights computed at run time`);
  const group = attrInt(node, 'group', 1);
  const rank = W.dims.length;
  const cout = W.dims[0]!;
  const cin = W.dims[1]! * group;
  const x = ctx.need(X, cin, rank);
  if (!x) return ctx.lockNode(node, 'unresolved', `Conv '${node.name}' reads a constant input`);
  if (group === 1) {
    const y = g.alloc(Y, cout, rank, 'source', node.name);
    g.markSource(y, ctx.index(node));
    ctx.param(node, Wn, 0, Y, 'Conv.weight.out');
    ctx.param(node, Bn, 0, Y, 'Conv.bias');
    ctx.param(node, Wn, 1, X, 'Conv.weight.in');
    ctx.gate(X, node, 0);
  } else if (x.count === cin && cout % group === 0) {
    // Grouped (depthwise when W[1] = 1): output group k reads input group k only, so the
    // pruning unit is a whole group, its input and output channels together; the kept groups
    // stay equal in size and `group` becomes their count on export.
    wholeGroups(ctx, x, g.alloc(Y, cout, rank, 'derived', node.name), group, W.dims[1]!, cout / group);
    ctx.param(node, Wn, 0, Y, W.dims[1] === 1 ? 'Conv.weight.depthwise' : 'Conv.weight.grouped');
    ctx.param(node, Bn, 0, Y, 'Conv.bias');
  } else {
    const detail = `Conv '${node.name}' has group=${group} over ${x.count} channels: removing a channel would leave groups of unequal size, which ONNX Conv cannot express`;
    g.nodeLocks.set(node.name, { reason: 'grouped-conv', detail });
    g.lockTensor(X, 'grouped-conv', detail);
    const y = g.alloc(Y, cout, rank, 'locked', node.name);
    g.lockRange(y, 0, cout, 'grouped-conv', detail);
  }
}

function convTranspose(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const [X, Wn, Bn] = node.input;
  const Y = node.output[0]!;
  const W = g.konst(Wn);
  if (!X || !W || W.dims.length < 3) return ctx.lockNode(node, 'unresolved', `ConvTranspose '${node.name}' has weights computed at run time`);
  // Weight layout [C_in, C_out/group, k...]: output channels live on axis 1.
  const group = attrInt(node, 'group', 1);
  const rank = W.dims.length;
  const cin = W.dims[0]!;
  const cout = W.dims[1]! * group;
  const x = ctx.need(X, cin, rank);
  if (!x) return ctx.lockNode(node, 'unresolved', `ConvTranspose '${node.name}' reads a constant input`);
  if (group === 1) {
    const y = g.alloc(Y, cout, rank, 'source', node.name);
    g.markSource(y, ctx.index(node));
    ctx.param(node, Wn, 1, Y, 'ConvTranspose.weight.out');
    ctx.param(node, Bn, 0, Y, 'ConvTranspose.bias');
    ctx.param(node, Wn, 0, X, 'ConvTranspose.weight.in');
    ctx.gate(X, node, 0);
  } else if (x.count === cin && cin % group === 0) {
    wholeGroups(ctx, x, g.alloc(Y, cout, rank, 'derived', node.name), group, cin / group, W.dims[1]!);
    ctx.param(node, Wn, 0, X, cin === group ? 'ConvTranspose.weight.depthwise' : 'ConvTranspose.weight.grouped');
    ctx.param(node, Bn, 0, Y, 'ConvTranspose.bias');
  } else {
    const detail = `ConvTranspose '${node.name}' has group=${group} over ${cin} channels: removing a channel would leave groups of unequal size`;
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
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmul,
};

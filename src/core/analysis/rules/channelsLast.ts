// Ops between a Transpose to channels-last ([N, …, C], ConvNeXt and Swin blocks) and the Transpose
// back. Any op reading such a tensor comes here instead of its own rule, since every other rule
// assumes channels on axis 1.
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts } from '../../onnx';
import type { Slots } from '../channelGraph';
import { ELEMENTWISE, UNARY_PASS_THROUGH } from './perChannel';
import { normAxis } from './shapeMath';
import type { AnalysisContext } from './types';

/** True when some input of the node is a channels-last tensor. */
export function readsChannelsLast(ctx: AnalysisContext, node: NodeProto): boolean {
  return node.input.some((i) => ctx.slots(i)?.axis !== undefined);
}

/**
 * Channel-wise activations, per-channel constants, Linear layers (MatMul with a constant [C, M]
 * weight, contracting the channel axis) and, when opted in, LayerNorm over the channels follow
 * the channels; anything else locks.
 */
/** The single consumer of a tensor (not a graph output) with the given op, if that is all there is. */
function soleConsumer(ctx: AnalysisContext, tensor: string | undefined, op: string): NodeProto | undefined {
  if (!tensor || ctx.model.outputNames.includes(tensor)) return undefined;
  const cs = ctx.model.consumers(tensor);
  return cs.length === 1 && cs[0]!.node.opType === op ? cs[0]!.node : undefined;
}

/** A ReduceMean over the last axis alone, keeping it. */
function meanOverLast(ctx: AnalysisContext, node: NodeProto, rank: number): boolean {
  const axes = ctx.axesOf(node, 1);
  return !!axes && axes.length === 1 && normAxis(axes[0]!, rank) === rank - 1 && attrInt(node, 'keepdims', 1) === 1;
}

function isScalar(ctx: AnalysisContext, name: string | undefined, value?: number): boolean {
  const k = ctx.g.konst(name);
  if (!k || k.data.length !== 1) return false;
  return value === undefined || Number(k.data[0]) === value;
}

/**
 * LayerNorm as exported before opset 17, from `mean = ReduceMean(X)` on: Sub(X, mean) → d,
 * Pow(d, 2) → ReduceMean → Add(ε) → Sqrt → s, Div(d, s). Returns the chain's nodes after the first
 * ReduceMean and the normalised output, or undefined when the graph around it is anything else.
 */
function decomposedLayerNorm(ctx: AnalysisContext, mean: NodeProto, X: string): { nodes: NodeProto[]; output: string } | undefined {
  const r = ctx.slots(X)!.rank;
  if (!meanOverLast(ctx, mean, r)) return undefined;
  const sub = soleConsumer(ctx, mean.output[0], 'Sub');
  if (!sub || sub.input[0] !== X || sub.input[1] !== mean.output[0]) return undefined;
  const d = sub.output[0]!;
  if (ctx.model.outputNames.includes(d)) return undefined;
  const readers = ctx.model.consumers(d);
  const pow = readers.find((c) => c.node.opType === 'Pow')?.node;
  const div = readers.find((c) => c.node.opType === 'Div')?.node;
  if (readers.length !== 2 || !pow || !div || pow.input[0] !== d || div.input[0] !== d || !isScalar(ctx, pow.input[1], 2)) return undefined;
  const variance = soleConsumer(ctx, pow.output[0], 'ReduceMean');
  if (!variance || !meanOverLast(ctx, variance, r)) return undefined;
  const eps = soleConsumer(ctx, variance.output[0], 'Add');
  const epsIn = eps?.input.find((i) => i !== variance.output[0]);
  if (!eps || !isScalar(ctx, epsIn)) return undefined;
  const sqrt = soleConsumer(ctx, eps.output[0], 'Sqrt');
  if (!sqrt || div.input[1] !== sqrt.output[0] || soleConsumer(ctx, sqrt.output[0], 'Div') !== div) return undefined;
  return { nodes: [sub, pow, variance, eps, sqrt, div], output: div.output[0]! };
}

export function channelsLast(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const op = node.opType;
  // The channels-last operand, wherever it is: exporters write a Linear's bias as Add(bias, x).
  const X = node.input.find((i) => i && ctx.slots(i)?.axis !== undefined) ?? node.input[0]!;
  const x = ctx.slots(X);
  const Y = node.output[0];
  const lock = (why: string) => {
    // A same-layout output is born channels-last, so a Linear reading it still gets sources.
    const d = Y ? g.dims(Y) : undefined;
    if (x?.axis !== undefined && Y && d && d.length === x.rank && d[x.rank - 1]! > 0) g.alloc(Y, d[x.rank - 1]!, x.rank, 'locked', node.name, undefined, x.rank - 1);
    ctx.lockNode(node, 'channel-mixing', `${op} '${node.name}' ${why}`);
  };
  if (!x || x.axis === undefined || !Y) return lock('reads a channels-last tensor the analysis cannot follow');
  const r = x.rank;
  const ax = r - 1;
  const cl = (name: string, count: number, origin: Slots['origin']) => g.alloc(name, count, r, origin, node.name, undefined, ax);
  if (op === 'Transpose') {
    const perm = attrInts(node, 'perm') ?? [];
    const toFirst = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
    if (perm.join(',') !== toFirst.join(',')) return lock(`permutes a channels-last tensor (perm [${perm.join(',')}])`);
    g.uniteAll(x, g.alloc(Y, x.count, r, 'derived', node.name));
    return;
  }
  if (UNARY_PASS_THROUGH.has(op) && !op.endsWith('Pool')) {
    for (const o of node.output) if (o) g.uniteAll(x, cl(o, x.count, 'derived'));
    return;
  }
  if (op === 'MatMul') {
    const B = g.konst(node.input[1]);
    if (!B || B.dims.length !== 2 || B.dims[0] !== x.count) return lock('is not a channels × constant-weight product');
    const y = cl(Y, B.dims[1]!, 'source');
    g.markSource(y, ctx.index(node));
    ctx.param(node, node.input[1], 1, Y, 'MatMul.weight.out');
    ctx.param(node, node.input[1], 0, X, 'MatMul.weight.in');
    ctx.gate(X, node, 0);
    return;
  }
  if (op === 'LayerNormalization') {
    const a = normAxis(attrInt(node, 'axis', -1), r);
    if (a !== ax || node.output.slice(1).some((o) => o && ctx.model.consumers(o).length > 0)) return lock('normalises over more than the channel axis');
    if (!ctx.allowLayerNorm) return lock('normalises over the channel axis (allowLayerNormPruning prunes these channels; their statistics then change)');
    g.uniteAll(x, cl(Y, x.count, 'derived'));
    ['scale', 'bias'].forEach((role, k) => {
      const name = node.input[k + 1];
      if (name && g.konst(name)?.dims.length === 1) ctx.param(node, name, 0, Y, `LayerNormalization.${role}`);
      else if (name) g.lockTensor(Y, 'unresolved', `LayerNormalization '${node.name}' has a ${role} the analysis cannot slice`);
    });
    ctx.layerNorms.push({ name: node.name, output: Y, decomposed: false });
    return;
  }
  if (op === 'ReduceMean' && node.input[0] === X) {
    const chain = decomposedLayerNorm(ctx, node, X);
    if (chain) {
      if (!ctx.allowLayerNorm) return lock('starts a LayerNorm over the channel axis exported as ReduceMean … Div (allowLayerNormPruning prunes these channels; their statistics then change)');
      // Mean and variance mix every channel, but after pruning they are simply taken over the kept
      // ones, as for LayerNormalization; only the normalised tensor carries channels on.
      g.uniteAll(x, cl(chain.output, x.count, 'derived'));
      for (const n of chain.nodes) ctx.markHandled(n);
      ctx.layerNorms.push({ name: node.name, output: chain.output, decomposed: true });
      return;
    }
  }
  if (op.startsWith('Reduce') && node.input[0] === X) return lock('reduces over the channel axis');
  if (ELEMENTWISE.has(op) && op !== 'Where') {
    const y = cl(Y, x.count, 'derived');
    for (const name of node.input) {
      const s = ctx.slots(name);
      const k = g.konst(name);
      const last = k?.dims[k.dims.length - 1];
      if (s && s.axis === ax && s.rank === r && s.count === x.count) g.uniteAll(s, y);
      else if (k && k.dims.length <= r && k.dims.slice(0, -1).every((d) => d === 1) && (last === undefined || last === 1 || last === x.count)) {
        if (last === x.count && x.count > 1) ctx.param(node, name, k.dims.length - 1, Y, `${op}.constant`);
      } else g.lockRange(y, 0, y.count, 'channel-mixing', `${op} '${node.name}' combines channels-last '${X}' with '${name}', which the analysis cannot align`);
    }
    return;
  }
  lock('reads a channels-last tensor the analysis cannot follow');
}

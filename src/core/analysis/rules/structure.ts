// Ops that move channels between tensors along the channel axis or reshape around it: Concat,
// Split and Slice map channel ranges; Flatten/Reshape turn maps into features (in blocks) or keep
// channels whole; Transpose, Squeeze and Unsqueeze pass channels on when axis 1 stays put.
import type { NodeProto } from 'onnx-buf';
import { attr, attrInt, attrInts } from '../../onnx';
import type { Slots } from '../channelGraph';
import { inferSpatial, intValues, known, normAxis, prod, reshapeDims, sliceRange } from './shapeMath';
import type { AnalysisContext, RuleTable } from './types';

function concat(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const Y = node.output[0]!;
  const firstSlots = node.input.map((i) => ctx.slots(i)).find((s) => s);
  if (!firstSlots) return;
  const rank = firstSlots.rank;
  const axis = normAxis(attrInt(node, 'axis', 1), rank);
  if (axis === 1) {
    const counts = node.input.map((i) => ctx.slots(i)?.count ?? g.dims(i)?.[1] ?? -1);
    if (counts.some((c) => c < 0)) return ctx.lockNode(node, 'unresolved', `Concat '${node.name}' joins a tensor of unknown channel count`);
    const total = counts.reduce((a, b) => a + b, 0);
    const y = g.alloc(Y, total, rank, 'derived', node.name, firstSlots.spatial);
    let off = 0;
    node.input.forEach((name, k) => {
      const s = ctx.slots(name);
      if (s) for (let c = 0; c < s.count; c++) g.unite(y, off + c, s, c);
      else g.lockRange(y, off, counts[k]!, 'unresolved', `Concat '${node.name}' inserts channels from '${name}', which no prunable layer produces`);
      off += counts[k]!;
    });
    return;
  }
  // Joined along batch or space: channel c of every input is channel c of the output.
  const y = g.alloc(Y, firstSlots.count, rank, 'derived', node.name);
  for (const name of node.input) {
    const s = ctx.slots(name);
    if (s && s.count === y.count) g.uniteAll(s, y);
    else if (g.konst(name)?.dims[1] === y.count && y.count > 1) ctx.param(node, name, 1, Y, 'Concat.constant');
    else if (!s) g.lockRange(y, 0, y.count, 'unresolved', `Concat '${node.name}' joins '${name}', which the analysis cannot follow`);
    else g.lockTensor(name, 'unresolved', `Concat '${node.name}' joins tensors of different channel counts`);
  }
}

/** Channel sizes of a Split along axis 1, from its attribute, input, output shapes or the even rule. */
function splitSizes(ctx: AnalysisContext, node: NodeProto, count: number): number[] | undefined {
  const outs = node.output.length;
  const attrSplit = attrInts(node, 'split');
  if (attrSplit) return attrSplit;
  const inp = node.input[1];
  if (inp) {
    const k = ctx.g.konst(inp);
    return k ? intValues(k) : undefined;
  }
  const fromShapes = node.output.map((o) => ctx.g.shapes?.get(o)?.[1]);
  if (fromShapes.every((d): d is number => d !== undefined && d >= 0)) return fromShapes;
  const numOutputs = attr(node, 'num_outputs') ? attrInt(node, 'num_outputs', outs) : outs;
  const chunk = Math.ceil(count / numOutputs);
  const sizes: number[] = [];
  for (let k = 0; k < outs; k++) sizes.push(Math.max(0, Math.min(chunk, count - k * chunk)));
  return sizes;
}

function split(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const axis = normAxis(attrInt(node, 'axis', 0), x.rank);
  if (axis !== 1) {
    for (const o of node.output) ctx.pass(node, X, o);
    return;
  }
  const sizes = splitSizes(ctx, node, x.count);
  if (!sizes || sizes.length !== node.output.length || sizes.reduce((a, b) => a + b, 0) !== x.count) {
    return ctx.lockNode(node, 'unresolved', `Split '${node.name}' has channel sizes the analysis cannot determine`);
  }
  let off = 0;
  node.output.forEach((o, k) => {
    if (o) {
      const y = g.alloc(o, sizes[k]!, x.rank, 'derived', node.name, x.spatial);
      for (let c = 0; c < sizes[k]!; c++) g.unite(y, c, x, off + c);
    }
    off += sizes[k]!;
  });
}

function slice(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const [, sN, eN, aN, stN] = node.input;
  const starts = intValues(g.konst(sN));
  const ends = intValues(g.konst(eN));
  const axes = aN ? intValues(g.konst(aN)) : starts?.map((_, i) => i);
  const steps = stN ? intValues(g.konst(stN)) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) return ctx.lockNode(node, 'unresolved', `Slice '${node.name}' has run-time bounds`);
  const k = axes.findIndex((a) => normAxis(a, x.rank) === 1);
  if (k < 0) {
    ctx.pass(node, X, node.output[0]);
    return;
  }
  const r = sliceRange(starts[k]!, ends[k]!, steps[k]!, x.count);
  if (!r) return ctx.lockNode(node, 'channel-mixing', `Slice '${node.name}' takes every ${steps[k]}th channel; pruning would break the stride`);
  const y = g.alloc(node.output[0]!, r.end - r.start, x.rank, 'derived', node.name, x.spatial);
  for (let c = 0; c < y.count; c++) g.unite(y, c, x, r.start + c);
}

function flatten(ctx: AnalysisContext, node: NodeProto): void {
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const axis = normAxis(attrInt(node, 'axis', 1), x.rank);
  if (axis !== 1) return ctx.lockNode(node, 'channel-mixing', `Flatten '${node.name}' at axis ${axis} merges channels with another axis`);
  flattenLike(ctx, node, X, node.output[0]!);
}

/** [N, C, spatial…] → [N, C·S]: feature f belongs to channel ⌊f / S⌋, one block of S features per channel. */
function flattenLike(ctx: AnalysisContext, node: NodeProto, X: string, Y: string): void {
  const g = ctx.g;
  const x = ctx.slots(X)!;
  const block = ctx.spatialProduct(X);
  if (block === undefined) {
    return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' flattens '${X}', whose spatial size is unknown (analyse with tensor shapes)`);
  }
  const y = g.alloc(Y, x.count * block, 2, 'derived', node.name);
  for (let f = 0; f < y.count; f++) g.unite(y, f, x, Math.floor(f / block));
  g.flatten.set(Y, { src: X, block });
}

/**
 * Entries of a Reshape target: a constant, or a Concat (axis 0) of constants and one-entry run-time
 * pieces, as PyTorch builds `view(n, g, c // g, h, w)` when H and W are dynamic. Run-time entries
 * are undefined; the export can only rewrite constant ones, and only when the Concat feeds nothing
 * else.
 */
export function reshapeTarget(ctx: AnalysisContext, name: string | undefined): (number | undefined)[] | undefined {
  const whole = intValues(ctx.g.konst(name));
  if (whole || !name) return whole;
  const p = ctx.model.producer(name);
  if (!p || p.opType !== 'Concat' || ![0, -1].includes(attrInt(p, 'axis', 0))) return undefined;
  if (ctx.model.consumers(name).length !== 1 || ctx.model.outputNames.includes(name)) return undefined;
  const out: (number | undefined)[] = [];
  for (const piece of p.input) {
    const v = intValues(ctx.g.konst(piece));
    if (v) out.push(...v);
    else if (ctx.g.shapes?.get(piece)?.join(',') === '1') out.push(undefined);
    else return undefined;
  }
  return out;
}

function reshape(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const target = reshapeTarget(ctx, node.input[1]);
  if (!target) return ctx.lockNode(node, 'unresolved', `Reshape '${node.name}' has a run-time target shape`);
  const inDims = g.dims(X);
  const sp = ctx.spatialProduct(X);
  if (!inDims || sp === undefined) return ctx.lockNode(node, 'unresolved', `Reshape '${node.name}': the shape of '${X}' is unknown (analyse with tensor shapes)`);
  const batchIn = inDims[0]! > 0 ? inDims[0]! : 1;
  const full = [batchIn, x.count, ...(x.rank > 2 ? inferSpatial(inDims, x, sp) : [])];
  const fixed = target.every((t): t is number => t !== undefined) ? target : undefined;
  const out = g.shapes?.get(node.output[0]!) ?? (fixed && reshapeDims(full, fixed, attrInt(node, 'allowzero', 0) === 1));
  if (!out) return ctx.lockNode(node, 'channel-mixing', `Reshape '${node.name}' has an invalid target shape`);
  const runTimeChannels = () => ctx.lockNode(node, 'unresolved', `Reshape '${node.name}' computes the channel entry of its target at run time`);
  if (out.length >= 2 && out[1] === x.count && prod(out.slice(2)) === sp) {
    if (target[1] === undefined) return runTimeChannels();
    ctx.pass(node, X, node.output[0], { spatial: out.slice(2), rank: out.length });
    return;
  }
  if (out.length === 2 && out[1] === x.count * sp) {
    if (target[1] === undefined) return runTimeChannels();
    return flattenLike(ctx, node, X, node.output[0]!);
  }
  if (target[1] !== undefined && target[2] !== undefined && channelShuffle(ctx, node, x, full, out)) return;
  ctx.lockNode(node, 'channel-mixing', `Reshape '${node.name}' turns [${full.join(',')}] into [${out.join(',')}], which mixes channels with other axes`);
}

/**
 * ShuffleNet's channel shuffle, Reshape [N, g, C/g, …] → Transpose(1, 2) → Reshape [N, C, …]:
 * input channel i·(C/g) + j becomes output channel j·g + i. After pruning the first Reshape
 * needs the same count in each of the g blocks, and the output keeps the original order only
 * if every block keeps the same positions j, so position j of all blocks is one unit.
 */
function channelShuffle(ctx: AnalysisContext, node: NodeProto, x: Slots, full: number[], mid: number[]): boolean {
  const sole = (t: string) => {
    const cs = ctx.model.consumers(t);
    return cs.length === 1 && cs[0]!.inputIndex === 0 && !ctx.model.outputNames.includes(t) ? cs[0]!.node : undefined;
  };
  const r = full.length;
  if (mid.length !== r + 1 || mid[0] !== full[0] || mid[1]! * mid[2]! !== x.count || mid[1]! < 1) return false;
  if (mid.slice(3).join(',') !== full.slice(2).join(',')) return false;
  const t = sole(node.output[0]!);
  const perm = t?.opType === 'Transpose' ? attrInts(t, 'perm') : undefined;
  if (!t || !perm || perm.join(',') !== [0, 2, 1, ...Array.from({ length: r - 2 }, (_, i) => i + 3)].join(',')) return false;
  const back = sole(t.output[0]!);
  if (!back || back.opType !== 'Reshape') return false;
  // The export rewrites the channel entry of both targets, so it must be a constant in the second too.
  const target = reshapeTarget(ctx, back.input[1]);
  if (!target || target[1] === undefined) return false;
  const swapped = [mid[0]!, mid[2]!, mid[1]!, ...mid.slice(3)];
  const fixed = target.every((t): t is number => t !== undefined) ? target : undefined;
  const out = ctx.g.shapes?.get(back.output[0]!) ?? (fixed && reshapeDims(swapped, fixed, attrInt(back, 'allowzero', 0) === 1));
  if (!out || out.join(',') !== full.join(',')) return false;
  const [g, per] = [mid[1]!, mid[2]!];
  const y = ctx.g.alloc(back.output[0]!, x.count, r, 'derived', back.name, x.spatial);
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < per; j++) {
      ctx.g.unite(y, j * g + i, x, i * per + j);
      ctx.g.unite(x, i * per + j, x, j);
    }
  }
  ctx.markHandled(t);
  ctx.markHandled(back);
  return true;
}

function transpose(ctx: AnalysisContext, node: NodeProto): void {
  const x = ctx.slots(node.input[0])!;
  const perm = attrInts(node, 'perm') ?? Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i);
  if (perm[1] === 1) {
    ctx.pass(node, node.input[0]!, node.output[0], { spatial: 'unknown' });
    return;
  }
  const toLast = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
  if (x.rank > 2 && node.output[0] && perm.join(',') === toLast.join(',')) {
    // [N, C, …] → [N, …, C]: the channels stay whole on the last axis (ConvNeXt, Swin).
    ctx.g.uniteAll(x, ctx.g.alloc(node.output[0], x.count, x.rank, 'derived', node.name, undefined, x.rank - 1));
    return;
  }
  ctx.lockNode(node, 'channel-mixing', `Transpose '${node.name}' moves the channel axis (perm [${perm.join(',')}])`);
}

function squeeze(ctx: AnalysisContext, node: NodeProto): void {
  const g = ctx.g;
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const isSqueeze = node.opType === 'Squeeze';
  let axes = ctx.axesOf(node, 1);
  if (axes === null) return ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has run-time axes`);
  if (!axes && isSqueeze) {
    const d = g.dims(X);
    if (!d || !known(d.slice(1))) return ctx.lockNode(node, 'unresolved', `Squeeze '${node.name}' without axes on a tensor of unknown shape`);
    axes = [];
    d!.forEach((v, i) => i > 0 && v === 1 && axes!.push(i));
  }
  const list = axes ?? [];
  const outRank = isSqueeze ? x.rank - list.length : x.rank + list.length;
  const norm = list.map((a) => normAxis(a, isSqueeze ? x.rank : outRank));
  if (norm.some((a) => a <= 1)) return ctx.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' changes the axes before the channel axis`);
  ctx.pass(node, X, node.output[0], { spatial: 'unknown', rank: outRank });
}

export const structureRules: RuleTable = {
  Concat: concat,
  Split: split,
  Slice: slice,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: squeeze,
};

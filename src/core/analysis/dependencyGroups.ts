// Channel dependency groups (issue 2 §5, METHOD §1–2): which output channels must be removed
// together, which constants shrink, and where gates multiply channels. Every (tensor, channel)
// is a union-find element; op rules join the elements that must live or die together, and a
// component with a source channel (a weight op's output) and no lock is one prunable variable.
import type { GraphProto, NodeProto } from 'onnx-buf';
import { attr, attrInt, attrInts, type OnnxModel } from '../onnx';
import { ChannelGraph, type Lock, type Slots } from './channelGraph';
import { assembleAnalysis } from './groupAssembly';
import {
  AXIS_OPS,
  CHANNEL_MIXING,
  CHANNEL_NORMS,
  ELEMENTWISE,
  SHAPE_OPS,
  UNARY_PASS_THROUGH,
  WEIGHT_OPS,
  assertKnownOps,
  isKnownOp,
  normAxis,
  opLabel,
} from './opRules';
import type { DependencyAnalysis, LockReason, ShapeMap } from './types';

export { assertKnownOps } from './opRules';

export interface AnalyzeOptions {
  /** Throw OnnxModelError 'unknown-ops' instead of locking channels that pass through unknown ops. */
  strict?: boolean;
  /**
   * Prune channels normalised together by a LayerNormalization over the channel axis (ConvNeXt).
   * Off by default: the kept channels are then normalised by their own mean and variance, so the
   * pruned model is not the gated one with gates 0 (the analysis adds a note saying so).
   */
  allowLayerNormPruning?: boolean;
}

/**
 * Analyses channel dependencies. `shapes` (tensor → dims for one concrete input) is needed where a
 * spatial size matters: Flatten/Reshape of feature maps into Gemm features. Without it those
 * channels are locked as 'unresolved'.
 */
export function analyzeDependencies(model: OnnxModel, shapes?: ShapeMap, opts: AnalyzeOptions = {}): DependencyAnalysis {
  if (opts.strict) assertKnownOps(model);
  const order = topoOrder(model);
  const walker = new RuleWalker(model, shapes, order, opts.allowLayerNormPruning === true);
  walker.run();
  const deps = assembleAnalysis(walker.g, order, walker.unknownOps);
  const notes = walker.layerNorms
    .filter((n) => deps.tensors.get(n.output[0]!)?.variable.some((v) => v >= 0))
    .map((n) => `LayerNormalization '${n.name}' normalises over channels that may be pruned: the pruned model normalises the kept channels by their own mean and variance, so it is not equivalent to the gated model (fine-tune after pruning)`);
  if (notes.length) deps.notes = notes;
  return deps;
}

/** Kahn's order, ties broken by file order, so exporters' occasional unsorted graphs still work. */
export function topoOrder(model: OnnxModel): NodeProto[] {
  const nodes = model.nodes;
  const produced = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => o && produced.set(o, i)));
  const indeg = new Int32Array(nodes.length);
  const next: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const inp of [...n.input, ...subgraphRefs(n)]) {
      const p = inp ? produced.get(inp) : undefined;
      if (p !== undefined && p !== i) deps.add(p);
    }
    for (const d of deps) {
      next[d]!.push(i);
      indeg[i]!++;
    }
  });
  const ready: number[] = [];
  for (let i = 0; i < nodes.length; i++) if (indeg[i] === 0) ready.push(i);
  const out: NodeProto[] = [];
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    out.push(nodes[i]!);
    for (const j of next[i]!) if (--indeg[j]! === 0) ready.push(j);
  }
  // A cycle cannot occur in a valid model; keep the rest in file order rather than dropping nodes.
  if (out.length < nodes.length) for (const n of nodes) if (!out.includes(n)) out.push(n);
  return out;
}

/** Names an If/Loop/Scan body reads from the enclosing graph (invisible in node.input). */
function subgraphRefs(node: NodeProto): string[] {
  const refs: string[] = [];
  const visit = (g: GraphProto) => {
    const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
    for (const n of g.node) for (const o of n.output) local.add(o);
    for (const n of g.node) {
      for (const i of n.input) if (i && !local.has(i)) refs.push(i);
      for (const a of n.attribute) {
        if (a.g) visit(a.g);
        for (const sg of a.graphs) visit(sg);
      }
    }
  };
  for (const a of node.attribute) {
    if (a.g) visit(a.g);
    for (const sg of a.graphs) visit(sg);
  }
  return refs;
}

function prod(a: readonly number[]): number {
  let p = 1;
  for (const d of a) p *= d;
  return p;
}

function known(a: readonly number[] | undefined): a is number[] {
  return !!a && a.every((d) => d >= 0);
}

function intValues(t: { data: ArrayLike<number | bigint> } | undefined): number[] | undefined {
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

class RuleWalker {
  readonly g: ChannelGraph;
  readonly unknownOps: string[] = [];
  private index = new Map<string, number>();
  private opset: number;
  /** Nodes already followed as part of a multi-node pattern (channel shuffle). */
  private handled = new Set<string>();

  /** LayerNormalizations over channels made prunable by the opt-in. */
  readonly layerNorms: NodeProto[] = [];

  constructor(
    private model: OnnxModel,
    shapes: ShapeMap | undefined,
    private order: NodeProto[],
    private allowLayerNorm = false,
  ) {
    this.g = new ChannelGraph(model, shapes);
    order.forEach((n, i) => this.index.set(n.name, i));
    this.opset = model.opset;
  }

  run(): void {
    const g = this.g;
    for (const v of this.model.realInputs) {
      const d = g.dims(v.name);
      if (!d || d.length < 2 || !(d[1]! > 0)) continue;
      const s = g.alloc(v.name, d[1]!, d.length, 'input', v.name, d.slice(2));
      g.lockRange(s, 0, s.count, 'graph-input', `graph input '${v.name}' cannot lose channels`);
    }
    for (const node of this.order) this.visit(node);
    for (const out of this.model.outputNames) g.lockTensor(out, 'graph-output', `its channels reach graph output '${out}'`);
  }

  // --- helpers -------------------------------------------------------------------------------

  private slots(name: string | undefined): Slots | undefined {
    return name ? this.g.slots.get(name) : undefined;
  }

  /**
   * Channels of a run-time input a rule needs. When nothing has produced channels for it (a graph
   * input without a shape, an op whose outputs were not followed), they are created locked.
   */
  private need(name: string, count: number | undefined, rank: number | undefined): Slots | undefined {
    const have = this.g.slots.get(name);
    if (have) return have;
    if (this.g.konst(name)) return undefined;
    const d = this.g.dims(name);
    const c = count ?? (d && d.length >= 2 && d[1]! > 0 ? d[1] : undefined);
    const r = rank ?? d?.length;
    if (c === undefined || r === undefined || r < 2) return undefined;
    const p = this.model.producer(name);
    const inherited: Lock | undefined = p ? this.g.nodeLocks.get(p.name) : undefined;
    const isInput = !p && this.model.inputNames.includes(name);
    const s = this.g.alloc(name, c, r, 'locked', p?.name ?? name);
    if (inherited) this.g.lockRange(s, 0, c, inherited.reason, inherited.detail);
    else if (isInput) this.g.lockRange(s, 0, c, 'graph-input', `graph input '${name}' cannot lose channels`);
    else this.g.lockRange(s, 0, c, 'unresolved', `the channels of '${name}' could not be traced to their producer`);
    return s;
  }

  /** Locks everything a node touches: run-time inputs and (where their channel count is known) outputs. */
  private lockNode(node: NodeProto, reason: LockReason, detail: string): void {
    const g = this.g;
    g.nodeLocks.set(node.name, { reason, detail });
    for (const i of node.input) if (i) g.lockTensor(i, reason, detail);
    for (const o of node.output) {
      if (!o || g.konst(o)) continue;
      const d = g.dims(o);
      if (!d || d.length < 2 || !(d[1]! > 0)) continue;
      const s = g.alloc(o, d[1]!, d.length, 'locked', node.name);
      g.lockRange(s, 0, s.count, reason, detail);
    }
  }

  /** Channel c of `to` is channel c of `from`. Spatial dims are inherited unless the op changes them. */
  private pass(node: NodeProto, from: string, to: string | undefined, opts: { spatial?: number[] | 'unknown'; rank?: number } = {}): Slots | undefined {
    const x = this.slots(from);
    if (!x || !to) return undefined;
    const rank = opts.rank ?? x.rank;
    const spatial = opts.spatial === 'unknown' ? undefined : (opts.spatial ?? (rank === x.rank ? x.spatial : undefined));
    const y = this.g.alloc(to, x.count, rank, 'derived', node.name, spatial);
    this.g.uniteAll(x, y);
    return y;
  }

  /** Records a constant sliced along `axis` by the channels of `tensor`, if its length matches. */
  private param(node: NodeProto, init: string | undefined, axis: number, tensor: string, role: string, block = 1): void {
    if (!init) return;
    const k = this.g.konst(init);
    const s = this.slots(tensor);
    if (!k || !s) return;
    if (k.dims[axis] !== s.count * block) {
      this.g.lockTensor(tensor, 'unresolved', `${node.opType} '${node.name}': constant '${init}' has ${k.dims[axis]} entries on axis ${axis}, expected ${s.count * block}`);
      return;
    }
    this.g.pending.push({ initializer: init, axis, tensor, block, node: node.name, role });
  }

  /** A consumption edge. A Flatten that only feeds weight ops is gated before it (same channels, one gate per map). */
  private gate(tensor: string, node: NodeProto, inputIndex: number): void {
    const flat = this.g.flatten.get(tensor);
    const p = this.model.producer(tensor);
    if (flat && p && this.model.consumers(tensor).every((c) => WEIGHT_OPS.has(c.node.opType) && c.inputIndex === 0) && !this.model.outputNames.includes(tensor)) {
      this.g.addGate(flat.src, p.name, 0);
      return;
    }
    this.g.addGate(tensor, node.name, inputIndex);
  }

  private spatialProduct(tensor: string): number | undefined {
    const s = this.slots(tensor);
    if (!s) return undefined;
    if (s.rank === 2) return 1;
    const d = this.g.shapes?.get(tensor);
    if (known(d) && d.length === s.rank) return prod(d.slice(2));
    if (s.spatial && s.spatial.length === s.rank - 2 && s.spatial.every((v) => v >= 0)) return prod(s.spatial);
    return undefined;
  }

  /** Axes given as an attribute (older opsets) or as a constant input (newer ones); null if run-time. */
  private axesOf(node: NodeProto, inputIndex: number): number[] | undefined | null {
    const a = attrInts(node, 'axes');
    if (a) return a;
    const name = node.input[inputIndex];
    if (!name) return undefined;
    const k = this.g.konst(name);
    return k ? intValues(k)! : null;
  }

  // --- rules ---------------------------------------------------------------------------------

  private visit(node: NodeProto): void {
    if (this.handled.has(node.name)) return;
    const op = node.opType;
    // Constant nodes are read through model.constant() wherever they are used.
    if (op === 'Constant' && node.input.length === 0) return;
    if (!isKnownOp(node)) {
      const label = opLabel(node);
      if (!this.unknownOps.includes(label)) this.unknownOps.push(label);
      const detail = `${label} node '${node.name}' is not understood by the channel analysis`;
      this.lockNode(node, 'unknown-op', detail);
      for (const r of subgraphRefs(node)) this.g.lockTensor(r, 'unknown-op', detail);
      return;
    }
    const hasChannels = node.input.some((i) => i && this.g.slots.has(i));
    if (!hasChannels && !WEIGHT_OPS.has(op)) {
      // Shape arithmetic or constant folding: outputs are not feature maps the analysis can prune.
      this.lockNode(node, 'unresolved', `${op} '${node.name}' computes '${node.output[0]}' without any feature map`);
      return;
    }
    if (node.input.some((i) => this.slots(i)?.axis !== undefined)) return this.channelsLast(node);
    if (op === 'Conv') return this.conv(node);
    if (op === 'ConvTranspose') return this.convTranspose(node);
    if (op === 'Gemm') return this.gemm(node);
    if (op === 'MatMul') return this.matmul(node);
    if (CHANNEL_NORMS.has(op)) return this.norm(node);
    if (UNARY_PASS_THROUGH.has(op)) return this.unary(node);
    if (ELEMENTWISE.has(op)) return this.elementwise(node);
    if (CHANNEL_MIXING.has(op)) return this.lockNode(node, 'channel-mixing', `${op} '${node.name}' mixes or reorders channels`);
    if (SHAPE_OPS.has(op)) return this.lockNode(node, 'unresolved', `${op} '${node.name}' builds a tensor from a feature map's shape`);
    if (AXIS_OPS.has(op)) return this.axisOp(node);
  }

  private conv(node: NodeProto): void {
    const g = this.g;
    const [X, Wn, Bn] = node.input;
    const Y = node.output[0]!;
    const W = g.konst(Wn);
    if (!X || !W || W.dims.length < 3) return this.lockNode(node, 'unresolved', `Conv '${node.name}' has weights computed at run time`);
    const group = attrInt(node, 'group', 1);
    const rank = W.dims.length;
    const cout = W.dims[0]!;
    const cin = W.dims[1]! * group;
    const x = this.need(X, cin, rank);
    if (!x) return this.lockNode(node, 'unresolved', `Conv '${node.name}' reads a constant input`);
    if (group === 1) {
      const y = g.alloc(Y, cout, rank, 'source', node.name);
      g.markSource(y, this.index.get(node.name)!);
      this.param(node, Wn, 0, Y, 'Conv.weight.out');
      this.param(node, Bn, 0, Y, 'Conv.bias');
      this.param(node, Wn, 1, X, 'Conv.weight.in');
      this.gate(X, node, 0);
    } else if (x.count === cin && cout % group === 0) {
      // Grouped (depthwise when W[1] = 1): output group k reads input group k only, so the
      // pruning unit is a whole group, its input and output channels together; the kept groups
      // stay equal in size and `group` becomes their count on export.
      this.wholeGroups(x, g.alloc(Y, cout, rank, 'derived', node.name), group, W.dims[1]!, cout / group);
      this.param(node, Wn, 0, Y, W.dims[1] === 1 ? 'Conv.weight.depthwise' : 'Conv.weight.grouped');
      this.param(node, Bn, 0, Y, 'Conv.bias');
    } else {
      const detail = `Conv '${node.name}' has group=${group} over ${x.count} channels: removing a channel would leave groups of unequal size, which ONNX Conv cannot express`;
      g.nodeLocks.set(node.name, { reason: 'grouped-conv', detail });
      g.lockTensor(X, 'grouped-conv', detail);
      const y = g.alloc(Y, cout, rank, 'locked', node.name);
      g.lockRange(y, 0, cout, 'grouped-conv', detail);
    }
  }

  private convTranspose(node: NodeProto): void {
    const g = this.g;
    const [X, Wn, Bn] = node.input;
    const Y = node.output[0]!;
    const W = g.konst(Wn);
    if (!X || !W || W.dims.length < 3) return this.lockNode(node, 'unresolved', `ConvTranspose '${node.name}' has weights computed at run time`);
    // Weight layout [C_in, C_out/group, k...]: output channels live on axis 1.
    const group = attrInt(node, 'group', 1);
    const rank = W.dims.length;
    const cin = W.dims[0]!;
    const cout = W.dims[1]! * group;
    const x = this.need(X, cin, rank);
    if (!x) return this.lockNode(node, 'unresolved', `ConvTranspose '${node.name}' reads a constant input`);
    if (group === 1) {
      const y = g.alloc(Y, cout, rank, 'source', node.name);
      g.markSource(y, this.index.get(node.name)!);
      this.param(node, Wn, 1, Y, 'ConvTranspose.weight.out');
      this.param(node, Bn, 0, Y, 'ConvTranspose.bias');
      this.param(node, Wn, 0, X, 'ConvTranspose.weight.in');
      this.gate(X, node, 0);
    } else if (x.count === cin && cin % group === 0) {
      this.wholeGroups(x, g.alloc(Y, cout, rank, 'derived', node.name), group, cin / group, W.dims[1]!);
      this.param(node, Wn, 0, X, cin === group ? 'ConvTranspose.weight.depthwise' : 'ConvTranspose.weight.grouped');
      this.param(node, Bn, 0, Y, 'ConvTranspose.bias');
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
  private wholeGroups(x: Slots, y: Slots, group: number, ci: number, co: number): void {
    for (let k = 0; k < group; k++) {
      for (let p = 1; p < ci; p++) this.g.unite(x, k * ci, x, k * ci + p);
      for (let q = 0; q < co; q++) this.g.unite(y, k * co + q, x, k * ci);
    }
  }

  private gemm(node: NodeProto): void {
    const g = this.g;
    const [A, Bn, Cn] = node.input;
    const Y = node.output[0]!;
    const B = g.konst(Bn);
    if (!A || !B || B.dims.length !== 2) return this.lockNode(node, 'unresolved', `Gemm '${node.name}' has weights computed at run time`);
    if (attrInt(node, 'transA', 0) !== 0) return this.lockNode(node, 'channel-mixing', `Gemm '${node.name}' has transA=1: its features run along axis 0`);
    const transB = attrInt(node, 'transB', 0) !== 0;
    const K = transB ? B.dims[1]! : B.dims[0]!;
    const M = transB ? B.dims[0]! : B.dims[1]!;
    const a = this.need(A, K, 2);
    if (!a || a.rank !== 2) return this.lockNode(node, 'channel-mixing', `Gemm '${node.name}' reads a tensor of rank ${a?.rank ?? '?'}`);
    const y = g.alloc(Y, M, 2, 'source', node.name);
    g.markSource(y, this.index.get(node.name)!);
    this.param(node, Bn, transB ? 0 : 1, Y, 'Gemm.weight.out');
    if (Cn) {
      const C = g.konst(Cn);
      if (C) {
        if (C.dims.length > 0 && C.dims[C.dims.length - 1] === M && M > 1) this.param(node, Cn, C.dims.length - 1, Y, 'Gemm.bias');
      } else {
        const c = this.slots(Cn);
        if (c && c.count === M) g.uniteAll(c, y);
        else g.lockRange(y, 0, M, 'unresolved', `Gemm '${node.name}' adds a run-time bias the analysis cannot follow`);
      }
    }
    this.consumeFeatures(node, Bn!, transB ? 1 : 0, A);
  }

  private matmul(node: NodeProto): void {
    const g = this.g;
    const [A, Bn] = node.input;
    const Y = node.output[0]!;
    const B = g.konst(Bn);
    const a = this.slots(A);
    if (!A || !B || B.dims.length !== 2 || !a) return this.lockNode(node, 'channel-mixing', `MatMul '${node.name}' is not a feature × constant-weight product`);
    if (a.rank === 2) {
      const y = g.alloc(Y, B.dims[1]!, 2, 'source', node.name);
      g.markSource(y, this.index.get(node.name)!);
      this.param(node, Bn, 1, Y, 'MatMul.weight.out');
      this.consumeFeatures(node, Bn!, 0, A);
    } else {
      // [N, C, ..., K] × [K, M] contracts the last axis only: channels pass through.
      this.pass(node, A, Y);
    }
  }

  /** Input side of Gemm/MatMul: weight rows/columns follow the features (in blocks after a Flatten). */
  private consumeFeatures(node: NodeProto, weight: string, axis: number, A: string): void {
    const flat = this.g.flatten.get(A);
    if (flat) this.param(node, weight, axis, flat.src, `${node.opType}.weight.in`, flat.block);
    else this.param(node, weight, axis, A, `${node.opType}.weight.in`);
    this.gate(A, node, 0);
  }

  private norm(node: NodeProto): void {
    const [X] = node.input;
    const Y = node.output[0];
    const y = this.pass(node, X!, Y);
    if (!y || !Y) return;
    const roles = node.opType === 'BatchNormalization' ? ['scale', 'bias', 'mean', 'var'] : ['scale', 'bias'];
    roles.forEach((role, k) => {
      const name = node.input[k + 1];
      if (!name) return;
      if (this.g.konst(name)) this.param(node, name, 0, Y, `${node.opType}.${role}`);
      else this.g.lockRange(y, 0, y.count, 'unresolved', `${node.opType} '${node.name}' has run-time ${role}`);
    });
  }

  private unary(node: NodeProto): void {
    const op = node.opType;
    const X = node.input[0]!;
    const x = this.slots(X);
    if (!x) return;
    if (op === 'MaxPool' && node.output[1] && this.model.consumers(node.output[1]).length > 0) {
      return this.lockNode(node, 'channel-mixing', `MaxPool '${node.name}' returns indices that encode channel positions`);
    }
    const global = op.startsWith('Global');
    const spatial = global ? new Array<number>(Math.max(0, x.rank - 2)).fill(1) : op.endsWith('Pool') ? 'unknown' : undefined;
    this.pass(node, X, node.output[0], { spatial });
    if (op === 'Dropout' && node.output[1]) this.pass(node, X, node.output[1], { spatial });
  }

  private elementwise(node: NodeProto): void {
    const g = this.g;
    const Y = node.output[0];
    if (!Y) return;
    type Operand = { name: string; kind: 'slots'; s: Slots } | { name: string; kind: 'const' | 'other'; dims?: number[] };
    const ops: Operand[] = [];
    for (const name of node.input) {
      if (!name) continue;
      const s = this.slots(name);
      if (s) ops.push({ name, kind: 'slots', s });
      else if (g.konst(name)) ops.push({ name, kind: 'const', dims: g.konst(name)!.dims });
      else ops.push({ name, kind: 'other', dims: g.dims(name) });
    }
    const rankOf = (o: Operand) => (o.kind === 'slots' ? o.s.rank : o.dims?.length);
    const ranks = ops.map(rankOf);
    if (ranks.some((r) => r === undefined)) {
      return this.lockNode(node, 'unresolved', `${node.opType} '${node.name}' combines a tensor of unknown shape`);
    }
    const outRank = Math.max(...(ranks as number[]));
    const chanDim = (o: Operand): number => {
      const a = 1 - (outRank - rankOf(o)!);
      if (a < 0) return 1;
      return o.kind === 'slots' ? (a === 1 ? o.s.count : -1) : o.dims![a]!;
    };
    const full = ops.filter((o) => o.kind === 'slots' && rankOf(o) === outRank);
    const C = Math.max(...ops.map(chanDim));
    if (full.length === 0 || C < 1) return this.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has no feature-map operand the analysis can align`);
    const first = full[0] as { s: Slots };
    const y = g.alloc(Y, C, outRank, 'derived', node.name, first.s.spatial);
    for (const o of ops) {
      const c = chanDim(o);
      if (o.kind === 'slots') {
        if (rankOf(o) === outRank && o.s.count === C) g.uniteAll(o.s, y);
        else g.lockTensor(o.name, 'channel-mixing', `${node.opType} '${node.name}' broadcasts '${o.name}' (${o.s.count} channel${o.s.count === 1 ? '' : 's'}) over ${C} channels`);
      } else if (c === C && C > 1) {
        if (o.kind === 'const') this.param(node, o.name, 1 - (outRank - rankOf(o)!), Y, `${node.opType}.${node.opType === 'PRelu' ? 'slope' : 'constant'}`);
        else g.lockRange(y, 0, C, 'unresolved', `${node.opType} '${node.name}' combines per-channel values from '${o.name}', which the analysis cannot slice`);
      } else if (c !== 1 && c !== C) {
        g.lockRange(y, 0, C, 'unresolved', `${node.opType} '${node.name}': operand '${o.name}' has ${c < 0 ? 'an unknown number of' : c} channels, output ${C}`);
      }
    }
  }

  private axisOp(node: NodeProto): void {
    switch (node.opType) {
      case 'Concat':
        return this.concat(node);
      case 'Split':
        return this.split(node);
      case 'Slice':
        return this.slice(node);
      case 'Flatten':
        return this.flattenOp(node);
      case 'Reshape':
        return this.reshape(node);
      case 'Transpose':
        return this.transpose(node);
      case 'Squeeze':
      case 'Unsqueeze':
        return this.squeeze(node);
      case 'Resize':
      case 'Upsample':
        return this.resize(node);
      case 'Pad':
        return this.pad(node);
      case 'Shape':
        return this.shape(node);
      case 'Size':
        return this.lockNode(node, 'channel-mixing', `Size '${node.name}' reads the element count of '${node.input[0]}', which depends on its channels`);
      default:
        return this.axisReduction(node);
    }
  }

  private concat(node: NodeProto): void {
    const g = this.g;
    const Y = node.output[0]!;
    const firstSlots = node.input.map((i) => this.slots(i)).find((s) => s);
    if (!firstSlots) return;
    const rank = firstSlots.rank;
    const axis = normAxis(attrInt(node, 'axis', 1), rank);
    if (axis === 1) {
      const counts = node.input.map((i) => this.slots(i)?.count ?? g.dims(i)?.[1] ?? -1);
      if (counts.some((c) => c < 0)) return this.lockNode(node, 'unresolved', `Concat '${node.name}' joins a tensor of unknown channel count`);
      const total = counts.reduce((a, b) => a + b, 0);
      const y = g.alloc(Y, total, rank, 'derived', node.name, firstSlots.spatial);
      let off = 0;
      node.input.forEach((name, k) => {
        const s = this.slots(name);
        if (s) for (let c = 0; c < s.count; c++) g.unite(y, off + c, s, c);
        else g.lockRange(y, off, counts[k]!, 'unresolved', `Concat '${node.name}' inserts channels from '${name}', which no prunable layer produces`);
        off += counts[k]!;
      });
      return;
    }
    // Joined along batch or space: channel c of every input is channel c of the output.
    const y = g.alloc(Y, firstSlots.count, rank, 'derived', node.name);
    for (const name of node.input) {
      const s = this.slots(name);
      if (s && s.count === y.count) g.uniteAll(s, y);
      else if (g.konst(name)?.dims[1] === y.count && y.count > 1) this.param(node, name, 1, Y, 'Concat.constant');
      else if (!s) g.lockRange(y, 0, y.count, 'unresolved', `Concat '${node.name}' joins '${name}', which the analysis cannot follow`);
      else g.lockTensor(name, 'unresolved', `Concat '${node.name}' joins tensors of different channel counts`);
    }
  }

  /** Channel sizes of a Split along axis 1, from its attribute, input, output shapes or the even rule. */
  private splitSizes(node: NodeProto, count: number): number[] | undefined {
    const outs = node.output.length;
    const attrSplit = attrInts(node, 'split');
    if (attrSplit) return attrSplit;
    const inp = node.input[1];
    if (inp) {
      const k = this.g.konst(inp);
      return k ? intValues(k) : undefined;
    }
    const fromShapes = node.output.map((o) => this.g.shapes?.get(o)?.[1]);
    if (fromShapes.every((d): d is number => d !== undefined && d >= 0)) return fromShapes;
    const numOutputs = attr(node, 'num_outputs') ? attrInt(node, 'num_outputs', outs) : outs;
    const chunk = Math.ceil(count / numOutputs);
    const sizes: number[] = [];
    for (let k = 0; k < outs; k++) sizes.push(Math.max(0, Math.min(chunk, count - k * chunk)));
    return sizes;
  }

  private split(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const axis = normAxis(attrInt(node, 'axis', 0), x.rank);
    if (axis !== 1) {
      for (const o of node.output) this.pass(node, X, o);
      return;
    }
    const sizes = this.splitSizes(node, x.count);
    if (!sizes || sizes.length !== node.output.length || sizes.reduce((a, b) => a + b, 0) !== x.count) {
      return this.lockNode(node, 'unresolved', `Split '${node.name}' has channel sizes the analysis cannot determine`);
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

  private slice(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const [, sN, eN, aN, stN] = node.input;
    const starts = intValues(g.konst(sN));
    const ends = intValues(g.konst(eN));
    const axes = aN ? intValues(g.konst(aN)) : starts?.map((_, i) => i);
    const steps = stN ? intValues(g.konst(stN)) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) return this.lockNode(node, 'unresolved', `Slice '${node.name}' has run-time bounds`);
    const k = axes.findIndex((a) => normAxis(a, x.rank) === 1);
    if (k < 0) {
      this.pass(node, X, node.output[0]);
      return;
    }
    const r = sliceRange(starts[k]!, ends[k]!, steps[k]!, x.count);
    if (!r) return this.lockNode(node, 'channel-mixing', `Slice '${node.name}' takes every ${steps[k]}th channel; pruning would break the stride`);
    const y = g.alloc(node.output[0]!, r.end - r.start, x.rank, 'derived', node.name, x.spatial);
    for (let c = 0; c < y.count; c++) g.unite(y, c, x, r.start + c);
  }

  private flattenOp(node: NodeProto): void {
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const axis = normAxis(attrInt(node, 'axis', 1), x.rank);
    if (axis !== 1) return this.lockNode(node, 'channel-mixing', `Flatten '${node.name}' at axis ${axis} merges channels with another axis`);
    this.flattenLike(node, X, node.output[0]!);
  }

  private flattenLike(node: NodeProto, X: string, Y: string): void {
    const g = this.g;
    const x = this.slots(X)!;
    const block = this.spatialProduct(X);
    if (block === undefined) {
      return this.lockNode(node, 'unresolved', `${node.opType} '${node.name}' flattens '${X}', whose spatial size is unknown (analyse with tensor shapes)`);
    }
    const y = g.alloc(Y, x.count * block, 2, 'derived', node.name);
    for (let f = 0; f < y.count; f++) g.unite(y, f, x, Math.floor(f / block));
    g.flatten.set(Y, { src: X, block });
  }

  private reshape(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const target = intValues(g.konst(node.input[1]));
    if (!target) return this.lockNode(node, 'unresolved', `Reshape '${node.name}' has a run-time target shape`);
    const inDims = g.dims(X);
    const sp = this.spatialProduct(X);
    if (!inDims || sp === undefined) return this.lockNode(node, 'unresolved', `Reshape '${node.name}': the shape of '${X}' is unknown (analyse with tensor shapes)`);
    const batchIn = inDims[0]! > 0 ? inDims[0]! : 1;
    const full = [batchIn, x.count, ...(x.rank > 2 ? inferSpatial(inDims, x, sp) : [])];
    const out = g.shapes?.get(node.output[0]!) ?? reshapeDims(full, target, attrInt(node, 'allowzero', 0) === 1);
    if (!out) return this.lockNode(node, 'channel-mixing', `Reshape '${node.name}' has an invalid target shape`);
    if (out.length >= 2 && out[1] === x.count && prod(out.slice(2)) === sp) {
      this.pass(node, X, node.output[0], { spatial: out.slice(2), rank: out.length });
      return;
    }
    if (out.length === 2 && out[1] === x.count * sp) return this.flattenLike(node, X, node.output[0]!);
    if (this.channelShuffle(node, x, full, out)) return;
    this.lockNode(node, 'channel-mixing', `Reshape '${node.name}' turns [${full.join(',')}] into [${out.join(',')}], which mixes channels with other axes`);
  }

  /**
   * ShuffleNet's channel shuffle, Reshape [N, g, C/g, …] → Transpose(1, 2) → Reshape [N, C, …]:
   * input channel i·(C/g) + j becomes output channel j·g + i. After pruning the first Reshape
   * needs the same count in each of the g blocks, and the output keeps the original order only
   * if every block keeps the same positions j, so position j of all blocks is one unit.
   */
  private channelShuffle(node: NodeProto, x: Slots, full: number[], mid: number[]): boolean {
    const sole = (t: string) => {
      const cs = this.model.consumers(t);
      return cs.length === 1 && cs[0]!.inputIndex === 0 && !this.model.outputNames.includes(t) ? cs[0]!.node : undefined;
    };
    const r = full.length;
    if (mid.length !== r + 1 || mid[0] !== full[0] || mid[1]! * mid[2]! !== x.count || mid[1]! < 1) return false;
    if (mid.slice(3).join(',') !== full.slice(2).join(',')) return false;
    const t = sole(node.output[0]!);
    const perm = t?.opType === 'Transpose' ? attrInts(t, 'perm') : undefined;
    if (!t || !perm || perm.join(',') !== [0, 2, 1, ...Array.from({ length: r - 2 }, (_, i) => i + 3)].join(',')) return false;
    const back = sole(t.output[0]!);
    if (!back || back.opType !== 'Reshape') return false;
    // The export rewrites both targets, so the second must be a constant too.
    const target = intValues(this.g.konst(back.input[1]));
    if (!target) return false;
    const swapped = [mid[0]!, mid[2]!, mid[1]!, ...mid.slice(3)];
    const out = this.g.shapes?.get(back.output[0]!) ?? reshapeDims(swapped, target, attrInt(back, 'allowzero', 0) === 1);
    if (!out || out.join(',') !== full.join(',')) return false;
    const [g, per] = [mid[1]!, mid[2]!];
    const y = this.g.alloc(back.output[0]!, x.count, r, 'derived', back.name, x.spatial);
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < per; j++) {
        this.g.unite(y, j * g + i, x, i * per + j);
        this.g.unite(x, i * per + j, x, j);
      }
    }
    this.handled.add(t.name);
    this.handled.add(back.name);
    return true;
  }

  private transpose(node: NodeProto): void {
    const x = this.slots(node.input[0])!;
    const perm = attrInts(node, 'perm') ?? Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i);
    if (perm[1] === 1) {
      this.pass(node, node.input[0]!, node.output[0], { spatial: 'unknown' });
      return;
    }
    const toLast = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
    if (x.rank > 2 && node.output[0] && perm.join(',') === toLast.join(',')) {
      // [N, C, …] → [N, …, C]: the channels stay whole on the last axis (ConvNeXt, Swin).
      this.g.uniteAll(x, this.g.alloc(node.output[0], x.count, x.rank, 'derived', node.name, undefined, x.rank - 1));
      return;
    }
    this.lockNode(node, 'channel-mixing', `Transpose '${node.name}' moves the channel axis (perm [${perm.join(',')}])`);
  }

  private squeeze(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const isSqueeze = node.opType === 'Squeeze';
    let axes = this.axesOf(node, 1);
    if (axes === null) return this.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has run-time axes`);
    if (!axes && isSqueeze) {
      const d = g.dims(X);
      if (!d || !known(d.slice(1))) return this.lockNode(node, 'unresolved', `Squeeze '${node.name}' without axes on a tensor of unknown shape`);
      axes = [];
      d!.forEach((v, i) => i > 0 && v === 1 && axes!.push(i));
    }
    const list = axes ?? [];
    const outRank = isSqueeze ? x.rank - list.length : x.rank + list.length;
    const norm = list.map((a) => normAxis(a, isSqueeze ? x.rank : outRank));
    if (norm.some((a) => a <= 1)) return this.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' changes the axes before the channel axis`);
    this.pass(node, X, node.output[0], { spatial: 'unknown', rank: outRank });
  }

  private resize(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const scalesName = node.opType === 'Upsample' ? node.input[1] : node.input[2];
    const sizesName = node.opType === 'Upsample' ? undefined : node.input[3];
    const axesAttr = attrInts(node, 'axes');
    const pos = axesAttr ? axesAttr.findIndex((a) => normAxis(a, x.rank) === 1) : 1;
    if (scalesName) {
      const k = g.konst(scalesName);
      if (!k) return this.lockNode(node, 'unresolved', `${node.opType} '${node.name}' has run-time scales`);
      const v = Array.from(k.data as ArrayLike<number>, Number);
      if (v.length > 0 && pos >= 0 && v[pos] !== 1) return this.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' scales the channel axis`);
    }
    if (sizesName) {
      const v = intValues(g.konst(sizesName));
      if (!v) return this.lockNode(node, 'unresolved', `Resize '${node.name}' has run-time output sizes`);
      if (v.length > 0 && pos >= 0 && v[pos] !== x.count) return this.lockNode(node, 'channel-mixing', `Resize '${node.name}' resizes the channel axis`);
    }
    this.pass(node, X, node.output[0], { spatial: 'unknown' });
  }

  private pad(node: NodeProto): void {
    const g = this.g;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const pads = attrInts(node, 'pads') ?? intValues(g.konst(node.input[1]));
    if (!pads) return this.lockNode(node, 'unresolved', `Pad '${node.name}' has run-time pads`);
    const axes = node.input[3] ? intValues(g.konst(node.input[3])) : Array.from({ length: x.rank }, (_, i) => i);
    if (!axes) return this.lockNode(node, 'unresolved', `Pad '${node.name}' has run-time axes`);
    const k = axes.findIndex((a) => normAxis(a, x.rank) === 1);
    if (k >= 0 && (pads[k] !== 0 || pads[k + axes.length] !== 0)) {
      return this.lockNode(node, 'channel-mixing', `Pad '${node.name}' pads the channel axis`);
    }
    this.pass(node, X, node.output[0], { spatial: 'unknown' });
  }

  /** Reading a shape is harmless when only batch or spatial entries are used. */
  private shape(node: NodeProto): void {
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const start = normAxis(attrInt(node, 'start', 0), x.rank);
    const end = attr(node, 'end') ? normAxis(attrInt(node, 'end', x.rank), x.rank) : x.rank;
    if (start > 1 || end <= 1) return;
    const chanIndex = 1 - start;
    const harmless = this.model.consumers(node.output[0]!).every(({ node: c, inputIndex }) => {
      if (inputIndex !== 0) return false;
      if (c.opType === 'Gather' && attrInt(c, 'axis', 0) === 0) {
        const idx = intValues(this.g.konst(c.input[1]));
        return !!idx && idx.every((i) => normAxis(i, end - start) !== chanIndex);
      }
      if (c.opType === 'Slice') {
        const s = intValues(this.g.konst(c.input[1]));
        const e = intValues(this.g.konst(c.input[2]));
        const st = c.input[4] ? intValues(this.g.konst(c.input[4])) : [1];
        if (!s || !e || !st || st[0] !== 1) return false;
        const r = sliceRange(s[0]!, e[0]!, 1, end - start);
        return !!r && (r.end <= chanIndex || r.start > chanIndex);
      }
      return false;
    });
    if (!harmless) {
      this.g.lockTensor(X, 'channel-mixing', `the channel count of '${X}' is read by Shape '${node.name}' and used in a way the analysis cannot follow`);
    }
  }

  /** Softmax, norms over axes, reductions: pass-through unless the channel (or batch) axis is involved. */
  private axisReduction(node: NodeProto): void {
    const op = node.opType;
    const X = node.input[0]!;
    const x = this.slots(X)!;
    const mixing = () => this.lockNode(node, 'channel-mixing', `${op} '${node.name}' works across the channel axis`);
    if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
      const legacy = this.opset < 13;
      const a = normAxis(attrInt(node, 'axis', legacy ? 1 : -1), x.rank);
      // Before opset 13 the op flattened every axis from `axis` on into one softmax.
      if (a <= 1) return mixing();
      this.pass(node, X, node.output[0]);
      return;
    }
    if (op === 'LpNormalization' || op === 'LayerNormalization') {
      const a = normAxis(attrInt(node, 'axis', -1), x.rank);
      if (a <= 1) return mixing();
      this.pass(node, X, node.output[0]);
      return;
    }
    if (op === 'MeanVarianceNormalization') {
      const axes = (attrInts(node, 'axes') ?? [0, 2, 3]).map((a) => normAxis(a, x.rank));
      if (axes.includes(1)) return mixing();
      this.pass(node, X, node.output[0]);
      return;
    }
    // Reduce*
    const axes = this.axesOf(node, 1);
    if (axes === null) return this.lockNode(node, 'unresolved', `${op} '${node.name}' has run-time axes`);
    const keep = attrInt(node, 'keepdims', 1) === 1;
    if (!axes || axes.length === 0) {
      if (attrInt(node, 'noop_with_empty_axes', 0) === 1) {
        this.pass(node, X, node.output[0]);
        return;
      }
      return mixing();
    }
    const norm = axes.map((a) => normAxis(a, x.rank));
    if (norm.includes(1) || (norm.includes(0) && !keep)) return mixing();
    this.pass(node, X, node.output[0], { spatial: 'unknown', rank: keep ? x.rank : x.rank - norm.length });
  }
  /**
   * Ops between a Transpose to channels-last and the Transpose back: channel-wise activations,
   * per-channel constants, Linear layers (MatMul with a constant [C, M] weight, contracting the
   * channel axis) and, when opted in, LayerNorm over the channels. Anything else locks.
   */
  private channelsLast(node: NodeProto): void {
    const g = this.g;
    const op = node.opType;
    // The channels-last operand, wherever it is: exporters write a Linear's bias as Add(bias, x).
    const X = node.input.find((i) => i && this.slots(i)?.axis !== undefined) ?? node.input[0]!;
    const x = this.slots(X);
    const Y = node.output[0];
    const lock = (why: string) => {
      // A same-layout output is born channels-last, so a Linear reading it still gets sources.
      const d = Y ? g.dims(Y) : undefined;
      if (x?.axis !== undefined && Y && d && d.length === x.rank && d[x.rank - 1]! > 0) g.alloc(Y, d[x.rank - 1]!, x.rank, 'locked', node.name, undefined, x.rank - 1);
      this.lockNode(node, 'channel-mixing', `${op} '${node.name}' ${why}`);
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
      g.markSource(y, this.index.get(node.name)!);
      this.param(node, node.input[1], 1, Y, 'MatMul.weight.out');
      this.param(node, node.input[1], 0, X, 'MatMul.weight.in');
      this.gate(X, node, 0);
      return;
    }
    if (op === 'LayerNormalization') {
      const a = normAxis(attrInt(node, 'axis', -1), r);
      if (a !== ax || node.output.slice(1).some((o) => o && this.model.consumers(o).length > 0)) return lock('normalises over more than the channel axis');
      if (!this.allowLayerNorm) return lock('normalises over the channel axis (allowLayerNormPruning prunes these channels; their statistics then change)');
      g.uniteAll(x, cl(Y, x.count, 'derived'));
      ['scale', 'bias'].forEach((role, k) => {
        const name = node.input[k + 1];
        if (name && g.konst(name)?.dims.length === 1) this.param(node, name, 0, Y, `LayerNormalization.${role}`);
        else if (name) g.lockTensor(Y, 'unresolved', `LayerNormalization '${node.name}' has a ${role} the analysis cannot slice`);
      });
      this.layerNorms.push(node);
      return;
    }
    if (op.startsWith('Reduce') && node.input[0] === X) {
      // A LayerNorm exported before opset 17 is ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt /
      // Div over the last axis: its statistics mix every channel, as LayerNormalization's do.
      const axes = this.axesOf(node, 1);
      if (axes && axes.length === 1 && normAxis(axes[0]!, r) === ax && attrInt(node, 'keepdims', 1) === 1) {
        return lock('reduces over the channel axis (a LayerNorm exported before opset 17 as ReduceMean … Div; re-export at opset ≥ 17 so that allowLayerNormPruning can prune these channels)');
      }
    }
    if (ELEMENTWISE.has(op) && op !== 'Where') {
      const y = cl(Y, x.count, 'derived');
      for (const name of node.input) {
        const s = this.slots(name);
        const k = g.konst(name);
        const last = k?.dims[k.dims.length - 1];
        if (s && s.axis === ax && s.rank === r && s.count === x.count) g.uniteAll(s, y);
        else if (k && k.dims.length <= r && k.dims.slice(0, -1).every((d) => d === 1) && (last === undefined || last === 1 || last === x.count)) {
          if (last === x.count && x.count > 1) this.param(node, name, k.dims.length - 1, Y, `${op}.constant`);
        } else g.lockRange(y, 0, y.count, 'channel-mixing', `${op} '${node.name}' combines channels-last '${X}' with '${name}', which the analysis cannot align`);
      }
      return;
    }
    lock('reads a channels-last tensor the analysis cannot follow');
  }
}

/** Clamped [start, end) of a unit-step slice over `dim` entries, per the ONNX Slice rules; undefined for other steps. */
export function sliceRange(start: number, end: number, step: number, dim: number): { start: number; end: number } | undefined {
  if (step !== 1) return undefined;
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  s = Math.min(Math.max(s, 0), dim);
  e = Math.min(Math.max(e, 0), dim);
  return { start: s, end: Math.max(s, e) };
}

function inferSpatial(inDims: number[], x: Slots, sp: number): number[] {
  const d = inDims.slice(2);
  if (d.length === x.rank - 2 && d.every((v) => v >= 0)) return d;
  if (x.spatial && x.spatial.every((v) => v >= 0)) return x.spatial;
  // Only the product is known: one merged spatial axis is enough for the checks that follow.
  return [sp, ...new Array<number>(Math.max(0, x.rank - 3)).fill(1)];
}

/** Output dims of Reshape(input dims, target) with the 0 (copy) and -1 (infer) conventions. */
export function reshapeDims(input: number[], target: number[], allowZero: boolean): number[] | undefined {
  const total = prod(input);
  const out = target.map((t, i) => (t === 0 && !allowZero ? input[i]! : t));
  const unknown = out.filter((t) => t === -1).length;
  if (unknown > 1 || out.some((t) => t < -1 || t === undefined)) return undefined;
  if (unknown === 1) {
    const rest = prod(out.filter((t) => t !== -1));
    if (rest === 0 || total % rest !== 0) return undefined;
    out[out.indexOf(-1)] = total / rest;
  }
  return prod(out) === total ? out : undefined;
}


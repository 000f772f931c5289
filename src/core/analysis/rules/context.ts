// The moves every channel rule is built from, over one ChannelGraph: allocate and join slots,
// lock, record constant slices and gates.
import type { NodeProto } from 'onnx-buf';
import { attrInts, type OnnxModel } from '../../onnx';
import { ChannelGraph, type Lock, type Slots } from '../channelGraph';
import type { LockReason, ShapeMap } from '../types';
import { intValues, known, prod } from './shapeMath';
import type { AnalysisContext, LayerNormUse } from './types';
import { WEIGHT_OPS } from './weights';

export class RuleContext implements AnalysisContext {
  readonly g: ChannelGraph;
  readonly opset: number;
  readonly layerNorms: LayerNormUse[] = [];
  private readonly position = new Map<string, number>();
  private readonly handled = new Set<string>();

  constructor(
    readonly model: OnnxModel,
    shapes: ShapeMap | undefined,
    order: readonly NodeProto[],
    readonly allowLayerNorm: boolean,
  ) {
    this.g = new ChannelGraph(model, shapes);
    order.forEach((n, i) => this.position.set(n.name, i));
    this.opset = model.opset;
  }

  index(node: NodeProto): number {
    return this.position.get(node.name)!;
  }

  markHandled(node: NodeProto): void {
    this.handled.add(node.name);
  }

  isHandled(node: NodeProto): boolean {
    return this.handled.has(node.name);
  }

  slots(name: string | undefined): Slots | undefined {
    return name ? this.g.slots.get(name) : undefined;
  }

  need(name: string, count: number | undefined, rank: number | undefined): Slots | undefined {
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

  lockNode(node: NodeProto, reason: LockReason, detail: string): void {
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

  pass(node: NodeProto, from: string, to: string | undefined, opts: { spatial?: number[] | 'unknown'; rank?: number } = {}): Slots | undefined {
    const x = this.slots(from);
    if (!x || !to) return undefined;
    const rank = opts.rank ?? x.rank;
    const spatial = opts.spatial === 'unknown' ? undefined : (opts.spatial ?? (rank === x.rank ? x.spatial : undefined));
    const y = this.g.alloc(to, x.count, rank, 'derived', node.name, spatial);
    this.g.uniteAll(x, y);
    return y;
  }

  param(node: NodeProto, init: string | undefined, axis: number, tensor: string, role: string, block = 1): void {
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

  /** A Flatten that only feeds weight ops is gated before it (same channels, one gate per map). */
  gate(tensor: string, node: NodeProto, inputIndex: number): void {
    const flat = this.g.flatten.get(tensor);
    const p = this.model.producer(tensor);
    if (flat && p && this.model.consumers(tensor).every((c) => WEIGHT_OPS.has(c.node.opType) && c.inputIndex === 0) && !this.model.outputNames.includes(tensor)) {
      this.g.addGate(flat.src, p.name, 0);
      return;
    }
    this.g.addGate(tensor, node.name, inputIndex);
  }

  spatialProduct(tensor: string): number | undefined {
    const s = this.slots(tensor);
    if (!s) return undefined;
    if (s.rank === 2) return 1;
    const d = this.g.shapes?.get(tensor);
    if (known(d) && d.length === s.rank) return prod(d.slice(2));
    if (s.spatial && s.spatial.length === s.rank - 2 && s.spatial.every((v) => v >= 0)) return prod(s.spatial);
    return undefined;
  }

  axesOf(node: NodeProto, inputIndex: number): number[] | undefined | null {
    const a = attrInts(node, 'axes');
    if (a) return a;
    const name = node.input[inputIndex];
    if (!name) return undefined;
    const k = this.g.konst(name);
    return k ? intValues(k)! : null;
  }
}

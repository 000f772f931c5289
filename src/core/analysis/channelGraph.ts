// Bookkeeping for the dependency analysis: one union-find element per (tensor, channel), with the
// node that sources each channel and the reasons that lock it. The op rules in rules/*.ts
// only call the methods here.
import type { OnnxModel, TensorData } from '../onnx';
import { UnionFind } from './unionFind';
import type { GatePoint, LockReason, ShapeMap } from './types';

export interface Slots {
  tensor: string;
  /** Id of channel 0 in the union-find. */
  base: number;
  count: number;
  rank: number;
  /** Spatial dims (axes 2..) when known, else undefined. */
  spatial?: number[];
  /** How the channels came to be: produced by a weight op, a graph input, locked at birth, or derived from inputs. */
  origin: 'source' | 'input' | 'locked' | 'derived';
  /** Node (or graph input) named in reports for origin tensors. */
  originName: string;
  /**
   * Channel axis when it is not 1: the last axis of a channels-last tensor between a Transpose to
   * [N, …, C] and the Transpose back (ConvNeXt's LayerNorm/Linear blocks). Only the rules for
   * channels-last tensors read such slots; every other op locks them.
   */
  axis?: number;
}

export interface Lock {
  reason: LockReason;
  detail: string;
}

/** A constant slice recorded during the walk; variables are filled in once components are final. */
export interface PendingSlice {
  initializer: string;
  axis: number;
  tensor: string;
  block: number;
  node: string;
  role: string;
}

/** Which lock wins when a component holds several: the one most useful to a user. */
const LOCK_PRIORITY: Record<LockReason, number> = {
  'graph-output': 6,
  'unknown-op': 5,
  'channel-mixing': 4,
  'grouped-conv': 3,
  unresolved: 2,
  'graph-input': 1,
};

export function lockPriority(r: LockReason): number {
  return LOCK_PRIORITY[r];
}

export class ChannelGraph {
  readonly uf = new UnionFind();
  /** Per element: topological index of the node sourcing it, or -1. */
  readonly source: number[] = [];
  /** Per element: id into `locks` of the strongest lock on it, or -1. */
  readonly lockOf: number[] = [];
  readonly locks: Lock[] = [];
  readonly slots = new Map<string, Slots>();
  readonly pending: PendingSlice[] = [];
  readonly gates: GatePoint[] = [];
  private gateKeys = new Set<string>();
  /** Flattened feature tensors: feature f comes from channel floor(f / block) of `src`. */
  readonly flatten = new Map<string, { src: string; block: number }>();
  /** Lock applied to a node's outputs, so later readers of those outputs inherit the reason. */
  readonly nodeLocks = new Map<string, Lock>();
  private valueDims = new Map<string, number[]>();

  constructor(
    readonly model: OnnxModel,
    readonly shapes?: ShapeMap,
  ) {
    const g = model.graph;
    for (const v of [...g.input, ...g.valueInfo, ...g.output]) {
      const t = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
      if (!t?.shape) continue;
      this.valueDims.set(
        v.name,
        t.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1)),
      );
    }
  }

  konst(name: string | undefined): TensorData | undefined {
    return name ? this.model.constant(name) : undefined;
  }

  /** Best knowledge of a tensor's dims; -1 for unknown entries. */
  dims(name: string): number[] | undefined {
    const s = this.shapes?.get(name);
    if (s) return s;
    const k = this.konst(name);
    if (k) return k.dims;
    const v = this.valueDims.get(name);
    if (v) return v;
    const slots = this.slots.get(name);
    if (slots) {
      const d = [-1, slots.count];
      for (let i = 2; i < slots.rank; i++) d.push(slots.spatial?.[i - 2] ?? -1);
      return d;
    }
    return undefined;
  }

  alloc(tensor: string, count: number, rank: number, origin: Slots['origin'], originName: string, spatial?: number[], axis?: number): Slots {
    const existing = this.slots.get(tensor);
    if (existing) return existing;
    const base = this.uf.add(count);
    for (let i = 0; i < count; i++) {
      this.source.push(-1);
      this.lockOf.push(-1);
    }
    const known = this.shapes?.get(tensor);
    const s: Slots = axis === undefined
      ? { tensor, base, count, rank, origin, originName, spatial: known && known.length === rank ? known.slice(2) : spatial }
      : { tensor, base, count, rank, origin, originName, axis };
    this.slots.set(tensor, s);
    if (known && (known.length !== rank || known[axis ?? 1] !== count)) {
      this.lockRange(s, 0, count, 'unresolved', `the analysis expected '${tensor}' to have ${count} channels (rank ${rank}) but its shape is [${known.join(',')}]`);
    }
    return s;
  }

  markSource(s: Slots, nodeIndex: number): void {
    for (let i = 0; i < s.count; i++) this.source[s.base + i] = nodeIndex;
  }

  lockRange(s: Slots, from: number, n: number, reason: LockReason, detail: string): void {
    if (n <= 0) return;
    const id = this.locks.push({ reason, detail }) - 1;
    for (let i = from; i < from + n; i++) {
      const cur = this.lockOf[s.base + i]!;
      if (cur < 0 || lockPriority(this.locks[cur]!.reason) < lockPriority(reason)) this.lockOf[s.base + i] = id;
    }
  }

  lockTensor(tensor: string, reason: LockReason, detail: string): void {
    const s = this.slots.get(tensor);
    if (s) this.lockRange(s, 0, s.count, reason, detail);
  }

  unite(a: Slots, ca: number, b: Slots, cb: number): void {
    this.uf.union(a.base + ca, b.base + cb);
  }

  /** Output channel c ↔ input channel c. */
  uniteAll(a: Slots, b: Slots): void {
    const n = Math.min(a.count, b.count);
    for (let c = 0; c < n; c++) this.uf.union(a.base + c, b.base + c);
  }

  addGate(tensor: string, node: string, inputIndex: number): void {
    const key = `${tensor}\u0000${node}\u0000${inputIndex}`;
    if (this.gateKeys.has(key)) return;
    this.gateKeys.add(key);
    this.gates.push({ tensor, node, inputIndex });
  }
}

// Which constants a pruned model holds and how each is sliced. Shared by the physical export and
// the cost prediction so the two can never disagree.
import type { OnnxModel } from '../onnx';
import type { DependencyAnalysis, ParamSlice } from '../analysis/types';
import { PruneError } from './errors';

export interface AxisSlice {
  axis: number;
  block: number;
  variable: Int32Array;
}

export interface SliceItem {
  /** Constant read from the original model (initializer or Constant node output). */
  source: string;
  /** Initializer written into the pruned model. */
  target: string;
  /** Nodes whose inputs switch from `source` to `target` (empty when sliced in place). */
  rewire: string[];
  slices: AxisSlice[];
}

function sameSlice(a: ParamSlice | AxisSlice, b: ParamSlice | AxisSlice): boolean {
  if (a.axis !== b.axis || a.block !== b.block || a.variable.length !== b.variable.length) return false;
  for (let i = 0; i < a.variable.length; i++) if (a.variable[i] !== b.variable[i]) return false;
  return true;
}

function mergeSlices(list: ParamSlice[], what: string): AxisSlice[] {
  const out: AxisSlice[] = [];
  for (const p of list) {
    const same = out.find((s) => s.axis === p.axis);
    if (!same) out.push({ axis: p.axis, block: p.block, variable: p.variable });
    else if (!sameSlice(same, p)) throw new PruneError('invalid-export', `${what} is sliced two different ways on axis ${p.axis}`);
  }
  return out.sort((a, b) => a.axis - b.axis);
}

/**
 * An initializer used only by nodes that all slice it the same way is sliced in place. Anything
 * else (a Constant node's value, a weight shared with an untouched node or sliced differently by
 * two nodes) gets one sliced copy per distinct slicing, so no other user sees a changed tensor.
 */
export function planSlices(model: OnnxModel, deps: DependencyAnalysis): SliceItem[] {
  const byInit = new Map<string, ParamSlice[]>();
  for (const p of deps.params) {
    let l = byInit.get(p.initializer);
    if (!l) byInit.set(p.initializer, (l = []));
    l.push(p);
  }
  const used = new Set<string>();
  for (const n of model.nodes) for (const i of n.input) used.add(i);
  for (const o of model.outputNames) used.add(o);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; used.has(name) || model.isInitializer(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const items: SliceItem[] = [];
  for (const [init, list] of byInit) {
    const sliceNodes = new Set(list.map((p) => p.node));
    const users = new Set(model.consumers(init).map((c) => c.node.name));
    const onlySlicers = [...users].every((u) => sliceNodes.has(u)) && !model.outputNames.includes(init);
    let consistent = true;
    try {
      mergeSlices(list, `constant '${init}'`);
    } catch {
      consistent = false;
    }
    if (model.isInitializer(init) && onlySlicers && consistent) {
      items.push({ source: init, target: init, rewire: [], slices: mergeSlices(list, `constant '${init}'`) });
      continue;
    }
    // Copy on write, one copy per distinct slicing: exporters deduplicate equal tensors (PyTorch
    // shares one all-zero bias among many Convs), and nodes whose channels are cut alike keep
    // sharing their copy, so the pruned file does not grow by a tensor per node.
    const copies: SliceItem[] = [];
    for (const node of sliceNodes) {
      const own = list.filter((p) => p.node === node);
      const slices = mergeSlices(own, `constant '${init}' in node '${node}'`);
      const same = copies.find((c) => c.slices.length === slices.length && c.slices.every((s, i) => sameSlice(s, slices[i]!)));
      if (same) same.rewire.push(node);
      else copies.push({ source: init, target: fresh(`${init}__pruned_${node.replace(/[^A-Za-z0-9_.]/g, '_')}`), rewire: [node], slices });
    }
    items.push(...copies);
  }
  return items;
}

/** Indices kept along an axis of `length` entries. */
export function keptIndices(s: AxisSlice, length: number, keep: Uint8Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const v = s.variable[Math.floor(i / s.block)]!;
    if (v < 0 || keep[v]) out.push(i);
  }
  return Int32Array.from(out);
}

/** Number of channels of a channel map that survive `keep`. */
export function keptCount(variable: Int32Array, keep: Uint8Array): number {
  let n = 0;
  for (const v of variable) if (v < 0 || keep[v]) n++;
  return n;
}

/** Dims after slicing. */
export function slicedDims(dims: readonly number[], slices: AxisSlice[], keep: Uint8Array): number[] {
  const out = dims.slice();
  for (const s of slices) out[s.axis] = keptIndices(s, dims[s.axis]!, keep).length;
  return out;
}

type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;

/** Copies the entries whose index along `axis` is in `idx`. */
export function sliceAxis<A extends TypedArray>(data: A, dims: readonly number[], axis: number, idx: Int32Array): A {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i]!;
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  const len = dims[axis]!;
  const Ctor = data.constructor as new (n: number) => A;
  const out = new Ctor(outer * idx.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of idx) {
      const start = (o * len + k) * inner;
      (out as unknown as { set(a: ArrayLike<unknown>, offset: number): void }).set(data.subarray(start, start + inner) as ArrayLike<unknown>, at);
      at += inner;
    }
  }
  return out;
}

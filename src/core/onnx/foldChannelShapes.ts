// Shape-aware folding of channel counts read at run time (issue 14, ShuffleNetV2). PyTorch exports
// `x.chunk(2, dim=1)` and `x.view(n, g, c // g, h, w)` with dynamic H and W as
// Shape(x) → Gather(1) → Div/Mul/Add → Cast → Unsqueeze → Slice bounds or Concat → Reshape target,
// so the channel split looks like a run-time value and its channels were locked. The channel count
// is fixed by the weights, so once shape inference has it, those chains are constants: they become
// initializers here and the analysis (and the export, which rewrites them) sees plain numbers.
// Batch and spatial entries of the same shapes stay symbolic: the model keeps accepting any input
// size it accepted before, and computes exactly what it did.
import type { NodeProto } from 'onnx-buf';
import { makeValueInfo } from './builders';
import { attr, attrInt, attrInts, type OnnxModel } from './model';
import { DataType, type NumericArray } from './tensor';

export interface ChannelShapeFoldSummary {
  /** Nodes replaced by the constants they computed. */
  nodesFolded: number;
  /** Shape nodes left without a consumer and removed. */
  shapesRemoved: number;
}

/** A small numeric tensor evaluated here. Values are plain numbers: these are counts and indices. */
interface Value {
  dims: number[];
  vals: number[];
  dataType: number;
}

/** The shape vector of a feature map of which only the channel entry is treated as known. */
interface ShapeVector {
  length: number;
  /** Position of the channel dim in the vector, or -1 when the vector does not include it. */
  channelAt: number;
  channels: number;
}

const FOLDABLE_TYPES = new Set<number>([DataType.FLOAT, DataType.INT32, DataType.INT64, DataType.DOUBLE]);

function numbers(data: ArrayLike<number | bigint>): number[] {
  return Array.from(data, (v) => Number(v));
}

/** Rounds to what a tensor of this type can hold: integer types truncate, as Cast and integer Div do. */
function coerce(v: number, dataType: number): number {
  if (dataType === DataType.INT32 || dataType === DataType.INT64) return Math.trunc(v);
  if (dataType === DataType.FLOAT) return Math.fround(v);
  return v;
}

function store(vals: number[], dataType: number): NumericArray {
  switch (dataType) {
    case DataType.INT64:
      return BigInt64Array.from(vals.map((v) => BigInt(v)));
    case DataType.INT32:
      return Int32Array.from(vals);
    case DataType.DOUBLE:
      return Float64Array.from(vals);
    default:
      return Float32Array.from(vals);
  }
}

function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** NumPy broadcasting, limited to what shape arithmetic needs: equal shapes or one single value. */
function broadcast(a: Value, b: Value, f: (x: number, y: number) => number): Value | undefined {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (da[i] !== db[i] && da[i] !== 1 && db[i] !== 1) return undefined;
    dims.push(Math.max(da[i]!, db[i]!));
  }
  const n = size(dims);
  const at = (v: Value, i: number) => (v.vals.length === 1 ? v.vals[0]! : v.vals.length === n ? v.vals[i] : undefined);
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = at(a, i);
    const y = at(b, i);
    if (x === undefined || y === undefined) return undefined;
    vals.push(coerce(f(x, y), a.dataType));
  }
  return { dims, vals, dataType: a.dataType };
}

function axesOf(node: NodeProto, read: (name: string) => Value | undefined): number[] | undefined {
  const a = attrInts(node, 'axes');
  if (a) return a;
  const name = node.input[1];
  return name ? read(name)?.vals : undefined;
}

/** The value of one node from constant inputs, for the ops shape arithmetic is made of. */
function evaluate(node: NodeProto, read: (name: string) => Value | undefined): Value | undefined {
  const ins = node.input.map((i) => (i ? read(i) : undefined));
  const [a, b] = ins;
  if (!a) return undefined;
  switch (node.opType) {
    case 'Identity':
      return a;
    case 'Add':
      return b && broadcast(a, b, (x, y) => x + y);
    case 'Sub':
      return b && broadcast(a, b, (x, y) => x - y);
    case 'Mul':
      return b && broadcast(a, b, (x, y) => x * y);
    case 'Div':
      if (!b || b.vals.some((v) => v === 0)) return undefined;
      return broadcast(a, b, (x, y) => x / y);
    case 'Cast': {
      const to = attrInt(node, 'to', 0);
      if (!FOLDABLE_TYPES.has(to)) return undefined;
      return { dims: a.dims, vals: a.vals.map((v) => coerce(v, to)), dataType: to };
    }
    case 'Unsqueeze': {
      const axes = axesOf(node, read);
      if (!axes) return undefined;
      const rank = a.dims.length + axes.length;
      const norm = new Set(axes.map((x) => (x < 0 ? x + rank : x)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) dims.push(norm.has(i) ? 1 : a.dims[k++]!);
      return k === a.dims.length ? { ...a, dims } : undefined;
    }
    case 'Squeeze': {
      const axes = axesOf(node, read);
      const rank = a.dims.length;
      const norm = new Set((axes ?? a.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((x) => (x < 0 ? x + rank : x)));
      if ([...norm].some((i) => a.dims[i] !== 1)) return undefined;
      return { ...a, dims: a.dims.filter((_, i) => !norm.has(i)) };
    }
    case 'Concat': {
      if (ins.some((v) => !v || v.dims.length !== 1 || v.dataType !== a.dataType)) return undefined;
      const vals = ins.flatMap((v) => v!.vals);
      return { dims: [vals.length], vals, dataType: a.dataType };
    }
    default:
      return undefined;
  }
}

/** Gather(axis 0) or Slice of a shape vector that picks the channel entry alone: the channel count. */
function readChannelEntry(node: NodeProto, vec: ShapeVector, read: (name: string) => Value | undefined): Value | undefined {
  if (vec.channelAt < 0) return undefined;
  const norm = (i: number) => (i < 0 ? i + vec.length : i);
  if (node.opType === 'Gather' && attrInt(node, 'axis', 0) === 0) {
    const idx = read(node.input[1] ?? '');
    if (!idx || idx.vals.length === 0 || !idx.vals.every((i) => norm(i) === vec.channelAt)) return undefined;
    return { dims: idx.dims, vals: idx.vals.map(() => vec.channels), dataType: DataType.INT64 };
  }
  if (node.opType === 'Slice' && node.input.length >= 3) {
    const starts = read(node.input[1]!)?.vals;
    const ends = read(node.input[2]!)?.vals;
    const steps = node.input[4] ? read(node.input[4])?.vals : [1];
    if (!starts || !ends || !steps || starts.length !== 1 || steps[0] !== 1) return undefined;
    const clamp = (i: number) => Math.min(Math.max(norm(i), 0), vec.length);
    if (clamp(starts[0]!) !== vec.channelAt || clamp(ends[0]!) !== vec.channelAt + 1) return undefined;
    return { dims: [1], vals: [vec.channels], dataType: DataType.INT64 };
  }
  return undefined;
}

/** Names read by nodes of nested graphs (If/Loop bodies may use outer tensors). */
function subgraphInputs(nodes: readonly NodeProto[], into: Set<string>): void {
  for (const n of nodes) {
    for (const a of n.attribute) {
      for (const sg of a.g ? [a.g, ...a.graphs] : a.graphs) {
        for (const inner of sg.node) for (const i of inner.input) into.add(i);
        subgraphInputs(sg.node, into);
      }
    }
  }
}

/**
 * Folds, in place, every computation that starts from the channel entry of a feature map's shape
 * and continues through constant arithmetic (Gather/Slice of Shape, Add, Sub, Mul, Div, Cast,
 * Unsqueeze, Squeeze, Concat of constants, Identity). `shapes` gives each tensor's dims at one
 * concrete input; only channel entries (axis 1 of a tensor of rank ≥ 2) are taken from it.
 */
export function foldChannelShapes(model: OnnxModel, shapes: ReadonlyMap<string, readonly number[]>): ChannelShapeFoldSummary {
  const graph = model.graph;
  const outputs = new Set(model.outputNames);
  const vectors = new Map<string, ShapeVector>();
  const folded = new Map<string, Value>();
  const dropped = new Set<NodeProto>();
  const read = (name: string): Value | undefined => {
    const f = folded.get(name);
    if (f) return f;
    const t = model.constant(name);
    if (!t || !FOLDABLE_TYPES.has(t.dataType) || t.data.length > 64) return undefined;
    return { dims: t.dims.slice(), vals: numbers(t.data as ArrayLike<number | bigint>), dataType: t.dataType };
  };
  for (const node of graph.node) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const out = node.output[0];
    if (!out || node.output.length !== 1 || outputs.has(out)) continue;
    if (node.opType === 'Shape') {
      const d = shapes.get(node.input[0] ?? '');
      if (!d || d.length < 2 || !(d[1]! > 0)) continue;
      const start = attr(node, 'start') ? attrInt(node, 'start', 0) : 0;
      const end = attr(node, 'end') ? attrInt(node, 'end', d.length) : d.length;
      const [s, e] = [start, end].map((v) => Math.min(Math.max(v < 0 ? v + d.length : v, 0), d.length)) as [number, number];
      vectors.set(out, { length: Math.max(0, e - s), channelAt: s <= 1 && e > 1 ? 1 - s : -1, channels: d[1]! });
      continue;
    }
    const vec = vectors.get(node.input[0] ?? '');
    let value: Value | undefined;
    if (vec) value = readChannelEntry(node, vec, read);
    else if (node.input.some((i) => folded.has(i)) && node.input.every((i) => !i || read(i))) value = evaluate(node, read);
    if (!value) continue;
    folded.set(out, value);
    dropped.add(node);
  }
  if (dropped.size === 0) return { nodesFolded: 0, shapesRemoved: 0 };
  graph.node = graph.node.filter((n) => !dropped.has(n));
  const used = new Set<string>(outputs);
  for (const n of graph.node) for (const i of n.input) used.add(i);
  subgraphInputs(graph.node, used);
  // Shape nodes whose every reader folded compute nothing any more.
  const deadShapes = graph.node.filter((n) => n.opType === 'Shape' && vectors.has(n.output[0]!) && !used.has(n.output[0]!));
  graph.node = graph.node.filter((n) => !deadShapes.includes(n));
  const declareAsInput = model.proto.irVersion < 4n;
  for (const [name, v] of folded) {
    if (!used.has(name)) continue;
    model.setInitializer(name, v.dims, store(v.vals, v.dataType), v.dataType);
    if (declareAsInput) graph.input.push(makeValueInfo(name, v.dims, v.dataType));
  }
  model.invalidate();
  return { nodesFolded: dropped.size, shapesRemoved: deadShapes.length };
}

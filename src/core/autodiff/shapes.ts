// Symbolic shape inference, just precise enough for the backward rules: ranks, and per axis
// whether a dim is 1. A dim is a number, a symbolic expression (a string, assumed ≠ 1: graph
// inputs' dim_params and whatever is derived from them), or null (unknown). Rules that need
// more than that compute sizes at run time with Shape ops.
import type { NodeProto } from 'onnx-buf';
import { attr, attrInt, attrInts, valueInfoDims, type OnnxModel } from '../onnx';
import { topoOrder } from '../onnx/graph';

export type Dim = number | string | null;

export class ShapeInfo {
  private map = new Map<string, Dim[]>();

  get(tensor: string): Dim[] | undefined {
    return this.map.get(tensor);
  }

  set(tensor: string, dims: Dim[] | undefined): void {
    if (dims) this.map.set(tensor, dims);
  }

  rank(tensor: string): number | undefined {
    return this.map.get(tensor)?.length;
  }

  /** All dims as numbers, or undefined when any is symbolic or unknown. */
  numeric(tensor: string): number[] | undefined {
    const d = this.map.get(tensor);
    return d && d.every((x) => typeof x === 'number') ? (d as number[]) : undefined;
  }
}

/** Integer values of a constant tensor (initializer or Constant output). */
export function constInts(model: OnnxModel, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const c = model.constant(name);
  if (!c) return undefined;
  if (c.data instanceof BigInt64Array) return Array.from(c.data, (v) => Number(v));
  if (c.data instanceof Int32Array) return Array.from(c.data);
  return undefined;
}

export function constFloats(model: OnnxModel, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const c = model.constant(name);
  if (!c) return undefined;
  if (c.data instanceof Float32Array || c.data instanceof Float64Array) return Array.from(c.data);
  return undefined;
}

const BIG = 2 ** 53;

function prod(ds: Dim[]): Dim {
  if (ds.some((d) => d === null)) return null;
  const nums = ds.filter((d): d is number => typeof d === 'number');
  const syms = ds.filter((d): d is string => typeof d === 'string');
  const n = nums.reduce((a, b) => a * b, 1);
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  const parts = n === 1 ? syms : [...syms, String(n)];
  return parts.length === 1 ? parts[0]! : `(${parts.join('*')})`;
}

function sum(ds: Dim[]): Dim {
  if (ds.some((d) => d === null)) return null;
  const n = ds.filter((d): d is number => typeof d === 'number').reduce((a, b) => a + b, 0);
  const syms = ds.filter((d): d is string => typeof d === 'string');
  if (syms.length === 0) return n;
  const parts = n === 0 ? syms : [...syms, String(n)];
  return parts.length === 1 ? parts[0]! : `(${parts.join('+')})`;
}

function broadcast(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const r = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    let d: Dim | undefined;
    for (const s of shapes) {
      const k = i - (r - s!.length);
      if (k < 0) continue;
      const x = s![k]!;
      if (d === undefined || d === 1) d = x;
      else if (x === 1) continue;
      else if (d === null) d = x;
      else if (typeof d === 'string' && typeof x === 'number') d = x;
    }
    out.push(d === undefined ? 1 : d); // null (unknown) stays unknown: `?? 1` would turn it into 1
  }
  return out;
}

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
}

export function windowAttrs(node: NodeProto, spatial: number, kernelFromWeight?: number[]): Window {
  const kernel = attrInts(node, 'kernel_shape') ?? kernelFromWeight ?? [];
  const a = attr(node, 'auto_pad');
  return {
    kernel,
    strides: attrInts(node, 'strides') ?? new Array(spatial).fill(1),
    dilations: attrInts(node, 'dilations') ?? new Array(spatial).fill(1),
    pads: attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0),
    autoPad: a ? new TextDecoder().decode(a.s) : 'NOTSET',
  };
}

function convDim(d: Dim, k: number, s: number, dil: number, pb: number, pe: number, ceil: boolean, autoPad: string): Dim {
  if (d === null) return null;
  const ext = dil * (k - 1) + 1;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (typeof d === 'number') return Math.ceil(d / s);
    return s === 1 ? d : `ceil(${d}/${s})`;
  }
  if (autoPad === 'VALID') pb = pe = 0;
  if (typeof d === 'number') {
    const v = (d + pb + pe - ext) / s;
    return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
  }
  if (s === 1 && pb + pe === ext - 1) return d;
  return `conv(${d};${pb + pe - ext + 1};${s}${ceil ? ';ceil' : ''})`;
}

function convTDim(d: Dim, k: number, s: number, dil: number, pb: number, pe: number, op: number): Dim {
  if (d === null) return null;
  if (typeof d === 'number') return s * (d - 1) + op + dil * (k - 1) + 1 - pb - pe;
  const add = op + dil * (k - 1) + 1 - pb - pe - s;
  if (s === 1 && add === 0) return d;
  return `convT(${d};${s};${add})`;
}

function normAxis(a: number, r: number): number {
  return a < 0 ? a + r : a;
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (typeof d === 'number') {
    const clampS = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) {
      s = clampS(s, 0, d);
      e = clampS(e, 0, d);
      return Math.max(0, Math.ceil((e - s) / step));
    }
    s = clampS(s, -1, d - 1);
    e = clampS(e, -1, d - 1);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (d === null) return null;
  if (start === 0 && end >= BIG && step === 1) return d;
  return `slice(${d};${start};${Math.min(end, BIG)};${step})`;
}

/** Reduce axes of a ReduceXxx node, from the attribute or the (constant) second input. */
export function reduceAxes(model: OnnxModel, node: NodeProto): number[] | undefined | 'dynamic' {
  const fromAttr = attrInts(node, 'axes');
  if (fromAttr) return fromAttr;
  const inp = node.input[1];
  if (!inp) return undefined;
  return constInts(model, inp) ?? 'dynamic';
}

export function inferSymbolicShapes(model: OnnxModel, overrides: Record<string, Dim[]> = {}): ShapeInfo {
  const info = new ShapeInfo();
  const toDims = (d: (number | string)[] | undefined): Dim[] | undefined => d?.map((x) => (x === '?' || x === '' ? null : x));
  for (const v of model.graph.input) info.set(v.name, toDims(valueInfoDims(v)));
  for (const t of model.graph.initializer) info.set(t.name, t.dims.map((d) => Number(d)));
  for (const [k, v] of Object.entries(overrides)) info.set(k, v);
  const hints = new Map<string, Dim[]>();
  for (const v of model.graph.valueInfo) {
    const d = toDims(valueInfoDims(v));
    if (d) hints.set(v.name, d);
  }
  for (const node of topoOrder(model.nodes, { onCycle: 'throw' })) {
    let outs: (Dim[] | undefined)[] = [];
    try {
      outs = inferNode(model, info, node);
    } catch {
      outs = [];
    }
    node.output.forEach((o, i) => {
      if (!o) return;
      let d = outs[i];
      const h = hints.get(o);
      if (h && (!d || (d.length === h.length && d.some((x) => x === null)))) d = d ? d.map((x, k) => (x === null ? h[k]! : x)) : h;
      info.set(o, d);
    });
  }
  return info;
}

function inferNode(model: OnnxModel, info: ShapeInfo, node: NodeProto): (Dim[] | undefined)[] {
  const S = (i: number) => (node.input[i] ? info.get(node.input[i]!) : undefined);
  const x = S(0);
  const opset = model.opset;
  switch (node.opType) {
    case 'Relu': case 'LeakyRelu': case 'PRelu': case 'Sigmoid': case 'HardSigmoid': case 'HardSwish': case 'Tanh':
    case 'Clip': case 'Elu': case 'Selu': case 'Celu': case 'Gelu': case 'Erf': case 'Sqrt': case 'Softplus': case 'Softsign':
    case 'Neg': case 'Exp': case 'Log': case 'Abs': case 'Reciprocal': case 'Identity': case 'Cast': case 'CastLike':
    case 'Softmax': case 'LogSoftmax': case 'Hardmax': case 'InstanceNormalization': case 'LRN': case 'Sign': case 'Floor':
    case 'Ceil': case 'Round': case 'Not': case 'Mish': case 'ThresholdedRelu': case 'Sin': case 'Cos': case 'IsNaN':
    case 'LayerNormalization': case 'BatchNormalization': case 'Dropout':
      return [x, x, x];
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Sum': case 'Mean':
    case 'Where': case 'Equal': case 'Less': case 'Greater': case 'LessOrEqual': case 'GreaterOrEqual': case 'And':
    case 'Or': case 'Xor': case 'Mod':
      return [broadcast(node.input.filter((n) => n).map((n) => info.get(n)))];
    case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': case 'LpPool': {
      if (!x) return [];
      const sp = x.length - 2;
      const w = node.opType.startsWith('Conv') ? S(1) : undefined;
      const kw = w ? w.slice(2).map((d) => (typeof d === 'number' ? d : NaN)) : undefined;
      const win = windowAttrs(node, sp, kw);
      const out: Dim[] = [x[0]!];
      if (node.opType === 'Conv') out.push(w ? w[0]! : null);
      else if (node.opType === 'ConvTranspose') {
        const g = attrInt(node, 'group', 1);
        out.push(w && typeof w[1] === 'number' ? w[1] * g : null);
      } else out.push(x[1]!);
      const outShape = attrInts(node, 'output_shape');
      const opad = attrInts(node, 'output_padding') ?? new Array(sp).fill(0);
      const ceil = attrInt(node, 'ceil_mode', 0) === 1;
      for (let i = 0; i < sp; i++) {
        const k = win.kernel[i]!;
        if (node.opType === 'ConvTranspose') {
          if (outShape) out.push(outShape[outShape.length - sp + i]!);
          else if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') out.push(typeof x[i + 2] === 'number' ? (x[i + 2] as number) * win.strides[i]! : null);
          else {
            const valid = win.autoPad === 'VALID';
            out.push(convTDim(x[i + 2]!, k, win.strides[i]!, win.dilations[i]!, valid ? 0 : win.pads[i]!, valid ? 0 : win.pads[i + sp]!, opad[i]!));
          }
        } else out.push(Number.isNaN(k) ? null : convDim(x[i + 2]!, k, win.strides[i]!, win.dilations[i]!, win.pads[i]!, win.pads[i + sp]!, ceil, win.autoPad));
      }
      return [out, out];
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': case 'GlobalLpPool':
      return x ? [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]] : [];
    case 'Concat': {
      const all = node.input.filter((n) => n).map((n) => info.get(n));
      if (all.some((s) => !s)) return [];
      const r = all[0]!.length;
      const axis = normAxis(attrInt(node, 'axis', 0), r);
      const out = all[0]!.slice();
      out[axis] = sum(all.map((s) => s![axis]!));
      return [out];
    }
    case 'Split': {
      if (!x) return [];
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      const sizes = attrInts(node, 'split') ?? constInts(model, node.input[1]);
      const n = node.output.length;
      return node.output.map((_, i) => {
        const o = x.slice();
        if (sizes) o[axis] = sizes[i]!;
        else {
          const d = x[axis]!;
          const part = typeof d === 'number' ? Math.ceil(d / n) : 0;
          o[axis] = typeof d === 'number' ? (i < n - 1 ? part : d - part * (n - 1)) : d === null ? null : `(${d}/${n})`;
        }
        return o;
      });
    }
    case 'Slice': {
      if (!x) return [];
      const starts = constInts(model, node.input[1]);
      const ends = constInts(model, node.input[2]);
      const axes = node.input[3] ? constInts(model, node.input[3]) : starts?.map((_, i) => i);
      const steps = node.input[4] ? constInts(model, node.input[4]) : starts?.map(() => 1);
      if (!starts || !ends || !axes || !steps) {
        if (node.input[3] && !axes) return [x.map(() => null)];
        const out = x.slice();
        for (const a of axes ?? x.map((_, i) => i)) out[normAxis(a, x.length)] = null;
        return [out];
      }
      const out = x.slice();
      axes.forEach((a, i) => {
        const k = normAxis(a, x.length);
        out[k] = sliceDim(x[k]!, starts[i]!, ends[i]!, steps[i]!);
      });
      return [out];
    }
    case 'Pad': {
      if (!x) return [];
      const pads = opset < 11 ? attrInts(node, 'pads') : constInts(model, node.input[1]);
      const axes = node.input[3] ? constInts(model, node.input[3]) : x.map((_, i) => i);
      if (!pads || !axes) return [x.map(() => null)];
      const out = x.slice();
      axes.forEach((a, i) => {
        const k = normAxis(a, x.length);
        out[k] = sum([x[k]!, pads[i]! + pads[i + axes.length]!]);
      });
      return [out];
    }
    case 'Resize': {
      if (!x) return [];
      const axes = attrInts(node, 'axes')?.map((a) => normAxis(a, x.length)) ?? x.map((_, i) => i);
      const scales = node.input[2] ? constFloats(model, node.input[2]) : undefined;
      const sizes = node.input[3] ? constInts(model, node.input[3]) : undefined;
      const out = x.slice();
      if (sizes && sizes.length > 0) axes.forEach((a, i) => (out[a] = sizes[i]!));
      else if (scales && scales.length > 0) {
        axes.forEach((a, i) => {
          const d = x[a]!;
          const s = scales[i]!;
          out[a] = s === 1 ? d : typeof d === 'number' ? Math.floor(d * s) : d === null ? null : `(${d}*${s})`;
        });
      } else return [x.map(() => null)];
      return [out];
    }
    case 'Flatten': {
      if (!x) return [];
      const a = normAxis(attrInt(node, 'axis', 1), x.length);
      return [[prod(x.slice(0, a)), prod(x.slice(a))]];
    }
    case 'Reshape': {
      const shape = constInts(model, node.input[1]);
      if (!shape) {
        const len = info.get(node.input[1]!)?.[0];
        return typeof len === 'number' ? [new Array(len).fill(null)] : [];
      }
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const out: Dim[] = shape.map((v, i) => (v === 0 && !allowZero ? (x ? (x[i] ?? null) : null) : v === -1 ? null : v));
      const minus = shape.indexOf(-1);
      if (minus >= 0 && x) {
        // The inferred dim is the product of the input dims not matched by the other output dims.
        const rest = x.slice();
        let ok = true;
        out.forEach((d, i) => {
          if (i === minus) return;
          const k = rest.findIndex((r) => r === d);
          if (k >= 0) rest.splice(k, 1);
          else if (d !== 1) ok = false;
        });
        if (ok) out[minus] = prod(rest);
        else if (x.every((d) => typeof d === 'number') && out.every((d, i) => i === minus || typeof d === 'number')) {
          const total = (x as number[]).reduce((a, b) => a * b, 1);
          const known = (out as number[]).reduce((a, b, i) => (i === minus ? a : a * b), 1);
          out[minus] = known ? total / known : 0;
        }
      }
      return [out];
    }
    case 'Unsqueeze': {
      if (!x) return [];
      const axes = opset < 13 ? attrInts(node, 'axes') : constInts(model, node.input[1]);
      if (!axes) return [];
      const r = x.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : x[k++]!);
      return [out];
    }
    case 'Squeeze': {
      if (!x) return [];
      const axes = opset < 13 ? attrInts(node, 'axes') : node.input[1] ? constInts(model, node.input[1]) : undefined;
      if (!axes) return x.every((d) => d !== null) ? [x.filter((d) => d !== 1)] : [];
      const set = new Set(axes.map((a) => normAxis(a, x.length)));
      return [x.filter((_, i) => !set.has(i))];
    }
    case 'Transpose': {
      if (!x) return [];
      const perm = attrInts(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case 'Gemm': {
      const a = x;
      const b = S(1);
      if (!a || !b) return [];
      const ta = attrInt(node, 'transA', 0);
      const tb = attrInt(node, 'transB', 0);
      return [[ta ? a[1]! : a[0]!, tb ? b[0]! : b[1]!]];
    }
    case 'MatMul': {
      const a = x;
      const b = S(1);
      if (!a || !b) return [];
      if (a.length === 1 && b.length === 1) return [[]];
      if (a.length === 1) return [[...b.slice(0, -2), b[b.length - 1]!]];
      if (b.length === 1) return [a.slice(0, -1)];
      const batch = broadcast([a.slice(0, -2), b.slice(0, -2)])!;
      return [[...batch, a[a.length - 2]!, b[b.length - 1]!]];
    }
    case 'Gather': {
      const idx = S(1);
      if (!x || !idx) return [];
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'GatherElements':
      return [S(1)];
    case 'Expand': {
      const shape = constInts(model, node.input[1]);
      if (shape) return [broadcast([x, shape])];
      const len = info.get(node.input[1]!)?.[0];
      return x && typeof len === 'number' ? [new Array(Math.max(len, x.length)).fill(null)] : [];
    }
    case 'Tile': {
      const reps = constInts(model, node.input[1]);
      if (!x) return [];
      return [x.map((d, i) => (reps ? (reps[i] === 1 ? d : typeof d === 'number' ? d * reps[i]! : d === null ? null : `(${d}*${reps[i]})`) : null))];
    }
    case 'Shape': {
      if (!x) return [];
      const r = x.length;
      const s = normAxis(Math.max(-r, Math.min(r, attrInt(node, 'start', 0))), r);
      const e = attr(node, 'end') ? normAxis(Math.max(-r, Math.min(r, attrInt(node, 'end', r))), r) : r;
      return [[Math.max(0, e - s)]];
    }
    case 'Size':
      return [[]];
    case 'ConstantOfShape': {
      const shape = constInts(model, node.input[0]);
      if (shape) return [shape];
      const p = model.producer(node.input[0]!);
      if (p && p.opType === 'Shape' && !attr(p, 'start') && !attr(p, 'end')) return [info.get(p.input[0]!)];
      const len = x?.[0];
      return typeof len === 'number' ? [new Array(len).fill(null)] : [];
    }
    case 'Constant': {
      const c = model.constant(node.output[0]!);
      return c ? [c.dims] : [];
    }
    case 'ReduceSum': case 'ReduceMean': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': case 'ReduceL1':
    case 'ReduceL2': case 'ReduceSumSquare': case 'ReduceLogSumExp': {
      if (!x) return [];
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const axes = reduceAxes(model, node);
      if (axes === 'dynamic') return keep ? [x.map(() => null)] : [];
      const noop = attrInt(node, 'noop_with_empty_axes', 0) === 1;
      if (!axes || axes.length === 0) return noop ? [x] : [keep ? x.map(() => 1) : []];
      const set = new Set(axes.map((a) => normAxis(a, x.length)));
      return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
    }
    case 'ArgMax': case 'ArgMin': {
      if (!x) return [];
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      return [attrInt(node, 'keepdims', 1) === 1 ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis)];
    }
    case 'NonZero':
      return x ? [[x.length, null]] : [];
    case 'Range':
      return [[null]];
  }
  return [];
}

// Backward rules of data-movement ops. Sizes that depend on the input come from Shape ops at run
// time unless shape inference has them as numbers, so dynamic batch and spatial sizes work.
import type { NodeProto } from 'onnx-buf';
import { DataType, attrInt, attrInts, attrString, makeTensor } from '../../onnx';
import { constInts } from '../shapes';
import type { GradRule, RuleContext, RuleTable } from './types';

const reshapeBack: GradRule = {
  inputs: () => [0],
  outputs: [0],
  backward: (ctx, node, dY, need) => [need[0] ? ctx.e.reshapeLike(dY[0]!, node.input[0]!) : undefined],
};

function normAxis(ctx: RuleContext, node: NodeProto, axis: number, tensor: string): number {
  return axis < 0 ? axis + ctx.rank(tensor, node) : axis;
}

/** 1-D int64 [1] holding dim `axis` of tensor t (a constant when inference knows it). */
function dimOf(ctx: RuleContext, t: string, axis: number): string | number {
  const d = ctx.shapes.get(t)?.[axis];
  return typeof d === 'number' ? d : ctx.e.shapeSlice(t, axis, axis + 1);
}

function addDims(ctx: RuleContext, a: string | number, b: string | number): string | number {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const { e } = ctx;
  const t = (v: string | number) => (typeof v === 'number' ? e.constI64([v]) : v);
  return e.op1('Add', [t(a), t(b)]);
}

function sliceAxis(ctx: RuleContext, x: string, start: string | number, end: string | number, axis: number): string {
  const { e } = ctx;
  const t = (v: string | number) => (typeof v === 'number' ? e.constI64([v]) : v);
  return e.op1('Slice', [x, t(start), t(end), e.constI64([axis])]);
}

function zerosF(ctx: RuleContext, shape: string): string {
  return ctx.e.op1('ConstantOfShape', [shape], { value: makeTensor('value', [1], Float32Array.of(0), DataType.FLOAT) });
}

function asInt64(ctx: RuleContext, t: string): string {
  const c = ctx.model.constant(t);
  if (c && c.data instanceof BigInt64Array) return t;
  return ctx.e.op1('Cast', [t], { to: DataType.INT64 });
}

/** Slice with unit steps: its adjoint pads dy with zeros back to x's shape. */
function sliceByPad(ctx: RuleContext, node: NodeProto, dy: string, axes: number[]): string {
  const { e } = ctx;
  const x = node.input[0]!;
  const r = ctx.rank(x, node);
  const starts = constInts(ctx.model, node.input[1]);
  const xDims = ctx.shapes.get(x);
  const dyDims = ctx.shapes.get(node.output[0]!);
  const staticDims = axes.every((a) => typeof xDims?.[a] === 'number' && typeof dyDims?.[a] === 'number');
  if (starts && staticDims) {
    const pads = new Array(2 * r).fill(0);
    axes.forEach((a, i) => {
      const d = xDims![a] as number;
      let s = starts[i]!;
      s = s < 0 ? Math.max(0, s + d) : Math.min(s, d);
      pads[a] = s;
      pads[a + r] = d - s - (dyDims![a] as number);
    });
    return e.op1('Pad', [dy, e.constI64(pads)]);
  }
  // Clamp the starts at run time exactly as Slice does: negative counts from the end, then [0, D].
  const axesT = e.constI64(axes);
  const D = e.op1('Gather', [e.shape(x), axesT], { axis: 0 });
  const S = asInt64(ctx, node.input[1]!);
  const zero = e.constI64([0]);
  const shifted = e.op1('Where', [e.op1('Less', [S, zero]), e.op1('Add', [S, D]), S]);
  const low = e.op1('Where', [e.op1('Less', [shifted, zero]), zero, shifted]);
  const begin = e.op1('Where', [e.op1('Less', [D, low]), D, low]);
  const size = e.op1('Gather', [e.shape(dy), axesT], { axis: 0 });
  const end = e.op1('Sub', [e.op1('Sub', [D, begin]), size]);
  const where = e.constI64([...axes, ...axes.map((a) => a + r)]);
  const pads = e.op1('ScatterElements', [e.constI64(new Array(2 * r).fill(0)), where, e.op1('Concat', [begin, end], { axis: 0 })], { axis: 0 });
  return e.op1('Pad', [dy, pads]);
}

/** Any Slice (steps ≠ 1 included): scatter dy to the flat positions the slice picked. */
function sliceByScatter(ctx: RuleContext, node: NodeProto, dy: string): string {
  const { e } = ctx;
  const x = node.input[0]!;
  const count = e.op1('Size', [x]);
  const positions = e.op1('Range', [e.constI64([0], []), count, e.constI64([1], [])]);
  const grid = e.reshapeLike(positions, x);
  const picked = e.op1('Slice', [grid, ...node.input.slice(1)]);
  const zeros = zerosF(ctx, e.reshape(count, [1]));
  const flat = e.op1('ScatterElements', [zeros, e.reshape(picked, [-1]), e.reshape(dy, [-1])], { axis: 0 });
  return e.reshapeLike(flat, x);
}

export const structureRules: RuleTable = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const perm = attrInts(node, 'perm');
      if (!perm) return [ctx.e.op1('Transpose', [dY[0]!])];
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [ctx.e.op1('Transpose', [dY[0]!], { perm: inv })];
    },
  },
  Expand: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => [need[0] ? ctx.reduceTo(dY[0]!, node.output[0]!, node.input[0]!) : undefined],
  },
  Concat: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const inputs = node.input;
      const axis = normAxis(ctx, node, attrInt(node, 'axis', 0), inputs.find((t) => t)!);
      let offset: string | number = 0;
      const out: (string | undefined)[] = [];
      for (let i = 0; i < inputs.length; i++) {
        const x = inputs[i]!;
        if (!x) {
          out.push(undefined);
          continue;
        }
        const len = dimOf(ctx, x, axis);
        const end = addDims(ctx, offset, len);
        out.push(need[i] ? sliceAxis(ctx, dY[0]!, offset, end, axis) : undefined);
        offset = end;
      }
      return out;
    },
  },
  Split: {
    inputs: () => [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const axis = normAxis(ctx, node, attrInt(node, 'axis', 0), node.input[0]!);
      const parts = node.output.map((o, j) => dY[j] ?? zerosF(ctx, ctx.e.shape(o)));
      return [ctx.e.op1('Concat', parts, { axis })];
    },
  },
  Slice: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const starts = constInts(ctx.model, node.input[1]);
      const axesIn = node.input[3] ? constInts(ctx.model, node.input[3]) : undefined;
      const steps = node.input[4] ? constInts(ctx.model, node.input[4]) : undefined;
      const nAxes = starts?.length ?? ctx.shapes.get(node.input[1]!)?.[0];
      const unitSteps = !node.input[4] || (steps !== undefined && steps.every((s) => s === 1));
      const axes = axesIn ?? (!node.input[3] && typeof nAxes === 'number' ? Array.from({ length: nAxes }, (_, i) => i) : undefined);
      if (unitSteps && axes) {
        const x = node.input[0]!;
        return [sliceByPad(ctx, node, dY[0]!, axes.map((a) => normAxis(ctx, node, a, x)))];
      }
      return [sliceByScatter(ctx, node, dY[0]!)];
    },
  },
  Pad: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      const mode = attrString(node, 'mode', 'constant');
      if (mode !== 'constant') ctx.fail(node, 'unsupported-attribute', `Pad mode '${mode}' has no backward rule (constant is covered)`);
      // Padding with the negated amounts crops what was added and re-adds what was cropped.
      let neg: string;
      if (ctx.opset < 11) neg = e.constI64((attrInts(node, 'pads') ?? []).map((p) => -p));
      else {
        const pads = constInts(ctx.model, node.input[1]);
        neg = pads ? e.constI64(pads.map((p) => -p)) : e.op1('Neg', [node.input[1]!]);
      }
      const axes = node.input[3];
      return [e.op1('Pad', axes ? [dY[0]!, neg, '', axes] : [dY[0]!, neg])];
    },
  },
  Gather: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      const data = node.input[0]!;
      const indices = node.input[1]!;
      const r = ctx.rank(data, node);
      const axis = normAxis(ctx, node, attrInt(node, 'axis', 0), data);
      const idxDims = ctx.shapes.get(indices);
      const q = idxDims?.length;
      if (q === undefined) return ctx.fail(node, 'shape-unknown', 'the rank of the Gather indices is unknown');
      // Bring dy to data's rank with the gathered positions on one axis of length K.
      let g = dY[0]!;
      let idx = asInt64(ctx, indices);
      if (q === 0) {
        g = e.unsqueeze(g, [axis]);
        idx = e.reshape(idx, [1]);
      } else if (q > 1) {
        const lead = axis > 0 ? [e.shapeSlice(data, 0, axis)] : [];
        const trail = axis < r - 1 ? [e.shapeSlice(data, axis + 1)] : [];
        g = e.reshape(g, e.op1('Concat', [...lead, e.constI64([-1]), ...trail], { axis: 0 }));
        idx = e.reshape(idx, [-1]);
      }
      // Constant indices (the gated model's gate → channel maps): an exact scatter-add built from
      // constants sized by the indices, never by D. The gated model gathers every gated tensor's
      // gates from one bank of all variables, so a [K, D] one-hot per gather would make the
      // gradient model O(tensors × variables) — 4 GB for ResNet-101.
      const ints = constInts(ctx.model, indices);
      const D = ctx.shapes.get(data)?.[axis];
      if (!ints || typeof D !== 'number') {
        ctx.needOpset(node, 16, 'Gather backward needs constant indices and a static size along the gather axis, or opset ≥ 16 (ScatterElements with reduction)');
        const along = e.reshape(idx, Array.from({ length: r }, (_, i) => (i === axis ? -1 : 1)));
        const full = e.op1('Expand', [along, e.shape(g)]);
        return [e.op1('ScatterElements', [zerosF(ctx, e.shape(data)), full, g], { axis, reduction: 'add' })];
      }
      return [scatterConstant(ctx, g, ints.map((v) => (v < 0 ? v + D : v)), D, axis, r)];
    },
  },
};

/**
 * Adjoint of a Gather with constant indices along `axis` of a rank-r tensor of size D there: dy
 * (K positions on `axis`) summed into the positions it was gathered from. Repeated indices are
 * first merged by a one-hot [K, U] MatMul (U = distinct indices); the U sums are then placed on
 * the covered span [lo, hi] by a Gather with the inverse map (uncovered positions read a zero
 * slab) and padded with zeros to D. Constants are O(K·U + span), not O(K·D).
 */
function scatterConstant(ctx: RuleContext, g: string, ints: number[], D: number, axis: number, r: number): string {
  const { e } = ctx;
  const K = ints.length;
  const pos = new Map<number, number>();
  for (const v of ints) if (!pos.has(v)) pos.set(v, pos.size);
  const U = pos.size;
  let merged = g;
  if (U < K) {
    const oneHot = new Float32Array(K * U);
    ints.forEach((v, k) => (oneHot[k * U + pos.get(v)!] += 1));
    const M = e.constF32(oneHot, [K, U]);
    if (axis === r - 1) merged = e.op1('MatMul', [g, M]);
    else {
      const perm = Array.from({ length: r }, (_, i) => i);
      perm.splice(axis, 1);
      perm.push(axis);
      const inv = new Array<number>(r);
      perm.forEach((p, i) => (inv[p] = i));
      merged = e.op1('Transpose', [e.op1('MatMul', [e.op1('Transpose', [g], { perm }), M])], { perm: inv });
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pos.keys()) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo + 1;
  const order = [...pos.keys()];
  let placed = merged;
  if (!(span === U && order.every((v, i) => v === lo + i))) {
    const inverse = Array.from({ length: span }, (_, j) => pos.get(lo + j) ?? U);
    let source = merged;
    if (span > U) {
      const lead = axis > 0 ? [e.shapeSlice(merged, 0, axis)] : [];
      const trail = axis < r - 1 ? [e.shapeSlice(merged, axis + 1)] : [];
      const slab = zerosF(ctx, e.op1('Concat', [...lead, e.constI64([1]), ...trail], { axis: 0 }));
      source = e.op1('Concat', [merged, slab], { axis });
    }
    placed = e.op1('Gather', [source, e.constI64(inverse)], { axis });
  }
  if (lo === 0 && span === D) return placed;
  const pads = new Array<number>(2 * r).fill(0);
  pads[axis] = lo;
  pads[r + axis] = D - 1 - hi;
  return e.op1('Pad', [placed, e.constI64(pads)]);
}


// Resize (nearest / linear) is linear in its input and separable per axis, so its adjoint is
// exact in two ways:
// - integer scale factors (the common ×2 upsampling), any input size: each axis' weights repeat
//   with period s, and the borders behave like edge replication; the adjoint is then one strided
//   single-channel Conv with the weights as kernel, followed by folding the replicated border
//   back onto the edge elements. Whether a mode has this form is checked numerically on a virtual
//   axis (periodicTaps), not assumed.
// - static input and output sizes (any scale, align_corners too): explicit interpolation matrices,
//   dx = A_hᵀ · dy · A_w as MatMuls over the last two axes.
import type { NodeProto } from 'onnx-buf';
import { DataType, attrInt, attrInts, attrString } from '../../onnx';
import { constFloats, constInts } from '../shapes';
import type { RuleContext, RuleTable } from './types';

export interface InterpMode {
  mode: string;
  ctm: string;
  nearestMode: string;
}

const f32 = Math.fround;

/** Source coordinate of output index i, computed in float32 as onnxruntime does. */
function sourceCoord(ctm: string, i: number, scale: number, outLen: number, inLen: number): number {
  switch (ctm) {
    case 'asymmetric':
      return f32(i / scale);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f32(f32(f32(i + 0.5) / scale) - 0.5) : 0;
    case 'tf_half_pixel_for_nn':
      return f32(f32(i + 0.5) / scale);
    case 'align_corners':
      return outLen === 1 ? 0 : f32(f32(i * (inLen - 1)) / (outLen - 1));
    case 'half_pixel_symmetric': {
      const adj = f32(outLen / f32(scale * inLen));
      const center = f32(inLen / 2);
      const offset = f32(center * f32(1 - adj));
      return f32(offset + f32(f32(f32(i + 0.5) / scale) - 0.5));
    }
    default:
      return f32(f32(f32(i + 0.5) / scale) - 0.5);
  }
}

function nearestIndex(mode: string, x: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'round_prefer_ceil':
      return x >= 0 ? Math.floor(x + 0.5) : -Math.floor(-x + 0.5);
    default: {
      if (x === Math.trunc(x) + 0.5) return Math.floor(x);
      return x >= 0 ? Math.floor(x + 0.5) : -Math.floor(-x + 0.5);
    }
  }
}

/** Row-major [outLen × inLen] matrix A with y = A·x along one axis. */
export function interpMatrix(m: InterpMode, inLen: number, outLen: number, scale: number): Float64Array {
  const a = new Float64Array(outLen * inLen);
  for (let i = 0; i < outLen; i++) {
    const x = sourceCoord(m.ctm, i, scale, outLen, inLen);
    if (m.mode === 'nearest') {
      const j = Math.min(Math.max(nearestIndex(m.nearestMode, x), 0), inLen - 1);
      a[i * inLen + j] = 1;
    } else {
      const c = Math.min(Math.max(x, 0), inLen - 1);
      const j1 = Math.min(Math.floor(c), inLen - 1);
      const j2 = Math.min(j1 + 1, inLen - 1);
      const frac = c - j1;
      a[i * inLen + j1] += 1 - frac;
      a[i * inLen + j2] += frac;
    }
  }
  return a;
}

export interface PeriodicTaps {
  /** Taps reach from j − T to j + T for output rows j·s … j·s + s − 1. */
  T: number;
  /** w[r][t + T]: weight of input j + t in output row j·s + r. */
  w: number[][];
}

/**
 * Weights of an integer-scale resize as a periodic stencil with edge replication, or undefined
 * when the mode does not have that form (checked on a virtual axis of length 16).
 */
export function periodicTaps(m: InterpMode, s: number): PeriodicTaps | undefined {
  const L = 16;
  const A = interpMatrix(m, L, L * s, s);
  const j0 = L / 2;
  let T = 0;
  for (let r = 0; r < s; r++) for (let j = 0; j < L; j++) if (A[(j0 * s + r) * L + j] !== 0) T = Math.max(T, Math.abs(j - j0));
  if (T > 2) return undefined;
  const w = Array.from({ length: s }, (_, r) => Array.from({ length: 2 * T + 1 }, (_, k) => A[(j0 * s + r) * L + j0 + k - T]!));
  for (let j = 0; j < L; j++) {
    for (let r = 0; r < s; r++) {
      const expect = new Float64Array(L);
      for (let t = -T; t <= T; t++) expect[Math.min(Math.max(j + t, 0), L - 1)] += w[r]![t + T]!;
      for (let k = 0; k < L; k++) if (Math.abs(expect[k]! - A[(j * s + r) * L + k]!) > 1e-6) return undefined;
    }
  }
  return { T, w };
}

function modeOf(node: NodeProto): InterpMode {
  return {
    mode: attrString(node, 'mode', 'nearest'),
    ctm: attrString(node, 'coordinate_transformation_mode', 'half_pixel'),
    nearestMode: attrString(node, 'nearest_mode', 'round_prefer_floor'),
  };
}

function transpose2(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

function periodicBackward(ctx: RuleContext, dy: string, x: string, r: number, scales: number[], m: InterpMode): string | undefined {
  const { e } = ctx;
  const sp = r - 2;
  const taps: PeriodicTaps[] = [];
  for (let i = 0; i < sp; i++) {
    const t = periodicTaps(m, scales[i + 2]!);
    if (!t) return undefined;
    taps.push(t);
  }
  // Per-axis kernel k[(T − t)·s + r] = w_r[t]; the nD kernel is their outer product.
  const axisKernels = taps.map((t, i) => {
    const s = scales[i + 2]!;
    const k = new Float64Array((2 * t.T + 1) * s);
    for (let rr = 0; rr < s; rr++) for (let tt = -t.T; tt <= t.T; tt++) k[(t.T - tt) * s + rr] = t.w[rr]![tt + t.T]!;
    return k;
  });
  const strides = scales.slice(2);
  let g: string;
  if (taps.every((t) => t.T === 0 && t.w.every((row) => row[0] === 1))) {
    // Nearest with integer scales: every input element is copied to an s-block, so the adjoint
    // is a block sum (average pooling times the block size; the fastest pooling in onnxruntime).
    const block = strides.reduce((a, b) => a * b, 1);
    return e.mulScalar(e.op1('AveragePool', [dy], { kernel_shape: strides, strides }), block);
  }
  const kdims = axisKernels.map((k) => k.length);
  let kernel: number[] = [1];
  for (const k of axisKernels) kernel = kernel.flatMap((a) => Array.from(k, (b) => a * b));
  const pads = taps.map((t, i) => 2 * t.T * strides[i]!);
  const C = ctx.shapes.get(x)?.[1];
  if (typeof C === 'number') {
    // Depthwise: the same kernel for each of the C channels.
    const kc = new Array<number>(C).fill(0).flatMap(() => kernel);
    g = e.op1('Conv', [dy, e.constF32(kc, [C, 1, ...kdims])], { kernel_shape: kdims, strides, pads: [...pads, ...pads], group: C });
  } else {
    // Unknown channel count: channels become batch entries of a single-channel Conv.
    const flat = e.reshape(dy, [-1, 1, ...new Array(sp).fill(0)]);
    g = e.op1('Conv', [flat, e.constF32(kernel, [1, 1, ...kdims])], { kernel_shape: kdims, strides, pads: [...pads, ...pads] });
  }
  // g covers input positions −T … H−1+T per axis; fold the outer T on each side onto the edges.
  taps.forEach((t, i) => {
    if (t.T === 0) return;
    const axis = i + 2;
    const T = t.T;
    const sl = (a: string, s: number, en: number) => e.op1('Slice', [a, e.constI64([s]), e.constI64([en]), e.constI64([axis])]);
    const head = e.reduceSum(sl(g, 0, T), [axis], true);
    const tail = e.reduceSum(sl(g, -T, 2 ** 62), [axis], true);
    const mid = sl(g, T, -T);
    const first = e.op1('Concat', [e.op1('Add', [sl(mid, 0, 1), head]), sl(mid, 1, 2 ** 62)], { axis });
    g = e.op1('Concat', [sl(first, 0, -1), e.op1('Add', [sl(first, -1, 2 ** 62), tail])], { axis });
  });
  return e.reshapeLike(g, x);
}

function matrixBackward(ctx: RuleContext, dy: string, x: string, r: number, scales: number[], m: InterpMode, outDims: number[]): string | undefined {
  const { e } = ctx;
  const inDims = ctx.shapes.get(x);
  const resized = scales.map((s, i) => (s !== 1 || (typeof inDims?.[i] === 'number' && outDims[i] !== inDims[i]) ? i : -1)).filter((i) => i >= 0);
  if (resized.some((a) => a < r - 2)) return undefined;
  let g = dy;
  for (const a of resized) {
    const din = inDims?.[a];
    if (typeof din !== 'number') return undefined;
    const dout = outDims[a]!;
    const A = interpMatrix(m, din, dout, scales[a]!);
    if (a === r - 1) g = e.op1('MatMul', [g, e.constF32(A, [dout, din])]);
    else g = e.op1('MatMul', [e.constF32(transpose2(A, dout, din), [din, dout]), g]);
  }
  return g;
}

/**
 * Whether `sizes` is Concat(Slice(Shape(x), 0, lead), …): the leading axes keep x's sizes (the
 * exporters' F.interpolate(x, size=…) pattern), so only the last two axes may change.
 */
function keepsLeadingAxes(ctx: RuleContext, sizes: string, x: string, lead: number): boolean {
  const cat = ctx.model.producer(sizes);
  if (!cat || cat.opType !== 'Concat' || !cat.input[0]) return false;
  const first = ctx.model.producer(cat.input[0]);
  if (!first) return false;
  if (first.opType === 'Shape') {
    return first.input[0] === x && attrInt(first, 'start', 0) === 0 && attrInt(first, 'end', -999) === lead;
  }
  if (first.opType !== 'Slice') return false;
  const shape = ctx.model.producer(first.input[0]!);
  if (!shape || shape.opType !== 'Shape' || shape.input[0] !== x || shape.attribute.length > 0) return false;
  const starts = constInts(ctx.model, first.input[1]);
  const ends = constInts(ctx.model, first.input[2]);
  const axes = first.input[3] ? constInts(ctx.model, first.input[3]) : [0];
  const steps = first.input[4] ? constInts(ctx.model, first.input[4]) : [1];
  return starts?.length === 1 && starts[0] === 0 && ends?.length === 1 && ends[0] === lead && axes?.length === 1 && axes[0] === 0 && steps?.length === 1 && steps[0] === 1;
}

/**
 * Linear Resize to run-time sizes on the last two axes: the interpolation matrix of each axis is
 * built in the graph from the run-time lengths (the same float32 source coordinates as
 * interpMatrix), and dx = A_hᵀ · dy · A_w.
 */
function runtimeMatrixBackward(ctx: RuleContext, node: NodeProto, dy: string, x: string, r: number, m: InterpMode): string {
  const { e } = ctx;
  const y = node.output[0]!;
  const f = (t: string) => e.op1('Cast', [t], { to: DataType.FLOAT });
  const one = e.scalarF(1);
  const half = e.scalarF(0.5);
  const matrix = (a: number): string => {
    const lin = e.reshape(e.shapeSlice(x, a, a + 1), []);
    const lout = e.reshape(e.shapeSlice(y, a, a + 1), []);
    const linF = f(lin);
    const loutF = f(lout);
    const i = f(e.op1('Range', [e.constI64([0], []), lout, e.constI64([1], [])]));
    const scale = e.op1('Div', [loutF, linF]);
    const halfPixel = () => e.op1('Sub', [e.op1('Div', [e.op1('Add', [i, half]), scale]), half]);
    let src: string;
    switch (m.ctm) {
      case 'asymmetric':
        src = e.op1('Div', [i, scale]);
        break;
      case 'align_corners':
        src = e.op1('Div', [e.op1('Mul', [i, e.op1('Sub', [linF, one])]), e.op1('Max', [e.op1('Sub', [loutF, one]), one])]);
        break;
      case 'pytorch_half_pixel':
        src = e.op1('Where', [e.op1('Greater', [loutF, one]), halfPixel(), e.scalarF(0)]);
        break;
      default:
        src = halfPixel();
    }
    const last = e.op1('Sub', [linF, one]);
    const c = e.op1('Min', [e.op1('Max', [src, e.scalarF(0)]), last]);
    const j1 = e.op1('Floor', [c]);
    const j2 = e.op1('Min', [e.op1('Add', [j1, one]), last]);
    const frac = e.op1('Sub', [c, j1]);
    const j = e.unsqueeze(f(e.op1('Range', [e.constI64([0], []), lin, e.constI64([1], [])])), [0]); // [1, Lin]
    const col = (t: string) => e.unsqueeze(t, [1]); // [Lout, 1]
    const hit = (t: string) => f(e.op1('Equal', [col(t), j]));
    return e.op1('Add', [e.mul(hit(j1), col(e.op1('Sub', [one, frac]))), e.mul(hit(j2), col(frac))]); // [Lout, Lin]
  };
  let g = e.op1('MatMul', [dy, matrix(r - 1)]);
  g = e.op1('MatMul', [e.op1('Transpose', [matrix(r - 2)], { perm: [1, 0] }), g]);
  return g;
}

export const resizeRules: RuleTable = {
  Resize: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const x = node.input[0]!;
      const m = modeOf(node);
      if (m.mode !== 'nearest' && m.mode !== 'linear') ctx.fail(node, 'no-gradient-rule', `Resize mode '${m.mode}' has no backward rule (nearest and linear are covered)`);
      if (m.ctm === 'tf_crop_and_resize') ctx.fail(node, 'no-gradient-rule', "Resize with coordinate_transformation_mode 'tf_crop_and_resize' has no backward rule");
      if (attrInt(node, 'antialias', 0) !== 0) ctx.fail(node, 'no-gradient-rule', 'Resize with antialias=1 has no backward rule');
      const r = ctx.rank(x, node);
      const axes = (attrInts(node, 'axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
      const scaleIn = node.input[2] ? constFloats(ctx.model, node.input[2]) : undefined;
      const sizeIn = node.input[3] ? constInts(ctx.model, node.input[3]) : undefined;
      const scales = new Array<number>(r).fill(1);
      const inDims = ctx.shapes.get(x);
      const outDims = ctx.shapes.get(node.output[0]!);
      if (scaleIn && scaleIn.length > 0) axes.forEach((a, i) => (scales[a] = scaleIn[i]!));
      else if (sizeIn && sizeIn.length > 0) {
        for (const [i, a] of axes.entries()) {
          const d = inDims?.[a];
          if (typeof d !== 'number') return ctx.fail(node, 'shape-unknown', 'Resize by output sizes needs static input sizes for its backward rule');
          scales[a] = f32(sizeIn[i]! / d);
        }
      } else if (
        m.mode === 'linear' &&
        ['half_pixel', 'pytorch_half_pixel', 'asymmetric', 'align_corners'].includes(m.ctm) &&
        r >= 2 &&
        node.input[3] &&
        !(scaleIn && scaleIn.length > 0) &&
        (!node.input[2] || (scaleIn !== undefined && scaleIn.length === 0)) &&
        !attrInts(node, 'axes') &&
        keepsLeadingAxes(ctx, node.input[3], x, r - 2)
      ) {
        return [runtimeMatrixBackward(ctx, node, dY[0]!, x, r, m)];
      } else {
        ctx.fail(
          node,
          'no-gradient-rule',
          'Resize with run-time scales or sizes has no backward rule (covered: linear mode with run-time sizes for the last two axes, Concat(Slice(Shape(x), 0, rank − 2), …))',
        );
      }
      // onnxruntime copies the input when no axis changes size, whatever the coordinate mode.
      if (scales.every((s) => s === 1)) return [dY[0]!];
      const integer = scales[0] === 1 && scales[1] === 1 && r >= 3 && scales.every((s) => Number.isInteger(s) && s >= 1);
      if (integer) {
        const g = periodicBackward(ctx, dY[0]!, x, r, scales, m);
        if (g) return [g];
      }
      if (outDims && outDims.slice(2).every((d) => typeof d === 'number')) {
        const g = matrixBackward(ctx, dY[0]!, x, r, scales, m, outDims as number[]);
        if (g) return [g];
      }
      return ctx.fail(
        node,
        'no-gradient-rule',
        `Resize (${m.mode}, ${m.ctm}${m.mode === 'nearest' ? `, ${m.nearestMode}` : ''}, scales [${scales.join(', ')}]) has no exact backward here: ` +
          'covered are integer scales on the spatial axes for modes whose weights are periodic (nearest asymmetric/floor, nearest half_pixel/round, linear half_pixel/pytorch_half_pixel/asymmetric), ' +
          'and any scale on the last two axes when input and output sizes are static',
      );
    },
  },
};

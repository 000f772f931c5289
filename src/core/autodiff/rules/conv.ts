// Conv and ConvTranspose are each other's adjoints (w.r.t. the data input, same weight tensor,
// same group/strides/dilations/pads). The only subtlety is the spatial size of the adjoint of a
// strided window op, which the forward output does not determine; see convAdjoint.
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts } from '../../onnx';
import { windowAttrs } from '../shapes';
import type { RuleContext, RuleTable } from './types';

export interface ExplicitWindow {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] */
  pads: number[];
}

/** Window attributes with auto_pad resolved into explicit pads (needs static sizes only for SAME with stride > 1). */
export function explicitWindow(ctx: RuleContext, node: NodeProto, x: string, kernelFromWeight?: number[]): ExplicitWindow {
  const r = ctx.rank(x, node);
  const sp = r - 2;
  const w = windowAttrs(node, sp, kernelFromWeight);
  if (w.kernel.length !== sp || w.kernel.some((k) => !Number.isFinite(k))) {
    ctx.fail(node, 'shape-unknown', 'the kernel size is unknown (no kernel_shape attribute and no static weight shape)');
  }
  let pads = w.pads;
  if (w.autoPad === 'VALID') pads = new Array(2 * sp).fill(0);
  else if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
    const dims = ctx.shapes.get(x);
    pads = new Array(2 * sp).fill(0);
    for (let i = 0; i < sp; i++) {
      const ext = w.dilations[i]! * (w.kernel[i]! - 1) + 1;
      const s = w.strides[i]!;
      let total: number;
      if (s === 1) total = ext - 1;
      else {
        const d = dims?.[i + 2];
        if (typeof d !== 'number') ctx.fail(node, 'shape-unknown', `auto_pad=${w.autoPad} with stride ${s} needs a static input size on spatial axis ${i}`);
        total = Math.max(0, (Math.ceil(d / s) - 1) * s + ext - d);
      }
      const small = Math.floor(total / 2);
      pads[i] = w.autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + sp] = total - pads[i]!;
    }
  }
  return { kernel: w.kernel, strides: w.strides, dilations: w.dilations, pads };
}

/**
 * Adjoint (w.r.t. the input) of a window op with weight `w`: ConvTranspose of `dy`, cropped or
 * zero-padded at the end so that its spatial size equals that of forward input `x`.
 *
 * For input length H the forward output has Ho = ⌊(H + pb + pe − e)/s⌋ + 1 (e = dilated kernel
 * extent), so H − r = s(Ho − 1) + e − pb − pe with r = (H + pb + pe − e) mod s: the transposed conv
 * misses r rows at the end, and output_padding = r restores them. r is 0 for stride 1 and is
 * computed here when H is static; otherwise the transposed conv is run without end padding and a
 * Pad with a run-time amount (negative = crop, which onnxruntime's Pad supports) fixes the size.
 * `y` is the forward output (its shape equals dy's, spatially).
 */
export function convAdjoint(ctx: RuleContext, dy: string, w: string, win: ExplicitWindow, group: number, x: string, y: string): string {
  const { e } = ctx;
  const sp = win.kernel.length;
  const xDims = ctx.shapes.get(x);
  const outPad: number[] = [];
  let staticOk = true;
  for (let i = 0; i < sp; i++) {
    const s = win.strides[i]!;
    if (s === 1) {
      outPad.push(0);
      continue;
    }
    const h = xDims?.[i + 2];
    if (typeof h !== 'number') {
      staticOk = false;
      break;
    }
    const ext = win.dilations[i]! * (win.kernel[i]! - 1) + 1;
    outPad.push((((h + win.pads[i]! + win.pads[i + sp]! - ext) % s) + s) % s);
  }
  const base = { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, group };
  if (staticOk) {
    return e.op1('ConvTranspose', [dy, w], { ...base, pads: win.pads, output_padding: outPad.some((v) => v) ? outPad : undefined });
  }
  const beginOnly = [...win.pads.slice(0, sp), ...new Array(sp).fill(0)];
  const ct = e.op1('ConvTranspose', [dy, w], { ...base, pads: beginOnly });
  // end pad = H − (s·(Ho − 1) + ext − pb) = H − s·Ho + (s − ext + pb)
  const c = win.kernel.map((k, i) => win.strides[i]! - (win.dilations[i]! * (k - 1) + 1) + win.pads[i]!);
  const hx = e.shapeSlice(x, 2);
  const hy = e.shapeSlice(y, 2);
  const endPad = e.op1('Add', [e.op1('Sub', [hx, e.op1('Mul', [hy, e.constI64(win.strides)])]), e.constI64(c)]);
  const pads = e.op1('Concat', [e.constI64(new Array(sp + 4).fill(0)), endPad], { axis: 0 });
  return e.op1('Pad', [ct, pads]);
}

/**
 * W'[g·Ci + ci, co, k'] = W[g·Co + co, ci, K−1−k'] for weights [Cout, Cin/group, k...]: the
 * weight of the Conv that is the adjoint of a stride-1 Conv.
 */
export function flipTransposeWeight(w: Float32Array, dims: number[], group: number): { data: Float32Array; dims: number[] } {
  const [cout, cinG, ...k] = dims as [number, number, ...number[]];
  const coutG = cout / group;
  const K = k.reduce((a, b) => a * b, 1);
  const out = new Float32Array(w.length);
  for (let g = 0; g < group; g++) {
    for (let co = 0; co < coutG; co++) {
      for (let ci = 0; ci < cinG; ci++) {
        const src = ((g * coutG + co) * cinG + ci) * K;
        const dst = ((g * cinG + ci) * coutG + co) * K;
        // Reversing the flattened kernel reverses every spatial axis at once.
        for (let q = 0; q < K; q++) out[dst + q] = w[src + K - 1 - q]!;
      }
    }
  }
  return { data: out, dims: [cinG * group, coutG, ...k] };
}

/**
 * ∂L/∂W of y = Conv(x, W) (or of a ConvTranspose, whose adjoint is this Conv): a correlation of
 * the input with the output gradient, itself run as a Conv. The batch axis becomes the summed
 * channel axis and the input channels the batch: input X'[ci, g·N + n] = x[n, g·cinG + ci],
 * kernel D[g·coutG + co, n] = dy[n, g·coutG + co], group g, with the forward strides as dilations
 * and the forward dilations as strides. Its spatial extent is k + ⌊r/d⌋ ≥ k (r = the rows the
 * forward stride skipped at the end), so the first k taps are sliced off; then [cinG, Cout, k] is
 * transposed to the weight layout [Cout, cinG, k].
 */
export function convWeightGrad(ctx: RuleContext, x: string, dy: string, wDims: number[], win: ExplicitWindow, group: number): string {
  const { e } = ctx;
  const sp = win.kernel.length;
  const cinG = wDims[1]!;
  const spatial = Array.from({ length: sp }, (_, i) => i + 2);
  const swap01 = [1, 0, ...spatial];
  let xb: string;
  if (group === 1) xb = e.op1('Transpose', [x], { perm: swap01 });
  else {
    // [N, g·cinG, S...] → [N, g, cinG, S...] → [cinG, g, N, S...] → [cinG, g·N, S...]
    const split = e.op1('Concat', [e.shapeSlice(x, 0, 1), e.constI64([group, cinG]), e.shapeSlice(x, 2)], { axis: 0 });
    const t = e.op1('Transpose', [e.reshape(x, split)], { perm: [2, 1, 0, ...spatial.map((a) => a + 1)] });
    xb = e.reshape(t, e.op1('Concat', [e.constI64([cinG, -1]), e.shapeSlice(x, 2)], { axis: 0 }));
  }
  const kernel = e.op1('Transpose', [dy], { perm: swap01 });
  const corr = e.op1('Conv', [xb, kernel], { dilations: win.strides, strides: win.dilations, pads: win.pads, group });
  const cut = e.op1('Slice', [corr, e.constI64(new Array(sp).fill(0)), e.constI64(win.kernel), e.constI64(spatial)]);
  return e.op1('Transpose', [cut], { perm: swap01 });
}

/** ∂L/∂b of a per-channel bias on axis 1: dy summed over every other axis. */
export function channelBiasGrad(ctx: RuleContext, dy: string, rank: number): string {
  return ctx.e.reduceSum(dy, [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)], false);
}

/** The stride-1 adjoint kernel of a run-time weight, built in the graph (see flipTransposeWeight). */
function flipTransposeInGraph(ctx: RuleContext, w: string, dims: number[], group: number): string {
  const { e } = ctx;
  const sp = dims.length - 2;
  const spatial = Array.from({ length: sp }, (_, i) => i + 2);
  // Step −1 from the last element; an end below −size is clamped to "through index 0".
  const flipped = e.op1('Slice', [w, e.constI64(new Array(sp).fill(-1)), e.constI64(new Array(sp).fill(-(2 ** 62))), e.constI64(spatial), e.constI64(new Array(sp).fill(-1))]);
  const [cout, cinG, ...k] = dims as [number, number, ...number[]];
  if (group === 1) return e.op1('Transpose', [flipped], { perm: [1, 0, ...spatial] });
  const coutG = cout / group;
  const grouped = e.reshape(flipped, [group, coutG, cinG, ...k]);
  const t = e.op1('Transpose', [grouped], { perm: [0, 2, 1, ...spatial.map((a) => a + 1)] });
  return e.reshape(t, [group * cinG, coutG, ...k]);
}

function staticDims(ctx: RuleContext, node: NodeProto, w: string): number[] {
  const d = ctx.shapes.get(w);
  if (!d || d.some((v) => typeof v !== 'number')) ctx.fail(node, 'shape-unknown', `the weight '${w}' needs a static shape for its gradient`);
  return d as number[];
}

export const convRules: RuleTable = {
  Conv: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const x = node.input[0]!;
      const w = node.input[1]!;
      const dy = dY[0]!;
      const wDims = ctx.shapes.get(w);
      const kw = wDims?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
      const win = explicitWindow(ctx, node, x, kw);
      const group = attrInt(node, 'group', 1);
      const sp = win.kernel.length;
      const out: (string | undefined)[] = [];
      if (need[0]) {
        // Stride 1: the adjoint is an ordinary Conv with the flipped, transposed kernel and pads
        // d(k−1) − p, several times faster in onnxruntime than ConvTranspose. A constant weight
        // is flipped here; a run-time one (weights being trained) by Slice/Transpose in the graph.
        const wc = ctx.model.constant(w);
        const flippedPads = win.pads.map((p, i) => win.dilations[i % sp]! * (win.kernel[i % sp]! - 1) - p);
        const stride1 = win.strides.every((s) => s === 1) && flippedPads.every((p) => p >= 0);
        let kernel: string | undefined;
        if (stride1 && wc && wc.data instanceof Float32Array) {
          const f = flipTransposeWeight(wc.data, wc.dims, group);
          kernel = ctx.e.constF32(f.data, f.dims);
        } else if (stride1 && !wc && wDims?.every((d) => typeof d === 'number')) {
          kernel = flipTransposeInGraph(ctx, w, wDims as number[], group);
        }
        out[0] = kernel
          ? ctx.e.op1('Conv', [dy, kernel], { kernel_shape: win.kernel, dilations: win.dilations, group, pads: flippedPads })
          : convAdjoint(ctx, dy, w, win, group, x, node.output[0]!);
      }
      if (need[1]) out[1] = convWeightGrad(ctx, x, dy, staticDims(ctx, node, w), win, group);
      if (need[2]) out[2] = channelBiasGrad(ctx, dy, sp + 2);
      return out;
    },
  },
  ConvTranspose: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (attrInts(node, 'output_shape')) ctx.fail(node, 'unsupported-attribute', 'ConvTranspose with output_shape is not supported; export with explicit pads/output_padding');
      const x = node.input[0]!;
      const w = node.input[1]!;
      const r = ctx.rank(x, node);
      const wDims = ctx.shapes.get(w);
      const kw = wDims?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
      const win = windowAttrs(node, r - 2, kw);
      if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') ctx.fail(node, 'unsupported-attribute', `ConvTranspose auto_pad=${win.autoPad} is not supported`);
      const pads = win.autoPad === 'VALID' ? new Array(2 * (r - 2)).fill(0) : win.pads;
      const group = attrInt(node, 'group', 1);
      const out: (string | undefined)[] = [];
      // Conv of dy with the same weight: output length ⌊(s(H−1) + op)/s⌋ + 1 = H for output_padding < stride.
      if (need[0]) out[0] = ctx.e.op1('Conv', [dY[0]!, w], { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, group, pads });
      // ⟨dy, ConvT(x; W)⟩ = ⟨Conv(dy; W), x⟩: the weight gradient of that Conv with input dy and output gradient x.
      if (need[1]) out[1] = convWeightGrad(ctx, dY[0]!, x, staticDims(ctx, node, w), { kernel: win.kernel, strides: win.strides, dilations: win.dilations, pads }, group);
      if (need[2]) out[2] = channelBiasGrad(ctx, dY[0]!, r);
      return out;
    },
  },
};

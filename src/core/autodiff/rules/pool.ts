// Pooling backward rules. MaxPool routes each window's gradient to one element: the first maximum
// in the window's row-major scan order, which is the element onnxruntime's own Indices output
// names, so ties are handled exactly as the runtime resolves them.
import { DataType, attrInt, makeTensor } from '../../onnx';
import { convAdjoint, explicitWindow } from './conv';
import type { RuleContext, RuleTable } from './types';

/**
 * MaxPool backward for tiling windows (kernel = stride, no padding, no dilation, floor mode)
 * without the Indices output: each window is unfolded onto a trailing axis (Reshape/Transpose),
 * ArgMax picks the first maximum in the window's row-major order, and dy goes to the element whose
 * offset in its window equals the winner's. Works on every execution provider (WebGPU's MaxPool
 * has no Indices output) and leaves the forward MaxPool on its fast kernel (the Indices variant
 * is ~15× slower in onnxruntime's CPU provider).
 */
function tiledMaxPoolBackward(ctx: RuleContext, x: string, y: string, dy: string, k: number[]): string {
  const { e } = ctx;
  const sp = k.length;
  const K = k.reduce((a, b) => a * b, 1);
  const outSp = e.shapeSlice(y, 2);
  const covered = e.op1('Mul', [outSp, e.constI64(k)]);
  // Rows/columns past the last whole window never win; cut them off and pad dx back at the end.
  const xc = e.op1('Slice', [x, e.constI64(new Array(sp).fill(0)), covered, e.constI64(k.map((_, i) => i + 2))]);
  const parts = [e.shapeSlice(x, 0, 2)];
  k.forEach((ki, i) => parts.push(e.shapeSlice(y, i + 2, i + 3), e.constI64([ki])));
  const split = e.op1('Concat', parts, { axis: 0 });
  // Windows on a trailing axis, [N, C, O1, O2, ..., k1·k2·...], and the first maximum of each.
  const perm = [0, 1, ...k.map((_, i) => 2 + 2 * i), ...k.map((_, i) => 3 + 2 * i)];
  const tiles = e.op1('Transpose', [e.reshape(xc, split)], { perm });
  const windows = e.reshape(tiles, e.op1('Concat', [e.shape(y), e.constI64([K])], { axis: 0 }));
  const winner = e.op1('Cast', [e.op1('ArgMax', [windows], { axis: -1, keepdims: 0 })], { to: DataType.FLOAT });
  // Back in the input layout: every element compares its offset inside its window with the
  // winner's (both spread over the window by nearest upsampling), and takes dy where they match.
  // An empty roi, not an absent one: Resize-11 requires the input.
  const upsample = (t: string) => e.op1('Resize', [t, e.constF32([], [0]), e.constF32([1, 1, ...k])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  let offset: string | undefined;
  let weight = 1;
  for (let i = sp - 1; i >= 0; i--) {
    const len = e.reshape(e.op1('Slice', [covered, e.constI64([i]), e.constI64([i + 1])]), []);
    const along = e.op1('Mod', [e.op1('Range', [e.constI64([0], []), len, e.constI64([1], [])]), e.constI64([k[i]!], [])]);
    const shaped = e.reshape(e.op1('Cast', [along], { to: DataType.FLOAT }), [-1, ...new Array(sp - 1 - i).fill(1)]);
    const term = weight === 1 ? shaped : e.mulScalar(shaped, weight);
    offset = offset ? e.op1('Add', [term, offset]) : term;
    weight *= k[i]!;
  }
  const mask = e.op1('Cast', [e.op1('Equal', [upsample(winner), offset!])], { to: DataType.FLOAT });
  const dxc = e.mul(mask, upsample(dy));
  const endPad = e.op1('Sub', [e.shapeSlice(x, 2), covered]);
  return e.op1('Pad', [dxc, e.op1('Concat', [e.constI64(new Array(sp + 4).fill(0)), endPad], { axis: 0 })]);
}

export const poolRules: RuleTable = {
  MaxPool: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      if (attrInt(node, 'storage_order', 0) !== 0) ctx.fail(node, 'unsupported-attribute', 'MaxPool with storage_order=1 (column-major indices) is not supported');
      const x = node.input[0]!;
      const win = explicitWindow(ctx, node, x);
      const tiling =
        win.kernel.every((k, i) => k === win.strides[i] && win.dilations[i] === 1) && win.pads.every((p) => p === 0) && attrInt(node, 'ceil_mode', 0) === 0;
      if (tiling) return [tiledMaxPoolBackward(ctx, x, node.output[0]!, dY[0]!, win.kernel)];
      // Ask the forward node for the argmax positions (flat indices into x, batch and channel included).
      if (!node.output[1]) {
        while (node.output.length < 2) node.output.push('');
        node.output[1] = e.fresh('maxpool_indices');
      }
      const idx = node.output[1]!;
      const dy = dY[0]!;
      const overlap = win.kernel.some((k, i) => win.strides[i]! < win.dilations[i]! * (k - 1) + 1);
      // Disjoint windows never name an element twice, so a plain scatter is exact; overlapping
      // ones can, and need the summing scatter (opset 16).
      if (overlap) ctx.needOpset(node, 16, 'MaxPool with overlapping windows needs ScatterElements(reduction="add"), i.e. opset ≥ 16');
      const flat = e.reshape(dy, [-1]);
      const flatIdx = e.reshape(idx, [-1]);
      const zeros = e.op1('ConstantOfShape', [e.reshape(e.op1('Size', [x]), [1])], { value: makeTensor('value', [1], Float32Array.of(0), DataType.FLOAT) });
      const sum = e.op1('ScatterElements', [zeros, flatIdx, flat], { axis: 0, reduction: overlap ? 'add' : undefined });
      return [e.reshapeLike(sum, x)];
    },
  },
  AveragePool: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      if (attrInt(node, 'ceil_mode', 0) !== 0) ctx.fail(node, 'unsupported-attribute', 'AveragePool with ceil_mode=1 is not supported');
      const x = node.input[0]!;
      const y = node.output[0]!;
      const win = explicitWindow(ctx, node, x);
      const sp = win.kernel.length;
      const K = win.kernel.reduce((a, b) => a * b, 1);
      // Channels become batch entries so one single-channel kernel serves every channel.
      const dyFlat = e.reshape(dY[0]!, [-1, 1, ...new Array(sp).fill(0)]);
      const padded = win.pads.some((p) => p !== 0);
      const includePad = attrInt(node, 'count_include_pad', 0) === 1;
      let g: string;
      if (!padded || includePad) {
        g = convAdjoint(ctx, dyFlat, e.constF32(new Array(K).fill(1 / K), [1, 1, ...win.kernel]), win, 1, x, y);
      } else {
        // Border windows average over fewer elements: divide by the per-window count first.
        const ones = e.constF32(new Array(K).fill(1), [1, 1, ...win.kernel]);
        const field = e.op1('ConstantOfShape', [e.op1('Concat', [e.constI64([1, 1]), e.shapeSlice(x, 2)], { axis: 0 })], {
          value: makeTensor('value', [1], Float32Array.of(1), DataType.FLOAT),
        });
        const count = e.op1('Conv', [field, ones], { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads: win.pads });
        g = convAdjoint(ctx, e.op1('Div', [dyFlat, count]), ones, win, 1, x, y);
      }
      return [e.reshapeLike(g, x)];
    },
  },
  GlobalAveragePool: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      const x = node.input[0]!;
      const dims = ctx.shapes.get(x);
      const spatial = dims?.slice(2);
      let scaled: string;
      if (spatial && spatial.every((d) => typeof d === 'number')) {
        scaled = e.mulScalar(dY[0]!, 1 / (spatial as number[]).reduce((a, b) => a * b, 1));
      } else {
        const count = e.op1('Cast', [e.op1('ReduceProd', [e.shapeSlice(x, 2)], { keepdims: 0 })], { to: DataType.FLOAT });
        scaled = e.op1('Div', [dY[0]!, count]);
      }
      return [e.op1('Expand', [scaled, e.shape(x)])];
    },
  },
  GlobalMaxPool: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      const x = node.input[0]!;
      // Per (n, c) row the gradient goes to the first maximum (ArgMax's default tie rule).
      const rows = e.reshape(x, [0, 0, -1]);
      const arg = e.op1('ArgMax', [rows], { axis: 2, keepdims: 1 });
      const upd = e.reshape(dY[0]!, [0, 0, -1]);
      const zeros = e.op1('ConstantOfShape', [e.shape(rows)], { value: makeTensor('value', [1], Float32Array.of(0), DataType.FLOAT) });
      return [e.reshapeLike(e.op1('ScatterElements', [zeros, arg, upd], { axis: 2 }), x)];
    },
  },
};

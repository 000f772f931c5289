// Pooling backward rules. MaxPool routes each output gradient to the element onnxruntime itself
// reported as the window's maximum (its Indices output): exact, including ties, where the first
// maximum in the window's scan order receives the whole gradient.
import { DataType, attrInt, makeTensor } from '../../onnx';
import { convAdjoint, explicitWindow } from './conv';
import type { RuleTable } from './types';

export const poolRules: RuleTable = {
  MaxPool: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      if (attrInt(node, 'storage_order', 0) !== 0) ctx.fail(node, 'unsupported-attribute', 'MaxPool with storage_order=1 (column-major indices) is not supported');
      const x = node.input[0]!;
      const win = explicitWindow(ctx, node, x);
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
      if (overlap && ctx.opset < 16) ctx.fail(node, 'no-gradient-rule', 'MaxPool with overlapping windows needs ScatterElements(reduction="add"), i.e. opset ≥ 16');
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

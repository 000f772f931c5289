// Small hand-built graphs for the gradient builder's tests: one per backward rule (the op under
// test sits downstream of a per-sample gate, so the gate gradient passes through its rule), plus
// composites. Every case has float inputs, a loss spec and seeded random feeds.
import type { NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { readFileSync } from 'node:fs';
import { loadModel } from '../../src/core/onnx';
import { inferShapes as analysisShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { DataType, floatTensor, int64Tensor, makeModel, makeNode, makeValueInfo, OnnxModel, type AttrValue } from '../../src/core/onnx';
import type { LossSpec } from '../../src/core/autodiff';
import { inferSymbolicShapes } from '../../src/core/autodiff';
import { Rng } from '../../src/core/util/rng';

export interface Feed {
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface GradCase {
  name: string;
  model: OnnxModel;
  /** Graph input feeds (gates are 1, the data input random). */
  feeds: Record<string, Feed>;
  /** Inputs differentiated: gates get element-wise finite differences, others a directional one. */
  wrt: string[];
  loss: LossSpec;
  /** Feed for the loss input (target or labels). */
  lossFeed: Feed;
}

/** A tiny graph-building DSL: unique names, random weights, symbolic or fixed input dims. */
export class GraphBuilder {
  nodes: NodeProto[] = [];
  inits: TensorProto[] = [];
  inputs: ValueInfoProto[] = [];
  feeds: Record<string, Feed> = {};
  private n = 0;
  readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  randn(n: number, scale: number, offset = 0): Float32Array {
    return Float32Array.from({ length: n }, () => offset + this.rng.normal() * scale);
  }

  /** Declares a float input; `declared` may use symbols, `concrete` is what the test feeds. */
  input(name: string, declared: (number | string)[], concrete: number[], fill?: number): string {
    this.inputs.push(makeValueInfo(name, declared));
    const size = concrete.reduce((a, b) => a * b, 1);
    this.feeds[name] = { dims: concrete, data: fill === undefined ? this.randn(size, 1) : new Float32Array(size).fill(fill) };
    return name;
  }

  weight(dims: number[], scale?: number, offset = 0): string {
    const name = `w${this.n++}`;
    const fanIn = dims.length > 1 ? dims.slice(1).reduce((a, b) => a * b, 1) : 1;
    this.inits.push(floatTensor(name, this.randn(dims.reduce((a, b) => a * b, 1), scale ?? 1 / Math.sqrt(fanIn), offset), dims));
    return name;
  }

  constF(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.n++}`;
    this.inits.push(floatTensor(name, values, dims));
    return name;
  }

  constI(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.n++}`;
    this.inits.push(int64Tensor(name, values, dims));
    return name;
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => `t${this.n++}`);
    this.nodes.push(makeNode(type, inputs, outs, `${type.toLowerCase()}_${this.n++}`, attrs));
    return outs;
  }

  op1(type: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}): string {
    return this.op(type, inputs, attrs)[0]!;
  }

  conv(x: string, cin: number, cout: number, k = 3, attrs: Record<string, AttrValue | undefined> = {}): string {
    const group = (attrs.group as number | undefined) ?? 1;
    const pad = Math.floor(k / 2);
    return this.op1('Conv', [x, this.weight([cout, cin / group, k, k]), this.weight([cout], 0.1)], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], ...attrs });
  }

  model(outputs: string[], opset = 17): OnnxModel {
    const proto = makeModel({ opset, nodes: this.nodes, inputs: this.inputs, outputs: outputs.map((o) => makeValueInfo(o)), initializers: this.inits });
    if (opset > 18) proto.irVersion = 10n;
    return new OnnxModel(proto);
  }
}

const N = 2;

/** x [N,3,H,W] → Conv(3→C) → ·gate → `body` → Conv1x1 (→ 3 channels) → MSE. */
function gatedImageCase(
  name: string,
  body: (b: GraphBuilder, act: string, c: number) => { out: string; channels: number },
  opts: { seed?: number; h?: number; w?: number; c?: number; opset?: number; symbolic?: boolean; wrtX?: boolean } = {},
): GradCase {
  const b = new GraphBuilder(opts.seed ?? 7);
  const h = opts.h ?? 8;
  const w = opts.w ?? 8;
  const c = opts.c ?? 4;
  const sym = opts.symbolic ?? true;
  const x = b.input('x', ['N', 3, sym ? 'H' : h, sym ? 'W' : w], [N, 3, h, w]);
  const gate = b.input('gate/g', ['N', c, 1, 1], [N, c, 1, 1], 1);
  const act = b.op1('Mul', [b.conv(x, 3, c), gate]);
  const { out, channels } = body(b, act, c);
  const y = b.op1('Conv', [out, b.weight([3, channels, 1, 1]), b.weight([3], 0.1)], { kernel_shape: [1, 1] });
  const model = b.model([y], opts.opset ?? 17);
  const dims = inferSymbolicShapes(model).get(y);
  const concrete = concreteDims(model, b.feeds, y, dims);
  const size = concrete.reduce((a, q) => a * q, 1);
  return {
    name,
    model,
    feeds: b.feeds,
    wrt: opts.wrtX === false ? [gate] : [gate, x],
    loss: { kind: 'mse', output: y, target: 'target' },
    lossFeed: { dims: concrete, data: b.randn(size, 0.5) },
  };
}

/** x [N,3,H,W] → Conv(3→C) → ·gate → `body` (ending in [N, K] logits) → cross-entropy. */
function gatedClassifierCase(
  name: string,
  body: (b: GraphBuilder, act: string, c: number) => { logits: string; classes: number },
  opts: { seed?: number; c?: number; opset?: number; batch?: number } = {},
): GradCase {
  const b = new GraphBuilder(opts.seed ?? 11);
  const c = opts.c ?? 4;
  const N = opts.batch ?? 2;
  const x = b.input('x', ['N', 3, 8, 8], [N, 3, 8, 8]);
  const gate = b.input('gate/g', ['N', c, 1, 1], [N, c, 1, 1], 1);
  const act = b.op1('Mul', [b.conv(x, 3, c), gate]);
  const { logits, classes } = body(b, act, c);
  const labels = BigInt64Array.from({ length: N }, () => BigInt(b.rng.nextInt(classes)));
  return { name, model: b.model([logits], opts.opset ?? 17), feeds: b.feeds, wrt: [gate, x], loss: { kind: 'cross-entropy', output: logits, labels: 'labels' }, lossFeed: { dims: [N], data: labels } };
}

/** Output dims for the concrete feeds (symbols resolved from the input feeds' dims). */
function concreteDims(model: OnnxModel, feeds: Record<string, Feed>, tensor: string, dims: ReturnType<ReturnType<typeof inferSymbolicShapes>['get']>): number[] {
  const overrides = Object.fromEntries(model.realInputs.map((v) => [v.name, feeds[v.name]!.dims]));
  const d = inferSymbolicShapes(model, overrides).get(tensor);
  if (!d || d.some((x) => typeof x !== 'number')) throw new Error(`test case: cannot size '${tensor}' (${JSON.stringify(dims)})`);
  return d as number[];
}

const unaryCase = (op: string, attrs: Record<string, AttrValue | undefined> = {}, opset = 17) =>
  gatedImageCase(op + (Object.keys(attrs).length ? JSON.stringify(attrs) : ''), (b, a, c) => ({ out: b.op1(op, [a], attrs), channels: c }), { opset });

/** One case per backward rule. */
export function ruleCases(): GradCase[] {
  const cases: GradCase[] = [
    unaryCase('Relu'),
    unaryCase('LeakyRelu', { alpha: 0.1 }),
    unaryCase('Sigmoid'),
    unaryCase('HardSigmoid', { alpha: { float: 0.25 }, beta: { float: 0.4 } }),
    unaryCase('HardSwish'),
    unaryCase('Tanh'),
    unaryCase('Elu', { alpha: { float: 0.7 } }),
    unaryCase('Softplus'),
    unaryCase('Gelu', {}, 20),
    unaryCase('Gelu', { approximate: 'tanh' }, 20),
    unaryCase('Identity'),
    unaryCase('Dropout'),
    gatedImageCase('PRelu', (b, a, c) => ({ out: b.op1('PRelu', [a, b.constF([0.1, 0.2, -0.1, 0.3], [c, 1, 1])]), channels: c })),
    gatedImageCase('Clip', (b, a, c) => ({ out: b.op1('Clip', [a, b.constF([-0.4], []), b.constF([0.5], [])]), channels: c })),
    gatedImageCase('Clip(min only)', (b, a, c) => ({ out: b.op1('Clip', [a, b.constF([-0.2], [])]), channels: c })),
    gatedImageCase('Cast float', (b, a, c) => ({ out: b.op1('Cast', [a], { to: DataType.FLOAT }), channels: c })),
    gatedImageCase('Erf-GELU pattern', (b, a, c) => {
      const e = b.op1('Erf', [b.op1('Div', [a, b.constF([Math.SQRT2], [])])]);
      return { out: b.op1('Mul', [b.op1('Mul', [a, b.op1('Add', [e, b.constF([1], [])])]), b.constF([0.5], [])]), channels: c };
    }),
    gatedImageCase('Sqrt/Pow/Exp/Log/Neg/Reciprocal/Abs', (b, a, c) => {
      const sq = b.op1('Sqrt', [b.op1('Add', [b.op1('Pow', [a, b.constF([2], [])]), b.constF([1], [])])]);
      const p = b.op1('Pow', [b.op1('Add', [b.op1('Abs', [a]), b.constF([0.5], [])]), b.constF([1.5], [])]);
      const ex = b.op1('Exp', [b.op1('Neg', [b.op1('Mul', [a, a])])]);
      const lg = b.op1('Log', [b.op1('Add', [sq, b.constF([0.1], [])])]);
      const rc = b.op1('Reciprocal', [b.op1('Add', [sq, b.constF([1], [])])]);
      return { out: b.op1('Sum', [p, ex, lg, rc]), channels: c };
    }),
    gatedImageCase('Add/Sub/Mul/Div broadcasting', (b, a, c) => {
      const one = b.op1('Conv', [a, b.weight([1, c, 1, 1]), b.weight([1], 0.1)], { kernel_shape: [1, 1] }); // [N,1,H,W], gate-dependent
      const chan = b.op1('GlobalAveragePool', [a]); // [N,C,1,1]
      const s = b.op1('Add', [b.op1('Mul', [a, one]), b.constF([0.1, -0.2, 0.3, 0.05], [1, c, 1, 1])]);
      const d = b.op1('Div', [s, b.op1('Add', [b.op1('Sigmoid', [one]), b.constF([0.5], [])])]);
      const t = b.op1('Sub', [chan, d]);
      const u = b.op1('Div', [b.op1('Sub', [b.constF([0.3], []), a]), b.op1('Add', [b.op1('Mul', [chan, chan]), b.constF([1], [])])]);
      return { out: b.op1('Add', [t, u]), channels: c };
    }),
    gatedImageCase('Where', (b, a, c) => {
      const cond = b.op1('Greater', [b.constF([0, 1, 0, 1], [1, c, 1, 1]), b.constF([0.5], [])]);
      return { out: b.op1('Where', [cond, a, b.op1('Mul', [a, a])]), channels: c };
    }),
    gatedImageCase('Expand', (b, a, c) => {
      const one = b.op1('Conv', [a, b.weight([1, c, 1, 1])], { kernel_shape: [1, 1] });
      const ex = b.op1('Expand', [one, b.constI([1, c, 1, 1])]);
      return { out: b.op1('Mul', [ex, a]), channels: c };
    }),
    gatedImageCase('BatchNormalization', (b, a, c) => {
      const bn = b.op1('BatchNormalization', [a, b.weight([c], 0.3, 1), b.weight([c], 0.2), b.weight([c], 0.2), b.constF([0.5, 1.5, 0.8, 2.0])], { epsilon: { float: 1e-3 } });
      return { out: b.op1('Relu', [bn]), channels: c };
    }),
    // IN is invariant to a per-channel gate alone; adding an ungated tensor makes the gate matter.
    gatedImageCase('InstanceNormalization', (b, a, c) => {
      const mixed = b.op1('Add', [a, b.conv('x', 3, c)]);
      return { out: b.op1('InstanceNormalization', [mixed, b.weight([c], 0.3, 1), b.weight([c], 0.2)], { epsilon: { float: 1e-4 } }), channels: c };
    }),
    ...convCases(),
    gatedImageCase('ConvTranspose k2 s2', (b, a, c) => ({ out: b.op1('ConvTranspose', [a, b.weight([c, 3, 2, 2]), b.weight([3], 0.1)], { kernel_shape: [2, 2], strides: [2, 2] }), channels: 3 })),
    gatedImageCase('ConvTranspose k3 s2 p1 op1 group2', (b, a, c) => ({
      out: b.op1('ConvTranspose', [a, b.weight([c, 2, 3, 3])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], group: 2 }),
      channels: 4,
    })),
    gatedImageCase('MaxPool k2 s2', (b, a, c) => ({ out: b.op1('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2] }), channels: c })),
    gatedImageCase('MaxPool k3 s2 p1 (overlapping)', (b, a, c) => ({ out: b.op1('MaxPool', [a], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), channels: c })),
    gatedImageCase('MaxPool k2 s2 ceil_mode', (b, a, c) => ({ out: b.op1('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }), channels: c }), { h: 7, w: 9 }),
    gatedImageCase('AveragePool k2 s2', (b, a, c) => ({ out: b.op1('AveragePool', [a], { kernel_shape: [2, 2], strides: [2, 2] }), channels: c }), { h: 9 }),
    gatedImageCase('AveragePool k3 s1 p1 exclude pad', (b, a, c) => ({ out: b.op1('AveragePool', [a], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), channels: c })),
    gatedImageCase('AveragePool k3 s2 p1 include pad', (b, a, c) => ({ out: b.op1('AveragePool', [a], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }), channels: c })),
    ...resizeCases(),
    gatedImageCase('Pad constant (+/−)', (b, a, c) => ({ out: b.op1('Pad', [a, b.constI([0, 0, 1, -1, 0, 0, 2, 1])]), channels: c })),
    gatedImageCase('Slice unit steps, negative start', (b, a) => ({ out: b.op1('Slice', [a, b.constI([1, -6]), b.constI([4, 100]), b.constI([1, 3])]), channels: 3 })),
    gatedImageCase('Slice steps 2', (b, a, c) => ({ out: b.op1('Slice', [a, b.constI([0, 1]), b.constI([100, 7]), b.constI([2, 3]), b.constI([1, 2])]), channels: c })),
    gatedImageCase('Slice static', (b, a, c) => ({ out: b.op1('Slice', [a, b.constI([1, 2]), b.constI([-1, 7]), b.constI([2, 3])]), channels: c }), { symbolic: false }),
    gatedImageCase('Concat/Split', (b, a, c) => {
      const other = b.op1('Relu', [b.conv(a, c, 3)]);
      const cat = b.op1('Concat', [other, a], { axis: 1 });
      const [p, , r] = b.op('Split', [cat, b.constI([2, 2, 3])], { axis: 1 }, 3) as [string, string, string];
      return { out: b.op1('Concat', [r, p], { axis: -3 }), channels: 5 };
    }),
    gatedImageCase('Transpose/MatMul/Reshape/Flatten/Unsqueeze/Squeeze', (b, a, c) => {
      const t = b.op1('Transpose', [a], { perm: [0, 2, 3, 1] });
      const m = b.op1('MatMul', [t, b.weight([c, 3])]);
      const back = b.op1('Transpose', [m], { perm: [0, 3, 1, 2] });
      const sq = b.op1('Squeeze', [b.op1('Unsqueeze', [back, b.constI([1])]), b.constI([1])]);
      const flat = b.op1('Flatten', [sq], { axis: 2 });
      return { out: b.op1('Reshape', [flat, b.constI([-1, 3, 8, 8])]), channels: 3 };
    }),
    gatedImageCase('Gated channels: Concat → Gather → Mul', (b, a, c) => {
      const g2 = b.input('gate/h', ['N', 2, 1, 1], [N, 2, 1, 1], 1);
      const cat = b.op1('Concat', ['gate/g', g2], { axis: 1 });
      const picked = b.op1('Gather', [cat, b.constI([0, 4, 1, 5, 4, 2])], { axis: 1 });
      const wide = b.conv(a, c, 6);
      return { out: b.op1('Mul', [wide, picked]), channels: 6 };
    }),
    gatedImageCase('Gather with run-time indices (ScatterElements add)', (b, a) => {
      b.inputs.push(makeValueInfo('idx', [6], DataType.INT64));
      b.feeds.idx = { dims: [6], data: BigInt64Array.from([3n, 0n, 3n, -1n, 1n, 2n]) };
      return { out: b.op1('Gather', [a, 'idx'], { axis: 1 }), channels: 6 };
    }),
    gatedImageCase('Gather scalar and 2-D indices on spatial axes', (b, a, c) => {
      const row = b.op1('Gather', [a, b.constI([2], [])], { axis: 2 }); // [N, C, W]
      const cols = b.op1('Gather', [row, b.constI([0, 5, 5, 7, 1, 0], [2, 3])], { axis: -1 }); // [N, C, 2, 3]
      return { out: cols, channels: c };
    }),
  ];
  const gatherOld = gatherCase(13);
  return [...cases, gatherOld];
}

function gatherCase(opset: number): GradCase {
  const c = gatedImageCase(
    `Gather at opset ${opset}`,
    (b, a, ch) => {
      const g2 = b.input('gate/h', ['N', 2, 1, 1], [N, 2, 1, 1], 1);
      const cat = b.op1('Concat', ['gate/g', g2], { axis: 1 });
      const picked = b.op1('Gather', [cat, b.constI([0, 4, 1, 5, 4, 2])], { axis: 1 });
      return { out: b.op1('Mul', [b.conv(a, ch, 6), picked]), channels: 6 };
    },
    { opset },
  );
  c.wrt = ['gate/g', 'gate/h'];
  return c;
}

function convCases(): GradCase[] {
  const out: GradCase[] = [];
  const variants: [string, Record<string, AttrValue>, number, number][] = [
    ['s2 p1 k3', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 8, 9],
    ['s2 k1', { kernel_shape: [1, 1], strides: [2, 2] }, 8, 7],
    ['s3 k3 pads 0,1,2,0', { kernel_shape: [3, 3], strides: [3, 3], pads: [0, 1, 2, 0] }, 10, 11],
    ['dilation 2', { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] }, 8, 8],
    ['group 2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 2 }, 8, 8],
    ['depthwise s2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4, strides: [2, 2] }, 9, 8],
    ['SAME_UPPER s2', { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER', strides: [2, 2] }, 8, 7],
  ];
  for (const [label, attrs, h, w] of variants) {
    for (const symbolic of [true, false]) {
      if (attrs.auto_pad && symbolic) continue;
      out.push(
        gatedImageCase(
          `Conv ${label} ${symbolic ? 'dynamic' : 'static'} ${h}×${w}`,
          (b, a, c) => {
            const g = (attrs.group as number | undefined) ?? 1;
            const k = (attrs.kernel_shape as number[])[0]!;
            return { out: b.op1('Conv', [a, b.weight([4, c / g, k, k])], attrs), channels: 4 };
          },
          { h, w, symbolic },
        ),
      );
    }
  }
  return out;
}

function resizeCases(): GradCase[] {
  const resize = (label: string, attrs: Record<string, AttrValue>, scales: number[] | null, sizes: number[] | null, o: { h?: number; w?: number; symbolic?: boolean; opset?: number } = {}) =>
    gatedImageCase(
      `Resize ${label}`,
      (b, a, c) => {
        const ins = [a, '', scales ? b.constF(scales) : ''];
        if (sizes) ins.push(b.constI(sizes));
        return { out: b.op1('Resize', ins, attrs), channels: c };
      },
      { h: o.h ?? 5, w: o.w ?? 6, symbolic: o.symbolic ?? true, opset: o.opset },
    );
  return [
    resize('nearest asymmetric floor ×2', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 2, 2], null),
    resize('nearest half_pixel ×3×2', { mode: 'nearest' }, [1, 1, 3, 2], null),
    resize('linear half_pixel ×2', { mode: 'linear' }, [1, 1, 2, 2], null),
    resize('linear half_pixel ×2 on 1×1', { mode: 'linear' }, [1, 1, 2, 2], null, { h: 1, w: 1 }),
    resize('linear pytorch_half_pixel ×3', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, [1, 1, 3, 3], null),
    resize('linear asymmetric ×2', { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, [1, 1, 2, 2], null),
    resize('linear align_corners static 5×6→9×13', { mode: 'linear', coordinate_transformation_mode: 'align_corners', axes: [2, 3] }, null, [9, 13], { symbolic: false, opset: 18 }),
    resize('nearest ×1.5 static', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 1.5, 1.5], null, { h: 4, w: 6, symbolic: false }),
    resize('linear half_pixel ×0.5 static', { mode: 'linear' }, [1, 1, 0.5, 0.5], null, { h: 8, w: 6, symbolic: false }),
  ];
}

/** Classifier-style cases: Global pools, Flatten, Gemm, MatMul of two run-time operands, Softmax. */
export function classifierCases(): GradCase[] {
  return [
    gatedClassifierCase('GlobalAveragePool → Flatten → Gemm (transB) → Relu → Gemm', (b, a, c) => {
      const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [a])]);
      const h = b.op1('Relu', [b.op1('Gemm', [f, b.weight([6, c]), b.weight([6], 0.1)], { transB: 1 })]);
      return { logits: b.op1('Gemm', [h, b.weight([6, 5]), b.weight([5], 0.1)], { alpha: { float: 0.7 }, beta: { float: 1.3 } }), classes: 5 };
    }),
    gatedClassifierCase('GlobalMaxPool → Flatten → Gemm (transA operand)', (b, a, c) => {
      const f = b.op1('Flatten', [b.op1('GlobalMaxPool', [a])]);
      const ft = b.op1('Transpose', [f]);
      return { logits: b.op1('Gemm', [ft, b.weight([c, 3])], { transA: 1 }), classes: 3 };
    }),
    gatedClassifierCase('MatMul of two run-time operands + Softmax/LogSoftmax', (b, a, c) => {
      const rows = b.op1('Reshape', [a, b.constI([0, c, -1])]);
      const gram = b.op1('MatMul', [rows, b.op1('Transpose', [rows], { perm: [0, 2, 1] })]);
      const f = b.op1('Flatten', [b.op1('Mul', [gram, b.constF([0.05], [])])]);
      const sm = b.op1('Softmax', [b.op1('Gemm', [f, b.weight([c * c, 4])])], { axis: 1 });
      return { logits: b.op1('Add', [b.op1('LogSoftmax', [b.op1('Mul', [sm, b.constF([3], [])])], { axis: -1 }), sm]), classes: 4 };
    }),
    gatedClassifierCase('Gemm with run-time B (both operands)', (b, a, c) => {
      const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [a])]); // [N, C]
      // B mixes samples, so this case runs with one sample (the FD check assumes independent samples).
      const bm = b.op1('Reshape', [b.op1('Gemm', [f, b.weight([c, 2 * 3])]), b.constI([-1, 3])]); // [2, 3]
      const left = b.op1('Gemm', [f, b.weight([c, 2])]); // [1, 2]
      return { logits: b.op1('Gemm', [left, bm], { transB: 0, alpha: { float: 0.5 } }), classes: 3 };
    }, { batch: 1 }),
    gatedClassifierCase('Gemm transA/transB with run-time operands', (b, a, c) => {
      const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [a])]); // [1, C]
      const bt = b.op1('Reshape', [b.op1('Gemm', [f, b.weight([c, 6])]), b.constI([3, 2])]); // [3, 2] = Bᵀ
      const at = b.op1('Reshape', [b.op1('Gemm', [f, b.weight([c, 2])]), b.constI([2, 1])]); // [2, 1] = Aᵀ
      return { logits: b.op1('Gemm', [at, bt, b.weight([1, 3], 0.1)], { transA: 1, transB: 1, beta: { float: 0.5 } }), classes: 3 };
    }, { batch: 1 }),
  ];
}

/**
 * Conv-BN-ReLU-MaxPool-Resize-Add-Concat-ConvTranspose-Gemm composite with three gates, MSE
 * (image output) or cross-entropy (Gemm head). Exposes the gated activations for Gram checks.
 */
export function compositeCase(kind: 'mse' | 'cross-entropy', opts: { seed?: number; opset?: number; batch?: number; h?: number } = {}): GradCase & { gated: string[] } {
  const b = new GraphBuilder(opts.seed ?? 21);
  const n = opts.batch ?? 2;
  const h = opts.h ?? 8;
  const x = b.input('x', ['N', 3, 'H', 'W'], [n, 3, h, h]);
  const g1 = b.input('gate/g1', ['N', 8, 1, 1], [n, 8, 1, 1], 1);
  const g2 = b.input('gate/g2', ['N', 6, 1, 1], [n, 6, 1, 1], 1);
  const g3 = b.input('gate/g3', ['N', 5, 1, 1], [n, 5, 1, 1], 1);
  const bn = b.op1('BatchNormalization', [b.conv(x, 3, 8), b.weight([8], 0.2, 1), b.weight([8], 0.1), b.weight([8], 0.1), b.constF(Array.from({ length: 8 }, (_, i) => 0.5 + 0.2 * i))]);
  const a1 = b.op1('Mul', [b.op1('Relu', [bn]), g1]);
  const pooled = b.op1('MaxPool', [a1], { kernel_shape: [2, 2], strides: [2, 2] });
  const a2 = b.op1('Mul', [b.op1('LeakyRelu', [b.conv(pooled, 8, 6)], { alpha: 0.1 }), g2]);
  // An empty roi rather than an absent one: Resize-11 requires the input.
  const up = b.op1('Resize', [a2, b.constF([], [0]), b.constF([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  const skip = b.op1('Add', [up, b.conv(a1, 8, 6, 1)]);
  const ct = b.op1('ConvTranspose', [pooled, b.weight([8, 2, 2, 2]), b.weight([2], 0.1)], { kernel_shape: [2, 2], strides: [2, 2] });
  const cat = b.op1('Concat', [skip, ct], { axis: 1 });
  const a3 = b.op1('Mul', [b.op1('Relu', [b.conv(cat, 8, 5)]), g3]);
  const gated = [a1, a2, a3];
  if (kind === 'mse') {
    const y = b.op1('Add', [x, b.op1('Conv', [a3, b.weight([3, 5, 1, 1], 0.2)], { kernel_shape: [1, 1] })]);
    const size = n * 3 * h * h;
    return { name: 'composite mse', model: b.model([y], opts.opset ?? 17), feeds: b.feeds, wrt: [g1, g2, g3, x], loss: { kind: 'mse', output: y, target: 'target' }, lossFeed: { dims: [n, 3, h, h], data: b.randn(size, 0.5) }, gated };
  }
  const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [a3])]);
  const logits = b.op1('Gemm', [f, b.weight([4, 5], 1), b.weight([4], 0.1)], { transB: 1 });
  const labels = BigInt64Array.from({ length: n }, () => BigInt(b.rng.nextInt(4)));
  return { name: 'composite ce', model: b.model([logits], opts.opset ?? 17), feeds: b.feeds, wrt: [g1, g2, g3, x], loss: { kind: 'cross-entropy', output: logits, labels: 'labels' }, lossFeed: { dims: [n], data: labels }, gated };
}

const FIX = 'test/fixtures';

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

/** `count` crops of size s×s from a [1, 3, H, W] image (second crop mirrored), as [count, 3, s, s]. */
function crops(img: Float32Array, H: number, W: number, s: number, count: number, rng: Rng): Float32Array {
  const out = new Float32Array(count * 3 * s * s);
  for (let n = 0; n < count; n++) {
    const y0 = rng.nextInt(H - s + 1);
    const x0 = rng.nextInt(W - s + 1);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) {
          const xs = n % 2 === 1 ? s - 1 - x : x;
          out[((n * 3 + c) * s + y) * s + x] = img[(c * H + y0 + y) * W + x0 + xs]!;
        }
  }
  return out;
}

/**
 * A trained fixture gated per sample by the project's gated-model builder, fed with crops of its
 * reference input; wrt = every gate plus the image input.
 */
export async function fixtureCase(name: string, batch: number, size = 32, seed = 1): Promise<GradCase> {
  const model = await loadModel(`${FIX}/${name}.onnx`);
  const shapes = await analysisShapes(model, [1, 3, size, size]);
  const gated = buildGatedModel(model, analyzeDependencies(model, shapes), { layout: 'per-sample' });
  const meta = JSON.parse(readFileSync(`${FIX}/models.json`, 'utf8')).models[name];
  const [, , H, W] = meta.ref.input_shape as number[];
  const rng = new Rng(seed);
  const input = crops(readF32(`${FIX}/${meta.ref.input}`), H!, W!, size, batch, rng);
  const feeds: Record<string, Feed> = { [meta.input_name]: { dims: [batch, 3, size, size], data: input } };
  for (const g of gated.gateInputs) feeds[g.name] = { dims: [batch, g.size, 1, 1], data: new Float32Array(batch * g.size).fill(1) };
  const wrt = [...gated.gateInputs.map((g) => g.name), meta.input_name as string];
  if (meta.task === 'classify') {
    const labels = BigInt64Array.from({ length: batch }, () => BigInt(rng.nextInt(4)));
    return { name, model: gated.model, feeds, wrt, loss: { kind: 'cross-entropy', output: meta.output_name, labels: 'labels' }, lossFeed: { dims: [batch], data: labels } };
  }
  // A target far from the output keeps the loss near 0.1–0.3, well above float32 rounding.
  const target = Float32Array.from(input, () => rng.next());
  return { name, model: gated.model, feeds, wrt, loss: { kind: 'mse', output: meta.output_name, target: 'target' }, lossFeed: { dims: [batch, 3, size, size], data: target } };
}


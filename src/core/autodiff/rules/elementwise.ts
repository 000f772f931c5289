// Backward rules of element-wise ops. Masks are taken from the op's output where that is
// equivalent (Relu: y > 0 ⇔ x > 0), so the pre-activation need not stay alive and onnxruntime
// can still fuse Conv+Relu in the forward part.
import type { NodeProto } from 'onnx-buf';
import { DataType, attrFloat, attrInt, attrString } from '../../onnx';
import type { GradRule, RuleContext, RuleTable } from './types';

const ONLY_FIRST = () => [0];

function unary(f: (ctx: RuleContext, node: NodeProto, dy: string) => string, inputs: (n: NodeProto) => number[] = ONLY_FIRST): GradRule {
  return { inputs, outputs: [0], backward: (ctx, node, dY, need) => [need[0] ? f(ctx, node, dY[0]!) : undefined] };
}

function where(ctx: RuleContext, cond: string, a: string, b: string): string {
  return ctx.e.op1('Where', [cond, a, b]);
}

/** A boolean tensor as 0/1 floats: Cast + Mul runs faster than Where on onnxruntime's CPU provider. */
function mask(ctx: RuleContext, cond: string): string {
  return ctx.e.op1('Cast', [cond], { to: DataType.FLOAT });
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function geluDerivative(ctx: RuleContext, x: string, approximate: string): string {
  const { e } = ctx;
  if (approximate === 'tanh') {
    // y = 0.5·x·(1 + tanh u), u = c·(x + k·x³): y' = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh²u)·c·(1 + 3k·x²)
    const c = Math.sqrt(2 / Math.PI);
    const k = 0.044715;
    const x2 = e.mul(x, x);
    const inner = e.op1('Add', [e.scalarF(1), e.mulScalar(x2, k)]);
    const u = e.mulScalar(e.mul(x, inner), c);
    const th = e.op1('Tanh', [u]);
    const half1 = e.op1('Add', [e.mulScalar(th, 0.5), e.scalarF(0.5)]);
    const sech2 = e.op1('Sub', [e.scalarF(1), e.mul(th, th)]);
    const du = e.op1('Add', [e.scalarF(c), e.mulScalar(x2, 3 * k * c)]);
    return e.op1('Add', [half1, e.mulScalar(e.mul(e.mul(x, sech2), du), 0.5)]);
  }
  // y = x·Φ(x): y' = Φ(x) + x·φ(x)
  const erf = e.op1('Erf', [e.mulScalar(x, SQRT1_2)]);
  const phiCdf = e.op1('Add', [e.mulScalar(erf, 0.5), e.scalarF(0.5)]);
  const pdf = e.mulScalar(e.op1('Exp', [e.mulScalar(e.mul(x, x), -0.5)]), INV_SQRT_2PI);
  return e.op1('Add', [phiCdf, e.mul(x, pdf)]);
}

function softmaxAxes(ctx: RuleContext, node: NodeProto): number[] {
  const axis = attrInt(node, 'axis', ctx.opset >= 13 ? -1 : 1);
  if (ctx.opset >= 13) return [axis];
  // Before opset 13 Softmax normalised over the whole coerced 2-D row: every axis from `axis` on.
  const r = ctx.rank(node.input[0]!, node);
  const a = axis < 0 ? axis + r : axis;
  return Array.from({ length: r - a }, (_, i) => a + i);
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

export const elementwiseRules: RuleTable = {
  Identity: unary((_c, _n, dy) => dy),
  Dropout: unary((_c, _n, dy) => dy),
  Cast: {
    inputs: (n) => (FLOAT_TYPES.has(attrInt(n, 'to', 0)) ? [0] : []),
    outputs: [0],
    // The graph computes in float32; a cast to another float type is undone for the gradient.
    backward: (ctx, node, dY) => [attrInt(node, 'to', 0) === DataType.FLOAT ? dY[0]! : ctx.e.op1('Cast', [dY[0]!], { to: DataType.FLOAT })],
  },
  // y > 0 ⇔ x > 0; the mask is read from y so the pre-activation need not stay alive.
  Relu: unary((ctx, node, dy) => ctx.e.mul(dy, mask(ctx, ctx.e.op1('Greater', [node.output[0]!, ctx.e.scalarF(0)])))),
  LeakyRelu: unary((ctx, node, dy) => {
    const { e } = ctx;
    const alpha = attrFloat(node, 'alpha', 0.01);
    const ref = alpha >= 0 ? node.output[0]! : node.input[0]!;
    // factor = 1 where x > 0, α elsewhere: m·(1 − α) + α
    const m = mask(ctx, e.op1('Greater', [ref, e.scalarF(0)]));
    return e.mul(dy, e.op1('Add', [e.mulScalar(m, 1 - alpha), e.scalarF(alpha)]));
  }),
  PRelu: {
    inputs: () => [0, 1],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const dy = dY[0]!;
      const dx = need[0] ? where(ctx, e.op1('Greater', [node.input[0]!, e.scalarF(0)]), dy, e.mul(dy, node.input[1]!)) : undefined;
      return [dx, undefined];
    },
  },
  Sigmoid: unary(({ e }, node, dy) => {
    const y = node.output[0]!;
    return e.mul(dy, e.mul(y, e.op1('Sub', [e.scalarF(1), y])));
  }),
  Tanh: unary(({ e }, node, dy) => {
    const y = node.output[0]!;
    return e.mul(dy, e.op1('Sub', [e.scalarF(1), e.mul(y, y)]));
  }),
  HardSigmoid: unary((ctx, node, dy) => {
    const { e } = ctx;
    const y = node.output[0]!;
    const inside = e.op1('And', [e.op1('Greater', [y, e.scalarF(0)]), e.op1('Less', [y, e.scalarF(1)])]);
    return e.mul(e.mulScalar(dy, attrFloat(node, 'alpha', 0.2)), mask(ctx, inside));
  }),
  HardSwish: unary((ctx, node, dy) => {
    const { e } = ctx;
    const x = node.input[0]!;
    const lin = e.op1('Add', [e.mulScalar(x, 1 / 3), e.scalarF(0.5)]);
    const upper = where(ctx, e.op1('Greater', [x, e.scalarF(3)]), e.scalarF(1), lin);
    return e.mul(dy, where(ctx, e.op1('Less', [x, e.scalarF(-3)]), e.scalarF(0), upper));
  }),
  Clip: {
    inputs: (n) => n.input.map((_, i) => i).filter((i) => i === 0 || !!n.input[i]),
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      // y = clip(x) equals x exactly where min ≤ x ≤ max (torch.clamp's gradient region).
      const { e } = ctx;
      const inside = mask(ctx, e.op1('Equal', [node.input[0]!, node.output[0]!]));
      return [need[0] ? e.mul(dY[0]!, inside) : undefined];
    },
  },
  Elu: unary((ctx, node, dy) => {
    const { e } = ctx;
    const y = node.output[0]!;
    const alpha = attrFloat(node, 'alpha', 1);
    return where(ctx, e.op1('Greater', [y, e.scalarF(0)]), dy, e.mul(dy, e.op1('Add', [y, e.scalarF(alpha)])));
  }),
  Gelu: unary((ctx, node, dy) => ctx.e.mul(dy, geluDerivative(ctx, node.input[0]!, attrString(node, 'approximate', 'none')))),
  Erf: unary(({ e }, node, dy) => {
    const x = node.input[0]!;
    return e.mul(dy, e.mulScalar(e.op1('Exp', [e.op1('Neg', [e.mul(x, x)])]), TWO_OVER_SQRT_PI));
  }),
  Sqrt: unary(({ e }, node, dy) => e.op1('Div', [e.mulScalar(dy, 0.5), node.output[0]!])),
  Softplus: unary(({ e }, node, dy) => e.mul(dy, e.op1('Sigmoid', [node.input[0]!]))),
  Exp: unary(({ e }, node, dy) => e.mul(dy, node.output[0]!)),
  Log: unary(({ e }, node, dy) => e.op1('Div', [dy, node.input[0]!])),
  Neg: unary(({ e }, _node, dy) => e.op1('Neg', [dy])),
  Reciprocal: unary(({ e }, node, dy) => {
    const y = node.output[0]!;
    return e.op1('Neg', [e.mul(dy, e.mul(y, y))]);
  }),
  Abs: unary(({ e }, node, dy) => e.mul(dy, e.op1('Sign', [node.input[0]!]))),
  Softmax: unary((ctx, node, dy) => {
    const { e } = ctx;
    const y = node.output[0]!;
    const s = e.reduceSum(e.mul(dy, y), softmaxAxes(ctx, node), true);
    return e.mul(y, e.op1('Sub', [dy, s]));
  }),
  LogSoftmax: unary((ctx, node, dy) => {
    const { e } = ctx;
    const s = e.reduceSum(dy, softmaxAxes(ctx, node), true);
    return e.op1('Sub', [dy, e.mul(e.op1('Exp', [node.output[0]!]), s)]);
  }),

  Add: {
    outputs: [0],
    backward: (ctx, node, dY, need) => node.input.map((x, i) => (need[i] ? ctx.reduceTo(dY[0]!, node.output[0]!, x) : undefined)),
  },
  Sum: {
    outputs: [0],
    backward: (ctx, node, dY, need) => node.input.map((x, i) => (need[i] ? ctx.reduceTo(dY[0]!, node.output[0]!, x) : undefined)),
  },
  Sub: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const [a, b] = node.input as [string, string];
      const y = node.output[0]!;
      return [need[0] ? ctx.reduceTo(dY[0]!, y, a) : undefined, need[1] ? ctx.e.op1('Neg', [ctx.reduceTo(dY[0]!, y, b)]) : undefined];
    },
  },
  Mul: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const [a, b] = node.input as [string, string];
      const y = node.output[0]!;
      const dy = dY[0]!;
      return [need[0] ? ctx.reduceTo(ctx.e.mul(dy, b), y, a) : undefined, need[1] ? ctx.reduceTo(ctx.e.mul(dy, a), y, b) : undefined];
    },
  },
  Div: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const [a, b] = node.input as [string, string];
      const y = node.output[0]!;
      const dy = dY[0]!;
      const da = need[0] ? ctx.reduceTo(e.op1('Div', [dy, b]), y, a) : undefined;
      // d(a/b)/db = −a/b² = −y/b
      const db = need[1] ? ctx.reduceTo(e.op1('Neg', [e.op1('Div', [e.mul(dy, y), b])]), y, b) : undefined;
      return [da, db];
    },
  },
  Pow: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e, model } = ctx;
      const [a, p] = node.input as [string, string];
      const y = node.output[0]!;
      const dy = dY[0]!;
      let da: string | undefined;
      if (need[0]) {
        const pc = model.constant(p);
        let local: string;
        if (pc && pc.data.length === 1 && (pc.data instanceof Float32Array || pc.data instanceof Float64Array)) {
          const v = pc.data[0]!;
          local = v === 2 ? e.mulScalar(a, 2) : v === 1 ? e.scalarF(1) : e.mulScalar(e.op1('Pow', [a, e.scalarF(v - 1)]), v);
        } else {
          const pf = pc && !(pc.data instanceof Float32Array) ? e.op1('Cast', [p], { to: DataType.FLOAT }) : p;
          local = e.mul(pf, e.op1('Pow', [a, e.op1('Sub', [pf, e.scalarF(1)])]));
        }
        da = ctx.reduceTo(e.mul(dy, local), y, a);
      }
      const db = need[1] ? ctx.reduceTo(e.mul(e.mul(dy, y), e.op1('Log', [a])), y, p) : undefined;
      return [da, db];
    },
  },
  Where: {
    inputs: () => [1, 2],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const [c, a, b] = node.input as [string, string, string];
      const y = node.output[0]!;
      const zero = e.scalarF(0);
      return [
        undefined,
        need[1] ? ctx.reduceTo(where(ctx, c, dY[0]!, zero), y, a) : undefined,
        need[2] ? ctx.reduceTo(where(ctx, c, zero, dY[0]!), y, b) : undefined,
      ];
    },
  },
};

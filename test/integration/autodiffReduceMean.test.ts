// ReduceMean / ReduceSum backward rules against central differences (the mnasnet / shufflenet
// classifier heads: ReduceMean over [2, 3] with keepdims=0, axes as attribute before opset 18).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { makeModel, makeNode, makeValueInfo, OnnxModel, type AttrValue } from '../../src/core/onnx';
import { inferSymbolicShapes } from '../../src/core/autodiff';
import { GraphBuilder, type GradCase } from '../helpers/autodiffGraphs';
import { verifyCase, type WrtReport } from '../helpers/gradCheck';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}, |fd| ${r.fdNorm.toExponential(2)}`).join('; ');

interface Opts {
  opset: number;
  /** Axes as the attribute (default before the op's opset that moved them to an input). */
  axes?: number[];
  keepdims?: 0 | 1;
  noop?: 1;
  symbolic?: boolean;
  op?: 'ReduceMean' | 'ReduceSum';
}

/** x [N,3,H,W] → Conv(3→4) → ·gate → Relu → Reduce → (Gemm or Conv1x1) → MSE. */
function reduceCase(name: string, o: Opts): GradCase {
  const op = o.op ?? 'ReduceMean';
  const b = new GraphBuilder(17);
  const N = 2;
  const C = 4;
  const H = 5;
  const W = 6;
  const sym = o.symbolic ?? true;
  const x = b.input('x', ['N', 3, sym ? 'H' : H, sym ? 'W' : W], [N, 3, H, W]);
  const gate = b.input('gate/g', ['N', C, 1, 1], [N, C, 1, 1], 1);
  const act = b.op1('Relu', [b.op1('Mul', [b.conv(x, 3, C), gate])]);
  const asInput = op === 'ReduceSum' ? o.opset >= 13 : o.opset >= 18;
  const attrs: Record<string, AttrValue | undefined> = { keepdims: o.keepdims ?? 1 };
  if (o.noop) attrs.noop_with_empty_axes = 1;
  const ins = [act];
  if (o.axes) {
    if (asInput) ins.push(b.constI(o.axes));
    else attrs.axes = o.axes;
  }
  const red = b.op1(op, ins, attrs);
  // Something per-element downstream, so every reduced output gets a different gradient.
  const nl = b.op1('Tanh', [red]);
  const model = b.model([nl], o.opset);
  const overrides = Object.fromEntries(model.realInputs.map((v) => [v.name, b.feeds[v.name]!.dims]));
  const dims = inferSymbolicShapes(model, overrides).get(nl);
  if (!dims || dims.some((d) => typeof d !== 'number')) throw new Error(`cannot size output: ${JSON.stringify(dims)}`);
  const size = (dims as number[]).reduce((a, q) => a * q, 1);
  return {
    name,
    model,
    feeds: b.feeds,
    wrt: [gate, x],
    loss: { kind: 'mse', output: nl, target: 'target' },
    lossFeed: { dims: dims as number[], data: b.randn(size, 0.5) },
  };
}

const cases: GradCase[] = [
  reduceCase('ReduceMean axes [2,3] keepdims=0, attribute (opset 13, mnasnet head)', { opset: 13, axes: [2, 3], keepdims: 0 }),
  reduceCase('ReduceMean axes [-1,-2] keepdims=1, attribute (opset 11)', { opset: 11, axes: [-1, -2], keepdims: 1 }),
  reduceCase('ReduceMean axes [2,3] static dims (opset 17)', { opset: 17, axes: [2, 3], keepdims: 0, symbolic: false }),
  reduceCase('ReduceMean axes [1] keepdims=1 as input (opset 18)', { opset: 18, axes: [1], keepdims: 1 }),
  reduceCase('ReduceMean axes [1,3] keepdims=0 as input (opset 18)', { opset: 18, axes: [1, 3], keepdims: 0 }),
  // (No-axes ReduceMean reduces over the batch too, which the per-sample check cannot compare.)
  reduceCase('ReduceMean axes [1,2,3] keepdims=0 (opset 13)', { opset: 13, axes: [1, 2, 3], keepdims: 0 }),
  reduceCase('ReduceMean no axes, noop_with_empty_axes (opset 18)', { opset: 18, noop: 1 }),
  reduceCase('ReduceSum axes [2,3] keepdims=0 as input (opset 13)', { opset: 13, axes: [2, 3], keepdims: 0, op: 'ReduceSum' }),
  reduceCase('ReduceSum axes [1] keepdims=1 attribute (opset 11)', { opset: 11, axes: [1], keepdims: 1, op: 'ReduceSum' }),
];

describe('ReduceMean / ReduceSum backward match finite differences', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const v = await verifyCase(c);
      assert.ok(v.ok, `${c.name} (ε=${v.eps}): ${fmt(v.reports)}`);
    });
  }

  test('a wrong count is caught (sabotaged 1/HW scale)', async () => {
    const c = cases[2]!; // static dims: the mean's scale is a constant Mul
    const { buildGradientModel } = await import('../../src/core/autodiff');
    const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
    const scale = gm.model.graph.initializer.find((t) => t.dims.length === 0 && t.dataType === 1 && Math.abs(new Float32Array(t.rawData.slice().buffer)[0]! - 1 / 30) < 1e-7);
    assert.ok(scale, 'the 1/30 scale constant is in the gradient graph');
    scale!.rawData = new Uint8Array(Float32Array.of(1 / 20).buffer);
    gm.model.invalidate();
    const v = await verifyCase(c, { gm });
    assert.equal(v.ok, false, `sabotaged gradients passed: ${fmt(v.reports)}`);
  });
});

describe('shape inference for the gradient builder', () => {
  test('an unknown dim broadcast against 1 stays unknown (shufflenet: gate × activation after run-time Reshape)', () => {
    // Before the fix the result was ['N', 4, 1, 1]: the gate gradient was then not summed over
    // the spatial axes and the gate-bank MatMul failed at run time with a dimension mismatch.
    const model = new OnnxModel(
      makeModel({
        opset: 13,
        nodes: [makeNode('Mul', ['a', 'gate'], ['y'], 'mul')],
        inputs: [makeValueInfo('a', ['?', 4, '?', '?']), makeValueInfo('gate', ['N', 4, 1, 1])],
        outputs: [makeValueInfo('y')],
        initializers: [],
      }),
    );
    assert.deepEqual(inferSymbolicShapes(model).get('y'), ['N', 4, null, null]);
  });
});

// The gradient model runs at the opset its rules need (issue 14 §4): an overlapping MaxPool (the
// kernel-3 stride-2 stem of ResNet and GoogLeNet) in an opset-13 or opset-11 model gets its
// gradient graph at opset 16, with the forward nodes whose signature changed carried over.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel } from '../../src/core/autodiff';
import { AutodiffError } from '../../src/core/autodiff/errors';
import { openSession } from '../../src/core/runtime/session';
import { GraphBuilder, type GradCase } from '../helpers/autodiffGraphs';
import { toOrt, verifyCase, type WrtReport } from '../helpers/gradCheck';
import { maxAbsDiff } from '../helpers/pruneHarness';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}`).join('; ');
const N = 2;

/** x → Conv(3→4) → ·gate → `body` → Conv1x1(→3) → MSE, at `opset`. */
function stemCase(name: string, opset: number, body: (b: GraphBuilder, a: string) => string): GradCase {
  const b = new GraphBuilder(7);
  const x = b.input('x', ['N', 3, 8, 8], [N, 3, 8, 8]);
  const gate = b.input('gate/g', ['N', 4, 1, 1], [N, 4, 1, 1], 1);
  const out = body(b, b.op1('Mul', [b.conv(x, 3, 4), gate]));
  const y = b.op1('Conv', [out, b.weight([3, 4, 1, 1]), b.weight([3], 0.1)], { kernel_shape: [1, 1] });
  return { name, model: b.model([y], opset), feeds: b.feeds, wrt: [gate, x], loss: { kind: 'mse', output: y, target: 'target' }, lossFeed: { dims: [N, 3, 4, 4], data: b.randn(N * 3 * 16, 0.5) } };
}

const overlappingPool = (b: GraphBuilder, a: string) => b.op1('MaxPool', [a], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });

/** Opset 11: axes and split sizes as attributes (ReduceSum's too, off the gradient path), Softmax over coerced 2-D rows, Dropout's ratio attribute. */
function opset11Body(b: GraphBuilder, a: string): string {
  const p = overlappingPool(b, a); // [N, 4, 4, 4]
  const u = b.op1('Squeeze', [b.op1('Unsqueeze', [p], { axes: [2] })], { axes: [2] });
  const [s0, s1] = b.op('Split', [u], { axis: 1, split: [1, 3] }, 2);
  const cat = b.op1('Concat', [s1!, s0!], { axis: 1 });
  // axis 1 of a rank-4 tensor: normalises over C·H·W together before opset 13.
  const soft = b.op1('Softmax', [b.op1('Mul', [cat, b.constF([4], [])])], { axis: 1 });
  const last = b.op1('LogSoftmax', [soft], { axis: 3 });
  const side = b.op1('ReduceSum', [b.constF([1, 2, 3, 4], [1, 4, 1, 1])], { axes: [1], keepdims: 1 });
  const mixed = b.op1('Add', [soft, b.op1('Mul', [last, b.op1('Mul', [side, b.constF([0.001], [])])])]);
  return b.op1('Dropout', [mixed], { ratio: { float: 0.3 } });
}

async function forwardOutputs(c: GradCase): Promise<{ original: Float32Array; viaGradient: Float32Array; opset: number }> {
  const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
  const y = c.loss.output;
  const feeds = toOrt({ ...c.feeds, target: c.lossFeed });
  const a = await (await openSession(c.model.toBytes(), { provider: 'cpu', threads: 1 })).session.run(toOrt(c.feeds));
  const b = await (await openSession(gm.model.toBytes(), { provider: 'cpu', threads: 1 })).session.run(feeds, [y]);
  return { original: a[y]!.data as Float32Array, viaGradient: b[y]!.data as Float32Array, opset: gm.model.opset };
}

describe('gradient model opset', () => {
  for (const opset of [13, 11]) {
    test(`overlapping MaxPool (k3 s2 p1) in an opset-${opset} model: built at opset 16, gradients match finite differences`, async () => {
      const c = stemCase(`stem opset ${opset}`, opset, overlappingPool);
      const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
      assert.equal(gm.model.opset, 16);
      assert.equal(c.model.opset, opset, 'the source model is not touched');
      assert.ok(gm.model.nodes.some((n) => n.opType === 'ScatterElements'));
      const v = await verifyCase(c, { gm });
      assert.ok(v.ok, `ε=${v.eps}: ${fmt(v.reports)}`);
      // The same graph declared at opset 16 needs no carrying over: identical gradients.
      const native = stemCase('native', 16, overlappingPool);
      const run = async (g: typeof gm) => {
        const s = (await openSession(g.model.toBytes(), { provider: 'cpu', threads: 1 })).session;
        const out = await s.run(toOrt({ ...c.feeds, target: c.lossFeed }));
        return c.wrt.map((w) => out[g.gradOutputs[w]!]!.data as Float32Array);
      };
      const [a, b] = [await run(gm), await run(buildGradientModel(native.model, { wrt: native.wrt, loss: native.loss }))];
      a.forEach((g, i) => assert.ok(maxAbsDiff(g, b[i]!) <= 1e-6, `${c.wrt[i]}: differs from the opset-16 build`));
    });
  }

  test('opset-11 forward nodes whose signature changed by opset 16 compute what they did', async () => {
    const c = stemCase('opset-11 mix', 11, opset11Body);
    const f = await forwardOutputs(c);
    assert.equal(f.opset, 16);
    assert.ok(maxAbsDiff(f.original, f.viaGradient) <= 1e-6, `forward changed by ${maxAbsDiff(f.original, f.viaGradient)}`);
    const v = await verifyCase(c);
    assert.ok(v.ok, `ε=${v.eps}: ${fmt(v.reports)}`);
  });

  test('a model whose rules need nothing newer keeps its opset', () => {
    const c = stemCase('tiling pool', 13, (b, a) => b.op1('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2] }));
    assert.equal(buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss }).model.opset, 13);
  });

  test('a node that cannot be carried to opset 16 is named', () => {
    // The pool's rule asks for opset 16 first (rules run from the loss backwards); the Resize
    // before it uses a mode opset 13 removed.
    const c = stemCase('old resize', 11, (b, a) => overlappingPool(b, b.op1('Resize', [a, b.constF([], [0]), b.constF([1, 1, 1, 1])], { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn' })));
    assert.throws(
      () => buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss }),
      (e: unknown) => e instanceof AutodiffError && e.code === 'unsupported-opset' && /tf_half_pixel_for_nn/.test(e.message) && e.opType === 'Resize',
    );
  });
});

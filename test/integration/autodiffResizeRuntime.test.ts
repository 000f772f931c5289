// Resize (linear) to run-time sizes — the segmentation heads' F.interpolate(x, size=input.shape[-2:])
// — against central differences.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel, inferSymbolicShapes } from '../../src/core/autodiff';
import { GraphBuilder, type GradCase } from '../helpers/autodiffGraphs';
import { verifyCase, type WrtReport } from '../helpers/gradCheck';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}, |fd| ${r.fdNorm.toExponential(2)}`).join('; ');

/**
 * x [N,3,H,W] → Conv → ·gate → Conv stride `stride` → Resize(linear, sizes = Concat(Slice(Shape(t), 0, 2),
 * Slice(Shape(x), 2, 4))) back to H×W → Conv1x1 → MSE. `opset` 13 (Slice form) or 15 (Shape start/end).
 */
function runtimeResizeCase(ctm: string, o: { h: number; w: number; stride: number; opset?: number; shapeStartEnd?: boolean }): GradCase {
  const b = new GraphBuilder(23);
  const N = 2;
  const C = 4;
  const x = b.input('x', ['N', 3, 'H', 'W'], [N, 3, o.h, o.w]);
  const gate = b.input('gate/g', ['N', C, 1, 1], [N, C, 1, 1], 1);
  const act = b.op1('Mul', [b.conv(x, 3, C), gate]);
  const t = b.conv(act, C, C, 3, { strides: [o.stride, o.stride] });
  let lead: string;
  let hw: string;
  if (o.shapeStartEnd) {
    lead = b.op1('Shape', [t], { start: 0, end: 2 });
    hw = b.op1('Shape', [x], { start: 2, end: 4 });
  } else {
    lead = b.op1('Slice', [b.op1('Shape', [t]), b.constI([0]), b.constI([2]), b.constI([0])]);
    hw = b.op1('Slice', [b.op1('Shape', [x]), b.constI([2]), b.constI([4]), b.constI([0])]);
  }
  const sizes = b.op1('Concat', [lead, hw], { axis: 0 });
  const up = b.op1('Resize', [t, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: ctm });
  const y = b.op1('Conv', [up, b.weight([3, C, 1, 1]), b.weight([3], 0.1)], { kernel_shape: [1, 1] });
  const model = b.model([y], o.opset ?? 13);
  const size = N * 3 * o.h * o.w;
  return { name: `Resize linear ${ctm}, run-time sizes ${o.h}×${o.w} (stride ${o.stride}${o.shapeStartEnd ? ', Shape start/end' : ''})`, model, feeds: b.feeds, wrt: [gate, x], loss: { kind: 'mse', output: y, target: 'target' }, lossFeed: { dims: [N, 3, o.h, o.w], data: b.randn(size, 0.5) } };
}

const cases = [
  runtimeResizeCase('half_pixel', { h: 5, w: 6, stride: 2 }),
  runtimeResizeCase('half_pixel', { h: 8, w: 8, stride: 2 }),
  runtimeResizeCase('pytorch_half_pixel', { h: 7, w: 5, stride: 3 }),
  runtimeResizeCase('asymmetric', { h: 6, w: 7, stride: 2 }),
  runtimeResizeCase('align_corners', { h: 5, w: 6, stride: 2, opset: 15, shapeStartEnd: true }),
];

describe('Resize with run-time sizes: backward matches finite differences', () => {
  for (const c of cases) {
    test(c.name, async () => {
      assert.equal(inferSymbolicShapes(c.model).get(c.loss.output)?.[2] ?? null, null, 'the output size is not known statically');
      const v = await verifyCase(c);
      assert.ok(v.ok, `${c.name} (ε=${v.eps}): ${fmt(v.reports)}`);
    });
  }

  test('nearest mode with run-time sizes is still refused', () => {
    const c = runtimeResizeCase('half_pixel', { h: 5, w: 6, stride: 2 });
    const r = c.model.nodes.find((n) => n.opType === 'Resize')!;
    r.attribute.find((a) => a.name === 'mode')!.s = new TextEncoder().encode('nearest');
    c.model.invalidate();
    assert.throws(() => buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss }), /run-time scales or sizes/);
  });
});

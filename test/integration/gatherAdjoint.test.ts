// The adjoint of a Gather with constant indices (the gated model's bank → channel gathers): exact
// against finite differences for each layout of the indices, and built from constants sized by the
// indices rather than by the gathered axis (a [K, D] one-hot per gather made ResNet-101's gradient
// model 4 GB).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel } from '../../src/core/autodiff';
import { GraphBuilder, type GradCase } from '../helpers/autodiffGraphs';
import { verifyCase } from '../helpers/gradCheck';

const N = 2;
const BANK = 40;

/** gate bank [N, 40, 1, 1] → Gather(axis 1, indices) → ·conv features → Conv1x1 → MSE. */
function bankCase(indices: number[]): GradCase {
  const b = new GraphBuilder(11);
  const x = b.input('x', ['N', 3, 6, 6], [N, 3, 6, 6]);
  const gate = b.input('gate/bank', ['N', BANK, 1, 1], [N, BANK, 1, 1], 1);
  // Gates away from 1 so that each bank position's gradient differs.
  b.feeds[gate]!.data = Float32Array.from({ length: N * BANK }, (_, i) => 0.5 + ((i * 7) % 11) / 10);
  const k = indices.length;
  const picked = b.op1('Gather', [gate, b.constI(indices)], { axis: 1 });
  const act = b.op1('Mul', [b.conv(x, 3, k), picked]);
  const y = b.op1('Conv', [act, b.weight([3, k, 1, 1]), b.weight([3], 0.1)], { kernel_shape: [1, 1] });
  const model = b.model([y], 13);
  return { name: indices.join(','), model, feeds: b.feeds, wrt: [gate], loss: { kind: 'mse', output: y, target: 'target' }, lossFeed: { dims: [N, 3, 6, 6], data: b.randn(N * 3 * 36, 0.5) } };
}

const layouts: [string, number[]][] = [
  ['contiguous block inside the bank (Pad only)', [12, 13, 14, 15, 16]],
  ['scattered, distinct (inverse Gather with a zero slab, then Pad)', [30, 3, 17, 9, 22]],
  ['a permutation of the whole bank (inverse Gather only)', Array.from({ length: BANK }, (_, i) => (i * 13) % BANK)],
  ['repeated indices (one-hot merge, then placement)', [5, 9, 5, 38, 9, 5]],
];

describe('Gather adjoint with constant indices', () => {
  for (const [what, indices] of layouts) {
    test(what, async () => {
      const c = bankCase(indices);
      const v = await verifyCase(c);
      assert.ok(v.ok, v.reports.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}`).join('; '));
      // No backward constant may grow with the bank size times the number of gathered channels.
      const grad = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
      const largest = Math.max(...grad.model.graph.initializer.filter((t) => t.name.startsWith('grad')).map((t) => t.dims.reduce((a, d) => a * Number(d), 1)));
      const u = new Set(indices).size;
      assert.ok(largest < indices.length * BANK || largest <= indices.length * u, `largest backward constant has ${largest} elements`);
    });
  }
});

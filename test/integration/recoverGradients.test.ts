// Weight gradients of the recovery training graph (src/core/recover/trainingGraph.ts) against
// central differences: one small graph per weight rule variant, then the fixture models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { GraphBuilder } from '../helpers/autodiffGraphs';
import { checkWeightGradients, type WeightCheck } from '../helpers/weightGradCheck';
import { loadModel, type OnnxModel } from '../../src/core/onnx';
import { openSession, ort } from '../../src/core/runtime/session';
import { buildTrainingGraph, trainableTensors } from '../../src/core/recover/trainingGraph';
import { Rng } from '../../src/core/util/rng';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

async function outputOf(model: OnnxModel, x: { data: Float32Array; dims: number[] }): Promise<{ data: Float32Array; dims: number[] }> {
  const { session } = await openSession(model.toBytes(), { provider: 'cpu', threads: 1 });
  try {
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) });
    const y = r[session.outputNames[0]!]!;
    return { data: y.data as Float32Array, dims: [...y.dims] };
  } finally {
    await session.release();
  }
}

/** A target near the model's own output (as a teacher's would be), so the loss is small but not zero. */
async function teacherFor(model: OnnxModel, x: { data: Float32Array; dims: number[] }, seed: number, spread = 0.3) {
  const y = await outputOf(model, x);
  const rng = new Rng(seed);
  return { data: y.data.map((v) => v + spread * rng.normal()), dims: y.dims };
}

function assertChecked(c: WeightCheck, maxRel = 2e-2, allowDead = false): void {
  assert.ok(c.reports.length > 0, 'no weight was checked');
  for (const r of c.reports) {
    assert.ok(allowDead || r.fdMax > 0, `${r.weight}: the finite differences are all zero (the check would be vacuous)`);
    assert.ok(r.relErr <= maxRel || r.worstExcess <= 0, `${r.weight}: ‖g − fd‖/‖fd‖ = ${r.relErr.toExponential(2)}, worst excess ${r.worstExcess.toExponential(2)}`);
    assert.ok(r.worstExcess <= 0, `${r.weight}: an element is off by ${r.worstExcess.toExponential(2)} beyond the allowance`);
  }
}

interface Case {
  name: string;
  build: (b: GraphBuilder, x: string) => string;
  h?: number;
  c?: number;
}

const CASES: Case[] = [
  { name: 'Conv 3×3 stride 1', build: (b, x) => b.conv(x, 3, 4) },
  { name: 'Conv 3×3 stride 2 (odd size, rows skipped)', build: (b, x) => b.conv(x, 3, 4, 3, { strides: [2, 2] }), h: 9 },
  { name: 'Conv group 2, dilation 2', build: (b, x) => b.conv(b.conv(x, 3, 4), 4, 6, 3, { group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] }) },
  { name: 'Conv depthwise stride 2', build: (b, x) => b.conv(b.conv(x, 3, 4), 4, 4, 3, { group: 4, strides: [2, 2] }) },
  { name: 'Conv 1×1 without bias', build: (b, x) => b.op1('Conv', [x, b.weight([5, 3, 1, 1])], { kernel_shape: [1, 1] }) },
  {
    name: 'ConvTranspose stride 2, output_padding 1, group 2',
    build: (b, x) => b.op1('ConvTranspose', [b.conv(x, 3, 4), b.weight([4, 3, 3, 3], 0.3), b.weight([6], 0.1)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], group: 2 }),
  },
  {
    name: 'Conv → BatchNormalization (scale, bias; frozen statistics) → Relu',
    build: (b, x) => {
      const c = b.conv(x, 3, 4);
      const bn = b.op1('BatchNormalization', [c, b.weight([4], 0.2, 1), b.weight([4], 0.1), b.weight([4], 0.1), b.constF([0.5, 1.2, 0.8, 2])], { epsilon: { float: 1e-5 } });
      return b.op1('Relu', [bn]);
    },
  },
  {
    name: 'Conv → InstanceNormalization (scale, bias)',
    build: (b, x) => b.op1('InstanceNormalization', [b.conv(x, 3, 4), b.weight([4], 0.2, 1), b.weight([4], 0.1)], { epsilon: { float: 1e-5 } }),
  },
  {
    name: 'Conv → GlobalAveragePool → Flatten → Gemm',
    build: (b, x) => {
      const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [b.op1('Relu', [b.conv(x, 3, 6)])])]);
      return b.op1('Gemm', [f, b.weight([5, 6]), b.weight([5], 0.1)], { transB: 1 });
    },
  },
];

for (const c of CASES) {
  test(`weight gradients: ${c.name}`, async () => {
    const b = new GraphBuilder(21);
    const h = c.h ?? 8;
    const x = b.input('x', ['N', 3, 'H', 'W'], [2, 3, h, h]);
    const y = c.build(b, x);
    const model = b.model([y]);
    const feed = { data: b.feeds[x]!.data as Float32Array, dims: b.feeds[x]!.dims };
    const teacher = await teacherFor(model, feed, 5);
    const res = await checkWeightGradients(model, feed, teacher, { perWeight: 8 });
    assert.equal(res.reports.length, trainableTensors(model).length);
    assertChecked(res);
  });
}

test('weight gradients: a sabotaged gradient (one weight scaled by 1.1) is caught', async () => {
  const b = new GraphBuilder(21);
  const x = b.input('x', ['N', 3, 'H', 'W'], [2, 3, 8, 8]);
  const y = b.conv(b.op1('Relu', [b.conv(x, 3, 4)]), 4, 3);
  const model = b.model([y]);
  const feed = { data: b.feeds[x]!.data as Float32Array, dims: b.feeds[x]!.dims };
  const teacher = await teacherFor(model, feed, 5);
  const target = trainableTensors(model)[0]!.name;
  const res = await checkWeightGradients(model, feed, teacher, { perWeight: 8, tamper: (g) => g[target]!.forEach((v, i, a) => (a[i] = v * 1.1)) });
  assert.throws(() => assertChecked(res), new RegExp(target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

test('training graph: weights become inputs, BN statistics stay constants, loss and output exposed', () => {
  const b = new GraphBuilder(3);
  const x = b.input('x', ['N', 3, 'H', 'W'], [1, 3, 8, 8]);
  const c = b.conv(x, 3, 4);
  const mean = b.weight([4], 0.1);
  const variance = b.constF([1, 1, 1, 1]);
  const y = b.op1('BatchNormalization', [c, b.weight([4], 0.2, 1), b.weight([4], 0.1), mean, variance]);
  const g = buildTrainingGraph(b.model([y]));
  const names = g.weights.map((w) => w.name);
  assert.equal(names.length, 4, `conv weight, conv bias, BN scale, BN bias; got ${names.join(', ')}`);
  assert.ok(!names.includes(mean) && !names.includes(variance));
  const inputs = new Set(g.model.graph.input.map((v) => v.name));
  for (const n of names) assert.ok(inputs.has(n) && !g.model.isInitializer(n), `${n} should be a graph input`);
  const outputs = g.model.graph.output.map((v) => v.name);
  assert.ok(outputs.includes(g.lossOutput) && outputs.includes(g.output));
});

for (const [name, size] of [['dncnn', 24], ['halfunet', 32], ['unet', 32], ['classifier', 32]] as const) {
  test(`weight gradients: fixture ${name} against finite differences`, async () => {
    const model = await loadModel(path.join(FIXTURES, `${name}.onnx`));
    const rng = new Rng(9);
    const feed = { data: Float32Array.from({ length: 2 * 3 * size * size }, () => rng.next()), dims: [2, 3, size, size] };
    const teacher = await teacherFor(model, feed, 4, name === 'classifier' ? 1 : 0.3);
    // Perturbing an early weight moves every downstream pre-activation, so ReLU kinks add an error
    // that shrinks with ε (5 % at 1e-3, 3 % at 2.5e-4 on unet's first layer): a small ε here.
    const res = await checkWeightGradients(model, feed, teacher, { perWeight: 3, eps: 2.5e-4 });
    // A weight of a channel that no crop activates has an exactly zero gradient: allowed here.
    assertChecked(res, 5e-2, true);
    // Not vacuous: most weights' gradients stand well above the rounding allowance.
    const clear = res.reports.filter((r) => r.fdMax > 3 * r.floor).length;
    assert.ok(clear >= res.reports.length / 2, `only ${clear} of ${res.reports.length} weights have gradients above 3× the allowance`);
  });
}

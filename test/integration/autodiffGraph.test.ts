// The gradient builder on whole graphs: composites, per-sample batching, Gram matrices, opsets,
// dynamic shapes, pruning of the backward graph, and its errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel, AutodiffError } from '../../src/core/autodiff';
import { interpMatrix } from '../../src/core/autodiff/rules/resize';
import { makeModel, makeNode, makeValueInfo, OnnxModel } from '../../src/core/onnx';
import { openSession, ort } from '../../src/core/runtime/session';
import { Rng } from '../../src/core/util/rng';
import { compositeCase, GraphBuilder, type Feed, type GradCase } from '../helpers/autodiffGraphs';
import { toOrt, verifyCase, type WrtReport } from '../helpers/gradCheck';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}`).join('; ');

async function runGrad(c: GradCase, extra: { grams?: { name: string; tensor: string }[]; extraOutputs?: string[] } = {}) {
  const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss, ...extra });
  const { session } = await openSession(gm.model.toBytes(), { provider: 'cpu', threads: 1 });
  const lossInput = c.loss.kind === 'mse' ? c.loss.target : c.loss.labels;
  const fetch = [gm.lossOutput, ...Object.values(gm.gradOutputs), ...Object.values(gm.gramOutputs), ...Object.values(gm.channelSumOutputs), ...(extra.extraOutputs ?? [])];
  const out = await session.run(toOrt({ ...c.feeds, [lossInput]: c.lossFeed }), fetch);
  await session.release();
  const get = (name: string) => out[name]!.data as Float32Array;
  return { gm, get };
}

/** Rows n of a [N, ...] feed as a batch-1 feed. */
function sampleOf(f: Feed, n: number): Feed {
  const per = f.data.length / f.dims[0]!;
  return { dims: [1, ...f.dims.slice(1)], data: f.data.slice(n * per, (n + 1) * per) as Float32Array };
}

describe('composite graphs', () => {
  for (const kind of ['mse', 'cross-entropy'] as const) {
    test(`Conv-BN-ReLU-MaxPool-Resize-Add-Concat-ConvTranspose (${kind}) matches finite differences`, async () => {
      const v = await verifyCase(compositeCase(kind));
      assert.ok(v.ok, fmt(v.reports));
    });
  }

  test('one batched pass gives each sample its own gradient (equal to batch-1 runs)', async () => {
    for (const kind of ['mse', 'cross-entropy'] as const) {
      const c = compositeCase(kind, { batch: 3, seed: 9 });
      const batched = await runGrad(c);
      for (let n = 0; n < 3; n++) {
        const single: GradCase = {
          ...c,
          feeds: Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, sampleOf(f, n)])),
          lossFeed: c.lossFeed.data instanceof BigInt64Array ? { dims: [1], data: c.lossFeed.data.slice(n, n + 1) } : sampleOf(c.lossFeed, n),
        };
        const one = await runGrad(single);
        assert.ok(Math.abs(one.get(one.gm.lossOutput)[0]! - batched.get(batched.gm.lossOutput)[n]!) < 1e-5);
        for (const w of c.wrt) {
          const gb = batched.get(batched.gm.gradOutputs[w]!);
          const g1 = one.get(one.gm.gradOutputs[w]!);
          const per = g1.length;
          let scale = 0;
          for (const v of g1) scale = Math.max(scale, Math.abs(v));
          assert.ok(scale > 0, `${w} has an all-zero gradient`);
          for (let i = 0; i < per; i++) assert.ok(Math.abs(gb[n * per + i]! - g1[i]!) <= 1e-5 * scale + 1e-7, `${kind} ${w}[${n}, ${i}]: ${gb[n * per + i]} vs ${g1[i]}`);
        }
      }
    }
  });

  test('Gram matrices equal a direct computation from the exposed activations', async () => {
    const c = compositeCase('cross-entropy', { batch: 2, seed: 4 });
    const flat = c.model.nodes.find((n) => n.opType === 'Flatten')!.output[0]!;
    const tensors = [...c.gated, flat];
    const r = await runGrad(c, { grams: tensors.map((t, i) => ({ name: `g${i}`, tensor: t })), extraOutputs: tensors });
    tensors.forEach((t, k) => {
      const a = r.get(t);
      const gram = r.get(r.gm.gramOutputs[`g${k}`]!);
      const C = Math.round(Math.sqrt(gram.length));
      const N = 2;
      const P = a.length / (N * C);
      let maxAbs = 0;
      const ref = new Float64Array(C * C);
      for (let i = 0; i < C; i++) {
        for (let j = 0; j < C; j++) {
          let s = 0;
          for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) s += a[(n * C + i) * P + p]! * a[(n * C + j) * P + p]!;
          ref[i * C + j] = s;
          maxAbs = Math.max(maxAbs, Math.abs(s));
        }
      }
      assert.ok(C >= 4 && maxAbs > 0);
      for (let i = 0; i < C * C; i++) assert.ok(Math.abs(gram[i]! - ref[i]!) <= 1e-5 * maxAbs, `gram ${k}[${i}]: ${gram[i]} vs ${ref[i]}`);
      // Channel sums (for channel means and Pearson correlation) of the same tensor.
      const sums = r.get(r.gm.channelSumOutputs[`g${k}`]!);
      assert.equal(sums.length, C);
      for (let i = 0; i < C; i++) {
        let s = 0;
        let scale = 0;
        for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) {
          s += a[(n * C + i) * P + p]!;
          scale += Math.abs(a[(n * C + i) * P + p]!);
        }
        assert.ok(Math.abs(sums[i]! - s) <= 1e-5 * Math.max(scale, 1e-6), `channel sum ${k}[${i}]: ${sums[i]} vs ${s}`);
      }
    });
  });

  test('the same gradients at opsets 11, 13, 15, 16, 18 and 21', async () => {
    const ref = await runGrad(compositeCase('cross-entropy', { opset: 17 }));
    for (const opset of [11, 13, 15, 16, 18, 21]) {
      const c = compositeCase('cross-entropy', { opset });
      const r = await runGrad(c);
      for (const w of c.wrt) {
        const a = r.get(r.gm.gradOutputs[w]!);
        const b = ref.get(ref.gm.gradOutputs[w]!);
        let scale = 0;
        for (const v of b) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * scale, `opset ${opset} ${w}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    }
  });

  test('one gradient model serves other batch and spatial sizes', async () => {
    const c = compositeCase('mse', { batch: 3, h: 12, seed: 13 });
    const v = await verifyCase(c);
    assert.ok(v.ok, fmt(v.reports));
  });
});

describe('graph construction', () => {
  test('backward nodes only where a wrt input reaches the loss', () => {
    const c = compositeCase('mse');
    const all = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
    const only3 = buildGradientModel(c.model, { wrt: ['gate/g3'], loss: c.loss });
    const ops = (m: OnnxModel, from: number) => m.nodes.slice(from).map((n) => n.opType);
    const fwd = c.model.nodes.length;
    assert.ok(ops(all.model, fwd).includes('ArgMax'), 'MaxPool backward present when gate/g1 is differentiated');
    assert.ok(!ops(only3.model, fwd).includes('ArgMax'), 'no MaxPool backward for gate/g3 alone');
    assert.ok(only3.addedNodes < all.addedNodes / 2, `${only3.addedNodes} vs ${all.addedNodes}`);
    // The input model is left untouched (the builder works on a copy).
    assert.equal(c.model.nodes.length, fwd);
    assert.ok(c.model.nodes.every((n) => n.output.length === 1));
  });

  test('a wrt input that does not reach the loss gets a zero gradient', async () => {
    const c = compositeCase('mse');
    const b = new GraphBuilder(3);
    // Add an unused gate input to the composite.
    c.model.graph.input.push(makeValueInfo('gate/unused', ['N', 2, 1, 1]));
    c.feeds['gate/unused'] = { dims: [2, 2, 1, 1], data: b.randn(4, 1) };
    c.wrt = ['gate/unused', 'gate/g2'];
    const r = await runGrad(c);
    assert.deepEqual(Array.from(r.get(r.gm.gradOutputs['gate/unused']!)), [0, 0, 0, 0]);
    assert.ok(r.get(r.gm.gradOutputs['gate/g2']!).some((v) => v !== 0));
  });

  test('an op without a rule on the path fails with no-gradient-rule naming op and node', () => {
    const b = new GraphBuilder(1);
    const x = b.input('x', ['N', 3, 8, 8], [2, 3, 8, 8]);
    const g = b.input('gate/g', ['N', 3, 1, 1], [2, 3, 1, 1], 1);
    const lrn = b.op1('LRN', [b.op1('Mul', [x, g])], { size: 3 });
    const m = b.model([lrn]);
    assert.throws(
      () => buildGradientModel(m, { wrt: ['gate/g'], loss: { kind: 'mse', output: lrn, target: 't' } }),
      (e: unknown) => e instanceof AutodiffError && e.code === 'no-gradient-rule' && e.opType === 'LRN' && /LRN/.test(e.message) && e.message.includes(e.node!),
    );
  });

  test('ops without rules off the path are fine', () => {
    const b = new GraphBuilder(1);
    const x = b.input('x', ['N', 3, 8, 8], [2, 3, 8, 8]);
    const g = b.input('gate/g', ['N', 3, 1, 1], [2, 3, 1, 1], 1);
    const side = b.op1('LRN', [x], { size: 3 }); // depends on x only, not on the gate
    const y = b.op1('Add', [b.op1('Mul', [x, g]), side]);
    const gm = buildGradientModel(b.model([y]), { wrt: ['gate/g'], loss: { kind: 'mse', output: y, target: 't' } });
    assert.ok(gm.gradOutputs['gate/g']);
  });

  test('unsupported attributes and bad options have specific codes', () => {
    const b = new GraphBuilder(1);
    const x = b.input('x', ['N', 3, 8, 8], [2, 3, 8, 8]);
    const g = b.input('gate/g', ['N', 3, 1, 1], [2, 3, 1, 1], 1);
    const y = b.op1('Pad', [b.op1('Mul', [x, g]), b.constI([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'reflect' });
    const m = b.model([y]);
    const code = (f: () => unknown) => {
      try {
        f();
        return 'none';
      } catch (e) {
        assert.ok(e instanceof AutodiffError, String(e));
        return e.code;
      }
    };
    assert.equal(code(() => buildGradientModel(m, { wrt: ['gate/g'], loss: { kind: 'mse', output: y, target: 't' } })), 'unsupported-attribute');
    assert.equal(code(() => buildGradientModel(m, { wrt: ['nope'], loss: { kind: 'mse', output: y, target: 't' } })), 'bad-option');
    assert.equal(code(() => buildGradientModel(m, { wrt: ['gate/g'], loss: { kind: 'mse', output: 'missing', target: 't' } })), 'bad-option');
    assert.equal(code(() => buildGradientModel(m, { wrt: ['gate/g'], loss: { kind: 'mse', output: y, target: 'x' } })), 'bad-option');
    // Overlapping MaxPool windows need ScatterElements with reduction, which opset 13 lacks: the
    // gradient model is raised to opset 16 (test/integration/gradientOpset.test.ts).
    const b2 = new GraphBuilder(2);
    const x2 = b2.input('x', ['N', 3, 8, 8], [2, 3, 8, 8]);
    const g2 = b2.input('gate/g', ['N', 3, 1, 1], [2, 3, 1, 1], 1);
    const p = b2.op1('MaxPool', [b2.op1('Mul', [x2, g2])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    assert.equal(code(() => buildGradientModel(b2.model([p], 13), { wrt: ['gate/g'], loss: { kind: 'mse', output: p, target: 't' } })), 'none');
  });
});

describe('Resize interpolation matrices', () => {
  test('A·x equals onnxruntime Resize for every nearest/linear mode used by the static rule', async () => {
    const rng = new Rng(2);
    const modes: { mode: string; ctm: string; nearestMode: string }[] = [];
    for (const ctm of ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn']) {
      modes.push({ mode: 'linear', ctm, nearestMode: 'round_prefer_floor' });
      for (const nm of ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']) modes.push({ mode: 'nearest', ctm, nearestMode: nm });
    }
    for (const m of modes) {
      for (const [inLen, outLen] of [[5, 10], [6, 9], [7, 3], [3, 8], [4, 7]] as const) {
        if (m.mode === 'linear' && m.ctm === 'tf_half_pixel_for_nn') continue;
        const x = Float32Array.from({ length: inLen }, () => rng.normal());
        const proto = makeModel({
          opset: 17,
          nodes: [makeNode('Resize', ['x', '', '', 'sizes'], ['y'], 'r', { mode: m.mode, coordinate_transformation_mode: m.ctm, nearest_mode: m.nearestMode })],
          inputs: [makeValueInfo('x', [1, 1, 1, inLen])],
          outputs: [makeValueInfo('y')],
          initializers: [],
        });
        const model = new OnnxModel(proto);
        model.setInitializer('sizes', [4], BigInt64Array.from([1n, 1n, 1n, BigInt(outLen)]));
        const { session } = await openSession(model.toBytes(), { provider: 'cpu', threads: 1 });
        const y = (await session.run({ x: new ort.Tensor('float32', x, [1, 1, 1, inLen]) })).y!.data as Float32Array;
        await session.release();
        const A = interpMatrix(m, inLen, outLen, Math.fround(outLen / inLen));
        for (let i = 0; i < outLen; i++) {
          let s = 0;
          for (let j = 0; j < inLen; j++) s += A[i * inLen + j]! * x[j]!;
          assert.ok(Math.abs(s - y[i]!) < 1e-5, `${JSON.stringify(m)} ${inLen}→${outLen} [${i}]: ${s} vs ${y[i]}`);
        }
      }
    }
  });
});

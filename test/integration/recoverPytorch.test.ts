// Weight gradients of the recovery training graph against PyTorch (float64 autograd) on fixture
// models: expected values written by tools/weight_grad_reference.py into test/fixtures/gradref.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core/onnx';
import { openSession, ort } from '../../src/core/runtime/session';
import { buildTrainingGraph } from '../../src/core/recover/trainingGraph';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

interface Reference {
  input: { dims: number[] };
  loss: number;
  weights: Record<string, { norm: number; index: number[]; value: number[] }>;
}

/** The reference script's formulas, rounded to float32 as it does. */
function formulaData(n: number, f: (k: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, k) => Math.fround(f(k)));
}

for (const name of ['unet', 'dncnn']) {
  test(`weight gradients of ${name} match PyTorch autograd`, async () => {
    const ref = JSON.parse(readFileSync(path.join(FIXTURES, 'gradref', `${name}.json`), 'utf8')) as Reference;
    const model = await loadModel(path.join(FIXTURES, `${name}.onnx`));
    const g = buildTrainingGraph(model);
    assert.deepEqual(g.weights.map((w) => w.name).sort(), Object.keys(ref.weights).sort(), 'the trained tensors are the ones PyTorch trains');
    const dims = ref.input.dims;
    const size = dims.reduce((a, b) => a * b, 1);
    const x = formulaData(size, (k) => 0.5 + 0.45 * Math.sin(0.37 * k) * Math.cos(0.011 * k));
    const t = formulaData(size, (k) => 0.5 + 0.4 * Math.cos(0.23 * k + 1));
    const { session } = await openSession(g.model.toBytes(), { provider: 'cpu', threads: 1 });
    try {
      const feeds: Record<string, ort.Tensor> = { [g.input]: new ort.Tensor('float32', x, dims), [g.teacher]: new ort.Tensor('float32', t, dims) };
      for (const w of g.weights) feeds[w.name] = new ort.Tensor('float32', w.initial, w.dims);
      const out = await session.run(feeds, [g.lossOutput, ...Object.values(g.gradOutputs)]);
      const loss = Array.from(out[g.lossOutput]!.data as Float32Array).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(loss - ref.loss) <= 1e-5 * ref.loss, `loss ${loss} vs PyTorch ${ref.loss}`);
      let worst = 0;
      for (const w of g.weights) {
        const r = ref.weights[w.name]!;
        const grad = out[g.gradOutputs[w.name]!]!.data as Float32Array;
        const norm = Math.hypot(...grad);
        // float32 forward/backward vs float64 autograd: agreement to ~1e-5 of the weight's gradient norm.
        assert.ok(Math.abs(norm - r.norm) <= 1e-4 * r.norm + 1e-9, `${w.name}: gradient norm ${norm} vs PyTorch ${r.norm}`);
        r.index.forEach((i, k) => {
          const err = Math.abs(grad[i]! - r.value[k]!) / (r.norm + 1e-12);
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-4, `${w.name}[${i}]: ${grad[i]} vs PyTorch ${r.value[k]} (${err.toExponential(2)} of the norm)`);
        });
      }
      assert.ok(Object.values(ref.weights).some((r) => r.norm > 1e-3), 'the reference gradients are not all negligible');
      console.log(`${name}: worst element difference ${worst.toExponential(2)} of the weight's gradient norm`);
    } finally {
      await session.release();
    }
  });
}

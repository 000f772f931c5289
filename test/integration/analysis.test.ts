import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core/onnx';
import { inferShapes, inferTensorInfo, resolveInputShapes, ShapeInferenceError } from '../../src/core/analysis/shapes';
import { analyzeLayers } from '../../src/core/analysis/layers';
import { layerZoo, twoInputNet } from '../helpers/analysisGraphs';
import { tinyConvNet } from '../helpers/tinyModels';

const fixtures = path.join(__dirname, '..', 'fixtures');
const modelsJson = path.join(fixtures, 'models.json');
const FIXTURES = ['dncnn', 'halfunet', 'unet', 'classifier'] as const;

function fixtureSkip(name: string): string | false {
  if (!existsSync(modelsJson)) return 'test/fixtures/models.json missing: run tools/make_fixtures.py';
  return existsSync(path.join(fixtures, `${name}.onnx`)) ? false : `test/fixtures/${name}.onnx missing: run tools/make_fixtures.py`;
}

const shapeError = (code: string, ...parts: string[]) => (e: unknown) => {
  assert.ok(e instanceof ShapeInferenceError, String(e));
  assert.equal(e.code, code, e.message);
  for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' should mention ${p}`);
  return true;
};

describe('shape inference', () => {
  test('every intermediate tensor of a hand-built graph', async () => {
    const shapes = await inferShapes(layerZoo(), [1, 4, 16, 16]);
    const expected: Record<string, number[]> = {
      x: [1, 4, 16, 16],
      c1: [1, 8, 8, 8], // stride 2, pad 1
      n1: [1, 8, 8, 8],
      a1: [1, 8, 8, 8],
      c2: [1, 8, 8, 8], // dilation 2, pad 2 keeps the size
      a2: [1, 8, 8, 8],
      c3: [1, 6, 16, 16], // transposed, stride 2, group 2
      rs: [1, 6, 16, 16],
      gp: [1, 6, 1, 1],
      flat: [1, 6],
      g: [1, 5],
      mm: [1, 7],
      y: [1, 7],
      gT: [5, 1],
      gram: [5, 5],
      // initializers
      w3: [8, 3, 2, 2],
      half: [],
    };
    for (const [name, dims] of Object.entries(expected)) assert.deepEqual(shapes.get(name), dims, name);
  });

  test('a symbolic leading (batch) dim defaults to 1; dtypes are recorded', async () => {
    const info = await inferTensorInfo(layerZoo(['N', 4, 12, 12]));
    assert.deepEqual(info.inputShapes, { x: [1, 4, 12, 12] });
    assert.deepEqual(info.shapes.get('c3'), [1, 6, 12, 12]);
    assert.equal(info.dtypes.get('c3'), 'float32');
    assert.equal(info.dtypes.get('x'), 'float32');
  });

  test('symbolic spatial dims without a shape: error names the input and its dims', async () => {
    await assert.rejects(inferShapes(tinyConvNet()), shapeError('symbolic-input', "'input'", '[N,3,H,W]', '--input-shape'));
  });

  test('a shape that contradicts the model is refused before running', () => {
    const m = layerZoo();
    assert.throws(() => resolveInputShapes(m, [1, 3, 16, 16]), shapeError('bad-input-shape', 'channel count', '4'));
    assert.throws(() => resolveInputShapes(m, [1, 4, 16]), shapeError('bad-input-shape', 'rank 4', 'rank 3'));
    assert.throws(() => resolveInputShapes(m, [1, 4, 0, 16]), shapeError('bad-input-shape', 'positive integers'));
    assert.throws(() => resolveInputShapes(m, { image: [1, 4, 8, 8] }), shapeError('unknown-input', "'image'", 'x'));
  });

  test('several inputs need named shapes', async () => {
    const m = twoInputNet();
    assert.throws(() => resolveInputShapes(m, [1, 3, 8, 8]), shapeError('bad-input-shape', 'img, mask'));
    assert.throws(() => resolveInputShapes(m, { img: [1, 3, 8, 8] }), shapeError('symbolic-input', "'mask'"));
    const shapes = await inferShapes(m, { img: [1, 3, 8, 10], mask: [1, 1, 8, 10] });
    assert.deepEqual(shapes.get('cat'), [1, 4, 8, 10]);
    assert.deepEqual(shapes.get('y'), [1, 2, 8, 10]);
  });

  test('a shape the model cannot run at is reported as inference-failed', async () => {
    // Concat needs matching spatial sizes; the shapes are each valid on their own.
    await assert.rejects(inferShapes(twoInputNet(), { img: [1, 3, 8, 8], mask: [1, 1, 4, 4] }), shapeError('inference-failed', 'img [1,3,8,8]'));
  });

  test('layer MACs from inferred shapes match the formulas', async () => {
    const m = layerZoo();
    const { layers } = analyzeLayers(m, await inferShapes(m, [1, 4, 20, 20]));
    const macs = Object.fromEntries(layers.map((l) => [l.node, l.macs]));
    assert.deepEqual(macs, {
      conv_s: 8 * 4 * 9 * 10 * 10,
      conv_g: 8 * 4 * 9 * 10 * 10,
      convT: 8 * 3 * 4 * 10 * 10,
      gemm: 30,
      matmul: 35,
    });
  });
});

describe('fixtures', () => {
  const meta = existsSync(modelsJson)
    ? (JSON.parse(readFileSync(modelsJson, 'utf8')) as { models: Record<string, { params: number; input_shape: number[] }> })
    : undefined;

  for (const name of FIXTURES) {
    test(`${name}: parameter count equals PyTorch's`, { skip: fixtureSkip(name) }, async () => {
      const model = await loadModel(path.join(fixtures, `${name}.onnx`));
      // 32×32 keeps the run fast and is divisible by every fixture's downsampling.
      const shapes = await inferShapes(model, [1, 3, 32, 32]);
      const { layers, totals } = analyzeLayers(model, shapes);
      assert.equal(totals.params, meta!.models[name]!.params);
      for (const l of layers) {
        const w = model.initializers().get(l.weight)!.dims.map(Number);
        if (l.op === 'Conv') {
          const out = shapes.get(model.node(l.node)!.output[0]!)!;
          assert.equal(l.macs, w[0]! * w[1]! * w[2]! * w[3]! * out[2]! * out[3]!, l.node);
        }
      }
    });
  }

  test('classifier: per-layer MACs at its fixed 32×32 input', { skip: fixtureSkip('classifier') }, async () => {
    const model = await loadModel(path.join(fixtures, 'classifier.onnx'));
    const { layers, totals } = analyzeLayers(model, await inferShapes(model));
    assert.deepEqual(
      layers.map((l) => [l.node, l.macs]),
      [
        ['/stem/stem.0/Conv', 16 * 3 * 9 * 32 * 32],
        ['/main/main.0/Conv', 32 * 16 * 9 * 16 * 16],
        ['/main/main.3/Conv', 32 * 32 * 9 * 16 * 16],
        ['/shortcut/shortcut.0/Conv', 32 * 16 * 1 * 16 * 16],
        ['/stage2/stage2.0/Conv', 64 * 32 * 9 * 8 * 8],
        ['/stage2/stage2.3/Conv', 64 * 64 * 9 * 4 * 4],
        ['/fc/Gemm', 64 * 4],
      ],
    );
    assert.equal(totals.macs, 5_882_112);
    assert.equal(totals.bufferElements, 2 * (16 + 32 + 32 + 32 + 64 + 64));
  });

  test('unet: ConvTranspose channels and MACs', { skip: fixtureSkip('unet') }, async () => {
    const model = await loadModel(path.join(fixtures, 'unet.onnx'));
    const { layers } = analyzeLayers(model, await inferShapes(model, [1, 3, 64, 64]));
    const up2 = layers.find((l) => l.node === '/up2/ConvTranspose')!;
    assert.deepEqual([up2.inChannels, up2.outChannels, up2.kernel, up2.stride], [64, 32, [2, 2], [2, 2]]);
    assert.deepEqual(up2.outputShape, [1, 32, 32, 32]);
    assert.equal(up2.macs, 64 * 32 * 2 * 2 * 16 * 16, 'Cin·Cout·k²·Hin·Win');
  });

  test('external-data model gives the same shapes', { skip: fixtureSkip('halfunet') || (existsSync(path.join(fixtures, 'halfunet_ext.onnx')) ? false : 'halfunet_ext.onnx missing') }, async () => {
    const a = await inferShapes(await loadModel(path.join(fixtures, 'halfunet.onnx')), [1, 3, 16, 16]);
    const b = await inferShapes(await loadModel(path.join(fixtures, 'halfunet_ext.onnx')), [1, 3, 16, 16]);
    assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
  });
});

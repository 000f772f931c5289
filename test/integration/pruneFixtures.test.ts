import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { loadModel } from '../../src/core/onnx';
import { decodeImageFile } from '../../src/core/data/decode';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { countCost, predictCost } from '../../src/core/prune/cost';
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeLayers } from '../../src/core/analysis/layers';
import { inputTensor, maxAbsDiff, perSampleGateFeeds, runFirst, session, sharedGateFeeds } from '../helpers/pruneHarness';

const FIX = path.join(__dirname, '..', 'fixtures');
const FIXTURES = [
  { file: 'dncnn.onnx', images: 'data/test/noisy', size: 32, groups: 7 },
  { file: 'halfunet.onnx', images: 'data/test/noisy', size: 32, groups: 5 },
  { file: 'halfunet_ext.onnx', images: 'data/test/noisy', size: 32, groups: 5 },
  { file: 'unet.onnx', images: 'data/test/noisy', size: 32, groups: 12 },
  { file: 'classifier.onnx', images: 'cls/test/rot90', size: 32, groups: 5 },
];

/** Two real images, centre-cropped to size×size, as one [2, 3, size, size] batch. */
async function imageBatch(dir: string, size: number): Promise<Float32Array> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort().slice(0, 2);
  const out = new Float32Array(2 * 3 * size * size);
  for (let b = 0; b < 2; b++) {
    const img = await decodeImageFile(path.join(dir, files[b]!));
    const x0 = (img.width - size) >> 1;
    const y0 = (img.height - size) >> 1;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          out[((b * 3 + c) * size + y) * size + x] = img.data[(c * img.height + y0 + y) * img.width + x0 + x]!;
        }
      }
    }
  }
  return out;
}

describe('gated ≡ pruned on the trained fixtures (real images)', () => {
  for (const f of FIXTURES) {
    const file = path.join(FIX, f.file);
    const dir = path.join(FIX, f.images);
    const present = existsSync(file) && existsSync(dir);
    test(f.file, { skip: present ? false : `fixture ${f.file} or its images are absent` }, async () => {
      const model = await loadModel(file);
      const dims = [2, 3, f.size, f.size];
      const x = await imageBatch(dir, f.size);
      const shapes = await inferShapes(model, dims);
      const deps = analyzeDependencies(model, shapes, { strict: true });
      assert.equal(deps.groups.length, f.groups);
      assert.ok(deps.locked.some((l) => l.reason === 'graph-output'), 'the layer feeding the output is locked');
      const original = await runFirst(await session(model), { input: inputTensor(x, dims) });
      const gated = buildGatedModel(model, deps, { layout: 'shared' });
      const gs = await session(gated.model);
      assert.ok(maxAbsDiff(await runFirst(gs, { input: inputTensor(x, dims), ...sharedGateFeeds(deps, gated, undefined) }), original) <= 1e-5);
      const before = countCost(model, shapes);
      const layerTotals = analyzeLayers(model, shapes).totals;
      assert.deepEqual([before.params, before.macs], [layerTotals.params, layerTotals.macs]);
      for (const [s, seed] of [0.1, 0.3, 0.5, 0.7].flatMap((s) => [1, 2].map((k) => [s, Math.round(s * 100) + k] as const))) {
        const keep = randomMask(deps, s, seed);
        const pruned = exportPruned(model, deps, keep);
        const p = await runFirst(await session(pruned), { input: inputTensor(x, dims) });
        const q = await runFirst(gs, { input: inputTensor(x, dims), ...sharedGateFeeds(deps, gated, keep) });
        assert.ok(maxAbsDiff(p, q) <= 1e-4, `s=${s} seed=${seed}: ${maxAbsDiff(p, q)}`);
        assert.ok(maxAbsDiff(p, original) > 1e-4, `s=${s}: pruning changed nothing`);
        const predicted = predictCost(model, deps, shapes, keep);
        const prunedShapes = await inferShapes(pruned, dims);
        const counted = countCost(pruned, prunedShapes);
        assert.deepEqual([predicted.params, predicted.floatElements, predicted.macs], [counted.params, counted.floatElements, counted.macs]);
        const layers = analyzeLayers(pruned, prunedShapes).totals;
        assert.deepEqual([predicted.params, predicted.macs], [layers.params, layers.macs], 'agrees with analyzeLayers');
        assert.ok(counted.macs < before.macs);
      }
      // Per-sample layout: two items, two masks, one run.
      const per = buildGatedModel(model, deps, { layout: 'per-sample' });
      const keeps = [randomMask(deps, 0.3, 1), randomMask(deps, 0.6, 2)];
      const batched = await runFirst(await session(per.model), { input: inputTensor(x, dims), ...perSampleGateFeeds(model, deps, per, keeps) });
      const item = 3 * f.size * f.size;
      const outPer = batched.length / 2;
      for (let b = 0; b < 2; b++) {
        const one = await runFirst(gs, { input: inputTensor(x.slice(b * item, (b + 1) * item), [1, 3, f.size, f.size]), ...sharedGateFeeds(deps, gated, keeps[b]) });
        assert.ok(maxAbsDiff(one, batched.subarray(b * outPer, (b + 1) * outPer)) <= 1e-5, `per-sample item ${b}`);
      }
    });
  }
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { loadModel } from '../../src/core/onnx';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { costModel, countCost, evaluateCountCost, predictCost } from '../../src/core/prune/cost';
import { inferShapes } from '../../src/core/analysis/shapes';

const FIX = path.join(__dirname, '..', 'fixtures');
const ZOO = path.join(__dirname, '..', '..', 'bench', 'out', 'zoo');
// Fixtures with plain chains, U-Net skips (Concat), residual adds, grouped/depthwise convs, Fire
// (Concat of two branches), SE blocks and a classifier head (Flatten → Gemm).
const MODELS = [
  path.join(FIX, 'dncnn.onnx'),
  path.join(FIX, 'halfunet.onnx'),
  path.join(FIX, 'unet.onnx'),
  path.join(FIX, 'classifier.onnx'),
  path.join(FIX, 'zoo', 'fire.onnx'),
  path.join(FIX, 'zoo', 'se.onnx'),
  path.join(FIX, 'zoo', 'grouped.onnx'),
  path.join(FIX, 'zoo', 'bnkept.onnx'),
  path.join(ZOO, 'resnet18.trained.onnx'),
  path.join(ZOO, 'mobilenet_v2.trained.onnx'),
];

describe('cost model in kept counts equals counting the exported model', () => {
  for (const file of MODELS) {
    test(path.basename(file), { skip: existsSync(file) ? false : `${file} is absent` }, async () => {
      const model = await loadModel(file);
      const dims = [1, 3, 32, 32];
      const shapes = await inferShapes(model, dims);
      const deps = analyzeDependencies(model, shapes);
      const cm = costModel(model, deps, shapes);
      assert.deepEqual(cm.groupIds, deps.groups.map((g) => g.id));
      const full = countCost(model, shapes);
      const all = deps.groups.map((g) => g.size);
      assert.equal(evaluateCountCost(cm.macs, all), full.macs);
      assert.equal(evaluateCountCost(cm.params, all), full.params);
      let checked = 0;
      for (const [s, seed] of [0.2, 0.5, 0.8].flatMap((s) => [1, 2].map((k) => [s, Math.round(s * 100) + k] as const))) {
        const keep = randomMask(deps, s, seed);
        const counts = deps.groups.map((g) => g.variables.reduce((a, v) => a + keep[v]!, 0));
        const predicted = predictCost(model, deps, shapes, keep);
        if (cm.partialGroups.length === 0) {
          const pruned = exportPruned(model, deps, keep);
          const counted = countCost(pruned, await inferShapes(pruned, dims));
          assert.equal(evaluateCountCost(cm.macs, counts), counted.macs, `macs s=${s}`);
          assert.equal(evaluateCountCost(cm.params, counts), counted.params, `params s=${s}`);
          assert.ok(counted.macs < full.macs);
          checked++;
        } else {
          // Split parts: the model averages over which channels are kept; it stays close.
          assert.ok(Math.abs(evaluateCountCost(cm.macs, counts) - predicted.macs) <= 0.05 * predicted.macs);
        }
      }
      if (cm.partialGroups.length === 0) assert.equal(checked, 6);
    });
  }
});

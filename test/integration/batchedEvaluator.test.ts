import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel, valueInfoDims } from '../../src/core/onnx';
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { randomMask } from '../../src/core/prune/masks';
import { loadDataset } from '../../src/core/data';
import { openSession } from '../../src/core/runtime/session';
import { BatchedEvaluator } from '../../src/core/refine/batchedEvaluator';

const FIX = path.resolve(__dirname, '../fixtures');

test('batched evaluation of several masks equals one-at-a-time evaluation; cache counts', async () => {
  const model = await loadModel(path.join(FIX, 'dncnn.onnx'));
  const deps = analyzeDependencies(model, await inferShapes(model, [1, 3, 32, 32]));
  const gated = buildGatedModel(model, deps, { layout: 'per-sample' });
  const data = await loadDataset(path.join(FIX, 'data'), { patch: 32, maxPerSplit: 3 });
  const batch = await data.val.get([0, 1, 2]);
  const { session } = await openSession(gated.model.toBytes(), { provider: 'cpu', threads: 1 });
  const layout = {
    names: gated.gateInputs.map((g) => g.name),
    variables: gated.gateInputs.map((g) => deps.groups.find((x) => x.id === g.group)!.variables),
    trailing: gated.gateInputs.map((g) => (valueInfoDims(gated.model.graph.input.find((i) => i.name === g.name)!)?.length ?? 4) - 2),
  };
  const masks = [0.1, 0.3, 0.5, 0.7].map((s, i) => randomMask(deps, s, i + 1));
  const make = (maxBatchItems: number) =>
    new BatchedEvaluator({ session, inputName: 'input', outputName: 'output', gates: layout, data: batch, task: 'denoise', maxBatchItems });
  const together = await make(64).evaluate(masks);
  const alone = make(3);
  const one = [];
  for (const m of masks) one.push((await alone.evaluate([m]))[0]!);
  for (let i = 0; i < masks.length; i++) assert.ok(Math.abs(together[i]! - one[i]!) < 1e-6, `mask ${i}: ${together[i]} vs ${one[i]}`);
  assert.ok(together[0]! > together[3]!, 'pruning 10% hurts less than 70%');
  await alone.evaluate([masks[0]!, masks[0]!]);
  assert.equal(alone.stats.evaluated, 4, 'cached masks are not run again');
  assert.equal(alone.stats.requested, 6);
  await session.release();
});

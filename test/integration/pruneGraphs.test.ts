import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { loadModel, attrInt, attrInts } from '../../src/core/onnx';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned, savePruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { inferShapes } from '../../src/core/analysis/shapes';
import { PruneError } from '../../src/core/prune/errors';
import { Rng } from '../../src/core/util/rng';
import { allGraphs, concatGraph, convTransposeGraph, depthwiseGraph, sliceGraph, splitGraph } from '../helpers/graphs';
import { assertPrunedMatchesGated, inputTensor, maxAbsDiff, perSampleGateFeeds, runFirst, session, sharedGateFeeds } from '../helpers/pruneHarness';

const SPARSITIES = [0.1, 0.3, 0.5, 0.7];
const SEEDS = [1, 2];
const TOL = 1e-4;

function randomInput(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next());
}

/** Mask with a seed-dependent scatter of kept channels, for weight-value checks. */
function mask(d: ReturnType<typeof analyzeDependencies>, s: number, seed: number): Uint8Array {
  return randomMask(d, s, seed);
}

describe('gated model ≡ physically pruned model (hand-built graphs)', () => {
  for (const g of allGraphs().filter((x) => x.runnable)) {
    test(g.name, async () => {
      const model = g.model;
      const shapes = await inferShapes(model, g.inputShape);
      const deps = analyzeDependencies(model, shapes);
      assert.ok(deps.groups.length > 0);
      await assertPrunedMatchesGated(g.name, model, deps, shapes, { inputShape: g.inputShape, input: randomInput(g.inputShape, 11), sparsities: SPARSITIES, seeds: SEEDS, tol: TOL, keepAll: true, fullCost: true, mask });
    });
  }
});

describe('per-sample gates', () => {
  for (const g of allGraphs().filter((x) => x.runnable && ['residual', 'concat', 'flattenHead', 'matmulHead', 'depthwise'].includes(x.name))) {
    test(`${g.name}: a batch with B masks equals B shared-mask runs`, async () => {
      const model = g.model;
      const shapes = await inferShapes(model, g.inputShape);
      const deps = analyzeDependencies(model, shapes);
      const shared = buildGatedModel(model, deps, { layout: 'shared' });
      const perSample = buildGatedModel(model, deps, { layout: 'per-sample' });
      const B = 3;
      const item = [1, ...g.inputShape.slice(1)];
      const itemSize = item.reduce((a, b) => a * b, 1);
      const x = randomInput([B, ...item.slice(1)], 5);
      const keeps = [randomMask(deps, 0.3, 1), randomMask(deps, 0.5, 2), new Uint8Array(deps.variables.length).fill(1)];
      const batched = await runFirst(await session(perSample.model), { input: inputTensor(x, [B, ...item.slice(1)]), ...perSampleGateFeeds(model, deps, perSample, keeps) });
      const ss = await session(shared.model);
      const outPer = batched.length / B;
      for (let b = 0; b < B; b++) {
        const one = await runFirst(ss, { input: inputTensor(x.slice(b * itemSize, (b + 1) * itemSize), item), ...sharedGateFeeds(deps, shared, keeps[b]) });
        assert.ok(maxAbsDiff(one, batched.subarray(b * outPer, (b + 1) * outPer)) <= 1e-5, `item ${b}`);
      }
      assert.deepEqual(perSample.gateInputs, shared.gateInputs);
    });
  }
});

describe('exported weights and attributes', () => {
  test('a Concat consumer loses exactly the pruned input channels (shapes and values)', () => {
    const model = concatGraph();
    const deps = analyzeDependencies(model);
    const keep = new Uint8Array(deps.variables.length).fill(1);
    // Prune conv1 channel 1 and conv2 channels 0 and 4 → concat channels 1, 4, 8 go.
    keep[deps.groups[0]!.variables[1]!] = 0;
    keep[deps.groups[1]!.variables[0]!] = 0;
    keep[deps.groups[1]!.variables[4]!] = 0;
    const pruned = exportPruned(model, deps, keep);
    const w = model.floatInitializer('conv3.w');
    const pw = pruned.floatInitializer('conv3.w');
    assert.deepEqual(pw.dims, [5, 7, 3, 3]);
    const keptIn = [0, 2, 3, 5, 6, 7, 9];
    for (let o = 0; o < 5; o++) {
      keptIn.forEach((c, j) => {
        const a = w.data.subarray((o * 10 + c) * 9, (o * 10 + c + 1) * 9);
        const b = pw.data.subarray((o * 7 + j) * 9, (o * 7 + j + 1) * 9);
        assert.deepEqual(Array.from(b), Array.from(a));
      });
    }
    assert.deepEqual(pruned.floatInitializer('conv1.w').dims, [3, 3, 3, 3]);
    assert.deepEqual(pruned.floatInitializer('conv2.w').dims, [4, 3, 3, 3]);
    assert.deepEqual(pruned.floatInitializer('conv2.b').dims, [4]);
    // Node names, opset and graph inputs/outputs are kept.
    assert.deepEqual(pruned.nodes.map((n) => n.name), model.nodes.map((n) => n.name));
    assert.equal(pruned.opset, model.opset);
    assert.deepEqual(pruned.inputNames, model.inputNames);
    assert.deepEqual(pruned.outputNames, model.outputNames);
  });

  test('Split sizes, Slice bounds, depthwise groups and ConvTranspose axes are rewritten', () => {
    for (const opset of [11, 17]) {
      const model = splitGraph(3, opset);
      const deps = analyzeDependencies(model);
      const keep = new Uint8Array(deps.variables.length).fill(1);
      keep[deps.tensors.get('s0')!.variable[1]!] = 0;
      keep[deps.tensors.get('s1')!.variable[0]!] = 0;
      keep[deps.tensors.get('s1')!.variable[4]!] = 0;
      const pruned = exportPruned(model, deps, keep);
      const split = pruned.node('split')!;
      const sizes = opset < 13 ? attrInts(split, 'split') : Array.from(pruned.constant(split.input[1]!)!.data as BigInt64Array, Number);
      assert.deepEqual(sizes, [2, 3], `opset ${opset}`);
    }
    {
      const model = sliceGraph();
      const deps = analyzeDependencies(model);
      const keep = new Uint8Array(deps.variables.length).fill(1);
      const c1 = deps.groups[0]!.variables;
      keep[c1[0]!] = 0; // before the slice
      keep[c1[3]!] = 0; // inside [2, 7)
      const pruned = exportPruned(model, deps, keep);
      const sl = pruned.node('slice')!;
      assert.deepEqual(Array.from(pruned.constant(sl.input[1]!)!.data as BigInt64Array, Number), [1]);
      assert.deepEqual(Array.from(pruned.constant(sl.input[2]!)!.data as BigInt64Array, Number), [5]);
      assert.deepEqual(pruned.floatInitializer('conv2.w').dims, [6, 4, 3, 3]);
    }
    {
      const model = depthwiseGraph();
      const deps = analyzeDependencies(model);
      const keep = randomMask(deps, 0.5, 3);
      const kept1 = Array.from(deps.groups[0]!.variables).filter((v) => keep[v]).length;
      const pruned = exportPruned(model, deps, keep);
      assert.equal(attrInt(pruned.node('dw')!, 'group', 1), kept1);
      assert.equal(attrInt(pruned.node('dw2')!, 'group', 1), kept1);
      assert.deepEqual(pruned.floatInitializer('dw2.w').dims, [2 * kept1, 1, 3, 3]);
    }
    {
      const model = convTransposeGraph();
      const deps = analyzeDependencies(model);
      const keep = new Uint8Array(deps.variables.length).fill(1);
      keep[deps.groups[0]!.variables[2]!] = 0;
      keep[deps.groups[1]!.variables[0]!] = 0;
      keep[deps.groups[1]!.variables[5]!] = 0;
      const pruned = exportPruned(model, deps, keep);
      assert.deepEqual(pruned.floatInitializer('convT.w').dims, [7, 4, 2, 2]);
      assert.deepEqual(pruned.floatInitializer('convT.b').dims, [4]);
      const w = model.floatInitializer('convT.w').data;
      const pw = pruned.floatInitializer('convT.w').data;
      // pruned[i=2 (orig 3), o=0 (orig 1)] = original[3, 1]
      assert.deepEqual(Array.from(pw.subarray((2 * 4 + 0) * 4, (2 * 4 + 1) * 4)), Array.from(w.subarray((3 * 6 + 1) * 4, (3 * 6 + 2) * 4)));
    }
  });

  test('savePruned validates, writes atomically and refuses to overwrite the source', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qp-prune-'));
    const src = path.join(dir, 'model.onnx');
    await concatGraph().save(src);
    const model = await loadModel(src);
    const deps = analyzeDependencies(model);
    const keep = randomMask(deps, 0.5, 9);
    await assert.rejects(savePruned(model, deps, keep, src), (e: Error & { code?: string }) => e.code === 'overwrite-source');
    const out = path.join(dir, 'pruned.onnx');
    const written = await savePruned(model, deps, keep, out, { checkInputShape: [1, 3, 8, 8] });
    const back = await loadModel(out);
    assert.deepEqual(back.floatInitializer('conv3.w').dims, written.floatInitializer('conv3.w').dims);
    const bad = new Uint8Array(deps.variables.length);
    await assert.rejects(savePruned(model, deps, bad, path.join(dir, 'x.onnx')), (e: PruneError) => e.code === 'empty-group');
  });
});


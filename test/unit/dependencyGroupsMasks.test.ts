import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import {
  applyRoundTo,
  emptyTensors,
  greedyMask,
  groupFloors,
  keepTarget,
  l1Mask,
  l1Scores,
  maskSummary,
  randomMask,
  validateKeep,
} from '../../src/core/prune/masks';
import { PruneError } from '../../src/core/prune/errors';
import { getMethod, listMethods } from '../../src/core/prune/methods';
import { concatGraph, residualGraph, splitGraph } from '../helpers/graphs';
import { makeModel, makeNode, makeValueInfo, OnnxModel, floatTensor } from '../../src/core/onnx';

const count = (keep: Uint8Array) => keep.reduce((a, b) => a + b, 0);

/** conv1 (16 channels) → relu → conv2 (32) → relu → conv3 → output: groups of 16 and 32. */
function wideGraph(): OnnxModel {
  const w = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return new OnnxModel(
    makeModel({
      nodes: [
        makeNode('Conv', ['input', 'w1'], ['c1'], 'conv1', { kernel_shape: [1, 1] }),
        makeNode('Relu', ['c1'], ['r1'], 'relu1'),
        makeNode('Conv', ['r1', 'w2'], ['c2'], 'conv2', { kernel_shape: [1, 1] }),
        makeNode('Relu', ['c2'], ['r2'], 'relu2'),
        makeNode('Conv', ['r2', 'w3'], ['output'], 'conv3', { kernel_shape: [1, 1] }),
      ],
      inputs: [makeValueInfo('input', ['N', 3, 'H', 'W'])],
      outputs: [makeValueInfo('output')],
      // Filter c of conv1 has |w| = c + 1, so L1 ranks channels by index.
      initializers: [
        floatTensor('w1', w(48, (i) => (Math.floor(i / 3) + 1) * (i % 2 ? -1 : 1)), [16, 3, 1, 1]),
        floatTensor('w2', w(16 * 32, (i) => ((i * 7919) % 13) / 13 - 0.5), [32, 16, 1, 1]),
        floatTensor('w3', w(96, () => 0.1), [3, 32, 1, 1]),
      ],
    }),
  );
}

describe('masks', () => {
  const deps = analyzeDependencies(wideGraph());

  test('floors: max(1, ceil(ρ·C)) per group', () => {
    assert.deepEqual(Array.from(groupFloors(deps)), [2, 4]);
    assert.deepEqual(Array.from(groupFloors(deps, 0.5)), [8, 16]);
    assert.deepEqual(Array.from(groupFloors(deps, 0)), [1, 1]);
    assert.throws(() => groupFloors(deps, 1.5), (e: PruneError) => e.code === 'bad-option');
  });

  test('K = round((1 − s)·n)', () => {
    assert.equal(keepTarget(48, 0.36), 31);
    assert.equal(keepTarget(48, 0), 48);
    assert.throws(() => keepTarget(48, 1), (e: PruneError) => e.code === 'bad-sparsity');
  });

  test('greedy top-K keeps exactly K, respects floors, prefers high scores', () => {
    // Scores favour group 2 entirely: group 1 keeps just its floor of 2, its two best.
    const scores = Float64Array.from(deps.variables, (v, i) => (v.group === 0 ? i : 100 + i));
    const keep = greedyMask(deps, scores, 20);
    assert.equal(count(keep), 20);
    const [g1, g2] = maskSummary(deps, keep);
    assert.deepEqual(g1, { group: 'conv1', kept: 2, total: 16 });
    assert.equal(g2!.kept, 18);
    assert.equal(keep[15], 1);
    assert.equal(keep[14], 1);
    assert.equal(keep[13], 0);
    assert.throws(() => greedyMask(deps, scores, 5), (e: PruneError) => e.code === 'bad-sparsity');
  });

  test('random masks: exact K, deterministic per seed, different across seeds', () => {
    for (const s of [0.1, 0.3, 0.5, 0.7]) {
      const a = randomMask(deps, s, 1);
      assert.equal(count(a), keepTarget(48, s));
      assert.deepEqual(a, randomMask(deps, s, 1));
      for (const g of maskSummary(deps, a)) assert.ok(g.kept >= 1);
    }
    assert.notDeepEqual(randomMask(deps, 0.5, 1), randomMask(deps, 0.5, 2));
  });

  test('round-to gives multiples (or the whole group) and keeps the best channels', () => {
    const scores = Float64Array.from(deps.variables, (_, i) => i);
    const keep = greedyMask(deps, scores, 30, { roundTo: 8 });
    for (const g of maskSummary(deps, keep)) assert.ok(g.kept % 8 === 0 || g.kept === g.total, `${g.group}: ${g.kept}`);
    const raw = new Uint8Array(48);
    for (let i = 0; i < 5; i++) raw[i] = 1; // group 1 keeps 5 → rounds to 8
    for (let i = 16; i < 28; i++) raw[i] = 1; // group 2 keeps 12 → rounds to 16 (half up)
    const r = applyRoundTo(deps, raw, scores, { roundTo: 8 });
    assert.deepEqual(maskSummary(deps, r).map((g) => g.kept), [8, 16]);
    // Already-kept channels stay; the added ones are the best pruned ones.
    for (let i = 0; i < 5; i++) assert.equal(r[i], 1);
    assert.equal(r[15], 1);
    assert.equal(r[5], 0);
  });

  test('L1 scores are the mean |w| of each filter; L1 masks drop the smallest filters', () => {
    const s = l1Scores(wideGraph(), deps);
    assert.ok(Math.abs(s[0]! - 1) < 1e-6);
    assert.ok(Math.abs(s[15]! - 16) < 1e-6);
    const keep = l1Mask(wideGraph(), deps, 0.5);
    assert.equal(count(keep), 24);
    const g1 = Array.from(keep.slice(0, 16));
    // Within group 1 the kept filters are the largest ones.
    const firstKept = g1.indexOf(1);
    assert.ok(g1.slice(firstKept).every((k) => k === 1), g1.join(''));
  });

  test('coupled producers add their filter norms into one score', () => {
    const model = residualGraph();
    const d = analyzeDependencies(model);
    const s = l1Scores(model, d);
    const w1 = model.floatInitializer('conv1.w');
    const w3 = model.floatInitializer('conv3.w');
    const mean = (t: Float32Array, c: number, len: number) => t.subarray(c * len, (c + 1) * len).reduce((a, b) => a + Math.abs(b), 0) / len;
    assert.ok(Math.abs(s[2]! - (mean(w1.data, 2, 27) + mean(w3.data, 2, 72))) < 1e-6);
  });

  test('validation: wrong length, emptied group, emptied Split part', () => {
    assert.throws(() => validateKeep(deps, new Uint8Array(3)), (e: PruneError) => e.code === 'bad-mask');
    const keep = new Uint8Array(48).fill(1);
    keep.fill(0, 0, 16);
    assert.throws(() => validateKeep(deps, keep), (e: PruneError) => e.code === 'empty-group');
    const split = analyzeDependencies(splitGraph());
    const k = new Uint8Array(split.variables.length).fill(1);
    for (const v of split.tensors.get('s0')!.variable) k[v] = 0;
    assert.deepEqual(emptyTensors(split, k), ['s0']);
    assert.throws(() => validateKeep(split, k), (e: PruneError) => e.code === 'empty-tensor');
    // Mask makers never produce such masks.
    for (let seed = 1; seed <= 20; seed++) assert.doesNotThrow(() => validateKeep(split, randomMask(split, 0.7, seed)));
  });

  test('method registry: l1 and random are registered, unknown names fail', async () => {
    assert.deepEqual(listMethods().map((m) => m.name).slice(0, 2), ['l1', 'random']);
    const d = analyzeDependencies(concatGraph());
    const keep = await getMethod('random').run({ model: concatGraph(), deps: d, sparsity: 0.3, seed: 4, mask: {} });
    assert.equal(count(keep), keepTarget(d.variables.length, 0.3));
    assert.throws(() => getMethod('taylor-v9'), (e: PruneError) => e.code === 'unknown-method');
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import {
  emptyTensors,
  groupFloors,
  l1Mask,
  l1Scores,
  maskSummary,
  randomMask,
  scoreMask,
  selectionInstance,
  validateKeep,
} from '../../src/core/prune/masks';
import { selectMask, type GroupTerms } from '../../src/core/pipeline/selectMask';
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
    // The reported floors are the ones the selection applies.
    for (const rho of [0, 0.1, 0.33, 0.5, 1]) assert.deepEqual(groupFloors(deps, rho), selectionInstance(deps, 0, { floor: rho }).floors);
  });

  test('K = round((1 − s)·n)', () => {
    assert.equal(selectionInstance(deps, 0.36).K, 31);
    assert.equal(selectionInstance(deps, 0).K, 48);
    assert.throws(() => selectionInstance(deps, 1), (e: PruneError) => e.code === 'bad-sparsity');
  });

  test('greedy top-K keeps exactly K, respects floors, prefers high scores', () => {
    // Scores favour group 2 entirely: group 1 keeps just its floor of 2, its two best.
    const scores = Float64Array.from(deps.variables, (v, i) => (v.group === 0 ? i : 100 + i));
    const keep = scoreMask(deps, scores, 28 / 48);
    assert.equal(count(keep), 20);
    const [g1, g2] = maskSummary(deps, keep);
    assert.deepEqual(g1, { group: 'conv1', kept: 2, total: 16 });
    assert.equal(g2!.kept, 18);
    assert.equal(keep[15], 1);
    assert.equal(keep[14], 1);
    assert.equal(keep[13], 0);
    assert.throws(() => scoreMask(deps, scores, 43 / 48), (e: PruneError) => e.code === 'bad-sparsity' && /below the sum of group floors \(6\)/.test(e.message));
  });

  test('random masks: exact K, deterministic per seed, different across seeds', () => {
    for (const s of [0.1, 0.3, 0.5, 0.7]) {
      const a = randomMask(deps, s, 1);
      assert.equal(count(a), Math.round((1 - s) * 48));
      assert.deepEqual(a, randomMask(deps, s, 1));
      for (const g of maskSummary(deps, a)) assert.ok(g.kept >= 1);
    }
    assert.notDeepEqual(randomMask(deps, 0.5, 1), randomMask(deps, 0.5, 2));
  });

  test('round-to: multiples (or the whole group), K moved to the nearest reachable total, best channels kept', () => {
    const scores = Float64Array.from(deps.variables, (_, i) => i);
    // Floors 2 and 4 rise to 8; totals reachable with multiples of 8 are 16, 24, …, 48, so K 30 → 32.
    const s = 18 / 48;
    assert.deepEqual([selectionInstance(deps, s, { roundTo: 8 }).kRequested, selectionInstance(deps, s, { roundTo: 8 }).K], [30, 32]);
    const keep = scoreMask(deps, scores, s, { roundTo: 8 });
    // Group 2 scores higher, so it takes every count above the floors; group 1 keeps its 8 best.
    assert.deepEqual(maskSummary(deps, keep).map((g) => g.kept), [8, 24]);
    assert.deepEqual(Array.from(keep.slice(0, 16)).join(''), '0000000011111111');
    for (const seed of [1, 2, 3]) {
      const r = randomMask(deps, s, seed, { roundTo: 8 });
      assert.equal(count(r), 32);
      for (const g of maskSummary(deps, r)) assert.ok(g.kept % 8 === 0 || g.kept === g.total, `${g.group}: ${g.kept}`);
    }
  });

  test('data-free L1 and random pick the channels the pipeline\'s rows pick (same floors, round-to, K and seed)', async () => {
    const model = wideGraph();
    const l1 = l1Scores(model, deps);
    const n = deps.variables.length;
    const ones = new Float64Array(n).fill(1);
    const terms: GroupTerms[] = deps.groups.map((g) => ({ id: g.id, variables: g.variables, activationSimilarity: new Float64Array(g.size * g.size), weightSimilarity: new Float64Array(g.size * g.size) }));
    for (const [sparsity, roundTo, floor] of [[0.5, 1, 0.1], [0.4, 8, 0.1], [0.6, 4, 0.2]] as const) {
      const common = { sparsity, alpha: 0.5, beta: 0, floor, roundTo, seed: 5, searchTimeMs: 0 };
      const pipelineL1 = await selectMask({ taylor: ones, fisher: ones, l1, l2: l1 }, terms, { ...common, method: 'l1' });
      assert.deepEqual(l1Mask(model, deps, sparsity, { floor, roundTo }), pipelineL1.keep, `l1: s ${sparsity}, round-to ${roundTo}, floor ${floor}`);
      const pipelineRandom = await selectMask({ taylor: ones, fisher: ones, l1, l2: l1 }, terms, { ...common, method: 'random' });
      assert.deepEqual(randomMask(deps, sparsity, 5, { floor, roundTo }), pipelineRandom.keep, `random: s ${sparsity}, round-to ${roundTo}, floor ${floor}`);
    }
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
    assert.equal(count(keep), Math.round(0.7 * d.variables.length));
    assert.throws(() => getMethod('taylor-v9'), (e: PruneError) => e.code === 'unknown-method');
  });
});

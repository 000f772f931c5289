// Issue 14, ShuffleNetV2 and ConvNeXt as torch 1.13 exports them at opset 13:
// - the channel split and shuffle read the channel count at run time (Shape → Gather(1) → … →
//   Slice bounds, Concat → Reshape target); foldChannelShapes turns those chains into constants,
//   the model still computes the same at any batch and spatial size, and the pruned model equals
//   the gated one at a size other than the one analysed;
// - LayerNorm decomposed as ReduceMean … Div over the channels-last axis is recognised under
//   allowLayerNormPruning and locked (with the reason) without it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { inferShapes } from '../../src/core/analysis/shapes';
import { foldChannelShapes, loadModel, makeModel, makeNode, makeTensor, makeValueInfo, normalizeGraph, parseModel, serializeModelProto, type OnnxModel } from '../../src/core/onnx';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { Rng } from '../../src/core/util/rng';
import { assertPrunedMatchesGated, inputTensor, maxAbsDiff, runFirst, session, sharedGateFeeds } from '../helpers/pruneHarness';

const SHUFFLE = path.join(__dirname, '..', 'fixtures', 'zoo', 'shuffle.onnx');
const ANALYSED = [1, 3, 32, 32];

function randomInput(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

async function run(model: OnnxModel, dims: number[], seed: number, extra = {}): Promise<Float32Array> {
  return runFirst(await session(model), { input: inputTensor(randomInput(dims, seed), dims), ...extra });
}

async function foldedShuffle(): Promise<{ original: OnnxModel; folded: OnnxModel }> {
  const original = await loadModel(SHUFFLE);
  normalizeGraph(original);
  const folded = original.clone();
  foldChannelShapes(folded, await inferShapes(folded, ANALYSED));
  return { original, folded };
}

describe('foldChannelShapes on an exported ShuffleNetV2 unit', () => {
  test('Slice bounds and shuffle targets become constants; batch and spatial entries stay computed', async () => {
    const { original, folded } = await foldedShuffle();
    const slicesBefore = original.nodes.filter((n) => n.opType === 'Slice');
    assert.ok(slicesBefore.some((n) => !original.constant(n.input[2]!)), 'the fixture has run-time Slice bounds');
    for (const n of folded.nodes.filter((x) => x.opType === 'Slice')) assert.ok(folded.constant(n.input[1]!) && folded.constant(n.input[2]!), `${n.name} bounds`);
    const targets = folded.nodes.filter((n) => n.opType === 'Reshape').map((n) => folded.producer(n.input[1]!));
    assert.ok(targets.some((t) => t?.opType === 'Concat' && t.input.some((i) => folded.constant(i)) && t.input.some((i) => !folded.constant(i))));
    assert.ok(folded.nodes.filter((n) => n.opType === 'Shape').length > 0, 'spatial sizes are still read at run time');
    assert.ok(folded.nodes.length < original.nodes.length);
  });

  test('the folded model computes what the original does, at other batch and spatial sizes too', async () => {
    const { original, folded } = await foldedShuffle();
    for (const [dims, seed] of [[ANALYSED, 1], [[2, 3, 48, 40], 2], [[3, 3, 24, 56], 3]] as const) {
      const a = await run(original, [...dims], seed);
      const b = await run(folded, [...dims], seed);
      assert.equal(a.length, b.length);
      assert.ok(maxAbsDiff(a, b) === 0, `${dims.join('×')}: ${maxAbsDiff(a, b)}`);
    }
  });

  test('the unit is prunable; pruned == gated, also at a size other than the analysed one', async () => {
    const model = await loadModel(SHUFFLE);
    normalizeGraph(model);
    const shapes = await inferShapes(model, ANALYSED);
    const deps = analyzeDependencies(model, shapes);
    const inside = deps.locked.filter((l) => l.reason !== 'graph-input' && l.reason !== 'graph-output');
    assert.deepEqual(inside.map((l) => `${l.source}: ${l.detail}`), []);
    assert.ok(deps.groups.some((g) => g.producers.includes('/unit/branch2/branch2.5/Conv')));
    await assertPrunedMatchesGated('shuffle', model, deps, shapes, { inputShape: ANALYSED, input: randomInput(ANALYSED, 7), sparsities: [0.3, 0.5], seeds: [1, 2], tol: 1e-4, keepAll: true });
    const other = [2, 3, 40, 48];
    const gated = buildGatedModel(model, deps, { layout: 'shared' });
    for (const seed of [1, 2, 3]) {
      const keep = randomMask(deps, 0.4, seed);
      const p = await run(exportPruned(model, deps, keep), other, seed);
      const q = await run(gated.model, other, seed, sharedGateFeeds(deps, gated, keep));
      const scale = Math.max(...q.map(Math.abs));
      assert.ok(maxAbsDiff(p, q) <= 1e-4 * Math.max(1, scale), `seed ${seed}: ${maxAbsDiff(p, q)}`);
    }
  });
});

/**
 * Conv → Transpose to NHWC → LayerNorm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div → ×γ + β →
 * Linear → Transpose back: a ConvNeXt block's norm as exported at opset 13. `exponent` lets a test
 * break the pattern.
 */
function decomposedLayerNorm(exponent = 2): OnnxModel {
  const C = 8;
  const rng = new Rng(3);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const nodes = [
    makeNode('Conv', ['input', 'w', 'b'], ['conv'], 'conv', { kernel_shape: [1, 1] }),
    makeNode('Transpose', ['conv'], ['nhwc'], 'to_nhwc', { perm: [0, 2, 3, 1] }),
    makeNode('ReduceMean', ['nhwc'], ['mean'], 'ln/mean', { axes: [-1] }),
    makeNode('Sub', ['nhwc', 'mean'], ['d'], 'ln/sub'),
    makeNode('Pow', ['d', 'two'], ['d2'], 'ln/pow'),
    makeNode('ReduceMean', ['d2'], ['var'], 'ln/var', { axes: [-1] }),
    makeNode('Add', ['var', 'eps'], ['ve'], 'ln/eps'),
    makeNode('Sqrt', ['ve'], ['sd'], 'ln/sqrt'),
    makeNode('Div', ['d', 'sd'], ['norm'], 'ln/div'),
    makeNode('Mul', ['norm', 'gamma'], ['scaled'], 'ln/gamma'),
    makeNode('Add', ['scaled', 'beta'], ['ln'], 'ln/beta'),
    makeNode('MatMul', ['ln', 'fc'], ['lin'], 'linear'),
    makeNode('Transpose', ['lin'], ['output'], 'to_nchw', { perm: [0, 3, 1, 2] }),
  ];
  const initializers = [
    makeTensor('w', [C, 4, 1, 1], rand(C * 4)),
    makeTensor('b', [C], rand(C)),
    makeTensor('two', [], Float32Array.of(exponent)),
    makeTensor('eps', [], Float32Array.of(1e-6)),
    makeTensor('gamma', [C], rand(C).map((v) => v + 1)),
    makeTensor('beta', [C], rand(C)),
    makeTensor('fc', [C, 5], rand(C * 5)),
  ];
  const proto = makeModel({ nodes, initializers, opset: 13, inputs: [makeValueInfo('input', ['N', 4, 6, 6])], outputs: [makeValueInfo('output', ['N', 5, 6, 6])] });
  return parseModel(serializeModelProto(proto));
}

describe('LayerNorm decomposed before opset 17 (ConvNeXt)', () => {
  const shape = [1, 4, 6, 6];

  test('without allowLayerNormPruning the channels are locked, and the reason names the option', async () => {
    const m = decomposedLayerNorm();
    const deps = analyzeDependencies(m, await inferShapes(m, shape));
    assert.ok(!deps.groups.some((g) => g.producers.includes('conv')));
    const lock = deps.locked.find((l) => l.reason === 'channel-mixing');
    assert.match(lock?.detail ?? '', /ReduceMean … Div.*allowLayerNormPruning/);
  });

  test('with it the chain is one LayerNorm: the conv is prunable, γ and β are sliced, the report says statistics change', async () => {
    const m = decomposedLayerNorm();
    const deps = analyzeDependencies(m, await inferShapes(m, shape), { allowLayerNormPruning: true });
    assert.ok(deps.groups.some((g) => g.producers.includes('conv')));
    assert.deepEqual(deps.locked.filter((l) => l.reason !== 'graph-input' && l.reason !== 'graph-output'), []);
    for (const p of ['gamma', 'beta', 'b', 'w']) assert.ok(deps.params.some((x) => x.initializer === p), p);
    assert.match(deps.notes?.join('\n') ?? '', /ReduceMean … Div.*not equivalent to the gated model/);
    const original = await run(m, shape, 4);
    assert.ok(maxAbsDiff(await run(exportPruned(m, deps, new Uint8Array(deps.variables.length).fill(1)), shape, 4), original) <= 1e-6, 'keeping every channel exports the original');
    const keep = new Uint8Array(deps.variables.length).fill(1);
    keep[0] = 0;
    keep[3] = 0;
    const pruned = exportPruned(m, deps, keep);
    assert.deepEqual(pruned.constant('gamma')!.dims, [6]);
    assert.deepEqual(pruned.constant('fc')!.dims, [6, 5]);
    const out = await run(pruned, [2, 4, 6, 6], 5);
    assert.equal(out.length, 2 * 5 * 36);
  });

  test('a chain that is not a LayerNorm stays locked under the option', async () => {
    const m = decomposedLayerNorm(3);
    const deps = analyzeDependencies(m, await inferShapes(m, shape), { allowLayerNormPruning: true });
    assert.ok(!deps.groups.some((g) => g.producers.includes('conv')));
    assert.ok(deps.locked.some((l) => l.reason === 'channel-mixing'));
  });
});

// Channels the model zoo (bench/zoo.ts, docs/bench/zoo.md) found locked on real torchvision exports,
// each reproduced on a small graph of the same shape: VGG's classifier Gemm whose deduplicated zero
// bias comes through an Identity, DenseNet's BatchNormalization whose statistics come through
// Identity nodes (both are graph normalisation's job: the bench analysed without it), and ConvNeXt
// exported at opset 13, where LayerNorm is ReduceMean … Div and a Linear's bias is Add(bias, x).
// Each must analyse with prunable channels and export to a pruned model equal to the masked one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { inferShapes } from '../../src/core/analysis/shapes';
import { normalizeGraph, type OnnxModel } from '../../src/core/onnx';
import { Rng } from '../../src/core/util/rng';
import { GraphBuilder } from '../helpers/graphs';
import { assertPrunedMatchesGated } from '../helpers/pruneHarness';

const TOL = 1e-4;

function randomInput(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

/** Pruned ≡ gated at 30 % and 50 % over three masks, with predicted cost = counted cost. */
async function assertExact(model: OnnxModel, shape: number[], deps: ReturnType<typeof analyzeDependencies>): Promise<void> {
  const shapes = await inferShapes(model, shape);
  await assertPrunedMatchesGated('block', model, deps, shapes, { inputShape: shape, input: randomInput(shape, 7), sparsities: [0.3, 0.5], seeds: [1, 2, 3], tol: TOL });
}

/**
 * VGG head (random init): conv1(8) → relu → MaxPool → Flatten → fc1 (10) → relu → fc2 (10) → relu →
 * fc3 (4). fc1 and fc2 read one all-zero bias, each through an Identity (the exporter's
 * deduplication of `classifier.0.bias` and `classifier.3.bias`).
 */
function vggHeadGraph(): OnnxModel {
  const b = new GraphBuilder(41);
  b.floats('zeros10', new Float32Array(10), [10]);
  const z1 = b.node('Identity', ['zeros10'], 'id_fc1_b');
  const z2 = b.node('Identity', ['zeros10'], 'id_fc2_b');
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const p = b.node('MaxPool', [r1], 'pool', { kernel_shape: [2, 2], strides: [2, 2] });
  const f = b.node('Flatten', [p], 'flatten', { axis: 1 });
  const g1 = b.relu('relu2', b.node('Gemm', [f, b.weight('fc1.w', [10, 8 * 16]), z1], 'fc1', { transB: 1 }));
  const g2 = b.relu('relu3', b.node('Gemm', [g1, b.weight('fc2.w', [10, 10]), z2], 'fc2', { transB: 1 }));
  b.node('Gemm', [g2, b.weight('fc3.w', [4, 10]), b.floats('fc3.b', b.randn(4, 0.1), [4])], 'fc3', { transB: 1 });
  return b.build('fc3', { input: ['N', 3, 8, 8], opset: 13 });
}

/**
 * DenseNet block (random init, BN kept): conv0(8) → norm0 → relu = x; dense layer: BN(x) → relu →
 * conv1 1×1 (8→4); Concat(x, conv1) (12) → BN → relu → conv_out(3). The dense layer's BN reads its
 * mean and variance through Identity nodes of initializers it shares with norm0.
 */
function denseBlockGraph(): OnnxModel {
  const b = new GraphBuilder(42);
  const x = b.relu('relu0', b.bn('norm0', b.conv('conv0', 'input', 3, 8, { bias: false }), 8));
  b.floats('dl.scale', b.randn(8, 0.3).map((v) => 1 + v), [8]);
  b.floats('dl.bias', b.randn(8, 0.3), [8]);
  const mean = b.node('Identity', ['norm0.mean'], 'id_dl_mean');
  const v = b.node('Identity', ['norm0.var'], 'id_dl_var');
  const n1 = b.node('BatchNormalization', [x, 'dl.scale', 'dl.bias', mean, v], 'dl_norm', { epsilon: { float: 1e-5 } });
  const c1 = b.conv('conv1', b.relu('dl_relu', n1), 8, 4, { k: 1, bias: false });
  const cat = b.node('Concat', [x, c1], 'concat', { axis: 1 });
  const r = b.relu('relu_out', b.bn('norm_out', cat, 12));
  b.conv('conv_out', r, 12, 3);
  return b.build('conv_out', { input: ['N', 3, 8, 8], opset: 13 });
}

/**
 * ConvNeXt block as torchvision exports it at opset 13: stem conv(C) = x → depthwise 7×7 →
 * Transpose (0,2,3,1) → LayerNorm as ReduceMean / Sub / Pow / ReduceMean / Add ε / Sqrt / Div /
 * Mul w / Add b → MatMul [C, 4C] → Add(bias, ·) → GELU as Div √2 / Erf / Add 1 / Mul / Mul ½ →
 * MatMul [4C, C] → Add(bias, ·) → Transpose (0,3,1,2) → Mul(layer_scale [C,1,1], ·) → Add(·, x) →
 * conv_out → output.
 */
function convnextOpset13Graph(C = 8): OnnxModel {
  const b = new GraphBuilder(43);
  const x = b.conv('stem', 'input', 3, C);
  const dw = b.conv('dwconv', x, C, C, { group: C, k: 7 });
  const t = b.node('Transpose', [dw], 'to_nhwc', { perm: [0, 2, 3, 1] });
  const scalar = (name: string, v: number) => b.floats(name, [v], []);
  const mean = b.node('ReduceMean', [t], 'ln_mean', { axes: [-1] });
  const d = b.node('Sub', [t, mean], 'ln_sub');
  const v = b.node('ReduceMean', [b.node('Pow', [d, scalar('two', 2)], 'ln_pow')], 'ln_var', { axes: [-1] });
  const s = b.node('Sqrt', [b.node('Add', [v, scalar('eps', 1e-6)], 'ln_eps')], 'ln_sqrt');
  const n = b.node('Div', [d, s], 'ln_div');
  const w = b.node('Mul', [n, b.floats('ln.w', b.randn(C, 0.2).map((q) => 1 + q), [C])], 'ln_w');
  const ln = b.node('Add', [w, b.floats('ln.b', b.randn(C, 0.2), [C])], 'ln_b');
  const h = b.node('Add', [b.floats('pw1.b', b.randn(4 * C, 0.1), [4 * C]), b.node('MatMul', [ln, b.weight('pw1.w', [C, 4 * C], 1 / Math.sqrt(C))], 'pw1')], 'pw1_bias');
  const erf = b.node('Erf', [b.node('Div', [h, scalar('sqrt2', Math.SQRT2)], 'gelu_div')], 'gelu_erf');
  const gl = b.node('Mul', [b.node('Mul', [h, b.node('Add', [erf, scalar('one', 1)], 'gelu_add')], 'gelu_mul'), scalar('half', 0.5)], 'gelu_half');
  const o = b.node('Add', [b.floats('pw2.b', b.randn(C, 0.1), [C]), b.node('MatMul', [gl, b.weight('pw2.w', [4 * C, C], 1 / Math.sqrt(4 * C))], 'pw2')], 'pw2_bias');
  const back = b.node('Transpose', [o], 'to_nchw', { perm: [0, 3, 1, 2] });
  const sc = b.node('Mul', [b.floats('layer_scale', b.randn(C, 0.3).map((q) => 1 + q), [C, 1, 1]), back], 'layer_scale_mul');
  const r = b.node('Add', [sc, x], 'add');
  b.conv('conv_out', r, C, 3);
  return b.build('conv_out', { input: ['N', 3, 8, 8], opset: 13 });
}

describe('zoo locks reproduced on small graphs', () => {
  test('VGG: a Gemm bias behind an Identity locks without normalisation and is sliced with it', async () => {
    const shape = [2, 3, 8, 8];
    const raw = vggHeadGraph();
    const before = analyzeDependencies(raw, await inferShapes(raw, shape));
    assert.ok(before.locked.some((l) => l.reason === 'unresolved' && /run-time bias/.test(l.detail)), 'the pattern reproduces the zoo lock');
    const model = vggHeadGraph();
    assert.equal(normalizeGraph(model).identitiesFolded, 2);
    const deps = analyzeDependencies(model, await inferShapes(model, shape));
    assert.deepEqual(deps.locked.filter((l) => !['graph-input', 'graph-output'].includes(l.reason)), []);
    assert.deepEqual(deps.groups.map((g) => `${g.id}:${g.size}`).sort(), ['conv1:8', 'fc1:10', 'fc2:10']);
    await assertExact(model, shape, deps);
  });

  test('DenseNet: BatchNormalization statistics behind Identity lock without normalisation and are sliced with it', async () => {
    const shape = [2, 3, 8, 8];
    const raw = denseBlockGraph();
    const before = analyzeDependencies(raw, await inferShapes(raw, shape));
    assert.ok(before.locked.some((l) => /run-time mean/.test(l.detail)), 'the pattern reproduces the zoo lock');
    const model = denseBlockGraph();
    assert.equal(normalizeGraph(model).identitiesFolded, 2);
    const deps = analyzeDependencies(model, await inferShapes(model, shape));
    assert.deepEqual(deps.locked.filter((l) => !['graph-input', 'graph-output'].includes(l.reason)), []);
    assert.deepEqual(deps.groups.map((g) => `${g.id}:${g.size}`).sort(), ['conv0:8', 'conv1:4']);
    await assertExact(model, shape, deps);
  });

  test('ConvNeXt at opset 13: the MLP hidden channels are prunable; the decomposed LayerNorm locks the block channels, naming the opt-in', async () => {
    const shape = [2, 3, 8, 8];
    const model = convnextOpset13Graph();
    normalizeGraph(model);
    const deps = analyzeDependencies(model, await inferShapes(model, shape));
    assert.deepEqual(deps.groups.map((g) => `${g.id}:${g.size}`), ['pw1:32']);
    for (const init of ['pw1.b']) assert.ok(deps.params.some((p) => p.initializer === init && p.axis === 0), init);
    const l = deps.locked.find((x) => x.source === 'stem')!;
    assert.equal(l.reason, 'channel-mixing');
    assert.match(l.detail, /ReduceMean 'ln_mean' starts a LayerNorm over the channel axis.*allowLayerNormPruning/);
    // Nothing in the MLP locks: the bias written first and the GELU's Erf chain are followed.
    assert.ok(!deps.locked.some((x) => /pw1|gelu|pw2_bias/.test(x.detail)), JSON.stringify(deps.locked.map((x) => x.detail)));
    await assertExact(model, shape, deps);
  });

  test('ConvNeXt: a layer scale [C,1,1] (behind an Identity, as the random-init export shares it) multiplying NCHW is per-channel', async () => {
    const shape = [2, 3, 8, 8];
    const b = new GraphBuilder(44);
    b.floats('ls', b.randn(8, 0.3).map((q) => 1 + q), [8, 1, 1]);
    const x = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
    const y = b.node('Mul', [b.node('Identity', ['ls'], 'id_ls'), b.conv('conv2', x, 8, 8)], 'layer_scale_mul');
    b.conv('conv_out', b.node('Add', [y, x], 'add'), 8, 3);
    const model = b.build('conv_out', { input: ['N', 3, 8, 8], opset: 13 });
    normalizeGraph(model);
    const deps = analyzeDependencies(model, await inferShapes(model, shape));
    assert.deepEqual(deps.locked.filter((l) => !['graph-input', 'graph-output'].includes(l.reason)), []);
    assert.deepEqual(deps.groups.map((g) => `${g.id}:${g.size}`), ['conv1+conv2:8']);
    assert.ok(deps.params.some((p) => p.initializer === 'ls' && p.axis === 0), 'layer scale sliced on its channel axis');
    await assertExact(model, shape, deps);
  });
});

// Graph normalisation (issue 14 §2) on graphs shaped like PyTorch exports of torchvision models:
// deduplicated zero biases shared by Convs of different groups, parameters behind Identity or
// Constant nodes, BatchNormalization kept in a residual net. Each must compute what it did before
// normalisation, analyse without locks, and export to a pruned model equal to the gated one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { inferShapes } from '../../src/core/analysis/shapes';
import { floatTensor, makeValueInfo, normalizeGraph, OnnxModel, parseModel } from '../../src/core/onnx';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned, validatePruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { planSlices } from '../../src/core/prune/slicePlan';
import { Rng } from '../../src/core/util/rng';
import { GraphBuilder } from '../helpers/graphs';
import { inputTensor, maxAbsDiff, runFirst, session, sharedGateFeeds } from '../helpers/pruneHarness';

const SHAPE = [2, 3, 8, 8];

function randomInput(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** Conv without its own bias; `bias`/`weight` name whatever tensor the exporter handed the node. */
function convWith(b: GraphBuilder, name: string, x: string, w: string, bias: string | undefined, k = 3): string {
  const p = (k - 1) >> 1;
  return b.node('Conv', bias ? [x, w, bias] : [x, w], name, { kernel_shape: [k, k], pads: [p, p, p, p] });
}

/**
 * conv1(8) → relu → conv2(8) → relu → conv3(8) → relu → conv4(3). conv1..conv3 read one all-zero
 * bias (three different groups), conv1 and conv3 through Identity nodes as PyTorch writes it;
 * conv2's weight comes through an Identity too.
 */
function sharedBiasGraph(): OnnxModel {
  const b = new GraphBuilder(21);
  b.floats('zeros8', new Float32Array(8), [8]);
  const z1 = b.node('Identity', ['zeros8'], 'id_z1');
  const z3 = b.node('Identity', ['zeros8'], 'id_z3');
  b.weight('w1', [8, 3, 3, 3]);
  b.weight('w2', [8, 8, 3, 3]);
  b.weight('w3', [8, 8, 3, 3]);
  b.weight('w4', [3, 8, 3, 3]);
  const w2 = b.node('Identity', ['w2'], 'id_w2');
  const r1 = b.relu('relu1', convWith(b, 'conv1', 'input', 'w1', z1));
  const r2 = b.relu('relu2', convWith(b, 'conv2', r1, w2, 'zeros8'));
  const r3 = b.relu('relu3', convWith(b, 'conv3', r2, 'w3', z3));
  convWith(b, 'conv4', r3, 'w4', undefined);
  return b.build('conv4');
}

/** BN parameters held by Constant nodes, one of them chained through an Identity. */
function constantBnGraph(): OnnxModel {
  const b = new GraphBuilder(22);
  const rng = new Rng(5);
  const vec = (base: number, spread: number) => Float32Array.from({ length: 8 }, () => base + spread * rng.next());
  const c1 = b.conv('conv1', 'input', 3, 8, { bias: false });
  const scale = b.node('Constant', [], 'bn_scale', { value: floatTensor('v', vec(0.5, 1), [8]) });
  const bias = b.node('Constant', [], 'bn_bias', { value: floatTensor('v', vec(-0.5, 1), [8]) });
  const mean = b.node('Constant', [], 'bn_mean', { value: floatTensor('v', vec(-0.2, 0.4), [8]) });
  const varC = b.node('Constant', [], 'bn_var', { value: floatTensor('v', vec(0.5, 1), [8]) });
  const varI = b.node('Identity', [varC], 'bn_var_id');
  const bn = b.node('BatchNormalization', [c1, scale, bias, mean, varI], 'bn', { epsilon: { float: 1e-5 } });
  const r = b.relu('relu1', bn);
  b.conv('conv2', r, 8, 3);
  return b.build('conv2');
}

/**
 * A small ResNet with BatchNormalization kept (not folded into the Convs) and default-initialised
 * BN parameters (scale 1, bias 0, mean 0, var 1), deduplicated by the exporter: every BN of one
 * width reads the same four tensors through its own Identity nodes, across the stem, the
 * residual stream and the blocks' inner layers (different groups).
 */
function bnResnetGraph(): OnnxModel {
  const b = new GraphBuilder(23);
  const C = 8;
  b.floats('bn.one', new Float32Array(C).fill(1), [C]);
  b.floats('bn.zero', new Float32Array(C), [C]);
  let k = 0;
  const bn = (x: string) => {
    const id = (src: string) => b.node('Identity', [src], `id${k++}`);
    const n = `bn${k++}`;
    return b.node('BatchNormalization', [x, id('bn.one'), id('bn.zero'), id('bn.zero'), id('bn.one')], n, { epsilon: { float: 1e-5 } });
  };
  const stem = b.relu('relu0', bn(b.conv('conv0', 'input', 3, C, { bias: false })));
  let x = stem;
  for (let blk = 1; blk <= 2; blk++) {
    const h = b.relu(`relu${blk}a`, bn(b.conv(`conv${blk}a`, x, C, C, { bias: false })));
    const y = bn(b.conv(`conv${blk}b`, h, C, C, { bias: false }));
    x = b.relu(`relu${blk}`, b.node('Add', [x, y], `add${blk}`));
  }
  b.conv('head', x, C, 3);
  return b.build('head');
}

/** Identity of an initializer whose output is the graph's output: the node must stay. */
function identityOutputGraph(): OnnxModel {
  const b = new GraphBuilder(24);
  const c1 = b.relu('relu1', b.conv('conv1', 'input', 3, 4));
  b.conv('conv2', c1, 4, 3);
  b.floats('table', Float32Array.of(1, 2, 3), [3]);
  b.node('Identity', ['table'], 'table_out');
  const model = b.build('conv2');
  model.graph.output.push(makeValueInfo('table_out', [3]));
  return model;
}

/** Runs both models on one input; every output must agree to 1e-6 relative. */
async function assertSameOutputs(a: OnnxModel, b: OnnxModel, dims: number[]): Promise<void> {
  const x = inputTensor(randomInput(dims, 3), dims);
  const sa = await session(a);
  const sb = await session(b);
  const ya = await sa.run({ input: x });
  const yb = await sb.run({ input: x });
  assert.deepEqual(sb.outputNames, sa.outputNames);
  for (const name of sa.outputNames) {
    const p = ya[name]!.data as Float32Array;
    const q = yb[name]!.data as Float32Array;
    let scale = 1e-12;
    for (const v of p) scale = Math.max(scale, Math.abs(v));
    assert.ok(maxAbsDiff(p, q) <= 1e-6 * scale, `output '${name}' changed by normalisation`);
  }
}

/** Normalises a copy, checks it computes the same, then prunes at several masks: pruned ≡ gated. */
async function normaliseAndPrune(original: OnnxModel, expectGroups: number): Promise<{ model: OnnxModel; summary: ReturnType<typeof normalizeGraph> }> {
  // Through bytes, as a model arrives from a file.
  const model = parseModel(original.toBytes());
  const summary = normalizeGraph(model);
  await assertSameOutputs(original, model, SHAPE);
  const shapes = await inferShapes(model, SHAPE);
  const deps = analyzeDependencies(model, shapes);
  assert.equal(deps.groups.length, expectGroups, `groups: ${deps.groups.map((g) => g.id).join(', ')}; locked: ${deps.locked.map((l) => l.reason).join('; ')}`);
  const x = randomInput(SHAPE, 11);
  const feeds = { input: inputTensor(x, SHAPE) };
  const originalOut = await runFirst(await session(original), feeds);
  const all = new Uint8Array(deps.variables.length).fill(1);
  assert.ok(maxAbsDiff(await runFirst(await session(exportPruned(model, deps, all)), feeds), originalOut) <= 1e-5, 'keep-all export = original');
  const gated = buildGatedModel(model, deps, { layout: 'shared' });
  const gs = await session(gated.model);
  for (const s of [0.3, 0.6]) {
    for (const seed of [1, 2]) {
      const keep = randomMask(deps, s, seed);
      const pruned = exportPruned(model, deps, keep);
      await validatePruned(pruned, SHAPE, model);
      const p = await runFirst(await session(pruned), feeds);
      const q = await runFirst(gs, { ...feeds, ...sharedGateFeeds(deps, gated, keep) });
      const diff = maxAbsDiff(p, q);
      assert.ok(diff <= 1e-4, `s=${s} seed=${seed}: |pruned − gated| = ${diff}`);
    }
  }
  return { model, summary };
}

describe('graph normalisation before analysis', () => {
  test('a zero bias shared by Convs of different groups, and Identity-of-initializer weights', async () => {
    const { model, summary } = await normaliseAndPrune(sharedBiasGraph(), 3);
    assert.deepEqual(summary, { constantsFolded: 0, identitiesFolded: 3 });
    assert.ok(!model.nodes.some((n) => n.opType === 'Identity'));
    assert.equal(model.node('conv2')!.input[1], 'w2');
  });

  test('the shared bias gets one copy per distinct slicing; nodes slicing alike keep sharing', async () => {
    const b = new GraphBuilder(25);
    b.floats('zeros8', new Float32Array(8), [8]);
    const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
    // conv2 and conv3 feed one Add: one group, the same slice of the shared bias.
    const c2 = convWith(b, 'conv2', r1, b.weight('w2', [8, 8, 3, 3]), 'zeros8');
    const c3 = convWith(b, 'conv3', r1, b.weight('w3', [8, 8, 3, 3]), 'zeros8');
    const r = b.relu('relu2', b.node('Add', [c2, c3], 'add'));
    const c4 = b.relu('relu4', convWith(b, 'conv4', r, b.weight('w4', [8, 8, 3, 3]), 'zeros8'));
    b.conv('conv5', c4, 8, 3);
    const { model } = await normaliseAndPrune(b.build('conv5'), 3);
    const deps = analyzeDependencies(model, await inferShapes(model, SHAPE));
    const items = planSlices(model, deps).filter((i) => i.source === 'zeros8');
    assert.equal(items.length, 2);
    assert.deepEqual(items.map((i) => [...i.rewire].sort()).sort(), [['conv2', 'conv3'], ['conv4']]);
  });

  test('BatchNormalization parameters held by Constant nodes', async () => {
    const { model, summary } = await normaliseAndPrune(constantBnGraph(), 1);
    assert.deepEqual(summary, { constantsFolded: 4, identitiesFolded: 1 });
    assert.ok(['bn_scale', 'bn_bias', 'bn_mean', 'bn_var'].every((n) => model.isInitializer(n)));
  });

  test('a ResNet with BatchNormalization kept and deduplicated BN parameters is prunable', async () => {
    const original = bnResnetGraph();
    // What the issue reported: without normalisation the run-time BN parameters lock every channel.
    const before = analyzeDependencies(original, await inferShapes(original, SHAPE));
    assert.equal(before.groups.length, 0);
    assert.ok(before.locked.some((l) => /run-time/.test(l.detail)));
    // Stem + residual stream is one group, each block's inner layer another.
    const { summary } = await normaliseAndPrune(original, 3);
    assert.equal(summary.identitiesFolded, 20);
  });

  test('an Identity that produces a graph output stays', async () => {
    const original = identityOutputGraph();
    const model = parseModel(original.toBytes());
    assert.deepEqual(normalizeGraph(model), { constantsFolded: 0, identitiesFolded: 0 });
    assert.ok(model.node('table_out'));
    await assertSameOutputs(original, model, SHAPE);
  });

  test('old IR versions declare folded constants among the graph inputs', async () => {
    const original = constantBnGraph();
    original.proto.irVersion = 3n;
    for (const t of original.graph.initializer) original.graph.input.push(makeValueInfo(t.name, t.dims.map(Number)));
    const model = parseModel(original.toBytes());
    normalizeGraph(model);
    const declared = new Set(model.graph.input.map((v) => v.name));
    assert.ok(['bn_scale', 'bn_bias', 'bn_mean', 'bn_var'].every((n) => declared.has(n)));
  });
});

// The block split (refine/blockSplit.ts) used through BatchedEvaluator.focus: for every test graph
// and every group, masks that differ from the base only in that group score exactly as on the
// whole model, masks that differ elsewhere fall back to the whole model, and boundary tensors
// without a batch axis are handled by moving their producers into the suffix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatTensor, makeModel, makeNode, makeValueInfo, OnnxModel, valueInfoDims } from '../../src/core/onnx';
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { randomMask } from '../../src/core/prune/masks';
import { openSession } from '../../src/core/runtime/session';
import { BatchedEvaluator, type GateLayout } from '../../src/core/refine/batchedEvaluator';
import { splitAtGroups } from '../../src/core/refine/blockSplit';
import type { Batch } from '../../src/core/data';
import { Rng } from '../../src/core/util/rng';
import { allGraphs, denoiserGraph } from '../helpers/graphs';

/** conv1 → relu → conv2 → relu → conv3(3) → Reshape(·, Shape(input)): the suffix needs a tensor with no batch axis. */
function shapeReshapeGraph(): OnnxModel {
  const rng = new Rng(21);
  const w = (name: string, dims: number[]) => floatTensor(name, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.3), dims);
  const conv = (name: string, x: string, wName: string) => makeNode('Conv', [x, wName], [name], name, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  return new OnnxModel(
    makeModel({
      opset: 17,
      nodes: [
        conv('conv1', 'input', 'w1'),
        makeNode('Relu', ['conv1'], ['relu1'], 'relu1'),
        conv('conv2', 'relu1', 'w2'),
        makeNode('Relu', ['conv2'], ['relu2'], 'relu2'),
        conv('conv3', 'relu2', 'w3'),
        makeNode('Shape', ['input'], ['shape'], 'shape'),
        makeNode('Reshape', ['conv3', 'shape'], ['output'], 'reshape'),
      ],
      inputs: [makeValueInfo('input', ['N', 3, 'H', 'W'])],
      outputs: [makeValueInfo('output')],
      initializers: [w('w1', [8, 3, 3, 3]), w('w2', [8, 8, 3, 3]), w('w3', [3, 8, 3, 3])],
    }),
  );
}

async function setup(model: OnnxModel, inputShape: number[], images = 3) {
  const shapes = await inferShapes(model, inputShape);
  const deps = analyzeDependencies(model, shapes);
  const gated = buildGatedModel(model, deps, { layout: 'per-sample' });
  const inputName = model.realInputs[0]!.name;
  const outputName = model.outputNames[0]!;
  const layout: GateLayout = {
    names: gated.gateInputs.map((g) => g.name),
    variables: gated.gateInputs.map((g) => deps.groups.find((x) => x.id === g.group)!.variables),
    trailing: gated.gateInputs.map((g) => (valueInfoDims(gated.model.graph.input.find((i) => i.name === g.name)!)?.length ?? 4) - 2),
  };
  const rng = new Rng(7);
  const [, c, h, w] = inputShape as [number, number, number, number];
  const outDims = shapes.get(outputName)!;
  const task: 'denoise' | 'classify' = outDims.length === 2 ? 'classify' : 'denoise';
  const perOut = outDims.slice(1).reduce((a, b) => a * b, 1);
  const data: Batch = {
    input: Float32Array.from({ length: images * c * h * w }, () => rng.next()),
    shape: [images, c, h, w],
    names: Array.from({ length: images }, (_, i) => `s${i}`),
    ...(task === 'denoise'
      ? { target: Float32Array.from({ length: images * perOut }, () => rng.next()) }
      : { labels: Int32Array.from({ length: images }, (_, i) => i % perOut) }),
  };
  const { session } = await openSession(gated.model.toBytes(), { provider: 'cpu', threads: 1 });
  const common = { session, inputName, outputName, gates: layout, data, task, maxBatchItems: 2 * images };
  const open = async (bytes: Uint8Array) => (await openSession(bytes, { provider: 'cpu', threads: 1, memPattern: false })).session;
  return { deps, gated, session, common, open, inputName, outputName };
}

/** Masks equal to `base` except for random flips inside `vars`. */
function flips(base: Uint8Array, vars: Int32Array, count: number, seed: number): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const m = base.slice();
    for (let k = 0; k < 2; k++) {
      const v = vars[Math.floor(rng.next() * vars.length)]!;
      m[v] = 1 - m[v]!;
    }
    return m;
  });
}

// Per-sample evaluation batches candidates × images, so graphs with a fixed batch size are left out.
const batchable = allGraphs().filter((x) => x.runnable && typeof valueInfoDims(x.model.realInputs[0]!)?.[0] !== 'number');

for (const g of batchable) {
  test(`block split scores equal whole-model scores: ${g.name}`, async () => {
    const s = await setup(g.model, g.inputShape.map((d, i) => (i === 0 ? 1 : d)));
    const whole = new BatchedEvaluator(s.common);
    const split = new BatchedEvaluator({ ...s.common, split: { gated: s.gated, open: s.open } });
    try {
      const base = randomMask(s.deps, 0.3, 3);
      let splitBlocks = 0;
      for (let gi = 0; gi < s.deps.groups.length; gi++) {
        const inBlock = flips(base, s.deps.groups[gi]!.variables, 4, 10 + gi);
        const other = s.deps.groups.findIndex((_, j) => j !== gi);
        const outside = other >= 0 ? flips(base, s.deps.groups[other]!.variables, 1, 50 + gi) : [];
        const masks = [base, ...inBlock, ...outside];
        const usedBefore = split.stats.suffix;
        const used = await split.focus([gi], base);
        if (used) splitBlocks++;
        const want = await whole.evaluate(masks);
        const got = await split.evaluate(masks);
        for (let i = 0; i < masks.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `group ${gi} mask ${i}: ${got[i]} vs ${want[i]}`);
        // Masks that change another group never go through this block's suffix.
        if (used) assert.ok(split.stats.suffix - usedBefore <= masks.length - outside.length);
        split.unfocus();
      }
      // Every graph has at least one weight op upstream of its last group's gates, except single-group graphs.
      if (s.deps.groups.length > 1) assert.ok(splitBlocks > 0, 'some block was split');
      assert.equal(split.stats.splits, splitBlocks);
      assert.ok(split.stats.splitError <= 1e-4);
    } finally {
      await split.dispose();
      await s.session.release();
    }
  });
}

test('a boundary tensor with no batch axis (Shape) moves into the suffix, which then reads the input', async () => {
  const s = await setup(shapeReshapeGraph(), [1, 3, 8, 8]);
  const last = s.deps.groups.length - 1;
  const plain = splitAtGroups(s.gated, s.inputName, s.outputName, [last])!;
  assert.ok(plain.boundary.includes('shape'), `boundary ${plain.boundary.join(', ')}`);
  const whole = new BatchedEvaluator(s.common);
  const split = new BatchedEvaluator({ ...s.common, split: { gated: s.gated, open: s.open } });
  try {
    const base = randomMask(s.deps, 0.25, 1);
    assert.equal(await split.focus([last], base), true);
    const masks = flips(base, s.deps.groups[last]!.variables, 5, 2);
    const want = await whole.evaluate(masks);
    const got = await split.evaluate(masks);
    for (let i = 0; i < masks.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${got[i]} vs ${want[i]}`);
    assert.equal(split.stats.suffix, masks.length);
    const pulled = splitAtGroups(s.gated, s.inputName, s.outputName, [last], new Set(['shape']))!;
    assert.ok(!pulled.boundary.includes('shape') && pulled.readsInput);
  } finally {
    await split.dispose();
    await s.session.release();
  }
});

test('splits: what is skipped, the residual input, refusals', async () => {
  const s = await setup(denoiserGraph(), [1, 3, 8, 8]);
  try {
    // Groups in order: conv1's channels, conv2's. Splitting at conv2's gates skips conv1 and conv2.
    const late = splitAtGroups(s.gated, s.inputName, s.outputName, [1])!;
    assert.equal(late.weightOps, 3);
    assert.equal(late.skippedWeightOps, 2);
    assert.equal(late.readsInput, true, 'output = input − conv3 still reads the input');
    assert.deepEqual(late.boundary, ['relu2']);
    const suffix = late.suffix(new Map([['relu2', [8, 8, 8]]]));
    assert.deepEqual(suffix.nodes.map((n) => n.opType).filter((op) => op === 'Conv'), ['Conv']);
    assert.ok(suffix.graph.initializer.every((t) => !t.name.startsWith('conv1') && !t.name.startsWith('conv2')), 'unused weights are dropped');
    // conv1's gates sit after conv1 only: one weight op skipped.
    assert.equal(splitAtGroups(s.gated, s.inputName, s.outputName, [0])!.skippedWeightOps, 1);
    assert.equal(splitAtGroups(s.gated, s.inputName, s.outputName, []), null, 'no groups: nothing to split');
    // A boundary bigger than the memory budget is not kept: the block runs on the whole model.
    const tiny = new BatchedEvaluator({ ...s.common, split: { gated: s.gated, open: s.open, budgetBytes: 16 } });
    const base = randomMask(s.deps, 0.25, 4);
    assert.equal(await tiny.focus([1], base), false);
    assert.equal(tiny.stats.unsplit, 1);
    await tiny.evaluate([base]);
    assert.equal(tiny.stats.suffix, 0);
    await tiny.dispose();
  } finally {
    await s.session.release();
  }
});

// Dependency rules for the blocks of real classifiers (issue 14 §3): which channels each rule
// couples, which constants it slices, and what the export writes for it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { inferShapes } from '../../src/core/analysis/shapes';
import type { DependencyAnalysis } from '../../src/core/analysis/types';
import { attrInt, type OnnxModel } from '../../src/core/onnx';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { convnextGraph, fireGraph, flattenGemmGraph, groupedBlockGraph, groupedConvTransposeGraph, seGraph, shuffleGraph } from '../helpers/archGraphs';

const ids = (d: DependencyAnalysis) => d.groups.map((g) => `${g.id}:${g.size}`);
const vars = (d: DependencyAnalysis, tensor: string) => Array.from(d.tensors.get(tensor)!.variable);
const groupVars = (d: DependencyAnalysis, id: string) => Array.from(d.groups.find((g) => g.id === id)!.variables);
const param = (d: DependencyAnalysis, init: string, axis: number) => d.params.find((p) => p.initializer === init && p.axis === axis);
const gateNodes = (d: DependencyAnalysis) => d.gates.map((g) => `${g.node}<-${g.tensor}`).sort();
const dims = (m: OnnxModel, name: string) => m.floatInitializer(name).dims;
const ints = (m: OnnxModel, name: string) => Array.from(m.constant(name)!.data as BigInt64Array, Number);

async function analyse(model: OnnxModel, shape = [1, 3, 8, 8], opts = {}): Promise<DependencyAnalysis> {
  return analyzeDependencies(model, await inferShapes(model, shape), opts);
}

/** Keeps everything except the listed variables. */
function without(d: DependencyAnalysis, drop: number[]): Uint8Array {
  const keep = new Uint8Array(d.variables.length).fill(1);
  for (const v of drop) keep[v] = 0;
  return keep;
}

describe('squeeze-excitation (broadcast Mul of an [N, C, 1, 1] branch)', () => {
  for (const act of ['Sigmoid', 'HardSigmoid'] as const) {
    test(`${act}: the SE expand conv joins the feature map's group, the squeeze conv is its own group`, async () => {
      const model = seGraph(act);
      const d = await analyse(model);
      assert.deepEqual(ids(d), ['conv1+se_ex:16', 'se_sq:4', 'proj:8']);
      const fm = groupVars(d, 'conv1+se_ex');
      for (const t of ['relu2', 'se_pool', 'se_ex', 'se_gate', 'se_mul']) assert.deepEqual(vars(d, t), fm, t);
      assert.deepEqual(Array.from(param(d, 'se_sq.w', 1)!.variable), fm);
      assert.equal(param(d, 'se_ex.w', 0)!.role, 'Conv.weight.out');
      assert.deepEqual(Array.from(param(d, 'se_ex.w', 1)!.variable), groupVars(d, 'se_sq'));
      // Gates where channels are consumed: the squeeze conv (after the pool) and the projection; the Mul needs none.
      assert.deepEqual(gateNodes(d), ['conv_out<-relu3', 'proj<-se_mul', 'se_ex<-se_relu', 'se_sq<-se_pool']);
      assert.deepEqual(d.locked.map((l) => l.reason).sort(), ['graph-input', 'graph-output']);

      const pruned = exportPruned(model, d, without(d, [fm[3]!, groupVars(d, 'se_sq')[1]!]));
      assert.deepEqual(dims(pruned, 'dw.w'), [15, 1, 3, 3]);
      assert.equal(attrInt(pruned.node('dw')!, 'group', 1), 15);
      assert.deepEqual(dims(pruned, 'se_sq.w'), [3, 15, 1, 1]);
      assert.deepEqual(dims(pruned, 'se_ex.w'), [15, 3, 1, 1]);
      assert.deepEqual(dims(pruned, 'se_ex.b'), [15]);
      assert.deepEqual(dims(pruned, 'proj.w'), [8, 15, 1, 1]);
    });
  }

  test('ReduceMean squeeze and a residual around the block', async () => {
    const d = await analyse(seGraph('Sigmoid', { reduce: true, residual: true }));
    assert.deepEqual(ids(d), ['conv1+se_ex:16', 'se_sq:4', 'proj+skip:8']);
    assert.deepEqual(vars(d, 'se_pool'), vars(d, 'relu1'));
  });
});

describe('concat of sibling convs (SqueezeNet fire)', () => {
  test('each expand conv keeps its own group, mapped to its offset of the Concat', async () => {
    const model = fireGraph();
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv1:8', 'squeeze:4', 'expand1x1:6', 'expand3x3:6']);
    assert.deepEqual(vars(d, 'concat'), [...groupVars(d, 'expand1x1'), ...groupVars(d, 'expand3x3')]);
    assert.deepEqual(Array.from(param(d, 'conv_out.w', 1)!.variable), vars(d, 'concat'));
    assert.deepEqual(d.groups[1]!.consumers, ['expand1x1', 'expand3x3']);
    const e3 = groupVars(d, 'expand3x3');
    const pruned = exportPruned(model, d, without(d, [groupVars(d, 'expand1x1')[2]!, e3[0]!, e3[5]!]));
    assert.deepEqual(dims(pruned, 'expand1x1.w'), [5, 4, 1, 1]);
    assert.deepEqual(dims(pruned, 'expand3x3.w'), [4, 4, 3, 3]);
    assert.deepEqual(dims(pruned, 'conv_out.w'), [3, 9, 3, 3]);
    const w = model.floatInitializer('conv_out.w').data;
    const pw = pruned.floatInitializer('conv_out.w').data;
    // Pruned input 5 is concat channel 7 (expand3x3 channel 1): the first kept of the second part.
    assert.deepEqual(Array.from(pw.subarray(5 * 9, 6 * 9)), Array.from(w.subarray(7 * 9, 8 * 9)));
  });
});

describe('grouped convolution (ResNeXt, RegNet)', () => {
  test('input group k and output group k are one variable; the export keeps the group width and lowers `group`', async () => {
    const model = groupedBlockGraph(4, 32);
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv1+conv_b:16', 'conv_a:4']);
    const [a, b, c, e] = groupVars(d, 'conv_a');
    assert.deepEqual(vars(d, 'conv_a'), [a, a, a, a, b, b, b, b, c, c, c, c, e, e, e, e]);
    assert.deepEqual(vars(d, 'gconv'), [a, b, c, e].flatMap((v) => new Array<number>(8).fill(v!)));
    assert.equal(param(d, 'gconv.w', 0)!.role, 'Conv.weight.grouped');
    assert.equal(param(d, 'gconv.w', 1), undefined);
    assert.deepEqual(Array.from(param(d, 'bn_g.scale', 0)!.variable), vars(d, 'gconv'));
    assert.ok(!d.gates.some((g) => g.node === 'gconv'), 'no gate at the grouped conv: its groups vanish whole');

    const pruned = exportPruned(model, d, without(d, [b!]));
    assert.equal(attrInt(pruned.node('gconv')!, 'group', 1), 3);
    assert.deepEqual(dims(pruned, 'conv_a.w'), [12, 16, 1, 1]);
    assert.deepEqual(dims(pruned, 'gconv.w'), [24, 4, 3, 3]);
    assert.deepEqual(dims(pruned, 'bn_g.scale'), [24]);
    assert.deepEqual(dims(pruned, 'conv_b.w'), [16, 24, 1, 1]);
    const w = model.floatInitializer('gconv.w').data;
    const pw = pruned.floatInitializer('gconv.w').data;
    const per = 8 * 4 * 9;
    assert.deepEqual(Array.from(pw.subarray(per, 2 * per)), Array.from(w.subarray(2 * per, 3 * per)), 'pruned group 1 is original group 2');
  });

  test('grouped ConvTranspose: weight axis 0 follows the input groups, `group` is lowered', async () => {
    const model = groupedConvTransposeGraph();
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv1:2']);
    const [a, b] = groupVars(d, 'conv1');
    assert.deepEqual(vars(d, 'convT'), [a, a, a, b, b, b]);
    assert.equal(param(d, 'convT.w', 0)!.role, 'ConvTranspose.weight.grouped');
    const pruned = exportPruned(model, d, without(d, [a!]));
    assert.equal(attrInt(pruned.node('convT')!, 'group', 1), 1);
    assert.deepEqual(dims(pruned, 'convT.w'), [4, 3, 2, 2]);
    assert.deepEqual(dims(pruned, 'convT.b'), [3]);
  });

  test('depthwise (group = C) still couples channel by channel', async () => {
    const model = groupedBlockGraph(16, 16);
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv1+conv_b:16', 'conv_a:16']);
    assert.deepEqual(vars(d, 'gconv'), vars(d, 'conv_a'));
    const v = groupVars(d, 'conv_a');
    const pruned = exportPruned(model, d, without(d, [v[0]!, v[9]!, v[15]!]));
    assert.equal(attrInt(pruned.node('gconv')!, 'group', 1), 13);
    assert.deepEqual(dims(pruned, 'gconv.w'), [13, 1, 3, 3]);
  });
});

describe('channel shuffle (Reshape → Transpose → Reshape)', () => {
  test('position j of every shuffle block is one variable; output j·g + i follows input i·(C/g) + j', async () => {
    const model = shuffleGraph(3, -1);
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv1:4', 'conv2:8']);
    const [a, b, c, e] = groupVars(d, 'conv1');
    assert.deepEqual(vars(d, 'relu1'), [a, b, c, e, a, b, c, e, a, b, c, e]);
    assert.deepEqual(vars(d, 'shuffle_out'), [a, a, a, b, b, b, c, c, c, e, e, e]);
    assert.deepEqual(Array.from(param(d, 'conv2.w', 1)!.variable), vars(d, 'shuffle_out'));
    assert.ok(!d.tensors.has('shuffle_t'), 'the rank-5 intermediates carry no channel axis');

    const pruned = exportPruned(model, d, without(d, [b!]));
    assert.deepEqual(dims(pruned, 'conv1.w'), [9, 3, 3, 3]);
    assert.deepEqual(ints(pruned, pruned.node('shuffle_in')!.input[1]!), [-1, 3, 3, 8, 8]);
    assert.deepEqual(ints(pruned, pruned.node('shuffle_out')!.input[1]!), [-1, 9, 8, 8]);
    assert.deepEqual(dims(pruned, 'conv2.w'), [8, 9, 1, 1]);
  });

  test('a Reshape/Transpose that is not a shuffle still locks', async () => {
    // The same Reshape followed by a Transpose of the spatial axes moves channels into space.
    const model = shuffleGraph(3, -1);
    model.node('shuffle_t')!.attribute.find((x) => x.name === 'perm')!.ints = [0n, 1n, 2n, 4n, 3n];
    model.invalidate();
    const d = await analyse(model);
    assert.deepEqual(ids(d), ['conv2:8']);
    assert.ok(d.locked.some((l) => l.source === 'conv1' && l.reason === 'channel-mixing'));
  });
});

describe('Flatten → Gemm over a spatial map (VGG, AlexNet)', () => {
  test('channel c owns Gemm input columns [c·S, (c+1)·S)', async () => {
    const model = flattenGemmGraph(7);
    const d = await analyse(model, [1, 3, 14, 14]);
    assert.deepEqual(ids(d), ['conv1:8', 'fc1:10']);
    const p = param(d, 'fc1.w', 1)!;
    assert.equal(p.block, 49);
    assert.deepEqual(Array.from(p.variable), groupVars(d, 'conv1'));
    // One gate per map before the Flatten (equal to H·W gates on the features).
    assert.deepEqual(gateNodes(d), ['fc2<-drop', 'flatten<-pool']);
    const pruned = exportPruned(model, d, without(d, [groupVars(d, 'conv1')[2]!]));
    assert.deepEqual(dims(pruned, 'fc1.w'), [10, 7 * 49]);
    const w = model.floatInitializer('fc1.w').data;
    const pw = pruned.floatInitializer('fc1.w').data;
    // Row 0: columns of channels 0, 1 stay, channel 2's block goes, channel 3 moves to block 2.
    assert.deepEqual(Array.from(pw.subarray(2 * 49, 3 * 49)), Array.from(w.subarray(3 * 49, 4 * 49)));
  });
});

describe('ConvNeXt block: channels-last Linear layers and LayerNorm over channels', () => {
  test('default: LayerNorm locks the block channels, the MLP hidden channels are a group', async () => {
    const d = await analyse(convnextGraph());
    assert.deepEqual(ids(d), ['pw1:32']);
    assert.equal(d.tensors.get('gelu')!.axis, 3);
    assert.deepEqual(Array.from(param(d, 'pw1.w', 1)!.variable), groupVars(d, 'pw1'));
    assert.deepEqual(Array.from(param(d, 'pw1.b', 0)!.variable), groupVars(d, 'pw1'));
    assert.deepEqual(Array.from(param(d, 'pw2.w', 0)!.variable), groupVars(d, 'pw1'));
    assert.equal(param(d, 'ln.scale', 0), undefined);
    assert.deepEqual(gateNodes(d), ['pw2<-gelu']);
  });

  test('allowLayerNormPruning: the LN scale/bias, layer scale and both Linears follow the residual group, with a note', async () => {
    const model = convnextGraph();
    const d = await analyse(model, [1, 3, 8, 8], { allowLayerNormPruning: true });
    assert.deepEqual(ids(d), ['stem+pw2:8', 'pw1:32']);
    const blk = groupVars(d, 'stem+pw2');
    for (const t of ['dwconv', 'to_nhwc', 'ln', 'layer_scale', 'to_nchw', 'add']) assert.deepEqual(vars(d, t), blk, t);
    assert.deepEqual(Array.from(param(d, 'pw1.w', 0)!.variable), blk);
    assert.deepEqual(Array.from(param(d, 'gamma', 0)!.variable), blk);
    assert.match(d.notes![0]!, /LayerNormalization 'ln'/);
    assert.deepEqual(gateNodes(d), ['conv_out<-add', 'pw1<-ln', 'pw2<-gelu']);
    // The gate on a channels-last tensor broadcasts over its last axis.
    const gated = buildGatedModel(model, d, { layout: 'shared' });
    const idx = gated.model.graph.initializer.find((t) => t.name === 'qp_gate/ln/index')!;
    assert.deepEqual(idx.dims.map(Number), [1, 1, 8]);
    const pruned = exportPruned(model, d, without(d, [blk[1]!, groupVars(d, 'pw1')[0]!]));
    assert.deepEqual(dims(pruned, 'ln.scale'), [7]);
    assert.deepEqual(dims(pruned, 'pw1.w'), [7, 31]);
    assert.deepEqual(dims(pruned, 'pw2.w'), [31, 7]);
    assert.deepEqual(dims(pruned, 'gamma'), [7]);
    assert.deepEqual(dims(pruned, 'dwconv.w'), [7, 1, 7, 7]);
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies, assertKnownOps } from '../../src/core/analysis/dependencyGroups';
import type { DependencyAnalysis, ShapeMap } from '../../src/core/analysis/types';
import { int64Tensor, makeModel, makeNode, makeValueInfo, OnnxModel, OnnxModelError, floatTensor } from '../../src/core/onnx';
import {
  affineChainGraph,
  channelPadGraph,
  concatGraph,
  constantNodeGraph,
  convTransposeGraph,
  denoiserGraph,
  depthwiseGraph,
  flattenHeadGraph,
  gapHeadGraph,
  groupedGraph,
  matmulHeadGraph,
  reshapeMixingGraph,
  residualGraph,
  resizeSkipGraph,
  sliceGraph,
  splitGraph,
  unknownOpGraph,
} from '../helpers/graphs';

const ids = (d: DependencyAnalysis) => d.groups.map((g) => `${g.id}:${g.size}`);
const vars = (d: DependencyAnalysis, tensor: string) => Array.from(d.tensors.get(tensor)!.variable);
const groupVars = (d: DependencyAnalysis, id: string) => Array.from(d.groups.find((g) => g.id === id)!.variables);
const lockOf = (d: DependencyAnalysis, source: string) => d.locked.filter((l) => l.source === source).map((l) => l.reason);
const param = (d: DependencyAnalysis, init: string, axis: number) => d.params.find((p) => p.initializer === init && p.axis === axis);
const gateNodes = (d: DependencyAnalysis) => d.gates.map((g) => `${g.node}<-${g.tensor}`);

describe('dependency groups', () => {
  test('two convs joined by a residual Add share one group; the output conv is locked', () => {
    const d = analyzeDependencies(residualGraph());
    assert.deepEqual(ids(d), ['conv1+conv3:8', 'conv2:8']);
    const g = d.groups[0]!;
    assert.deepEqual(g.producers, ['conv1', 'conv3']);
    assert.deepEqual(g.consumers, ['conv2', 'conv4']);
    // Channel c of conv1 and channel c of conv3 are the same variable.
    assert.deepEqual(vars(d, 'conv1'), vars(d, 'conv3'));
    assert.deepEqual(vars(d, 'add'), groupVars(d, 'conv1+conv3'));
    assert.deepEqual(lockOf(d, 'conv4'), ['graph-output']);
    assert.deepEqual(lockOf(d, 'input'), ['graph-input']);
    assert.deepEqual(gateNodes(d).sort(), ['conv2<-relu1', 'conv3<-relu2', 'conv4<-relu3']);
    assert.equal(param(d, 'conv4.w', 1)?.role, 'Conv.weight.in');
    assert.equal(param(d, 'conv4.w', 0), undefined, 'the locked output conv keeps its filters');
    assert.deepEqual(d.variables.slice(0, 2), [
      { group: 0, index: 0, producer: 'conv1', channel: 0 },
      { group: 0, index: 1, producer: 'conv1', channel: 1 },
    ]);
  });

  test('Concat maps each input to its channel offset', () => {
    const d = analyzeDependencies(concatGraph());
    assert.deepEqual(ids(d), ['conv1:4', 'conv2:6', 'conv3:5']);
    assert.deepEqual(vars(d, 'concat'), [...groupVars(d, 'conv1'), ...groupVars(d, 'conv2')]);
    const w3 = param(d, 'conv3.w', 1)!;
    assert.deepEqual(Array.from(w3.variable), vars(d, 'concat'));
    assert.deepEqual(d.groups[0]!.consumers, ['conv2', 'conv3']);
  });

  test('Split maps channel ranges (input and attribute forms) and couples the branches through Add', () => {
    for (const opset of [11, 17]) {
      const d = analyzeDependencies(splitGraph(3, opset));
      assert.deepEqual(ids(d), ['conv1:8', 'conv2+conv3:4'], `opset ${opset}`);
      const c1 = groupVars(d, 'conv1');
      assert.deepEqual(vars(d, 's0'), c1.slice(0, 3));
      assert.deepEqual(vars(d, 's1'), c1.slice(3));
    }
  });

  test('Slice on the channel axis selects a channel range', () => {
    const d = analyzeDependencies(sliceGraph());
    assert.deepEqual(vars(d, 'slice'), groupVars(d, 'conv1').slice(2, 7));
    assert.deepEqual(Array.from(param(d, 'conv2.w', 1)!.variable), groupVars(d, 'conv1').slice(2, 7));
  });

  test('a depthwise conv follows its producer; a channel multiplier repeats each variable', () => {
    const d = analyzeDependencies(depthwiseGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv3:6']);
    const c1 = groupVars(d, 'conv1');
    assert.deepEqual(vars(d, 'dw'), c1);
    assert.deepEqual(vars(d, 'dw2'), c1.flatMap((v) => [v, v]));
    const g = d.groups[0]!;
    for (const init of ['conv1.w', 'bn1.scale', 'bn1.bias', 'bn1.mean', 'bn1.var', 'dw.w', 'dw.b', 'dw2.w', 'dw2.b', 'conv3.w']) {
      assert.ok(g.initializers.includes(init), `${init} shrinks with conv1`);
    }
    assert.equal(param(d, 'dw.w', 0)!.role, 'Conv.weight.depthwise');
    // The gate sits after the depthwise convs: gating before them would leave their biases behind.
    assert.deepEqual(gateNodes(d).filter((x) => x.startsWith('conv3')), ['conv3<-dw2']);
    assert.ok(!d.gates.some((gp) => gp.node === 'dw' || gp.node === 'dw2'));
  });

  test('a grouped conv (1 < group < C) is pruned a whole group at a time', () => {
    const d = analyzeDependencies(groupedGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv2:2', 'conv4:6']);
    // Group k: conv2 channels 4k…4k+3 and gconv channels 4k…4k+3 are one variable.
    const [v0, v1] = groupVars(d, 'conv2');
    assert.deepEqual(vars(d, 'conv2'), [v0, v0, v0, v0, v1, v1, v1, v1]);
    assert.deepEqual(vars(d, 'gconv'), vars(d, 'conv2'));
    assert.equal(param(d, 'gconv.w', 0)!.role, 'Conv.weight.grouped');
    assert.equal(param(d, 'gconv.w', 1), undefined, 'the per-group input width stays');
    assert.ok(!d.gates.some((gp) => gp.node === 'gconv'));
    assert.equal(d.locked.filter((l) => l.reason === 'grouped-conv').length, 0);
  });

  test('ConvTranspose: output channels on weight axis 1, input channels on axis 0', () => {
    const d = analyzeDependencies(convTransposeGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'convT:6']);
    assert.deepEqual(Array.from(param(d, 'convT.w', 1)!.variable), groupVars(d, 'convT'));
    assert.equal(param(d, 'convT.w', 1)!.role, 'ConvTranspose.weight.out');
    assert.deepEqual(Array.from(param(d, 'convT.w', 0)!.variable), groupVars(d, 'conv1'));
    assert.equal(param(d, 'convT.w', 0)!.role, 'ConvTranspose.weight.in');
    assert.equal(param(d, 'convT.b', 0)!.role, 'ConvTranspose.bias');
  });

  test('BN, PRelu slopes, per-channel constants and InstanceNorm are sliced; scalars and SiLU pass through', () => {
    const d = analyzeDependencies(affineChainGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv2:8']);
    const roles = new Map(d.params.map((p) => [`${p.initializer}@${p.axis}`, p.role]));
    assert.equal(roles.get('prelu.slope@0'), 'PRelu.slope');
    assert.equal(roles.get('mul.c@1'), 'Mul.constant');
    assert.equal(roles.get('add.c@0'), 'Add.constant');
    assert.equal(roles.get('bn1.var@0'), 'BatchNormalization.var');
    assert.equal(roles.get('in.scale@0'), 'InstanceNormalization.scale');
    for (const k of roles.keys()) assert.ok(!/^(scale|clip\.)/.test(k), `${k} must not be sliced`);
    assert.deepEqual(vars(d, 'silu'), groupVars(d, 'conv2'));
    assert.deepEqual(gateNodes(d).sort(), ['conv2<-mulscalar', 'conv3<-clip']);
  });

  test('Flatten → Gemm: the Gemm columns are sliced in blocks of H·W, gated before the Flatten', () => {
    const shapes: ShapeMap = new Map([
      ['input', [1, 3, 8, 8]],
      ['conv1', [1, 8, 4, 4]],
      ['relu1', [1, 8, 4, 4]],
      ['flatten', [1, 128]],
    ]);
    const d = analyzeDependencies(flattenHeadGraph(), shapes);
    assert.deepEqual(ids(d), ['conv1:8', 'fc1:10']);
    const p = param(d, 'fc1.w', 1)!;
    assert.equal(p.block, 16);
    assert.deepEqual(Array.from(p.variable), groupVars(d, 'conv1'));
    assert.equal(param(d, 'fc2.w', 0)!.role, 'Gemm.weight.in', 'transB=0 puts input features on axis 0');
    assert.equal(param(d, 'fc1.w', 0)!.role, 'Gemm.weight.out');
    assert.deepEqual(gateNodes(d).sort(), ['fc2<-relu2', 'flatten<-relu1']);
    // Without spatial sizes the block is unknown, so those channels stay locked.
    const blind = analyzeDependencies(flattenHeadGraph());
    assert.deepEqual(ids(blind), ['fc1:10']);
    assert.deepEqual(lockOf(blind, 'conv1'), ['unresolved']);
  });

  test('GlobalAveragePool → Flatten → Gemm needs no shapes (block 1); MatMul heads behave like Gemm', () => {
    const d = analyzeDependencies(gapHeadGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv2:16']);
    assert.equal(param(d, 'fc.w', 1)!.block, 1);
    assert.deepEqual(Array.from(param(d, 'fc.w', 1)!.variable), groupVars(d, 'conv2'));
    assert.deepEqual(d.groups[1]!.consumers, ['flatten', 'fc']);
    const m = analyzeDependencies(matmulHeadGraph());
    assert.deepEqual(ids(m), ['conv1:8', 'mm1:6']);
    assert.equal(param(m, 'mm1.w', 0)!.role, 'MatMul.weight.in');
    assert.equal(param(m, 'mm1.w', 1)!.role, 'MatMul.weight.out');
    assert.equal(param(m, 'mm1.b', 0)!.role, 'Add.constant');
    assert.equal(param(m, 'mm2.w', 0)!.role, 'MatMul.weight.in');
    assert.equal(m.tensors.get('mm1')!.rank, 2);
  });

  test('a Reshape that mixes channels locks them; Pad on the channel axis too', () => {
    const shapes: ShapeMap = new Map([
      ['conv1', [1, 8, 8, 8]],
      ['reshape', [1, 4, 16, 8]],
    ]);
    const d = analyzeDependencies(reshapeMixingGraph(), shapes);
    assert.deepEqual(ids(d), ['conv0:8', 'conv2:6']);
    assert.deepEqual(lockOf(d, 'conv1'), ['channel-mixing']);
    assert.match(d.locked.find((l) => l.source === 'conv1')!.detail, /Reshape 'reshape'/);
    const p = analyzeDependencies(channelPadGraph());
    assert.deepEqual(ids(p), ['conv2:6']);
    assert.deepEqual(lockOf(p, 'conv1'), ['channel-mixing']);
  });

  test('unknown ops lock their channels and are listed; strict mode refuses them', () => {
    const model = unknownOpGraph();
    const d = analyzeDependencies(model);
    assert.deepEqual(d.unknownOps, ['com.example:MyOp']);
    assert.deepEqual(ids(d), ['conv2:8']);
    assert.deepEqual(lockOf(d, 'conv1'), ['unknown-op']);
    assert.deepEqual(lockOf(d, 'myop'), ['unknown-op']);
    assert.throws(
      () => analyzeDependencies(model, undefined, { strict: true }),
      (e: OnnxModelError) => e instanceof OnnxModelError && e.code === 'unknown-ops' && /com\.example:MyOp \(1 node\)/.test(e.message),
    );
    assert.throws(() => assertKnownOps(model), OnnxModelError);
    assert.doesNotThrow(() => assertKnownOps(residualGraph()));
  });

  test('the last conv of a denoiser is locked because it feeds the output', () => {
    const d = analyzeDependencies(denoiserGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv2:8']);
    const l = d.locked.find((x) => x.source === 'conv3')!;
    assert.equal(l.reason, 'graph-output');
    assert.equal(l.channels, 3);
    assert.deepEqual(vars(d, 'conv3'), [-1, -1, -1]);
  });

  test('Resize, Pad and Slice on spatial axes pass channels through to a skip Add', () => {
    const d = analyzeDependencies(resizeSkipGraph());
    assert.deepEqual(ids(d), ['conv1+conv2:8']);
    assert.deepEqual(vars(d, 'crop'), vars(d, 'relu1'));
    assert.deepEqual(d.groups[0]!.consumers, ['conv2', 'conv3']);
  });

  test('a Shape read of batch/spatial dims is harmless; reading the channel count locks', () => {
    const build = (index: number) =>
      new OnnxModel(
        makeModel({
          nodes: [
            makeNode('Conv', ['input', 'w1'], ['c1'], 'conv1', { kernel_shape: [1, 1] }),
            makeNode('Shape', ['c1'], ['shape'], 'shape'),
            makeNode('Gather', ['shape', 'idx'], ['dim'], 'gather', { axis: 0 }),
            makeNode('Conv', ['c1', 'w2'], ['output'], 'conv2', { kernel_shape: [1, 1] }),
          ],
          inputs: [makeValueInfo('input', ['N', 3, 'H', 'W'])],
          outputs: [makeValueInfo('output'), makeValueInfo('dim')],
          initializers: [floatTensor('w1', new Float32Array(12).fill(0.1), [4, 3, 1, 1]), floatTensor('w2', new Float32Array(12).fill(0.1), [3, 4, 1, 1]), int64Tensor('idx', [index], [1])],
        }),
      );
    assert.deepEqual(ids(analyzeDependencies(build(2))), ['conv1:4']);
    const d = analyzeDependencies(build(1));
    assert.deepEqual(ids(d), []);
    assert.deepEqual(lockOf(d, 'conv1'), ['channel-mixing']);
  });

  test('per-channel constants from Constant nodes are sliced like initializers', () => {
    const d = analyzeDependencies(constantNodeGraph());
    assert.deepEqual(ids(d), ['conv1:8', 'conv2:6']);
    assert.equal(param(d, 'scaleConst', 1)!.role, 'Mul.constant');
    assert.equal(param(d, 'shiftConst', 0)!.role, 'Add.constant');
  });

  test('ids, order and maps are deterministic', () => {
    const a = analyzeDependencies(concatGraph());
    const b = analyzeDependencies(concatGraph());
    assert.deepEqual(ids(a), ids(b));
    assert.deepEqual(a.params.map((p) => [p.initializer, p.axis, Array.from(p.variable)]), b.params.map((p) => [p.initializer, p.axis, Array.from(p.variable)]));
    assert.deepEqual(a.gates, b.gates);
    // Every variable index appears in exactly one group, in order.
    assert.deepEqual(a.groups.flatMap((g) => Array.from(g.variables)), a.variables.map((_, i) => i));
  });
});

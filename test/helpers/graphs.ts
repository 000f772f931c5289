// Hand-built graphs, one per channel-dependency pattern the pruning engine must handle. Node
// names are short ('conv1') so assertions read like the pattern they test.
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type NodeProto, type TensorProto } from 'onnx-buf';
import { floatTensor, int64Tensor, makeModel, makeNode, makeValueInfo, OnnxModel, type AttrValue } from '../../src/core/onnx';
import { Rng } from '../../src/core/util/rng';

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  private rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  randn(n: number, scale: number): Float32Array {
    return Float32Array.from({ length: n }, () => this.rng.normal() * scale);
  }

  weight(name: string, dims: number[], scale?: number): string {
    const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
    this.inits.push(floatTensor(name, this.randn(dims.reduce((a, b) => a * b, 1), scale ?? 1 / Math.sqrt(fanIn)), dims));
    return name;
  }

  positive(name: string, n: number, dims = [n]): string {
    this.inits.push(floatTensor(name, Float32Array.from({ length: n }, () => 0.5 + this.rng.next()), dims));
    return name;
  }

  node(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue | undefined> = {}, outputs = [name], domain = ''): string {
    this.nodes.push(makeNode(op, inputs, outputs, name, attrs, domain));
    return outputs[0]!;
  }

  conv(name: string, x: string, cin: number, cout: number, o: { k?: number; group?: number; bias?: boolean; stride?: number } = {}): string {
    const k = o.k ?? 3;
    const group = o.group ?? 1;
    const w = this.weight(`${name}.w`, [cout, cin / group, k, k]);
    const inputs = [x, w];
    if (o.bias ?? true) {
      this.inits.push(floatTensor(`${name}.b`, this.randn(cout, 0.1), [cout]));
      inputs.push(`${name}.b`);
    }
    const p = (k - 1) >> 1;
    return this.node('Conv', inputs, name, { kernel_shape: [k, k], pads: [p, p, p, p], strides: [o.stride ?? 1, o.stride ?? 1], group: group > 1 ? group : undefined });
  }

  bn(name: string, x: string, c: number): string {
    this.inits.push(floatTensor(`${name}.scale`, this.randn(c, 0.3).map((v) => 1 + v), [c]));
    this.inits.push(floatTensor(`${name}.bias`, this.randn(c, 0.3), [c]));
    this.inits.push(floatTensor(`${name}.mean`, this.randn(c, 0.2), [c]));
    this.positive(`${name}.var`, c);
    return this.node('BatchNormalization', [x, `${name}.scale`, `${name}.bias`, `${name}.mean`, `${name}.var`], name, { epsilon: { float: 1e-5 } });
  }

  relu(name: string, x: string): string {
    return this.node('Relu', [x], name);
  }

  ints(name: string, values: number[]): string {
    this.inits.push(int64Tensor(name, values));
    return name;
  }

  floats(name: string, values: ArrayLike<number>, dims: number[]): string {
    this.inits.push(floatTensor(name, values, dims));
    return name;
  }

  build(output: string, opts: { input?: (number | string)[]; outputDims?: (number | string)[]; opset?: number; domains?: string[] } = {}): OnnxModel {
    const proto = makeModel({
      opset: opts.opset ?? 17,
      nodes: this.nodes,
      inputs: [makeValueInfo('input', opts.input ?? ['N', 3, 'H', 'W'])],
      outputs: [makeValueInfo(output, opts.outputDims)],
      initializers: this.inits,
    });
    for (const d of opts.domains ?? []) proto.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: d, version: 1n }));
    return new OnnxModel(proto);
  }
}

export interface TestGraph {
  name: string;
  model: OnnxModel;
  /** Input shape used by the tests (spatial sizes fixed where the graph needs them). */
  inputShape: number[];
  /** False for graphs onnxruntime cannot run (custom-domain ops). */
  runnable: boolean;
}

/** conv1 → relu → conv2 → relu → conv3; Add(relu1, conv3) → relu → conv4 → output. */
export function residualGraph(seed = 1): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const r2 = b.relu('relu2', b.conv('conv2', r1, 8, 8));
  const c3 = b.conv('conv3', r2, 8, 8);
  const a = b.relu('relu3', b.node('Add', [r1, c3], 'add'));
  b.conv('conv4', a, 8, 3);
  return b.build('conv4');
}

/** conv1(4) → relu a; conv2(6) → relu b; Concat(a, b) → conv3(5) → relu → conv4 → output. */
export function concatGraph(seed = 2): OnnxModel {
  const b = new GraphBuilder(seed);
  const a = b.relu('relu1', b.conv('conv1', 'input', 3, 4));
  const c = b.relu('relu2', b.conv('conv2', a, 4, 6));
  const cat = b.node('Concat', [a, c], 'concat', { axis: 1 });
  const r3 = b.relu('relu3', b.conv('conv3', cat, 10, 5));
  b.conv('conv4', r3, 5, 3);
  return b.build('conv4');
}

/** conv1(8) → relu → Split [3, 5] → conv2 / conv3 → Add → relu → conv4 → output. Split sizes as attribute before opset 13. */
export function splitGraph(seed = 3, opset = 17): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  if (opset < 13) b.node('Split', [r1], 'split', { axis: 1, split: [3, 5] }, ['s0', 's1']);
  else b.node('Split', [r1, b.ints('split.sizes', [3, 5])], 'split', { axis: 1 }, ['s0', 's1']);
  const c2 = b.conv('conv2', 's0', 3, 4);
  const c3 = b.conv('conv3', 's1', 5, 4);
  const r = b.relu('relu2', b.node('Add', [c2, c3], 'add'));
  b.conv('conv4', r, 4, 3);
  return b.build('conv4', { opset });
}

/** conv1(8) → relu → Slice channels [2, 7) → conv2(5) → relu → conv3 → output. */
export function sliceGraph(seed = 4): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const s = b.node('Slice', [r1, b.ints('sl.starts', [2]), b.ints('sl.ends', [7]), b.ints('sl.axes', [1])], 'slice');
  const r2 = b.relu('relu2', b.conv('conv2', s, 5, 6));
  b.conv('conv3', r2, 6, 3);
  return b.build('conv3');
}

/** conv1(8) → BN → relu → depthwise(8) → relu → depthwise×2 (16) → conv3 1×1 (6) → relu → conv4 → output. */
export function depthwiseGraph(seed = 5): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.bn('bn1', b.conv('conv1', 'input', 3, 8, { bias: false }), 8));
  const dw = b.relu('relu2', b.conv('dw', r1, 8, 8, { group: 8 }));
  const dw2 = b.conv('dw2', dw, 8, 16, { group: 8 });
  const r3 = b.relu('relu3', b.conv('conv3', dw2, 16, 6, { k: 1 }));
  b.conv('conv4', r3, 6, 3);
  return b.build('conv4');
}

/** conv1 → relu → conv2 → relu → gconv (group 2) → relu → conv4(6) → relu → conv5 → output. */
export function groupedGraph(seed = 6): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const r2 = b.relu('relu2', b.conv('conv2', r1, 8, 8));
  const g = b.relu('relu3', b.conv('gconv', r2, 8, 8, { group: 2 }));
  const r4 = b.relu('relu4', b.conv('conv4', g, 8, 6));
  b.conv('conv5', r4, 6, 3);
  return b.build('conv5');
}

/** conv1(8, stride 2) → relu → ConvTranspose(6, k2 s2) → relu → conv3 → output. */
export function convTransposeGraph(seed = 7): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8, { stride: 2 }));
  // ConvTranspose weight layout is [C_in, C_out, k, k].
  const w = b.weight('convT.w', [8, 6, 2, 2], 0.3);
  b.floats('convT.b', b.randn(6, 0.1), [6]);
  const t = b.relu('relu2', b.node('ConvTranspose', [r1, w, 'convT.b'], 'convT', { kernel_shape: [2, 2], strides: [2, 2] }));
  b.conv('conv3', t, 6, 3);
  return b.build('conv3');
}

/**
 * conv1 → BN → PRelu (per-channel slope) → Mul [1,C,1,1] → Add [C,1,1] → Mul scalar → conv2 →
 * InstanceNorm → SiLU (x·Sigmoid(x)) → Clip → conv3 → output.
 */
export function affineChainGraph(seed = 8): OnnxModel {
  const b = new GraphBuilder(seed);
  const c1 = b.bn('bn1', b.conv('conv1', 'input', 3, 8, { bias: false }), 8);
  const p = b.node('PRelu', [c1, b.floats('prelu.slope', b.randn(8, 0.2), [8, 1, 1])], 'prelu');
  const m = b.node('Mul', [p, b.floats('mul.c', b.randn(8, 0.5).map((v) => 1 + v), [1, 8, 1, 1])], 'mulc');
  const a = b.node('Add', [b.floats('add.c', b.randn(8, 0.2), [8, 1, 1]), m], 'addc');
  const s = b.node('Mul', [a, b.floats('scale', [0.5], [])], 'mulscalar');
  const c2 = b.conv('conv2', s, 8, 8);
  const inorm = b.node('InstanceNormalization', [c2, b.floats('in.scale', b.randn(8, 0.2).map((v) => 1 + v), [8]), b.floats('in.bias', b.randn(8, 0.2), [8])], 'inorm', { epsilon: { float: 1e-5 } });
  const sig = b.node('Sigmoid', [inorm], 'sigmoid');
  const silu = b.node('Mul', [inorm, sig], 'silu');
  const clip = b.node('Clip', [silu, b.floats('clip.min', [-1], []), b.floats('clip.max', [2], [])], 'clip');
  b.conv('conv3', clip, 8, 3);
  return b.build('conv3');
}

/** input [N,3,8,8] → conv1(8, stride 2) → relu → Flatten (8·4·4) → Gemm(10, transB=1) → relu → Gemm(4, transB=0) → output. */
export function flattenHeadGraph(seed = 9): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8, { stride: 2 }));
  const f = b.node('Flatten', [r1], 'flatten', { axis: 1 });
  const g1 = b.relu('relu2', b.node('Gemm', [f, b.weight('fc1.w', [10, 128]), b.floats('fc1.b', b.randn(10, 0.1), [10])], 'fc1', { transB: 1 }));
  b.node('Gemm', [g1, b.weight('fc2.w', [10, 4], 0.3), b.floats('fc2.b', b.randn(4, 0.1), [4])], 'fc2');
  return b.build('fc2', { input: ['N', 3, 8, 8] });
}

/** conv1 → relu → conv2(16) → relu → GlobalAveragePool → Flatten → Gemm(4) → output. */
export function gapHeadGraph(seed = 10): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const r2 = b.relu('relu2', b.conv('conv2', r1, 8, 16));
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [r2], 'gap')], 'flatten');
  b.node('Gemm', [f, b.weight('fc.w', [4, 16]), b.floats('fc.b', b.randn(4, 0.1), [4])], 'fc', { transB: 1 });
  return b.build('fc');
}

/** conv1 → relu → GlobalAveragePool → Reshape [-1, 8] → MatMul [8, 6] → Add bias → relu → MatMul [6, 4] → output. */
export function matmulHeadGraph(seed = 11): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const r = b.node('Reshape', [b.node('GlobalAveragePool', [r1], 'gap'), b.ints('flat.shape', [-1, 8])], 'reshape');
  const m1 = b.node('MatMul', [r, b.weight('mm1.w', [8, 6], 0.4)], 'mm1');
  const h = b.relu('relu2', b.node('Add', [m1, b.floats('mm1.b', b.randn(6, 0.1), [6])], 'mm1bias'));
  b.node('MatMul', [h, b.weight('mm2.w', [6, 4], 0.4)], 'mm2');
  return b.build('mm2');
}

/** input [1,3,8,8] → conv0 → relu → conv1(8) → Reshape [1,4,16,8] → conv2(6) → relu → conv3 → output. */
export function reshapeMixingGraph(seed = 12): OnnxModel {
  const b = new GraphBuilder(seed);
  const r0 = b.relu('relu0', b.conv('conv0', 'input', 3, 8));
  const c1 = b.conv('conv1', r0, 8, 8);
  const rs = b.node('Reshape', [c1, b.ints('rs.shape', [1, 4, 16, 8])], 'reshape');
  const r2 = b.relu('relu2', b.conv('conv2', rs, 4, 6));
  b.conv('conv3', r2, 6, 3);
  return b.build('conv3', { input: [1, 3, 8, 8] });
}

/** conv1 → relu → com.example:MyOp → conv2 → relu → conv3 → output (analysis only: ORT cannot run it). */
export function unknownOpGraph(seed = 13): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const u = b.node('MyOp', [r1], 'myop', {}, ['myop'], 'com.example');
  const r2 = b.relu('relu2', b.conv('conv2', u, 8, 8));
  b.conv('conv3', r2, 8, 3);
  return b.build('conv3', { domains: ['com.example'] });
}

/** conv1 → relu → conv2 → relu → conv3(3); output = input − conv3 (a residual denoiser). */
export function denoiserGraph(seed = 14): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const r2 = b.relu('relu2', b.conv('conv2', r1, 8, 8));
  const c3 = b.conv('conv3', r2, 8, 3);
  b.node('Sub', ['input', c3], 'output');
  return b.build('output');
}

/**
 * Half-UNet-like skip: conv1 → relu (e1) → MaxPool → conv2 → relu → Resize ×2 → Pad (spatial) →
 * Slice (spatial crop) → Add(e1, ·) → conv3 → output; conv1 and conv2 are coupled through the Add.
 */
export function resizeSkipGraph(seed = 15): OnnxModel {
  const b = new GraphBuilder(seed);
  const e1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const p = b.node('MaxPool', [e1], 'pool', { kernel_shape: [2, 2], strides: [2, 2] });
  const e2 = b.relu('relu2', b.conv('conv2', p, 8, 8));
  const up = b.node('Resize', [e2, '', b.floats('up.scales', [1, 1, 2, 2], [4])], 'up', { mode: 'nearest' });
  const padded = b.node('Pad', [up, b.ints('pad.pads', [0, 0, 1, 1, 0, 0, 1, 1])], 'pad', { mode: 'reflect' });
  const crop = b.node('Slice', [padded, b.ints('crop.starts', [1, 1]), b.ints('crop.ends', [-1, -1]), b.ints('crop.axes', [2, 3])], 'crop');
  const a = b.node('Add', [e1, crop], 'add');
  b.conv('conv3', a, 8, 3);
  return b.build('conv3');
}

/** conv1 → relu → Pad on the channel axis (+1 each side) → conv2(10 → 6) → relu → conv3 → output. */
export function channelPadGraph(seed = 16): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const p = b.node('Pad', [r1, b.ints('cpad.pads', [0, 1, 0, 0, 0, 1, 0, 0])], 'cpad');
  const r2 = b.relu('relu2', b.conv('conv2', p, 10, 6));
  b.conv('conv3', r2, 6, 3);
  return b.build('conv3');
}

/**
 * Per-channel constants held by Constant nodes (not initializers), and an exporter-style graph
 * that also lists its initializers among the graph inputs: conv1 → Mul(Constant [1,8,1,1]) →
 * Add(Constant [8,1,1]) → relu → conv2 → relu → conv3 → output.
 */
export function constantNodeGraph(seed = 17): OnnxModel {
  const b = new GraphBuilder(seed);
  const c1 = b.conv('conv1', 'input', 3, 8);
  const scale = b.node('Constant', [], 'scaleConst', { value: floatTensor('scaleConst.value', b.randn(8, 0.3).map((v) => 1 + v), [1, 8, 1, 1]) });
  const shift = b.node('Constant', [], 'shiftConst', { value: floatTensor('shiftConst.value', b.randn(8, 0.3), [8, 1, 1]) });
  const r1 = b.relu('relu1', b.node('Add', [b.node('Mul', [c1, scale], 'mul'), shift], 'add'));
  const r2 = b.relu('relu2', b.conv('conv2', r1, 8, 6));
  b.conv('conv3', r2, 6, 3);
  const model = b.build('conv3');
  for (const t of model.graph.initializer) model.graph.input.push(makeValueInfo(t.name, t.dims.map(Number)));
  return model;
}

/** Every graph with the input shape the integration tests use. */
export function allGraphs(): TestGraph[] {
  const s = [2, 3, 8, 8];
  return [
    { name: 'residual', model: residualGraph(), inputShape: s, runnable: true },
    { name: 'concat', model: concatGraph(), inputShape: s, runnable: true },
    { name: 'split', model: splitGraph(), inputShape: s, runnable: true },
    { name: 'split-opset11', model: splitGraph(3, 11), inputShape: s, runnable: true },
    { name: 'slice', model: sliceGraph(), inputShape: s, runnable: true },
    { name: 'depthwise', model: depthwiseGraph(), inputShape: s, runnable: true },
    { name: 'grouped', model: groupedGraph(), inputShape: s, runnable: true },
    { name: 'convTranspose', model: convTransposeGraph(), inputShape: s, runnable: true },
    { name: 'affineChain', model: affineChainGraph(), inputShape: s, runnable: true },
    { name: 'flattenHead', model: flattenHeadGraph(), inputShape: s, runnable: true },
    { name: 'gapHead', model: gapHeadGraph(), inputShape: s, runnable: true },
    { name: 'matmulHead', model: matmulHeadGraph(), inputShape: s, runnable: true },
    { name: 'reshapeMixing', model: reshapeMixingGraph(), inputShape: [1, 3, 8, 8], runnable: true },
    { name: 'unknownOp', model: unknownOpGraph(), inputShape: s, runnable: false },
    { name: 'denoiser', model: denoiserGraph(), inputShape: s, runnable: true },
    { name: 'resizeSkip', model: resizeSkipGraph(), inputShape: s, runnable: true },
    { name: 'channelPad', model: channelPadGraph(), inputShape: s, runnable: true },
    { name: 'constantNodes', model: constantNodeGraph(), inputShape: s, runnable: true },
  ];
}

// Per-layer figures (channels, kernel, parameters, MACs) and model totals.
//
// Conventions (docs/ANALYSIS.md):
// - MACs are per sample (batch 1) and count only the multiply-accumulates of Conv, ConvTranspose,
//   Gemm and MatMul, as thop/ptflops do; bias adds, norms, activations, pooling, resizing and
//   element-wise ops are not counted.
//   Conv: Cout·(Cin/g)·∏k·∏out_spatial; ConvTranspose: Cin·(Cout/g)·∏k·∏in_spatial;
//   Gemm/MatMul: in·out per output row (MatMul on [N, T, K] counts T·K·out).
// - `params` counts what PyTorch's sum(p.numel() for p in model.parameters()) counts: every
//   floating-point initializer except BatchNormalization running mean/variance (buffers in
//   PyTorch), single-element literals of element-wise arithmetic and constants that only feed
//   configuration slots (Resize scales, Clip bounds, Pad values).
import { attrInt, attrInts, dimsOf, DataType, elementCount, type OnnxModel } from '../onnx';
import type { NodeProto } from 'onnx-buf';
import type { LayerInfo, ShapeMap } from './types';
import { CHANNEL_NORMS, isDefaultDomain, WEIGHT_OPS } from './rules';
import { ShapeInferenceError } from './shapes';

export interface LayerTotals {
  /** Parameters as PyTorch counts them (see the file comment). */
  params: number;
  /** Multiply-accumulates of all layers, batch 1. */
  macs: number;
  /** Parameters (weights + biases) of Conv and ConvTranspose layers. */
  convParams: number;
  /** Parameters of Gemm and MatMul layers. */
  linearParams: number;
  /** Scale and bias of normalisation nodes. */
  normParams: number;
  /** Remaining parameters (PRelu slopes, separate bias adds, …). */
  otherParams: number;
  /** BatchNormalization running mean/variance elements (PyTorch buffers, not parameters). */
  bufferElements: number;
  /** Every element of every initializer, of any type. */
  initializerElements: number;
  /** Number of layers found. */
  layers: number;
}

export interface LayerAnalysis {
  layers: LayerInfo[];
  totals: LayerTotals;
}

const ACTIVATION_OPS = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Softplus',
  'Softsign',
  'Mish',
  'Clip',
  'ThresholdedRelu',
]);
/** Ops that move data without changing it; an activation behind one still belongs to the layer. */
const TRANSPARENT_OPS = new Set(['Identity', 'Dropout']);
const ARITHMETIC_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Less', 'Greater', 'Where']);
export const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

/** Inputs that hold configuration rather than learned values, by op type and input index. */
const NON_PARAM_SLOTS: Record<string, number[]> = {
  Resize: [1, 2, 3],
  Upsample: [1],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
  BatchNormalization: [3, 4],
};

/**
 * Whether a float constant with these uses (consumer op type, input index) counts as a learned
 * parameter as PyTorch counts them. The one rule behind both the analysis totals and the pruning
 * cost prediction, so the two always agree.
 */
export function isParameterUse(uses: readonly { op: string; index: number }[], elements: number): boolean {
  if (uses.length === 0) return false;
  if (uses.every((u) => NON_PARAM_SLOTS[u.op]?.includes(u.index))) return false;
  // Exporters turn literals such as `x * 0.5` into one-element initializers; a one-element
  // conv bias or PReLU slope is still a parameter.
  if (elements === 1 && uses.every((u) => ARITHMETIC_OPS.has(u.op))) return false;
  return true;
}

function product(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** Dims of a tensor known without running anything (initializer, Constant node) or from the shape map. */
function dimsFor(model: OnnxModel, shapes: ShapeMap, name: string): number[] | undefined {
  const init = model.initializers().get(name);
  if (init) return dimsOf(init);
  return shapes.get(name) ?? model.constant(name)?.dims;
}

function isConstant(model: OnnxModel, name: string): boolean {
  return model.isInitializer(name) || model.producer(name)?.opType === 'Constant';
}

function requireShape(model: OnnxModel, shapes: ShapeMap, node: NodeProto, name: string, what: string): number[] {
  const dims = dimsFor(model, shapes, name);
  if (!dims) throw new ShapeInferenceError('missing-shape', `no shape known for ${what} '${name}' of node '${node.name}'`);
  return dims;
}

/** The only consumer of `tensor`, skipping pass-through ops; undefined when it fans out. */
function soleConsumer(model: OnnxModel, tensor: string): { node: NodeProto; tensor: string } | undefined {
  let current = tensor;
  for (;;) {
    if (model.outputNames.includes(current)) return undefined;
    const cons = model.consumers(current);
    if (cons.length !== 1) return undefined;
    const node = cons[0]!.node;
    if (!TRANSPARENT_OPS.has(node.opType)) return { node, tensor: current };
    current = node.output[0]!;
  }
}

function followers(model: OnnxModel, output: string): { norm: string | null; activation: string | null } {
  let next = soleConsumer(model, output);
  let norm: string | null = null;
  if (next && CHANNEL_NORMS.has(next.node.opType) && next.node.input[0] === next.tensor) {
    norm = next.node.opType;
    next = soleConsumer(model, next.node.output[0]!);
  }
  const activation = next && ACTIVATION_OPS.has(next.node.opType) && next.node.input[0] === next.tensor ? next.node.opType : null;
  return { norm, activation };
}

function convLayer(model: OnnxModel, shapes: ShapeMap, node: NodeProto): LayerInfo {
  const transposed = node.opType === 'ConvTranspose';
  const weight = node.input[1]!;
  const bias = node.input[2] || null;
  const w = requireShape(model, shapes, node, weight, 'weight');
  const spatial = w.length - 2;
  const groups = attrInt(node, 'group', 1);
  const out = requireShape(model, shapes, node, node.output[0]!, 'output');
  const inp = requireShape(model, shapes, node, node.input[0]!, 'input');
  // Conv weights are [Cout, Cin/g, k…]; ConvTranspose weights are [Cin, Cout/g, k…].
  const inChannels = transposed ? w[0]! : w[1]! * groups;
  const outChannels = transposed ? w[1]! * groups : w[0]!;
  const weightElems = elementCount(w);
  const biasElems = bias ? elementCount(requireShape(model, shapes, node, bias, 'bias')) : 0;
  const macs = weightElems * product(transposed ? inp.slice(2) : out.slice(2));
  return {
    node: node.name,
    op: node.opType as LayerInfo['op'],
    inChannels,
    outChannels,
    kernel: w.slice(2),
    stride: attrInts(node, 'strides') ?? new Array<number>(spatial).fill(1),
    dilation: attrInts(node, 'dilations') ?? new Array<number>(spatial).fill(1),
    groups,
    params: weightElems + biasElems,
    macs,
    ...followers(model, node.output[0]!),
    weight,
    bias,
    outputShape: out,
  };
}

/** PyTorch exports nn.Linear on N-D input as MatMul followed by Add(bias); that bias belongs to the layer. */
function separateBias(model: OnnxModel, shapes: ShapeMap, output: string, outFeatures: number): { bias: string; output: string } | null {
  const next = soleConsumer(model, output);
  if (!next || next.node.opType !== 'Add') return null;
  const other = next.node.input[next.node.input[0] === next.tensor ? 1 : 0];
  if (!other || !isConstant(model, other)) return null;
  const dims = dimsFor(model, shapes, other);
  return dims && dims.length === 1 && dims[0] === outFeatures ? { bias: other, output: next.node.output[0]! } : null;
}

/** Gemm, or MatMul with a constant right-hand side; anything else multiplies two activations and is no layer. */
function linearLayer(model: OnnxModel, shapes: ShapeMap, node: NodeProto): LayerInfo | undefined {
  const weight = node.input[1]!;
  if (!isConstant(model, weight)) return undefined;
  const w = requireShape(model, shapes, node, weight, 'weight');
  if (w.length !== 2) return undefined;
  const out = requireShape(model, shapes, node, node.output[0]!, 'output');
  let inFeatures: number;
  let outFeatures: number;
  let bias: string | null = null;
  // Where the layer's result is complete (after a separate bias add), for the activation lookup.
  let result = node.output[0]!;
  if (node.opType === 'Gemm') {
    const transB = attrInt(node, 'transB', 0) === 1;
    inFeatures = transB ? w[1]! : w[0]!;
    outFeatures = transB ? w[0]! : w[1]!;
    const c = node.input[2];
    if (c && isConstant(model, c)) bias = c;
  } else {
    inFeatures = w[0]!;
    outFeatures = w[1]!;
    const added = separateBias(model, shapes, node.output[0]!, outFeatures);
    if (added) {
      bias = added.bias;
      result = added.output;
    }
  }
  // Rows per sample: everything but the batch axis and the feature axis of the output.
  const rowsPerSample = out.length >= 2 ? product(out.slice(1, -1)) : 1;
  const biasElems = bias ? elementCount(requireShape(model, shapes, node, bias, 'bias')) : 0;
  return {
    node: node.name,
    op: node.opType as LayerInfo['op'],
    inChannels: inFeatures,
    outChannels: outFeatures,
    kernel: [],
    stride: [],
    dilation: [],
    groups: 1,
    params: elementCount(w) + biasElems,
    macs: rowsPerSample * inFeatures * outFeatures,
    ...followers(model, result),
    weight,
    bias,
    outputShape: out,
  };
}

/** Every Conv, ConvTranspose, Gemm and constant-weight MatMul, in graph order. */
export function findLayers(model: OnnxModel, shapes: ShapeMap): LayerInfo[] {
  const layers: LayerInfo[] = [];
  for (const node of model.nodes) {
    if (!WEIGHT_OPS.has(node.opType) || !isDefaultDomain(node)) continue;
    const layer = node.opType === 'Conv' || node.opType === 'ConvTranspose' ? convLayer(model, shapes, node) : linearLayer(model, shapes, node);
    if (layer) layers.push(layer);
  }
  return layers;
}

/** Classifies each initializer element as parameter (by role), buffer or neither. */
function countInitializers(model: OnnxModel, layers: LayerInfo[]): Omit<LayerTotals, 'macs' | 'layers'> {
  const layerRole = new Map<string, 'conv' | 'linear'>();
  for (const l of layers) {
    const role = l.op === 'Conv' || l.op === 'ConvTranspose' ? 'conv' : 'linear';
    layerRole.set(l.weight, role);
    if (l.bias) layerRole.set(l.bias, role);
  }
  const totals = { params: 0, convParams: 0, linearParams: 0, normParams: 0, otherParams: 0, bufferElements: 0, initializerElements: 0 };
  for (const t of model.graph.initializer) {
    const n = elementCount(dimsOf(t));
    totals.initializerElements += n;
    const uses = model.consumers(t.name);
    if (uses.length > 0 && uses.every((u) => u.node.opType === 'BatchNormalization' && (u.inputIndex === 3 || u.inputIndex === 4))) {
      totals.bufferElements += n;
      continue;
    }
    if (!FLOAT_TYPES.has(t.dataType)) continue;
    if (!isParameterUse(uses.map((u) => ({ op: u.node.opType, index: u.inputIndex })), n)) continue;
    totals.params += n;
    const role = layerRole.get(t.name);
    if (role === 'conv') totals.convParams += n;
    else if (role === 'linear') totals.linearParams += n;
    else if (uses.some((u) => CHANNEL_NORMS.has(u.node.opType))) totals.normParams += n;
    else totals.otherParams += n;
  }
  return totals;
}

export function analyzeLayers(model: OnnxModel, shapes: ShapeMap): LayerAnalysis {
  const layers = findLayers(model, shapes);
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  return { layers, totals: { ...countInitializers(model, layers), macs, layers: layers.length } };
}

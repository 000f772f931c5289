// Shapes of every tensor for one concrete input shape. Rather than re-implementing ONNX shape
// inference op by op (and getting Resize, auto_pad or ceil_mode subtly wrong), the model itself
// is run once in onnxruntime with every node output exposed as a graph output: whatever the
// runtime computes is, by definition, the shape the pruned model will see.
//
// Cost: exposing every tensor keeps all activations alive at once instead of freeing them as the
// forward pass goes, so peak memory is the sum of all activations for one input (170 MB for the
// 32-channel DnCNN fixture at 1×3×256×256; see docs/ANALYSIS.md). Graph optimisation is off:
// only shapes are read, and exposed outputs would block most fusions anyway.
import { DataType, dataTypeName, dimsOf, elementCount, int64Tensor, makeNode, makeTensor, namedValueInfo, shallowMessage, valueInfoDims, valueInfoElemType, type OnnxModel } from '../onnx';
import { openSession, ort } from '../runtime/session';
import { MAX_TYPED_ARRAY_LENGTH, formatBytes, memoryBudgetBytes } from '../util/memory';
import type { ShapeMap } from './types';
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { QuboPruneError } from '../errors';

export type ShapeErrorCode = 'symbolic-input' | 'bad-input-shape' | 'unknown-input' | 'unsupported-input-type' | 'inference-failed' | 'missing-shape' | 'too-large';

/** A problem with the input shape given for analysis, or with running the model at that shape. */
export class ShapeInferenceError extends QuboPruneError<ShapeErrorCode> {
  constructor(code: ShapeErrorCode, message: string) {
    super(code, message, 'input');
    this.name = 'ShapeInferenceError';
  }
}

/** One shape for a single-input model, or one per input name. */
export type InputShapeSpec = number[] | Record<string, number[]>;

export interface TensorInfo {
  /** Shape of every node output and every initializer (and graph input). */
  shapes: ShapeMap;
  /** Element type names ('float32', 'int64', …) of the same tensors. */
  dtypes: Map<string, string>;
  /** The concrete shape each real graph input was fed with. */
  inputShapes: Record<string, number[]>;
}

function formatDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(',')}]`;
}

function checkConcrete(name: string, dims: readonly number[]): void {
  if (dims.length === 0 || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ShapeInferenceError('bad-input-shape', `input shape ${formatDims(dims)} for '${name}' must be a list of positive integers`);
  }
}

/**
 * The concrete shape fed to each real input. Fixed dims of the model must match a given shape; a
 * symbolic leading (batch) dim defaults to 1 because the analysis is per sample, while any other
 * symbolic dim needs a shape from the caller.
 */
export function resolveInputShapes(model: OnnxModel, given?: InputShapeSpec): Record<string, number[]> {
  const inputs = model.realInputs;
  let byName: Record<string, number[]> = {};
  if (Array.isArray(given)) {
    if (inputs.length !== 1) {
      throw new ShapeInferenceError(
        'bad-input-shape',
        `the model has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); give a shape per input name`,
      );
    }
    byName = { [inputs[0]!.name]: given };
  } else if (given) {
    byName = given;
    const known = new Set(inputs.map((v) => v.name));
    for (const name of Object.keys(byName)) {
      if (!known.has(name)) {
        throw new ShapeInferenceError('unknown-input', `the model has no input named '${name}' (inputs: ${[...known].join(', ')})`);
      }
    }
  }
  const result: Record<string, number[]> = {};
  for (const v of inputs) {
    const declared = valueInfoDims(v);
    // No tensor has a size ≤ 0, and onnxruntime refuses every feed against such a declaration, so
    // a given shape cannot work around it. A batch dim ≤ 0 stays open, as it always has here.
    const invalid = declared?.map((d, axis) => ({ d, axis })).filter(({ d, axis }) => axis > 0 && typeof d === 'number' && d <= 0) ?? [];
    if (invalid.length > 0) {
      throw new ShapeInferenceError(
        'bad-input-shape',
        `input '${v.name}' declares ${formatDims(declared!)}: ${invalid.map(({ d, axis }) => `${d} (axis ${axis})`).join(', ')} is not a valid size; re-export the model with a positive or symbolic size there`,
      );
    }
    const chosen = byName[v.name];
    if (chosen) {
      checkConcrete(v.name, chosen);
      if (declared) {
        if (declared.length !== chosen.length) {
          throw new ShapeInferenceError(
            'bad-input-shape',
            `input '${v.name}' has rank ${declared.length} ${formatDims(declared)} in the model, but the given shape ${formatDims(chosen)} has rank ${chosen.length}`,
          );
        }
        declared.forEach((d, axis) => {
          if (typeof d === 'number' && d > 0 && d !== chosen[axis]) {
            const what = axis === 1 ? 'channel count' : `axis ${axis}`;
            throw new ShapeInferenceError(
              'bad-input-shape',
              `input '${v.name}' ${formatDims(declared)}: the model fixes its ${what} at ${d}, but the given shape ${formatDims(chosen)} has ${chosen[axis]}`,
            );
          }
        });
      }
      result[v.name] = [...chosen];
      continue;
    }
    if (!declared) {
      throw new ShapeInferenceError('symbolic-input', `input '${v.name}' declares no shape; give an input shape (CLI: --input-shape)`);
    }
    const dims = declared.map((d, axis) => (typeof d === 'number' && d > 0 ? d : axis === 0 ? 1 : d));
    const open = dims.filter((d) => typeof d !== 'number');
    if (open.length > 0) {
      throw new ShapeInferenceError(
        'symbolic-input',
        `input '${v.name}' has symbolic dims ${formatDims(declared)} (${open.join(', ')}); give a concrete input shape (CLI: --input-shape ${dims.map((d) => (typeof d === 'number' ? d : `<${d}>`)).join(',')})`,
      );
    }
    result[v.name] = dims as number[];
  }
  return result;
}

/**
 * The model's declared input shapes with batch 1 and every other symbolic dim set to `size`, for
 * callers that got 'symbolic-input' from resolveInputShapes. The figures of a model with dynamic
 * height/width depend on the size chosen, so callers must say which one they used. Undefined when
 * an input declares no shape at all.
 */
export function fillOpenDims(model: OnnxModel, size: number): Record<string, number[]> | undefined {
  const out: Record<string, number[]> = {};
  for (const v of model.realInputs) {
    const dims = valueInfoDims(v);
    if (!dims) return undefined;
    out[v.name] = dims.map((d, axis) => (typeof d === 'number' && d > 0 ? d : axis === 0 ? 1 : size));
  }
  return out;
}

const ORT_TYPES: Partial<Record<number, ort.Tensor.Type>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT16]: 'int16',
  [DataType.UINT16]: 'uint16',
  [DataType.BOOL]: 'bool',
};

/** onnxruntime's name for an ONNX element type ('float32', 'int64', …). */
export function elemTypeName(dataType: number): string {
  return (ORT_TYPES[dataType] as string | undefined) ?? dataTypeName(dataType).toLowerCase();
}

function zeros(type: ort.Tensor.Type, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new ort.Tensor(type, new Float32Array(n), dims);
    case 'float64':
      return new ort.Tensor(type, new Float64Array(n), dims);
    case 'float16':
    case 'uint16':
      return new ort.Tensor(type, new Uint16Array(n), dims);
    case 'int32':
      return new ort.Tensor(type, new Int32Array(n), dims);
    case 'int64':
      return new ort.Tensor(type, new BigInt64Array(n), dims);
    case 'int8':
      return new ort.Tensor(type, new Int8Array(n), dims);
    case 'int16':
      return new ort.Tensor(type, new Int16Array(n), dims);
    case 'uint8':
      return new ort.Tensor(type, new Uint8Array(n), dims);
    case 'bool':
      return new ort.Tensor(type, new Uint8Array(n), dims);
  }
  throw new ShapeInferenceError('unsupported-input-type', `cannot feed an input of type ${type}`);
}

/**
 * Refuses input shapes whose activations cannot fit, before anything is allocated. The largest
 * activation is estimated as (input elements per channel) × (the widest channel count any weight
 * declares) × 4 bytes: exact for the usual full-resolution stem or decoder, an over-estimate for
 * networks that downsample first, and far below what the shape probe (every activation kept
 * alive at once) really needs, so nothing this passes is refused for the wrong reason.
 */
export function checkActivationBudget(model: OnnxModel, inputShapes: Record<string, number[]>): void {
  // Convolution kernels (rank ≥ 3) say how many channels a full-resolution map can have. A
  // classifier head's matrix does not: VGG-16's [4096, 25088] acts on a flattened vector, and
  // counting it refused the network at its own 224×224. Matrices count only in models without
  // kernels (MLPs, token models), where they are the only clue.
  let widest = 1;
  let widestMatrix = 1;
  for (const t of model.graph.initializer) {
    const dims = dimsOf(t);
    if (dims.length >= 3) widest = Math.max(widest, dims[0]!, dims[1]!);
    else if (dims.length === 2) widestMatrix = Math.max(widestMatrix, dims[0]!, dims[1]!);
  }
  if (widest === 1) widest = widestMatrix;
  const budget = memoryBudgetBytes();
  for (const [name, dims] of Object.entries(inputShapes)) {
    const elements = dims.reduce((a, b) => a * b, 1);
    const channels = Math.max(1, dims[1] ?? 1);
    const activation = (elements / channels) * Math.max(widest, channels) * 4;
    const text = `input shape ${formatDims(dims)} for '${name}'`;
    if (elements > MAX_TYPED_ARRAY_LENGTH) {
      throw new ShapeInferenceError('too-large', `${text} has ${elements.toExponential(2)} elements, more than one tensor can hold (${MAX_TYPED_ARRAY_LENGTH}); give a smaller input shape (CLI: --input-shape)`);
    }
    if (activation > budget) {
      throw new ShapeInferenceError(
        'too-large',
        `${text} is too large: its largest activation (${widest} channels) would take about ${formatBytes(activation)}, over the ${formatBytes(budget)} limit (a quarter of this machine's memory, at most 4 GiB); give a smaller input shape (CLI: --input-shape)`,
      );
    }
  }
}

/** Shapes and element types of every tensor, from one forward pass on zeros at the resolved input shape. */
export async function inferTensorInfo(model: OnnxModel, inputShape?: InputShapeSpec, opts: { threads?: number } = {}): Promise<TensorInfo> {
  const inputShapes = resolveInputShapes(model, inputShape);
  checkActivationBudget(model, inputShapes);
  const shapes: ShapeMap = new Map();
  const dtypes = new Map<string, string>();
  for (const t of model.graph.initializer) {
    shapes.set(t.name, dimsOf(t));
    dtypes.set(t.name, elemTypeName(t.dataType));
  }

  const feeds: Record<string, ort.Tensor> = {};
  for (const v of model.realInputs) {
    const type = ORT_TYPES[valueInfoElemType(v)];
    if (!type) {
      throw new ShapeInferenceError('unsupported-input-type', `input '${v.name}' has element type ${dataTypeName(valueInfoElemType(v))}, which the analysis cannot feed`);
    }
    feeds[v.name] = zeros(type, inputShapes[v.name]!);
    shapes.set(v.name, inputShapes[v.name]!);
    dtypes.set(v.name, type);
  }

  const exposed = new Set(model.outputNames);
  const extra: ValueInfoProto[] = [];
  for (const node of model.nodes) {
    for (const out of node.output) {
      if (!out || exposed.has(out)) continue;
      // A name alone is enough: onnxruntime infers the type of an extra graph output.
      extra.push(namedValueInfo(out));
      exposed.add(out);
    }
  }
  // The probe is a shallow variant of the model (no copy of it): every tensor exposed, and large
  // weights whose values cannot change a shape generated at run time instead of serialised.
  const probe = shallowMessage(model.graph);
  probe.output = [...model.graph.output, ...extra];
  stubShapeNeutralWeights(model, probe);
  // The serialised probe is passed straight through so no local keeps it alive while the session opens.
  const { session } = await openSession(model.toBytesWithGraph(probe), { provider: 'cpu', optimization: 'disabled', threads: opts.threads, memArena: false });
  try {
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      // A failure is reported once, as this error; ORT's own log line would repeat it on stderr.
      outputs = await session.run(feeds, [...exposed], { logSeverityLevel: 4 });
    } catch (err) {
      const shapeText = Object.entries(inputShapes)
        .map(([n, d]) => `${n} ${formatDims(d)}`)
        .join(', ');
      throw new ShapeInferenceError('inference-failed', `onnxruntime could not run the model at input shape ${shapeText}: ${(err as Error).message.split('\n')[0]}`);
    }
    for (const [name, value] of Object.entries(outputs)) {
      shapes.set(name, [...value.dims]);
      dtypes.set(name, value.type);
    }
  } finally {
    await session.release();
  }
  return { shapes, dtypes, inputShapes };
}

/** Ops for which the values of a weight input never affect any output's shape or type. */
const SHAPE_NEUTRAL_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Add', 'Sub', 'Mul', 'Div', 'PRelu']);
/** Weights below this many elements are serialised as they are (they cost little). */
const STUB_MIN_ELEMENTS = 16384;
const STUB_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE]);

/**
 * Replaces, in the probe graph, each large float weight that only feeds shape-neutral ops by a
 * ConstantOfShape of zeros placed just before its first consumer. The shape probe reads shapes
 * only, and serialising the weights made onnxruntime hold the model twice more (its parsed
 * message and its initializer copies) on top of the program's own copy: for VGG-16, 2 GB of
 * peak memory for a 528 MB file. Generated zeros exist only while their consumer runs.
 */
function stubShapeNeutralWeights(model: OnnxModel, probe: GraphProto): void {
  const outputs = new Set(model.outputNames);
  const declaredInputs = new Set(model.graph.input.map((v) => v.name));
  const stubs = new Map<string, NodeProto[]>();
  const shapeInits: TensorProto[] = [];
  const kept: TensorProto[] = [];
  model.graph.initializer.forEach((t, i) => {
    const dims = dimsOf(t);
    const consumers = model.consumers(t.name);
    const neutral =
      STUB_TYPES.has(t.dataType) &&
      elementCount(dims) >= STUB_MIN_ELEMENTS &&
      !outputs.has(t.name) &&
      !declaredInputs.has(t.name) &&
      consumers.length > 0 &&
      consumers.every((c) => (c.node.domain === '' || c.node.domain === 'ai.onnx') && SHAPE_NEUTRAL_OPS.has(c.node.opType));
    if (!neutral) {
      kept.push(t);
      return;
    }
    const shapeName = `qp_probe_shape_${i}`;
    shapeInits.push(int64Tensor(shapeName, dims));
    const zero = t.dataType === DataType.FLOAT16 ? new Uint16Array(1) : t.dataType === DataType.DOUBLE ? new Float64Array(1) : new Float32Array(1);
    const node = makeNode('ConstantOfShape', [shapeName], [t.name], `qp_probe_stub_${i}`, { value: makeTensor('value', [1], zero, t.dataType) });
    const first = consumers[0]!.node.name;
    stubs.set(first, [...(stubs.get(first) ?? []), node]);
  });
  if (shapeInits.length === 0) return;
  probe.initializer = [...kept, ...shapeInits];
  probe.node = model.graph.node.flatMap((n) => [...(stubs.get(n.name) ?? []), n]);
}

/** Every tensor's shape (activations, inputs and initializers) at the given input shape. */
export async function inferShapes(model: OnnxModel, inputShape?: InputShapeSpec): Promise<ShapeMap> {
  return (await inferTensorInfo(model, inputShape)).shapes;
}

// Tensor shapes for one concrete input, read by running the model once in onnxruntime with every
// node output exposed. A minimal local helper for pruning; analysis/shapes.ts is the general one.
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema } from 'onnx-buf';
import type { OnnxModel } from '../onnx';
import { openSession, ort } from '../runtime/session';
import type { ShapeMap } from '../analysis/types';

const ORT_TYPES: Record<number, ort.Tensor.Type> = { 1: 'float32', 7: 'int64', 6: 'int32', 11: 'float64', 9: 'bool', 2: 'uint8' };

function zeros(type: ort.Tensor.Type, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'int64':
      return new ort.Tensor(type, new BigInt64Array(n), dims);
    case 'int32':
      return new ort.Tensor(type, new Int32Array(n), dims);
    case 'float64':
      return new ort.Tensor(type, new Float64Array(n), dims);
    case 'bool':
    case 'uint8':
      return new ort.Tensor(type, new Uint8Array(n), dims);
    default:
      return new ort.Tensor('float32', new Float32Array(n), dims);
  }
}

/** Runs the model on zeros of `inputShapes` (one shape per real input, in order) and records every tensor's dims. */
export async function probeShapes(model: OnnxModel, inputShapes: number[][]): Promise<ShapeMap> {
  const probe = model.clone();
  const g = probe.graph;
  const existing = new Set(g.output.map((o) => o.name));
  for (const n of g.node) {
    for (const o of n.output) {
      if (o && !existing.has(o)) {
        g.output.push(create(ValueInfoProtoSchema, { name: o }));
        existing.add(o);
      }
    }
  }
  const shapes: ShapeMap = new Map();
  for (const t of model.graph.initializer) shapes.set(t.name, t.dims.map(Number));
  const { session } = await openSession(probe.toBytes(), { provider: 'cpu', threads: 1, optimization: 'disabled' });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    model.realInputs.forEach((v, i) => {
      const dims = inputShapes[i] ?? inputShapes[0]!;
      const elem = v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : 1;
      feeds[v.name] = zeros(ORT_TYPES[elem] ?? 'float32', dims);
      shapes.set(v.name, dims.slice());
    });
    const out = await session.run(feeds);
    for (const [name, t] of Object.entries(out)) shapes.set(name, t.dims.map(Number));
  } finally {
    await session.release();
  }
  return shapes;
}

/** Default concrete input shape from the model's first input: symbolic batch → 1, symbolic spatial → `spatial`. */
export function defaultInputShape(model: OnnxModel, spatial = 128): number[] {
  const v = model.realInputs[0];
  const t = v?.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  const dims = t?.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1)) ?? [-1, 3, -1, -1];
  return dims.map((d, i) => (d > 0 ? d : i === 0 ? 1 : i === 1 ? 3 : spatial));
}

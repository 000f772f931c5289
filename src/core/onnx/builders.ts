import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AT,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { DataType } from './tensor';

export type AttrValue = number | number[] | string | TensorProto | { float: number } | { floats: number[] };

/** Integers become INT/INTS attributes, `{float}`/`{floats}` force FLOAT(S); strings STRING. */
export function makeAttr(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(value) })
      : create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value });
  }
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: value.map((v) => BigInt(v)) });
  if ('float' in value) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value.float });
  if ('floats' in value) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: value.floats });
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: value });
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Record<string, AttrValue | undefined> = {},
  domain = '',
): NodeProto {
  const attribute = Object.entries(attrs)
    .filter((e): e is [string, AttrValue] => e[1] !== undefined)
    .map(([k, v]) => makeAttr(k, v));
  return create(NodeProtoSchema, { opType, input: inputs, output: outputs, name, attribute, domain });
}

/**
 * A value info with a name only, for exposing an inner tensor as a graph output: onnxruntime
 * infers its type, where a declared type that does not match (float for a Shape's int64) fails.
 */
export function namedValueInfo(name: string): ValueInfoProto {
  return create(ValueInfoProtoSchema, { name });
}

/** A tensor value info; a string dim is symbolic, a number fixed, undefined unknown. */
export function makeValueInfo(name: string, dims?: (number | string | undefined)[], elemType: number = DataType.FLOAT): ValueInfoProto {
  const shape = dims
    ? create(TensorShapeProtoSchema, {
        dim: dims.map((d) =>
          create(TensorShapeProto_DimensionSchema, {
            value:
              typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : typeof d === 'string' ? { case: 'dimParam', value: d } : { case: undefined },
          }),
        ),
      })
    : undefined;
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape }) } }),
  });
}

/** Shape of a value info: numbers for fixed dims, the symbol name for symbolic ones. */
export function valueInfoDims(v: ValueInfoProto): (number | string)[] | undefined {
  if (v.type?.value.case !== 'tensorType') return undefined;
  const shape = v.type.value.value.shape;
  if (!shape) return undefined;
  return shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?'));
}

export function valueInfoElemType(v: ValueInfoProto): number {
  return v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : 0;
}

export function makeModel(opts: {
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers?: TensorProto[];
  opset?: number;
  name?: string;
}): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'qubo-prune',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opts.opset ?? 17) })],
    graph: create(GraphProtoSchema, {
      name: opts.name ?? 'graph',
      node: opts.nodes,
      input: opts.inputs,
      output: opts.outputs,
      initializer: opts.initializers ?? [],
    }),
  });
}

import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataType, type TensorProto } from 'onnx-buf';
import { OnnxModelError } from './errors';

export const DataType = TensorProto_DataType;

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array;

/** A decoded tensor: dims as plain numbers (tensor sizes always fit), values as a typed array. */
export interface TensorData<A extends NumericArray = NumericArray> {
  dims: number[];
  dataType: number;
  data: A;
}

const BYTES: Partial<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.BOOL]: 1,
  [DataType.UINT16]: 2,
  [DataType.INT16]: 2,
  [DataType.FLOAT16]: 2,
};

export function dataTypeName(dt: number): string {
  return TensorProto_DataType[dt] ?? `type ${dt}`;
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function dimsOf(t: TensorProto): number[] {
  return t.dims.map((d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new OnnxModelError('bad-tensor', `tensor '${t.name}' has an invalid dimension ${d}`);
    return n;
  });
}

/**
 * Typed-array view over little-endian bytes. A view is only possible when the bytes are aligned
 * for the element size; protobuf hands out views into the file buffer at arbitrary offsets, so
 * unaligned data is copied once.
 */
function viewBytes(bytes: Uint8Array, dataType: number, count: number, name: string): NumericArray {
  const size = BYTES[dataType];
  if (size === undefined) throw new OnnxModelError('bad-tensor', `tensor '${name}' has unsupported data type ${dataTypeName(dataType)}`);
  if (bytes.byteLength !== count * size) {
    throw new OnnxModelError('bad-tensor', `tensor '${name}' holds ${bytes.byteLength} bytes, expected ${count * size} for its dims`);
  }
  let src = bytes;
  if (src.byteOffset % size !== 0) src = src.slice();
  const buf = src.buffer as ArrayBuffer;
  const off = src.byteOffset;
  switch (dataType) {
    case DataType.FLOAT:
      return new Float32Array(buf, off, count);
    case DataType.DOUBLE:
      return new Float64Array(buf, off, count);
    case DataType.INT32:
      return new Int32Array(buf, off, count);
    case DataType.INT64:
      return new BigInt64Array(buf, off, count);
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(buf, off, count);
    case DataType.INT8:
      return new Int8Array(buf, off, count);
    case DataType.UINT16:
    case DataType.FLOAT16:
      return new Uint16Array(buf, off, count);
    case DataType.INT16:
      return new Int16Array(buf, off, count);
  }
  throw new OnnxModelError('bad-tensor', `tensor '${name}' has unsupported data type ${dataTypeName(dataType)}`);
}

/** Resolves the bytes of an externally stored tensor; supplied by the model that owns the tensor. */
export type ExternalReader = (t: TensorProto) => Uint8Array;

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === 1;
}

/** Decodes a TensorProto into a typed array, reading raw_data, the typed fields, or external data. */
export function readTensor(t: TensorProto, external?: ExternalReader): TensorData {
  const dims = dimsOf(t);
  const count = elementCount(dims);
  const dt = t.dataType;
  if (isExternal(t)) {
    if (!external) throw new OnnxModelError('external-data', `tensor '${t.name}' is stored externally but no data file is available`);
    return { dims, dataType: dt, data: viewBytes(external(t), dt, count, t.name) };
  }
  if (t.rawData.byteLength > 0 || count === 0) return { dims, dataType: dt, data: viewBytes(t.rawData, dt, count, t.name) };
  const check = (len: number) => {
    if (len !== count) throw new OnnxModelError('bad-tensor', `tensor '${t.name}' holds ${len} values, expected ${count} for dims [${dims.join(',')}]`);
  };
  switch (dt) {
    case DataType.FLOAT:
      check(t.floatData.length);
      return { dims, dataType: dt, data: Float32Array.from(t.floatData) };
    case DataType.DOUBLE:
      check(t.doubleData.length);
      return { dims, dataType: dt, data: Float64Array.from(t.doubleData) };
    case DataType.INT64:
      check(t.int64Data.length);
      return { dims, dataType: dt, data: BigInt64Array.from(t.int64Data) };
    case DataType.INT32:
      check(t.int32Data.length);
      return { dims, dataType: dt, data: Int32Array.from(t.int32Data) };
    case DataType.UINT8:
    case DataType.BOOL:
      check(t.int32Data.length);
      return { dims, dataType: dt, data: Uint8Array.from(t.int32Data) };
    case DataType.INT8:
      check(t.int32Data.length);
      return { dims, dataType: dt, data: Int8Array.from(t.int32Data) };
    case DataType.FLOAT16:
    case DataType.UINT16:
      check(t.int32Data.length);
      return { dims, dataType: dt, data: Uint16Array.from(t.int32Data) };
    case DataType.INT16:
      check(t.int32Data.length);
      return { dims, dataType: dt, data: Int16Array.from(t.int32Data) };
  }
  throw new OnnxModelError('bad-tensor', `tensor '${t.name}' has unsupported data type ${dataTypeName(dt)}`);
}

function dataTypeOf(data: NumericArray): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Int16Array) return DataType.INT16;
  return DataType.UINT16;
}

/** Builds a TensorProto stored as raw_data (the compact, fast form). */
export function makeTensor(name: string, dims: readonly number[], data: NumericArray, dataType = dataTypeOf(data)): TensorProto {
  if (elementCount(dims) !== data.length) {
    throw new OnnxModelError('bad-tensor', `tensor '${name}': ${data.length} values do not fill dims [${dims.join(',')}]`);
  }
  const raw = new Uint8Array(data.byteLength);
  raw.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType, rawData: raw });
}

export function int64Tensor(name: string, values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): TensorProto {
  return makeTensor(name, dims, BigInt64Array.from(values.map((v) => BigInt(v))), DataType.INT64);
}

export function floatTensor(name: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): TensorProto {
  return makeTensor(name, dims, Float32Array.from(values), DataType.FLOAT);
}

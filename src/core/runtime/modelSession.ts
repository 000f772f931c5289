// Opening a session on a model built in memory (gradient models, gated models) whatever its size.
// protobuf, and so onnxruntime loading from bytes, cannot hold a message of 2 GiB or more; a model
// whose tensors reach that is written to a temporary folder with its large tensors in an external
// data file, and the session is opened from the path, which onnxruntime supports.
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';
import { isExternal, serializeModelProto, shallowMessage, type OnnxModel } from '../onnx';
import { openSession, type OpenedSession, type SessionOptions } from './session';

/** protobuf's limit on one message (onnxruntime refuses bytes at or above it). */
export const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;
/** Room left under the limit for everything that is not a tensor payload (nodes, names, shapes). */
const STRUCTURE_MARGIN_BYTES = 64 * 2 ** 20;
/** Tensors from this size up go to the data file (ONNX's own writer uses the same default). */
const EXTERNAL_MIN_BYTES = 1024;
/** Data-file offsets aligned to pages, so onnxruntime can map tensors instead of copying them. */
const ALIGN = 4096;

export interface ModelSessionOptions extends SessionOptions {
  /**
   * Largest estimated serialised size opened from bytes; above it the model goes through a
   * temporary file with external data. Defaults to protobuf's 2 GiB less a margin; tests pass a
   * small value.
   */
  inlineLimitBytes?: number;
}

export interface OpenedModelSession extends OpenedSession {
  /** Whether the model was written with external data (it exceeded the inline limit). */
  externalData: boolean;
  /** The temporary folder holding the written model, while the session is open. */
  folder?: string;
  /** Releases the session and removes the temporary folder, if one was written. */
  release(): Promise<void>;
}

/** Bytes of tensor payload in initializers and Constant nodes: what dominates a model's size. */
export function tensorPayloadBytes(proto: ModelProto): number {
  const size = (t: TensorProto) => t.rawData.byteLength + 4 * (t.floatData.length + t.int32Data.length) + 8 * (t.int64Data.length + t.doubleData.length + t.uint64Data.length);
  let total = 0;
  for (const t of proto.graph?.initializer ?? []) total += size(t);
  for (const n of proto.graph?.node ?? []) for (const a of n.attribute) if (a.t) total += size(a.t);
  return total;
}

export async function openModelSession(model: OnnxModel, opts: ModelSessionOptions = {}): Promise<OpenedModelSession> {
  const limit = opts.inlineLimitBytes ?? PROTOBUF_LIMIT_BYTES - STRUCTURE_MARGIN_BYTES;
  if (tensorPayloadBytes(model.proto) <= limit) {
    const opened = await openSession(model.toBytes(), opts);
    return { ...opened, externalData: false, release: () => opened.session.release() };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qubo-prune-model-'));
  try {
    const file = await writeWithExternalData(model, dir);
    const opened = await openSession(file, opts);
    return {
      ...opened,
      externalData: true,
      folder: dir,
      release: async () => {
        try {
          await opened.session.release();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Writes `model.onnx` and `model.onnx.data` into `dir`: every raw tensor of EXTERNAL_MIN_BYTES or
 * more is stored in the data file, page-aligned, and referenced by location/offset/length. The
 * model's own messages are not modified (shallow copies carry the references). Returns the model
 * file's path.
 */
export async function writeWithExternalData(model: OnnxModel, dir: string): Promise<string> {
  // A model that already reads external files gets them inlined first, so one data file holds all.
  const source = model.externalTensors().length > 0 ? model.clone() : model;
  const graph = shallowMessage(source.graph);
  const dataName = 'model.onnx.data';
  const handle = await open(path.join(dir, dataName), 'w');
  try {
    let offset = 0;
    const moved: TensorProto[] = [];
    for (const t of graph.initializer) {
      if (isExternal(t) || t.rawData.byteLength < EXTERNAL_MIN_BYTES) {
        moved.push(t);
        continue;
      }
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) await handle.write(new Uint8Array(pad), 0, pad, offset);
      offset += pad;
      // Large payloads are written in pieces: fs writes of 2 GiB or more fail on some platforms.
      for (let at = 0; at < t.rawData.byteLength; at += 2 ** 30) {
        const piece = t.rawData.subarray(at, Math.min(t.rawData.byteLength, at + 2 ** 30));
        await handle.write(piece, 0, piece.byteLength, offset + at);
      }
      const ref = shallowMessage(t);
      ref.rawData = new Uint8Array(0);
      ref.dataLocation = 1;
      ref.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: dataName }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(t.rawData.byteLength) }),
      ];
      moved.push(ref);
      offset += t.rawData.byteLength;
    }
    graph.initializer = moved;
  } finally {
    await handle.close();
  }
  const proto = shallowMessage(source.proto);
  proto.graph = graph;
  const file = path.join(dir, 'model.onnx');
  await writeFile(file, serializeModelProto(proto));
  return file;
}

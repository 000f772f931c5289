import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { OnnxModelError } from './errors';
import { DataType, isExternal, readTensor, makeTensor, type NumericArray, type TensorData } from './tensor';
import { writeFilesAtomic, type AtomicWriteOptions, type OutputFile } from '../util/atomicWrite';
import { refuseSourceOverwrite } from '../util/outputGuard';
import { assertRegularFile, FileReadError, readRegularFile, readRegularFileSync } from '../util/readRegularFile';
import { formatBytes, memoryLimit } from '../util/memory';
import { statSync } from 'node:fs';

/** Default-domain opsets this project's analysis and rewriting rules are written for. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 21;

export interface Consumer {
  node: NodeProto;
  /** Position of the tensor among the node's inputs. */
  inputIndex: number;
}

/**
 * A loaded ONNX model: the protobuf message plus the indexes the analysis needs (who produces and
 * who consumes each tensor) and decoded initializers. The proto stays the single source of truth;
 * edits go through the methods here so the indexes stay valid.
 */
export class OnnxModel {
  private tensorCache = new Map<string, TensorData>();
  private producerIndex?: Map<string, NodeProto>;
  private consumerIndex?: Map<string, Consumer[]>;
  private initIndex?: Map<string, TensorProto>;
  private externalFiles = new Map<string, Uint8Array>();

  constructor(
    readonly proto: ModelProto,
    /** Folder external data locations are relative to; undefined for in-memory models. */
    readonly baseDir?: string,
    /** Path the model was read from, if any. */
    readonly sourcePath?: string,
  ) {
    if (!proto.graph) throw new OnnxModelError('no-graph', 'the model has no graph');
    ensureNodeNames(proto.graph);
  }

  get graph(): GraphProto {
    return this.proto.graph!;
  }

  get nodes(): NodeProto[] {
    return this.graph.node;
  }

  /** Opset of the default ('' / 'ai.onnx') domain. */
  get opset(): number {
    const entry = this.proto.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    return entry ? Number(entry.version) : 0;
  }

  get inputNames(): string[] {
    const inits = this.initializers();
    return this.graph.input.map((v) => v.name).filter((n) => !inits.has(n));
  }

  get outputNames(): string[] {
    return this.graph.output.map((v) => v.name);
  }

  /** Input value infos that are real inputs (not initializers listed as inputs, as old exporters did). */
  get realInputs(): ValueInfoProto[] {
    const inits = this.initializers();
    return this.graph.input.filter((v) => !inits.has(v.name));
  }

  initializers(): Map<string, TensorProto> {
    if (!this.initIndex) this.initIndex = new Map(this.graph.initializer.map((t) => [t.name, t]));
    return this.initIndex;
  }

  producer(tensor: string): NodeProto | undefined {
    if (!this.producerIndex) this.buildIndexes();
    return this.producerIndex!.get(tensor);
  }

  consumers(tensor: string): Consumer[] {
    if (!this.consumerIndex) this.buildIndexes();
    return this.consumerIndex!.get(tensor) ?? [];
  }

  /** Call after editing graph nodes directly so the producer/consumer indexes are rebuilt. */
  invalidate(): void {
    this.producerIndex = undefined;
    this.consumerIndex = undefined;
    this.initIndex = undefined;
    this.tensorCache.clear();
  }

  private buildIndexes(): void {
    const prod = new Map<string, NodeProto>();
    const cons = new Map<string, Consumer[]>();
    for (const node of this.graph.node) {
      for (const out of node.output) if (out) prod.set(out, node);
      node.input.forEach((inp, inputIndex) => {
        if (!inp) return;
        let list = cons.get(inp);
        if (!list) cons.set(inp, (list = []));
        list.push({ node, inputIndex });
      });
    }
    this.producerIndex = prod;
    this.consumerIndex = cons;
  }

  isInitializer(name: string): boolean {
    return this.initializers().has(name);
  }

  /**
   * The value of a constant tensor: an initializer or the output of a Constant node. Returns
   * undefined for anything computed at run time.
   */
  constant(name: string): TensorData | undefined {
    const cached = this.tensorCache.get(name);
    if (cached) return cached;
    let data: TensorData | undefined;
    const init = this.initializers().get(name);
    if (init) data = readTensor(init, (t) => this.readExternal(t));
    else {
      const p = this.producer(name);
      if (p && p.opType === 'Constant') {
        const value = p.attribute.find((a) => a.name === 'value');
        if (value?.t) data = readTensor(value.t, (t) => this.readExternal(t));
        const vf = p.attribute.find((a) => a.name === 'value_float' || a.name === 'value_floats');
        if (vf) data = { dims: vf.name === 'value_float' ? [] : [vf.floats.length], dataType: 1, data: Float32Array.from(vf.name === 'value_float' ? [vf.f] : vf.floats) };
        const vi = p.attribute.find((a) => a.name === 'value_int' || a.name === 'value_ints');
        if (vi) data = { dims: vi.name === 'value_int' ? [] : [vi.ints.length], dataType: 7, data: BigInt64Array.from(vi.name === 'value_int' ? [vi.i] : vi.ints) };
      }
    }
    if (data) this.tensorCache.set(name, data);
    return data;
  }

  /** A float initializer as Float32Array; throws if absent or not float. */
  floatInitializer(name: string): TensorData<Float32Array> {
    const t = this.constant(name);
    if (!t) throw new OnnxModelError('bad-tensor', `'${name}' is not a constant tensor`);
    if (!(t.data instanceof Float32Array)) throw new OnnxModelError('bad-tensor', `'${name}' is not float32`);
    return t as TensorData<Float32Array>;
  }

  /** Replaces (or adds) an initializer, stored inline as raw data. */
  setInitializer(name: string, dims: readonly number[], data: NumericArray, dataType?: number): void {
    const t = makeTensor(name, dims, data, dataType);
    const g = this.graph;
    const i = g.initializer.findIndex((x) => x.name === name);
    if (i >= 0) g.initializer[i] = t;
    else g.initializer.push(t);
    this.initIndex?.set(name, t);
    this.tensorCache.delete(name);
  }

  removeInitializer(name: string): void {
    const g = this.graph;
    g.initializer = g.initializer.filter((t) => t.name !== name);
    g.input = g.input.filter((v) => v.name !== name);
    this.initIndex?.delete(name);
    this.tensorCache.delete(name);
  }

  node(name: string): NodeProto | undefined {
    return this.graph.node.find((n) => n.name === name);
  }

  private readExternal(t: TensorProto): Uint8Array {
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = info.get('location');
    if (!location) throw new OnnxModelError('external-data', `tensor '${t.name}' is external but names no location`);
    if (!this.baseDir) throw new OnnxModelError('external-data', `tensor '${t.name}' is stored in '${location}', but the model was not loaded from a file`);
    if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
      throw new OnnxModelError('external-data', `tensor '${t.name}': external data location '${location}' must be a relative path inside the model's folder`);
    }
    let file = this.externalFiles.get(location);
    if (!file) {
      const full = path.join(this.baseDir, location);
      assertInsideFolder(full, this.baseDir, location, t.name);
      try {
        file = plainBytes(readRegularFileSync(full));
      } catch (err) {
        if (err instanceof FileReadError && err.code === 'not-regular') {
          throw new OnnxModelError('external-data', `external data file '${full}' for tensor '${t.name}' is ${err.what}, not a regular file`);
        }
        throw new OnnxModelError('external-data', `cannot read external data file '${full}' for tensor '${t.name}': ${(err as Error).message}`);
      }
      this.externalFiles.set(location, file);
    }
    // ONNX writes these as decimal integers; Number() would also take '0x10', '1e3' or ' 12'.
    for (const key of ['offset', 'length']) {
      const v = info.get(key);
      if (v !== undefined && !/^[0-9]{1,16}$/.test(v)) throw new OnnxModelError('external-data', `tensor '${t.name}': external data ${key} '${v}' is not a whole number of bytes`);
    }
    const offset = Number(info.get('offset') ?? '0');
    const length = info.has('length') ? Number(info.get('length')) : file.byteLength - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= file.byteLength)) {
      throw new OnnxModelError('external-data', `tensor '${t.name}': bytes ${offset}..${offset + length} lie outside '${location}' (${file.byteLength} bytes)`);
    }
    return file.subarray(offset, offset + length);
  }

  /**
   * Refuses weights holding NaN or ±Inf. Such a model still prunes and saves without complaint,
   * so the damage would only show as a NaN statistic deep in the pipeline, or never; naming the
   * tensor here tells the user what is wrong. Tensors are decoded without caching, so a model that
   * is only analysed does not keep a second copy of its weights.
   */
  assertFiniteWeights(): void {
    const bad: { what: string; name: string; found: string }[] = [];
    const check = (what: string, name: string, t: TensorData) => {
      const found = countNonFinite(t);
      if (found) bad.push({ what, name, found });
    };
    for (const t of this.graph.initializer) {
      if (!FLOAT_TYPES.has(t.dataType)) continue;
      // Raw float32/float16 bytes are scanned where they lie: decoding copies every tensor
      // protobuf left unaligned, and VGG-16's 400 MB classifier matrix is one of them.
      const raw = rawFloatBytes(t, (x) => this.readExternal(x));
      if (raw) {
        const found = countNonFiniteBytes(raw, t.dataType);
        if (found) bad.push({ what: `initializer '${t.name}'`, name: t.name, found });
      } else check(`initializer '${t.name}'`, t.name, readTensor(t, (x) => this.readExternal(x)));
    }
    for (const node of this.graph.node) {
      if (node.opType !== 'Constant') continue;
      for (const a of node.attribute) {
        let t: TensorData | undefined;
        if (a.name === 'value' && a.t && FLOAT_TYPES.has(a.t.dataType)) t = readTensor(a.t, (x) => this.readExternal(x));
        else if (a.name === 'value_float') t = { dims: [], dataType: 1, data: Float32Array.of(a.f) };
        else if (a.name === 'value_floats') t = { dims: [a.floats.length], dataType: 1, data: Float32Array.from(a.floats) };
        if (t) check(`Constant node '${node.name}' (output '${node.output[0] ?? ''}')`, node.output[0] ?? node.name, t);
      }
    }
    if (bad.length === 0) return;
    const where = this.sourcePath ? ` in '${this.sourcePath}'` : '';
    const others = bad.slice(1).map((b) => `'${b.name}'`);
    const more = others.length === 0 ? '' : `; also ${others.slice(0, 3).join(', ')}${others.length > 3 ? ` and ${others.length - 3} more` : ''}`;
    throw new OnnxModelError('non-finite-weights', `${bad[0]!.what}${where} has ${bad[0]!.found}${more}; the model's weights are corrupt (re-export it from a healthy checkpoint)`);
  }

  /** Names of tensors whose data lives in external files. */
  externalTensors(): string[] {
    return this.graph.initializer.filter(isExternal).map((t) => t.name);
  }

  /** Deep copy: the clone can be edited without touching this model. External data is inlined. */
  clone(): OnnxModel {
    const copy = clone(ModelProtoSchema, this.proto);
    for (const t of copy.graph!.initializer) {
      if (isExternal(t)) inlineTensor(t, this.readExternal(t));
    }
    return new OnnxModel(copy, this.baseDir, this.sourcePath);
  }

  /**
   * A copy to build a new model from: the structure is deep-copied, but initializer bytes are
   * shared with this model (and external ones inlined as views of the data file) instead of
   * copied. Safe because this program never writes into a tensor's bytes: edits replace whole
   * initializers (setInitializer). For a 500 MB model this is the difference between one copy
   * of the weights and none.
   */
  deriveSharingWeights(): OnnxModel {
    const inits = this.graph.initializer;
    const raw = inits.map((t) => (Object.prototype.hasOwnProperty.call(t, 'rawData') ? t.rawData : undefined));
    let copy: ModelProto;
    // The bytes are detached while protobuf's clone runs (it would copy them), and put back
    // before anything else can look at this model: nothing here awaits.
    for (const t of inits) delete (t as { rawData?: Uint8Array }).rawData;
    try {
      copy = clone(ModelProtoSchema, this.proto);
    } finally {
      inits.forEach((t, i) => {
        if (raw[i] !== undefined) t.rawData = raw[i];
      });
    }
    copy.graph!.initializer.forEach((t, i) => {
      if (raw[i] !== undefined) t.rawData = raw[i];
      else if (isExternal(t)) inlineTensorView(t, this.readExternal(inits[i]!));
    });
    return new OnnxModel(copy, this.baseDir, this.sourcePath);
  }

  /** Serialises the model; external tensors are inlined so the bytes are self-contained. */
  toBytes(): Uint8Array {
    return this.toBytesWithGraph(this.graph);
  }

  /**
   * Serialises this model with `graph` in place of its own: a variant the caller built from
   * shallow copies (shallowMessage), e.g. with extra outputs, without copying the model.
   * External tensors are inlined, as in toBytes.
   */
  toBytesWithGraph(graph: GraphProto): Uint8Array {
    if (graph === this.graph && this.externalTensors().length === 0) return encodeModel(this.proto);
    return encodeModel(this.selfContainedProto(graph));
  }

  /**
   * The model message with external tensors inlined, as shallow copies whose bytes are views of
   * the data file: what toBytes needs, without the deep copy clone() would make.
   */
  private selfContainedProto(source: GraphProto): ModelProto {
    const graph = shallowCopy(source);
    graph.initializer = source.initializer.map((t) => {
      if (!isExternal(t)) return t;
      const view = shallowCopy(t);
      inlineTensorView(view, this.readExternal(t));
      return view;
    });
    const model = shallowCopy(this.proto);
    model.graph = graph;
    return model;
  }

  /** Absolute paths of the files this model's external tensors are read from. */
  externalDataFiles(): string[] {
    return externalFilesOf(this.proto, this.baseDir);
  }

  /**
   * Writes the model atomically. Tensors that were external stay external, in `<file>.data`
   * beside the output (written in the same all-or-nothing batch), so a big model never has to fit
   * in one buffer. Never onto the source model (unless allowed) or its data files.
   */
  async save(outPath: string, opts: { allowOverwriteSource?: boolean } & AtomicWriteOptions = {}): Promise<void> {
    const target = path.resolve(outPath);
    if (this.sourcePath && path.resolve(this.sourcePath) === target && !opts.allowOverwriteSource) {
      throw new OnnxModelError('overwrite-source', `refusing to overwrite the source model '${outPath}'; choose another output path`);
    }
    const files = this.encodeFiles(target);
    if (this.sourcePath) {
      await refuseSourceOverwrite({ model: this.sourcePath, externalData: this.externalDataFiles() }, files.map((f) => f.path), { allowModel: opts.allowOverwriteSource });
    }
    await writeFilesAtomic(files, opts);
  }

  /** The files `save(outPath)` writes: `<file>.data` first when tensors are external, then the model. */
  encodeFiles(outPath: string): OutputFile[] {
    const target = path.resolve(outPath);
    const external = this.externalTensors();
    if (external.length === 0) return [{ path: target, data: encodeModel(this.proto) }];
    const dataName = path.basename(target) + '.data';
    const copy = clone(ModelProtoSchema, this.proto);
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const t of copy.graph!.initializer) {
      if (!isExternal(t)) continue;
      const bytes = this.readExternal(t);
      // 4 KiB alignment lets readers map tensors directly, as ONNX's own writer does.
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      t.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: dataName }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(bytes.byteLength) }),
      ];
      chunks.push(bytes);
      offset += bytes.byteLength;
    }
    const data = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    return [
      { path: path.join(path.dirname(target), dataName), data },
      { path: target, data: encodeModel(copy) },
    ];
  }
}

/**
 * A relative location can still leave the model's folder through a symbolic link inside it (a
 * link to /etc/passwd, a linked sub-folder); where the bytes really are is what must lie inside.
 * A path that does not resolve, or is not a regular file, is left to the read, which names what is
 * wrong with it.
 */
function assertInsideFolder(full: string, baseDir: string, location: string, tensor: string): void {
  let real: string;
  let realBase: string;
  try {
    real = realpathSync(full);
    realBase = realpathSync(baseDir);
    // A device or FIFO is never read; the read refuses it, naming what it is.
    if (!statSync(real).isFile()) return;
  } catch {
    return;
  }
  const rel = path.relative(realBase, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new OnnxModelError('external-data', `tensor '${tensor}': external data location '${location}' leads to '${real}' through a symbolic link, outside the model's folder '${realBase}'; copy the data file next to the model`);
  }
}

function externalFilesOf(proto: ModelProto, baseDir: string | undefined): string[] {
  if (!baseDir) return [];
  const files = new Set<string>();
  for (const t of proto.graph?.initializer ?? []) {
    const location = isExternal(t) ? t.externalData.find((e) => e.key === 'location')?.value : undefined;
    if (location) files.add(path.resolve(baseDir, location));
  }
  return [...files];
}

/**
 * The external data files a model file refers to, for checking outputs before any work. Parses
 * the protobuf only; a file that cannot be read or parsed has none (loading it reports why).
 */
export async function externalDataFilesOf(modelPath: string): Promise<string[]> {
  try {
    const proto = fromBinary(ModelProtoSchema, plainBytes(await readRegularFile(modelPath)), { readUnknownFields: false });
    return externalFilesOf(proto, path.dirname(path.resolve(modelPath)));
  } catch {
    return [];
  }
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/** 'N NaN values (first at index i)'-style description of a float tensor's non-finite values, or undefined. */
function countNonFinite(t: TensorData): string | undefined {
  let nan = 0;
  let inf = 0;
  let first = -1;
  const a = t.data;
  if (t.dataType === DataType.FLOAT16) {
    const h = a as Uint16Array;
    for (let i = 0; i < h.length; i++) {
      const u = h[i]!;
      if ((u & 0x7c00) !== 0x7c00) continue;
      if (u & 0x3ff) nan++;
      else inf++;
      if (first < 0) first = i;
    }
  } else {
    const f = a as Float32Array | Float64Array;
    for (let i = 0; i < f.length; i++) {
      const v = f[i]!;
      // v - v is 0 for every finite value and NaN for NaN and ±Inf: one test per element.
      if (v - v === 0) continue;
      if (v !== v) nan++;
      else inf++;
      if (first < 0) first = i;
    }
  }
  if (first < 0) return undefined;
  return describeNonFinite(nan, inf, first);
}

function describeNonFinite(nan: number, inf: number, first: number): string {
  const plural = (n: number, what: string) => `${n} ${what} value${n === 1 ? '' : 's'}`;
  const parts = [nan ? plural(nan, 'NaN') : '', inf ? plural(inf, 'infinite (Inf)') : ''].filter(Boolean);
  return `${parts.join(' and ')} (first at index ${first})`;
}

/**
 * The little-endian bytes of a float32 or float16 tensor stored raw (inline or external) whose
 * size matches its dims; undefined otherwise (readTensor then decodes it, or names the problem).
 */
function rawFloatBytes(t: TensorProto, external: (t: TensorProto) => Uint8Array): Uint8Array | undefined {
  const size = t.dataType === DataType.FLOAT ? 4 : t.dataType === DataType.FLOAT16 ? 2 : 0;
  if (!size) return undefined;
  const bytes = isExternal(t) ? external(t) : t.rawData;
  if (bytes.byteLength === 0) return undefined;
  let count = 1;
  for (const d of t.dims) count *= Number(d);
  return bytes.byteLength === count * size ? bytes : undefined;
}

/** countNonFinite over raw little-endian bytes, testing the exponent bits without decoding. */
function countNonFiniteBytes(b: Uint8Array, dataType: number): string | undefined {
  let nan = 0;
  let inf = 0;
  let first = -1;
  if (dataType === DataType.FLOAT16) {
    for (let i = 0; i + 1 < b.length; i += 2) {
      if ((b[i + 1]! & 0x7c) !== 0x7c) continue;
      if ((b[i + 1]! & 0x03) | b[i]!) nan++;
      else inf++;
      if (first < 0) first = i / 2;
    }
  } else {
    for (let i = 0; i + 3 < b.length; i += 4) {
      if ((b[i + 3]! & 0x7f) !== 0x7f || (b[i + 2]! & 0x80) === 0) continue;
      if ((b[i + 2]! & 0x7f) | b[i + 1]! | b[i]!) nan++;
      else inf++;
      if (first < 0) first = i / 4;
    }
  }
  if (first < 0) return undefined;
  return describeNonFinite(nan, inf, first);
}

function inlineTensor(t: TensorProto, bytes: Uint8Array): void {
  t.rawData = bytes.slice();
  t.dataLocation = 0;
  t.externalData = [];
}

/**
 * A plain Uint8Array over a file's Buffer, sharing its memory. `new Uint8Array(buffer)` copied
 * the whole file (a second 500 MB for a big model); a plain view matters because Buffer's own
 * slice() shares memory, where tensor decoding relies on slice() copying.
 */
function plainBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function inlineTensorView(t: TensorProto, bytes: Uint8Array): void {
  t.rawData = bytes as Uint8Array<ArrayBuffer>;
  t.dataLocation = 0;
  t.externalData = [];
}

/**
 * A copy of a message's own fields, sharing their values. Generated proto2 messages keep field
 * presence as own properties and defaults on their prototype, so both are carried over.
 */
function shallowCopy<T extends object>(msg: T): T {
  return Object.assign(Object.create(Object.getPrototypeOf(msg) as object) as T, msg);
}

export { shallowCopy as shallowMessage };

/** Tensor payloads from this size up are copied straight into the output (see encodeModel). */
const SPLICE_MIN_BYTES = 64 * 1024;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** Tag and length prefix of a length-delimited field. */
function lengthPrefix(field: number, length: number): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(length)]);
}

/**
 * Serialises a model with every large initializer's bytes copied once, straight into an output
 * buffer of the exact size. protobuf's writer grows its buffer by doubling and copies the result
 * out at the end, so a 500 MB model briefly took 1.5 GB or more on top of the model itself. The
 * bytes are the same fields as toBinary's, with the graph (ModelProto field 7), a graph's
 * initializers (GraphProto 5) and a tensor's raw_data (TensorProto 9) written after their
 * siblings: protobuf readers accept fields in any order, and ONNX attaches no meaning to it.
 */
function encodeModel(proto: ModelProto): Uint8Array {
  const graph = proto.graph;
  if (!graph || !graph.initializer.some((t) => t.rawData.byteLength >= SPLICE_MIN_BYTES)) return toBinary(ModelProtoSchema, proto);
  const parts: Uint8Array[] = [];
  let graphLength = 0;
  const graphHead = shallowCopy(graph);
  graphHead.initializer = [];
  const head = toBinary(GraphProtoSchema, graphHead);
  parts.push(head);
  graphLength += head.byteLength;
  for (const t of graph.initializer) {
    const pieces: Uint8Array[] = [];
    if (t.rawData.byteLength >= SPLICE_MIN_BYTES) {
      const rest = shallowCopy(t);
      delete (rest as { rawData?: Uint8Array }).rawData;
      pieces.push(toBinary(TensorProtoSchema, rest), lengthPrefix(9, t.rawData.byteLength), t.rawData);
    } else {
      pieces.push(toBinary(TensorProtoSchema, t));
    }
    const length = pieces.reduce((s, p) => s + p.byteLength, 0);
    const prefix = lengthPrefix(5, length);
    parts.push(prefix, ...pieces);
    graphLength += prefix.byteLength + length;
  }
  const modelHead = shallowCopy(proto);
  delete (modelHead as { graph?: GraphProto }).graph;
  const top = [toBinary(ModelProtoSchema, modelHead), lengthPrefix(7, graphLength)];
  const total = top[0]!.byteLength + top[1]!.byteLength + graphLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of [...top, ...parts]) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function ensureNodeNames(graph: GraphProto): void {
  // Analysis results refer to nodes by name, so every node needs a unique one.
  const used = new Set<string>();
  graph.node.forEach((n, i) => {
    let name = n.name || `${n.opType}_${i}`;
    for (let k = 1; used.has(name); k++) name = `${n.name || `${n.opType}_${i}`}_${k}`;
    used.add(name);
    n.name = name;
  });
}

/** Serialises a model message as it is, external references included. */
export function serializeModelProto(proto: ModelProto): Uint8Array {
  return encodeModel(proto);
}

/** Parses model bytes; `baseDir` is where external data files are looked up. */
export function parseModel(bytes: Uint8Array, baseDir?: string, sourcePath?: string): OnnxModel {
  const label = sourcePath ? `'${sourcePath}'` : 'the model';
  if (bytes.byteLength === 0) throw new OnnxModelError('empty', `${label} is empty (0 bytes)`);
  const looksLike = sniffOtherFormat(bytes);
  if (looksLike) throw new OnnxModelError('not-onnx', `${label} is not an ONNX model: it looks like ${looksLike}`);
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: true });
  } catch (err) {
    const msg = (err as Error).message;
    if (/premature EOF|out of range|index out of range|invalid varint|unexpected end/i.test(msg)) {
      throw new OnnxModelError('truncated', `${label} is truncated or damaged: the protobuf data ends early (${msg})`);
    }
    throw new OnnxModelError('not-onnx', `${label} is not an ONNX model: ${msg}`);
  }
  if (!proto.graph || proto.irVersion === 0n) {
    throw new OnnxModelError('not-onnx', `${label} is not an ONNX model (no IR version or graph found)`);
  }
  if (proto.graph.node.length === 0) throw new OnnxModelError('not-onnx', `${label} has an empty graph`);
  checkStructure(proto.graph, label);
  const model = new OnnxModel(proto, baseDir, sourcePath);
  const opset = model.opset;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxModelError(
      'unsupported-opset',
      `${label} uses ONNX opset ${opset || '(none)'}; supported opsets are ${MIN_OPSET}–${MAX_OPSET}. Convert it with onnx.version_converter first.`,
    );
  }
  for (const node of proto.graph.node) {
    if (node.domain && node.domain !== 'ai.onnx') {
      const imported = proto.opsetImport.some((o) => o.domain === node.domain);
      if (!imported) throw new OnnxModelError('unsupported-opset', `${label}: node '${node.name}' uses domain '${node.domain}', which the model does not import`);
    }
  }
  return model;
}

const MAGIC: [number[], string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (a PyTorch .pt checkpoint?)'],
  [[0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 'an HDF5 file (a Keras .h5 model?)'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x1f, 0x8b], 'a gzip-compressed file'],
];

/**
 * Protobuf decoding of an arbitrary file fails in ways that read like damage ("premature EOF"),
 * so files that are plainly something else are named before decoding. A real ONNX model cannot
 * pass the text test: its first field tags and length prefixes are control bytes.
 */
function sniffOtherFormat(bytes: Uint8Array): string | undefined {
  for (const [magic, what] of MAGIC) if (bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)) return what;
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3') return 'a TensorFlow Lite model';
  let sample = bytes.subarray(0, 4096);
  for (const b of sample) if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return undefined;
  // A multi-byte character cut by the sample's end is still text.
  if (sample.length < bytes.length) {
    let cut = sample.length;
    while (cut > 0 && cut > sample.length - 4 && (sample[cut - 1]! & 0xc0) === 0x80) cut--;
    if (cut > 0 && sample[cut - 1]! >= 0xc0) cut--;
    sample = sample.subarray(0, cut);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(sample);
  } catch {
    return undefined;
  }
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('{') || start.startsWith('[')) return 'a JSON file';
  if (start.startsWith('<')) return 'an XML or HTML file';
  if (start.startsWith('version https://git-lfs')) return 'a Git LFS pointer (run `git lfs pull` to fetch the real file)';
  return 'a text file';
}

/**
 * A file cut short can still decode if the cut falls on a field boundary; the graph is then
 * missing nodes or initializers. Check that every consumed tensor has a source.
 */
function checkStructure(graph: GraphProto, label: string): void {
  if (graph.output.length === 0) throw new OnnxModelError('invalid-graph', `${label} is not a valid ONNX graph: it declares no outputs`);
  // ONNX graphs assign every tensor once; with two definitions the analysis and onnxruntime
  // would each pick one, and the pruned model would not match the one that was analysed.
  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (!name) return;
    if (defined.has(name)) throw new OnnxModelError('invalid-graph', `${label} is not a valid ONNX graph: tensor '${name}' is defined twice (again as ${what})`);
    defined.add(name);
  };
  for (const t of graph.initializer) define(t.name, 'an initializer');
  const inits = new Set(defined);
  for (const v of graph.input) if (!inits.has(v.name)) define(v.name, 'a graph input');
  for (const node of graph.node) for (const o of node.output) define(o, `an output of node '${node.name || node.opType}'`);
  const known = new Set<string>([...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  for (const node of graph.node) for (const o of node.output) if (o) known.add(o);
  const missing: string[] = [];
  for (const node of graph.node) for (const i of node.input) if (i && !known.has(i) && !node.opType.startsWith('If')) missing.push(i);
  for (const o of graph.output) if (!known.has(o.name)) missing.push(o.name);
  if (missing.length > 0) {
    const list = [...new Set(missing)].slice(0, 5).join(', ');
    throw new OnnxModelError('truncated', `${label} is incomplete (truncated?): tensors used but never defined: ${list}`);
  }
}

/**
 * Peak memory of a command, as a multiple of the model's bytes (file plus external data), that a
 * model must fit before it is read: measured on VGG-16 and ResNet-50 (docs/RELIABILITY.md, "Big
 * models"), analysis peaks near 2.4× and data-free pruning near 3.6×, plus the runtime's own
 * ~150 MB. 3× refuses only models that cannot even be analysed.
 */
export const MODEL_MEMORY_FACTOR = 3;
const RUNTIME_BYTES = 150 * 1024 ** 2;

/**
 * Refuses a model whose working set cannot fit the memory this process can count on, so the user
 * gets a message instead of a process killed by the OS midway (with no output and no reason).
 */
function checkModelFitsMemory(label: string, fileBytes: number, externalBytes: number): void {
  const total = fileBytes + externalBytes;
  const need = total * MODEL_MEMORY_FACTOR + RUNTIME_BYTES;
  const limit = memoryLimit();
  if (need <= limit.bytes) return;
  const size = externalBytes > 0 ? `${formatBytes(total)} with its external data` : formatBytes(total);
  throw new OnnxModelError(
    'too-large-for-memory',
    `model ${label} (${size}) is too large for the memory available: working on it takes about ${formatBytes(need)} (${MODEL_MEMORY_FACTOR}× its size plus the runtime), and only ${formatBytes(limit.bytes)} is available (${limit.source}); free memory or use a machine with more`,
  );
}

/** Reads an ONNX file (and its external data, on demand). */
export async function loadModel(filePath: string): Promise<OnnxModel> {
  let bytes: Uint8Array;
  try {
    // Before the read: the file alone may be what does not fit.
    const size = assertRegularFile(filePath).size;
    checkModelFitsMemory(`'${filePath}'`, size, 0);
    bytes = plainBytes(await readRegularFile(filePath));
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.code === 'missing') throw new OnnxModelError('file-not-found', `model file '${filePath}' does not exist`);
    if (err.code === 'directory') throw new OnnxModelError('io', `'${filePath}' is a folder, not a model file`);
    if (err.code === 'not-regular') throw new OnnxModelError('not-regular-file', `model path '${filePath}' is ${err.what}, not a regular file; give the path of an .onnx file`);
    throw new OnnxModelError('io', `cannot read model '${filePath}': ${err.message}`);
  }
  const model = parseModel(bytes, path.dirname(path.resolve(filePath)), filePath);
  // External data is read on demand (the finiteness check below reads all of it), so its size is
  // checked here, once the model says which files it uses.
  const external = model.externalDataFiles();
  if (external.length > 0) {
    let externalBytes = 0;
    for (const f of external) {
      try {
        externalBytes += statSync(f).size;
      } catch {
        // Missing or unreadable: reading it reports why, by name.
      }
    }
    checkModelFitsMemory(`'${filePath}'`, bytes.byteLength, externalBytes);
  }
  // Here rather than in parseModel: every command reaches a model through loadModel, while
  // in-memory models are built by this program (or by tests that corrupt weights on purpose).
  model.assertFiniteWeights();
  return model;
}

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? Number(a.i) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? a.ints.map((v) => Number(v)) : undefined;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? a.f : fallback;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attr(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

// Model cases: raw byte damage ('model-bytes'), protobuf-aware edits that keep the file decodable
// but break the graph ('model-structure'), and external-data references and files
// ('external-data').
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';
import type { Rng } from '../../src/core/util/rng';
import { FIXTURES, pick, weighted, type CaseInput, type CaseMaker } from './cases';
import { encodeVarint, fieldBoundaries, modelSpans } from './protobufWalk';

const MODELS = [
  { file: 'halfunet.onnx', task: 'denoise' },
  { file: 'classifier.onnx', task: 'classify' },
] as const;

const bytesCache = new Map<string, Uint8Array>();
function fixtureBytes(file: string): Uint8Array {
  let b = bytesCache.get(file);
  if (!b) bytesCache.set(file, (b = new Uint8Array(readFileSync(path.join(FIXTURES, file)))));
  return b;
}

const protoCache = new Map<string, ModelProto>();
function fixtureProto(file: string): ModelProto {
  let p = protoCache.get(file);
  if (!p) protoCache.set(file, (p = fromBinary(ModelProtoSchema, fixtureBytes(file))));
  return clone(ModelProtoSchema, p);
}

function writeModel(dir: string, name: string, bytes: Uint8Array, task: 'denoise' | 'classify'): CaseInput {
  const model = path.join(dir, name);
  writeFileSync(model, bytes);
  return { kind: 'model', model, task };
}

// ---------------------------------------------------------------------------------------------
// model-bytes

/** All truncation points of both fixtures, in a fixed order: index k of the family's truncation cases takes one. */
let boundaryList: { file: string; task: 'denoise' | 'classify'; at: number }[] | undefined;
function boundaries() {
  boundaryList ??= MODELS.flatMap((m) => fieldBoundaries(fixtureBytes(m.file)).map((at) => ({ file: m.file, task: m.task, at })));
  return boundaryList;
}

/** How many truncation-at-a-boundary cases it takes to cover every boundary once. */
export function boundaryCount(): number {
  return boundaries().length;
}

function byteMutation(rng: Rng, src: Uint8Array): { name: string; bytes: Uint8Array } {
  const b = src.slice();
  const kind = weighted(rng, [
    [4, 'bitflip'],
    [2, 'overwrite'],
    [2, 'truncate'],
    [3, 'inflate-length'],
    [1, 'bad-varint'],
    [1, 'wire-type'],
    [2, 'splice'],
    [1, 'whole'],
  ] as const);
  switch (kind) {
    case 'bitflip': {
      const n = 1 + rng.nextInt(16);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = rng.nextInt(b.length);
        b[p]! ^= 1 << rng.nextInt(8);
        at.push(p);
      }
      return { name: `${n} bit flip(s) at ${at.slice(0, 4).join(',')}${n > 4 ? ',…' : ''}`, bytes: b };
    }
    case 'overwrite': {
      const p = rng.nextInt(b.length);
      const n = 1 + rng.nextInt(64);
      const v = pick(rng, [0x00, 0xff, -1]);
      for (let i = p; i < Math.min(b.length, p + n); i++) b[i] = v < 0 ? rng.nextInt(256) : v;
      return { name: `${n} bytes at ${p} set to ${v < 0 ? 'random' : v}`, bytes: b };
    }
    case 'truncate': {
      const p = rng.nextInt(b.length);
      return { name: `truncated at random offset ${p}`, bytes: b.subarray(0, p) };
    }
    case 'inflate-length': {
      // A length prefix claiming far more than the file holds: must be refused, not allocated.
      const spans = modelSpans(src).filter((s) => s.lenAt >= 0);
      const s = pick(rng, spans);
      const claim = pick(rng, [2 ** 31 - 1, 2 ** 32 + 5, 2 ** 40, 2 ** 53 - 1, s.end - s.dataStart + 1 + rng.nextInt(1000)]);
      const out = new Uint8Array([...src.subarray(0, s.lenAt), ...encodeVarint(claim), ...src.subarray(s.dataStart)]);
      return { name: `length prefix of field ${s.field} at ${s.lenAt} claims ${claim} bytes`, bytes: out };
    }
    case 'bad-varint': {
      const s = pick(rng, modelSpans(src));
      const out = new Uint8Array([...src.subarray(0, s.start), ...new Array(11).fill(0xff), ...src.subarray(s.start)]);
      return { name: `11-byte varint at ${s.start}`, bytes: out };
    }
    case 'wire-type': {
      const s = pick(rng, modelSpans(src));
      b[s.start] = (b[s.start]! & ~7) | pick(rng, [0, 1, 2, 3, 4, 5, 6, 7]);
      return { name: `wire type of field ${s.field} at ${s.start} changed to ${b[s.start]! & 7}`, bytes: b };
    }
    case 'splice': {
      const p = rng.nextInt(b.length);
      const n = 1 + rng.nextInt(256);
      const how = pick(rng, ['delete', 'duplicate', 'insert'] as const);
      if (how === 'delete') return { name: `${n} bytes deleted at ${p}`, bytes: new Uint8Array([...b.subarray(0, p), ...b.subarray(p + n)]) };
      if (how === 'duplicate') return { name: `${n} bytes duplicated at ${p}`, bytes: new Uint8Array([...b.subarray(0, p + n), ...b.subarray(p, p + n), ...b.subarray(p + n)]) };
      const ins = Array.from({ length: n }, () => rng.nextInt(256));
      return { name: `${n} random bytes inserted at ${p}`, bytes: new Uint8Array([...b.subarray(0, p), ...ins, ...b.subarray(p)]) };
    }
    case 'whole': {
      const w = pick(rng, ['empty', 'one byte', 'zeros', 'random', 'garbage appended', 'doubled'] as const);
      const rand = (n: number) => Uint8Array.from({ length: n }, () => rng.nextInt(256));
      const bytes =
        w === 'empty' ? new Uint8Array(0)
        : w === 'one byte' ? Uint8Array.of(rng.nextInt(256))
        : w === 'zeros' ? new Uint8Array(b.length)
        : w === 'random' ? rand(1 + rng.nextInt(4096))
        : w === 'garbage appended' ? new Uint8Array([...b, ...rand(1 + rng.nextInt(512))])
        : new Uint8Array([...b, ...b]);
      return { name: `whole file: ${w}`, bytes };
    }
  }
}

export const modelBytes: CaseMaker = (rng, index) => {
  // Every third case truncates at a field boundary; a stride coprime with the count walks all of
  // them once before repeating, so a large run covers every boundary of both fixtures.
  if (index % 3 === 0) {
    const all = boundaries();
    let stride = 37;
    while (gcd(stride, all.length) !== 1) stride++;
    const b = all[((index / 3) * stride) % all.length]!;
    return {
      name: `${b.file} truncated at field boundary ${b.at}`,
      build: (dir) => writeModel(dir, b.file, fixtureBytes(b.file).subarray(0, b.at), b.task),
    };
  }
  const m = pick(rng, MODELS);
  const { name, bytes } = byteMutation(rng, fixtureBytes(m.file));
  return { name: `${m.file}: ${name}`, build: (dir) => writeModel(dir, m.file, bytes, m.task) };
};

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

// ---------------------------------------------------------------------------------------------
// model-structure

const HUGE_DIMS: bigint[][] = [[1_000_000_000_000n], [1_000_000n, 1_000_000n], [2n ** 40n, 3n, 3n, 3n], [2n ** 62n], [-1n, 3n, 3n, 3n], [0n, 3n, 3n, 3n], [2n ** 53n + 1n]];

function floatInits(p: ModelProto): TensorProto[] {
  return p.graph!.initializer.filter((t) => t.dataType === 1 && t.rawData.byteLength >= 4);
}

function setFloat(t: TensorProto, i: number, v: number): void {
  const raw = t.rawData.slice();
  new DataView(raw.buffer).setFloat32(i * 4, v, true);
  t.rawData = raw;
}

function convNodes(p: ModelProto): NodeProto[] {
  return p.graph!.node.filter((n) => n.opType === 'Conv');
}

function setAttrInts(n: NodeProto, name: string, ints: bigint[]): void {
  n.attribute = n.attribute.filter((a) => a.name !== name);
  n.attribute.push(create(AttributeProtoSchema, { name, type: 7, ints }));
}

function setAttrInt(n: NodeProto, name: string, i: bigint): void {
  n.attribute = n.attribute.filter((a) => a.name !== name);
  n.attribute.push(create(AttributeProtoSchema, { name, type: 2, i }));
}

type StructEdit = (p: ModelProto, rng: Rng) => string;

const STRUCT_EDITS: [number, StructEdit][] = [
  [3, (p, rng) => {
    const t = pick(rng, p.graph!.initializer);
    const dims = Array.from({ length: rng.nextInt(6) }, () => BigInt(pick(rng, [0, 1, 2, 3, 7, 31, 32, 33, 64, 1_000_000])));
    t.dims = dims;
    return `initializer '${t.name}' dims set to [${dims.join(',')}]`;
  }],
  [3, (p, rng) => {
    const t = pick(rng, p.graph!.initializer);
    t.dims = pick(rng, HUGE_DIMS);
    return `initializer '${t.name}' declares dims [${t.dims.join(',')}] with ${t.rawData.byteLength} bytes of data`;
  }],
  [3, (p, rng) => {
    const t = pick(rng, p.graph!.initializer);
    t.dataType = pick(rng, [0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16, 17, 999]);
    return `initializer '${t.name}' data type set to ${t.dataType}`;
  }],
  [2, (p, rng) => {
    // The same values moved from raw_data into float_data, with one value too many or too few.
    const t = pick(rng, floatInits(p));
    const f = new Float32Array(t.rawData.slice().buffer);
    const extra = pick(rng, [-1, 0, 1]);
    t.floatData = Array.from(extra < 0 ? f.subarray(1) : extra > 0 ? [...f, 0.5] : f);
    t.rawData = new Uint8Array(0);
    return `initializer '${t.name}' stored as float_data with ${extra >= 0 ? '+' : ''}${extra} values`;
  }],
  [3, (p, rng) => {
    const n = pick(rng, p.graph!.node.filter((x) => x.input.length > 0));
    const k = rng.nextInt(n.input.length);
    n.input[k] = pick(rng, ['does_not_exist', '', 'x'.repeat(300), n.input[k] + '_']);
    return `node '${n.name}' input ${k} renamed to a dangling '${n.input[k]!.slice(0, 20)}'`;
  }],
  [3, (p, rng) => {
    // A cycle: an early node reads the output of a later one (or its own).
    const nodes = p.graph!.node;
    const i = rng.nextInt(nodes.length);
    const j = i + rng.nextInt(nodes.length - i);
    const a = nodes[i]!;
    if (a.input.length === 0) a.input.push('');
    a.input[0] = nodes[j]!.output[0]!;
    return `cycle: node ${i} '${a.name}' reads the output of node ${j} '${nodes[j]!.name}'`;
  }],
  [2, (p, rng) => {
    const inits = p.graph!.initializer;
    const a = pick(rng, inits);
    const b = pick(rng, inits);
    const copy = clone(TensorProtoSchema, a);
    copy.name = b.name;
    if (rng.next() < 0.5) inits.push(copy);
    else inits.unshift(copy);
    return `duplicate initializer name '${b.name}' (second holds '${a.name}')`;
  }],
  [2, (p, rng) => {
    const nodes = p.graph!.node;
    const a = pick(rng, nodes);
    const b = pick(rng, nodes);
    b.output[0] = a.output[0]!;
    return `nodes '${a.name}' and '${b.name}' write the same output '${a.output[0]}'`;
  }],
  [1, (p) => {
    for (const n of p.graph!.node) n.name = 'same';
    return 'every node named "same"';
  }],
  [1, (p, rng) => {
    const a = pick(rng, p.graph!.node);
    const init = pick(rng, p.graph!.initializer);
    a.output[0] = init.name;
    return `node '${a.name}' writes initializer '${init.name}'`;
  }],
  [4, (p, rng) => {
    const t = pick(rng, floatInits(p));
    const v = pick(rng, [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45, 0]);
    const n = t.rawData.byteLength / 4;
    const i = rng.nextInt(n);
    setFloat(t, i, v);
    return `initializer '${t.name}'[${i}] = ${v}`;
  }],
  [1, (p, rng) => {
    const t = pick(rng, floatInits(p));
    const n = t.rawData.byteLength / 4;
    for (let i = 0; i < n; i++) setFloat(t, i, pick(rng, [0, 1e30, -1e30]));
    return `initializer '${t.name}' filled with zeros and ±1e30`;
  }],
  [3, (p, rng) => {
    const v = pick(rng, [1, 99, 0, 10, 22, -1, 2 ** 40]);
    const what = pick(rng, ['set', 'remove', 'add-domain'] as const);
    if (what === 'remove') {
      p.opsetImport = p.opsetImport.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx');
      return 'default opset import removed';
    }
    if (what === 'add-domain') {
      const n = pick(rng, p.graph!.node);
      n.domain = pick(rng, ['com.example', 'ai.onnx.ml', 'com.microsoft']);
      if (rng.next() < 0.5) p.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: n.domain, version: 1n }));
      return `node '${n.name}' moved to domain '${n.domain}'`;
    }
    for (const o of p.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(v);
    return `opset ${v}`;
  }],
  [3, (p, rng) => {
    const input = p.graph!.input.find((v) => !p.graph!.initializer.some((t) => t.name === v.name))!;
    const t = input.type?.value;
    if (t?.case !== 'tensorType') return 'input has no tensor type (unchanged)';
    const what = pick(rng, ['huge', 'zero', 'negative', 'rank', 'elem', 'none'] as const);
    if (what === 'elem') {
      t.value.elemType = pick(rng, [0, 7, 8, 10, 11, 999]);
      return `input elem type ${t.value.elemType}`;
    }
    if (what === 'none') {
      t.value.shape = undefined;
      return 'input shape removed';
    }
    const dims = t.value.shape!.dim;
    if (what === 'rank') {
      const r = pick(rng, [0, 1, 2, 3, 5]);
      dims.splice(r);
      while (dims.length < r) dims.push(clone(TensorShapeProto_DimensionSchema, dims[0]!));
      return `input rank ${r}`;
    }
    // 4096 is big but runs; 1e9 and 2^40 must be refused before anything is allocated. (A
    // 128×100000 input passes the memory check and then takes minutes of CPU: see RELIABILITY.md.)
    const v = what === 'huge' ? pick(rng, [4096n, 1_000_000_000n, 2n ** 40n]) : what === 'zero' ? 0n : -5n;
    const k = 1 + rng.nextInt(dims.length - 1);
    dims[k]!.value = { case: 'dimValue', value: v };
    return `input dim ${k} = ${v}`;
  }],
  [2, (p, rng) => {
    const nodes = p.graph!.node;
    const i = rng.nextInt(nodes.length);
    const [n] = nodes.splice(i, 1);
    return `node ${i} '${n!.name}' (${n!.opType}) removed`;
  }],
  [2, (p, rng) => {
    const n = pick(rng, p.graph!.node);
    const was = n.opType;
    n.opType = pick(rng, ['Relu', 'Conv', 'Gemm', 'Loop', 'NoSuchOp', '', 'Add', 'Concat', 'Reshape']);
    return `node '${n.name}' op ${was} → '${n.opType}'`;
  }],
  [4, (p, rng) => {
    const n = pick(rng, convNodes(p));
    const what = pick(rng, ['kernel', 'strides', 'pads', 'group', 'dilations', 'drop'] as const);
    if (what === 'kernel') setAttrInts(n, 'kernel_shape', pick(rng, [[0n, 0n], [5n, 5n], [3n], [2n ** 40n, 1n]]));
    else if (what === 'strides') setAttrInts(n, 'strides', pick(rng, [[0n, 0n], [-1n, 1n], [100000n, 1n]]));
    else if (what === 'pads') setAttrInts(n, 'pads', pick(rng, [[-1n, -1n, -1n, -1n], [1n, 1n], [10000n, 0n, 0n, 0n]]));
    else if (what === 'group') setAttrInt(n, 'group', pick(rng, [0n, -1n, 3n, 1_000_000_000n]));
    else if (what === 'dilations') setAttrInts(n, 'dilations', pick(rng, [[0n, 0n], [1000n, 1000n]]));
    else n.attribute = [];
    return `Conv '${n.name}': ${what} changed`;
  }],
  [2, (p, rng) => {
    const g = p.graph!;
    const what = pick(rng, ['drop-outputs', 'bogus-output', 'dup-output', 'dup-input', 'no-inputs'] as const);
    if (what === 'drop-outputs') g.output = [];
    else if (what === 'bogus-output') {
      const o = clone(ValueInfoProtoSchema, g.output[0]!);
      o.name = 'nowhere';
      g.output.push(o);
    }
    else if (what === 'dup-output') g.output.push(g.output[0]!);
    else if (what === 'dup-input') g.input.push(g.input[0]!);
    else g.input = [];
    return `graph ${what}`;
  }],
  [2, (p, rng) => {
    // Inputs of a node swapped (data ↔ weight): every shape downstream is wrong.
    const n = pick(rng, p.graph!.node.filter((x) => x.input.length >= 2));
    const [a, b] = [rng.nextInt(n.input.length), rng.nextInt(n.input.length)];
    [n.input[a], n.input[b]] = [n.input[b]!, n.input[a]!];
    return `node '${n.name}' inputs ${a} and ${b} swapped`;
  }],
  [2, (p, rng) => {
    // A bias one channel short, values consistent with its dims.
    const withBias = convNodes(p).filter((n) => n.input.length > 2);
    if (withBias.length === 0) return 'no Conv with a bias (unchanged)';
    const t = p.graph!.initializer.find((x) => x.name === pick(rng, withBias).input[2]);
    if (!t) return 'no bias (unchanged)';
    t.dims = [t.dims[0]! - 1n];
    t.rawData = t.rawData.slice(0, t.rawData.byteLength - 4);
    return `bias '${t.name}' one channel short`;
  }],
  [2, (p, rng) => {
    const consts = p.graph!.node.filter((n) => n.opType === 'Constant' || n.opType === 'Resize');
    if (consts.length === 0) return 'no Constant (unchanged)';
    const n = pick(rng, consts);
    if (n.opType === 'Resize') {
      n.input = n.input.slice(0, rng.nextInt(n.input.length));
      return `Resize '${n.name}' keeps ${n.input.length} inputs`;
    }
    const v = n.attribute.find((a) => a.name === 'value');
    if (v?.t) {
      const what = pick(rng, ['dims', 'type', 'empty', 'huge'] as const);
      if (what === 'dims') v.t.dims = [BigInt(1 + rng.nextInt(9))];
      else if (what === 'type') v.t.dataType = pick(rng, [1, 6, 7, 8, 999]);
      else if (what === 'empty') v.t.rawData = new Uint8Array(0);
      else v.t.dims = [2n ** 45n];
      return `Constant '${n.name}' value: ${what}`;
    }
    n.attribute = [];
    return `Constant '${n.name}' without value`;
  }],
  [1, (p, rng) => {
    p.irVersion = pick(rng, [0n, 1n, 3n, 99n, 2n ** 62n]);
    return `IR version ${p.irVersion}`;
  }],
  [1, (p, rng) => {
    const t = pick(rng, p.graph!.initializer);
    t.dataType = 8;
    t.stringData = [new TextEncoder().encode('not a weight')];
    t.rawData = new Uint8Array(0);
    return `initializer '${t.name}' is a string tensor`;
  }],
  [1, (p, rng) => {
    const t = pick(rng, p.graph!.initializer);
    t.dataLocation = 1;
    t.externalData = rng.next() < 0.5 ? [] : [create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' })];
    return `in-memory initializer '${t.name}' marked external${t.externalData.length ? " in missing 'weights.bin'" : ' without a location'}`;
  }],
  [1, (p, rng) => {
    // Initializers listed among the graph inputs, as old exporters did: valid, must still prune.
    const inits = p.graph!.initializer;
    for (const t of inits.slice(0, 1 + rng.nextInt(inits.length))) {
      p.graph!.input.push(create(ValueInfoProtoSchema, { name: t.name }));
    }
    return 'initializers also listed as graph inputs (old exporter style)';
  }],
];

export const modelStructure: CaseMaker = (rng, index) => {
  const m = pick(rng, MODELS);
  const p = fixtureProto(m.file);
  // The first cases take each edit in turn, so even a small run tries every one.
  const first = index < STRUCT_EDITS.length;
  const n = first || rng.next() < 0.8 ? 1 : 2;
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push((first ? STRUCT_EDITS[index]![1] : weighted(rng, STRUCT_EDITS))(p, rng));
  const bytes = toBinary(ModelProtoSchema, p);
  return { name: `${m.file}: ${names.join('; ')}`, build: (dir) => writeModel(dir, m.file, bytes, m.task) };
};

// ---------------------------------------------------------------------------------------------
// external-data

const EXT = 'halfunet_ext.onnx';
const EXT_DATA = 'halfunet_ext.onnx.data';

function entries(t: TensorProto): Map<string, string> {
  return new Map(t.externalData.map((e) => [e.key, e.value]));
}

function setEntries(t: TensorProto, m: Map<string, string>): void {
  t.externalData = [...m].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
}

interface ExtPlan {
  name: string;
  mustFail?: boolean;
  /** Edits the model; the data file is copied unless `data` replaces it. */
  edit?: (p: ModelProto, t: TensorProto) => void;
  data?: (bytes: Uint8Array) => Uint8Array;
  /** Extra files and links, given the model's folder and a folder beside it. */
  files?: (modelDir: string, outside: string) => void;
}

const EXT_PLANS = 22;

function extPlan(rng: Rng, index: number): ExtPlan {
  const loc = (value: string) => (_p: ModelProto, t: TensorProto) => {
    const m = entries(t);
    m.set('location', value);
    setEntries(t, m);
  };
  const kind = index < EXT_PLANS ? index : rng.nextInt(EXT_PLANS);
  switch (kind) {
    case 0:
      return { name: "location '../../etc/passwd'", mustFail: true, edit: loc('../../etc/passwd') };
    case 1:
      return { name: "location '/etc/passwd' (absolute)", mustFail: true, edit: loc('/etc/passwd') };
    case 2:
      return { name: "location '../outside/<copy of the data>' (escapes by ..)", mustFail: true, edit: loc(`../outside/${EXT_DATA}`) };
    case 3:
      return {
        name: 'location is a symlink inside the folder pointing at a copy outside it',
        mustFail: true,
        edit: loc('link.data'),
        files: (d, o) => symlinkSync(path.join(o, EXT_DATA), path.join(d, 'link.data')),
      };
    case 4:
      return {
        name: 'location goes through a symlinked sub-folder that points outside',
        mustFail: true,
        edit: loc(`sub/${EXT_DATA}`),
        files: (d, o) => symlinkSync(o, path.join(d, 'sub')),
      };
    case 5:
      return {
        name: 'location is a relative symlink climbing out of the folder',
        mustFail: true,
        edit: loc('rel.data'),
        files: (d) => symlinkSync(`../outside/${EXT_DATA}`, path.join(d, 'rel.data')),
      };
    case 6:
      return {
        name: 'location is a symlink to the data file inside the folder (allowed)',
        edit: loc('inside.data'),
        files: (d) => symlinkSync(EXT_DATA, path.join(d, 'inside.data')),
      };
    case 7:
      return { name: 'location is a hard link to the data file (allowed)', edit: loc('hard.data'), files: (d) => linkSync(path.join(d, EXT_DATA), path.join(d, 'hard.data')) };
    case 8:
      return { name: 'location is a link to /dev/zero', mustFail: true, edit: loc('zero.data'), files: (d) => symlinkSync('/dev/zero', path.join(d, 'zero.data')) };
    case 9:
      return { name: 'location is a FIFO', mustFail: true, edit: loc('fifo.data'), files: (d) => void spawnSync('mkfifo', [path.join(d, 'fifo.data')]) };
    case 10:
      return { name: 'location is a folder', mustFail: true, edit: loc('dir.data'), files: (d) => mkdirSync(path.join(d, 'dir.data')) };
    case 11: {
      const v = pick(rng, ['', 'missing.data', '.', 'a\u0000b', EXT, 'x/../' + EXT_DATA, '~/' + EXT_DATA, 'C:\\x.data', '\\\\server\\share\\x']);
      return { name: `location ${JSON.stringify(v)}`, mustFail: v !== 'x/../' + EXT_DATA && v !== EXT, edit: loc(v) };
    }
    case 12:
    case 13: {
      const key = pick(rng, ['offset', 'length']);
      const v = pick(rng, ['-1', '-4096', 'abc', '', '1e3', '0x10', '3.5', '1e15', '9007199254740993', String(2 ** 32), '99999999', 'NaN', 'Infinity', ' 12']);
      return {
        name: `${key} = ${JSON.stringify(v)}`,
        edit: (_p, t) => {
          const m = entries(t);
          m.set(key, v);
          setEntries(t, m);
        },
      };
    }
    case 14:
      return {
        name: 'location entry removed',
        mustFail: true,
        edit: (_p, t) => {
          const m = entries(t);
          m.delete('location');
          setEntries(t, m);
        },
      };
    case 15:
      return { name: 'length and offset removed (rest of the file)', edit: (_p, t) => setEntries(t, new Map([['location', entries(t).get('location')!]])) };
    case 16: {
      const at = rng.nextInt(225932);
      return { name: `data file truncated to ${at} bytes`, data: (b) => b.subarray(0, at) };
    }
    case 17:
      return { name: 'data file empty', mustFail: true, data: () => new Uint8Array(0) };
    case 18: {
      const n = 1 + rng.nextInt(32);
      const at = Array.from({ length: n }, () => rng.nextInt(225932));
      return {
        name: `${n} bit flip(s) in the data file`,
        data: (b) => {
          const c = b.slice();
          for (const p of at) c[p]! ^= 1 << (p % 8);
          return c;
        },
      };
    }
    case 19:
      return { name: 'data file is a symlink loop', mustFail: true, files: (d) => void (symlinkSync('loop2', path.join(d, 'loop1')), symlinkSync('loop1', path.join(d, 'loop2'))), edit: loc('loop1') };
    case 20:
      return { name: 'data file is the model itself', edit: loc(EXT) };
    default:
      return {
        name: 'data_location external without entries',
        mustFail: true,
        edit: (_p, t) => {
          t.externalData = [];
        },
      };
  }
}

export const externalData: CaseMaker = (rng, index) => {
  const plan = extPlan(rng, index);
  const p = fixtureProto(EXT);
  const ext = p.graph!.initializer.filter((t) => t.dataLocation === 1);
  // Most cases damage one tensor, some every tensor: the first and the last behave differently.
  const all = rng.next() < 0.25;
  const targets = all ? ext : [pick(rng, ext)];
  for (const t of targets) plan.edit?.(p, t);
  const bytes = toBinary(ModelProtoSchema, p);
  return {
    name: `${plan.name} (${all ? 'every external tensor' : `tensor '${targets[0]!.name}'`})`,
    mustFail: plan.mustFail,
    build: (dir) => {
      const modelDir = path.join(dir, 'model');
      const outside = path.join(dir, 'outside');
      mkdirSync(modelDir);
      mkdirSync(outside);
      copyFileSync(path.join(FIXTURES, EXT_DATA), path.join(outside, EXT_DATA));
      const data = new Uint8Array(readFileSync(path.join(FIXTURES, EXT_DATA)));
      writeFileSync(path.join(modelDir, EXT_DATA), plan.data ? plan.data(data) : data);
      plan.files?.(modelDir, outside);
      return writeModel(modelDir, EXT, bytes, 'denoise');
    },
  };
};

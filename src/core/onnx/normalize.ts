// Graph normalisation before analysis (issue 14 §2). Exporters hand weights to nodes in ways
// that compute the same thing but hide them from the analysis: PyTorch's initializer
// deduplication leaves `Identity(initializer)` in front of Convs and BatchNormalizations, and
// some exporters store parameters as `Constant` nodes. The analysis (and the export that slices
// what it found) reads parameters only from initializers, so a bias behind an Identity was left
// unsliced (onnxruntime: "bias must be a 1D tensor of size output_channels") and BN parameters
// behind one locked the whole network ("has run-time mean"). Both become plain initializers
// here; nothing else changes, so the model computes exactly what it did.
import { clone } from '@bufbuild/protobuf';
import { TensorProtoSchema, type GraphProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { makeValueInfo } from './builders';
import type { OnnxModel } from './model';
import { makeTensor } from './tensor';

export interface NormalizeSummary {
  /** Constant nodes whose value became an initializer. */
  constantsFolded: number;
  /** Identity nodes of a constant removed (their consumers now read the constant itself). */
  identitiesFolded: number;
}

/** A Constant node's value as an initializer named after its output, or undefined when it has none we can store. */
function constantTensor(node: NodeProto): TensorProto | undefined {
  const name = node.output[0]!;
  if (node.attribute.length !== 1) return undefined;
  const a = node.attribute[0]!;
  switch (a.name) {
    case 'value': {
      if (!a.t) return undefined;
      const t = clone(TensorProtoSchema, a.t);
      t.name = name;
      return t;
    }
    case 'value_float':
      return makeTensor(name, [], Float32Array.of(a.f));
    case 'value_floats':
      return makeTensor(name, [a.floats.length], Float32Array.from(a.floats));
    case 'value_int':
      return makeTensor(name, [], BigInt64Array.of(a.i));
    case 'value_ints':
      return makeTensor(name, [a.ints.length], BigInt64Array.from(a.ints));
    default:
      // sparse_value and strings: rare in CNNs, and nothing the analysis would slice.
      return undefined;
  }
}

/** Renames tensor references in nodes of the graph and, since names are unique across scopes, of every subgraph. */
function renameInputs(graph: GraphProto, rename: Map<string, string>): void {
  for (const node of graph.node) {
    node.input = node.input.map((i) => rename.get(i) ?? i);
    for (const a of node.attribute) {
      if (a.g) renameInputs(a.g, rename);
      for (const g of a.graphs) renameInputs(g, rename);
    }
  }
}

/**
 * Folds `Constant` nodes and `Identity` of a constant into initializers, in place. A node whose
 * output is a graph output stays (the output must keep being produced under its name). Returns
 * what was folded, for logs and tests.
 */
export function normalizeGraph(model: OnnxModel): NormalizeSummary {
  const graph = model.graph;
  const outputs = new Set(graph.output.map((v) => v.name));
  const inits = new Set(graph.initializer.map((t) => t.name));
  // Old IRs (< 4) require every initializer to be declared among the graph inputs too.
  const declareAsInput = model.proto.irVersion < 4n;
  const rename = new Map<string, string>();
  const drop = new Set<NodeProto>();
  let constantsFolded = 0;
  let identitiesFolded = 0;
  const resolved = (name: string) => rename.get(name) ?? name;
  // Nodes are in topological order (ONNX requires it), so chains fold in one pass.
  for (const node of graph.node) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const out = node.output[0];
    if (!out || node.output.length !== 1 || outputs.has(out)) continue;
    if (node.opType === 'Constant' && node.input.length === 0) {
      const t = constantTensor(node);
      if (!t) continue;
      graph.initializer.push(t);
      if (declareAsInput) graph.input.push(makeValueInfo(t.name, t.dims.map(Number), t.dataType));
      inits.add(out);
      drop.add(node);
      constantsFolded++;
    } else if (node.opType === 'Identity' && node.input.length === 1) {
      const src = resolved(node.input[0]!);
      if (!inits.has(src)) continue;
      rename.set(out, src);
      drop.add(node);
      identitiesFolded++;
    }
  }
  if (drop.size === 0) return { constantsFolded, identitiesFolded };
  graph.node = graph.node.filter((n) => !drop.has(n));
  if (rename.size > 0) {
    renameInputs(graph, rename);
    // Shape annotations of the removed names would now describe nothing.
    graph.valueInfo = graph.valueInfo.filter((v) => !rename.has(v.name));
  }
  model.invalidate();
  return { constantsFolded, identitiesFolded };
}

// The shape-aware half of normalisation needs the shapes inference gives, so it runs later
// (analyzeDependencies calls it); it lives with the folding it extends.
export { foldChannelShapes, type ChannelShapeFoldSummary } from './foldChannelShapes';

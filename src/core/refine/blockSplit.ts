// Block-wise refinement changes the gates of a few groups at a time, so everything upstream of the
// point where those gates are applied is identical for every candidate of the block. Splitting the
// gated model there lets the evaluator compute that prefix once per block (on the validation
// images) and run only the suffix per candidate: about half the work on the fixture networks,
// where the average block's gates sit half-way through the MACs (docs/REFINEMENT.md).
//
// This module only rewrites graphs; whether a split is exact is checked by the evaluator, which
// compares the suffix's output with the whole model's before it trusts a split.
import type { GraphProto, ModelProto } from 'onnx-buf';
import { makeValueInfo, namedValueInfo, OnnxModel } from '../onnx';
import type { GatedModel } from '../prune/gatedModel';

const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'ConvInteger', 'QLinearConv', 'MatMulInteger', 'QLinearMatMul']);

export interface BlockSplit {
  /** Prefix tensors the suffix reads, besides the model input and the gates. */
  boundary: string[];
  /** The suffix still reads the model input (a residual connection, say). */
  readsInput: boolean;
  /** The gated model with its outputs replaced by the boundary tensors and the model output. */
  probe: OnnxModel;
  /** Weight ops the suffix no longer runs, and all of them. */
  skippedWeightOps: number;
  weightOps: number;
  /** Share of the model's cost (MACs when given, else weight ops) that the suffix no longer runs. */
  skippedFraction: number;
  /** The suffix model; its boundary inputs get a symbolic batch and the per-image dims given. */
  suffix(boundaryDims: ReadonlyMap<string, readonly number[]>): OnnxModel;
}

/**
 * Splits `gated` in front of the first use of the gates of `groups`. Nodes named in `pull` run in
 * the suffix even when they do not depend on those gates (the evaluator pulls in producers of
 * boundary tensors that have no batch axis, such as a Shape). Returns null when the model cannot
 * be split safely (subgraphs, unsorted nodes) or the split would save no weight op.
 */
export function splitAtGroups(
  gated: GatedModel,
  inputName: string,
  outputName: string,
  groups: readonly number[],
  pull: ReadonlySet<string> = new Set(),
  /** Cost per node name (MACs); nodes not listed cost nothing. Default: 1 per weight op. */
  cost?: ReadonlyMap<string, number>,
): BlockSplit | null {
  const graph = gated.model.graph;
  const nodes = graph.node;
  if (nodes.some((n) => n.attribute.some((a) => a.g || a.graphs.length > 0))) return null;

  const initializers = new Set(graph.initializer.map((t) => t.name));
  const gateNames = new Set(gated.gateInputs.map((g) => g.name));
  const wanted = new Set(groups);
  const seeds = new Set(gated.points.filter((p) => p.groups.some((g) => wanted.has(g))).map((p) => p.gated));
  if (seeds.size === 0) return null;

  // One forward sweep: what depends on the data input, what depends on the block's gates.
  const known = new Set<string>([...initializers, ...graph.input.map((v) => v.name), '']);
  const fromInput = new Set<string>([inputName]);
  const dirty = new Set<string>();
  const candidate: boolean[] = [];
  for (const n of nodes) {
    if (n.input.some((i) => !known.has(i))) return null; // not topologically sorted
    n.output.forEach((o) => known.add(o));
    const readsInput = n.input.some((i) => fromInput.has(i));
    if (readsInput) n.output.forEach((o) => fromInput.add(o));
    const isDirty = n.output.some((o) => seeds.has(o)) || n.input.some((i) => dirty.has(i));
    if (isDirty) n.output.forEach((o) => o && dirty.add(o));
    // Constants and gate plumbing never read the data input: they are cheap and follow the gates.
    candidate.push(isDirty || !readsInput || pull.has(n.name));
  }
  if (!dirty.has(outputName)) return null;

  // Backward from the output: the suffix is the candidate nodes the output needs; whatever they
  // read from the other nodes is the boundary.
  const needed = new Set<string>([outputName]);
  const keep: boolean[] = new Array<boolean>(nodes.length).fill(false);
  const boundary = new Set<string>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.output.some((o) => needed.has(o))) continue;
    if (!candidate[i]) {
      n.output.forEach((o) => needed.has(o) && boundary.add(o));
      continue;
    }
    keep[i] = true;
    n.input.forEach((inp) => inp && needed.add(inp));
  }
  const suffixNodes = nodes.filter((_, i) => keep[i]);
  const readsInput = suffixNodes.some((n) => n.input.includes(inputName));
  let weightOps = 0;
  let skippedWeightOps = 0;
  let total = 0;
  let skipped = 0;
  nodes.forEach((n, i) => {
    const isWeightOp = WEIGHT_OPS.has(n.opType);
    const c = cost ? cost.get(n.name) ?? 0 : isWeightOp ? 1 : 0;
    weightOps += isWeightOp ? 1 : 0;
    total += c;
    if (!keep[i]) {
      skippedWeightOps += isWeightOp ? 1 : 0;
      skipped += c;
    }
  });
  if (skippedWeightOps === 0) return null;

  const boundaryList = [...boundary];
  const probeProto = withGraph(gated.model.proto, {
    output: [...boundaryList, outputName].map((name) => namedValueInfo(name)),
  });
  return {
    boundary: boundaryList,
    readsInput,
    probe: new OnnxModel(probeProto),
    skippedWeightOps,
    weightOps,
    skippedFraction: total > 0 ? skipped / total : 0,
    suffix(boundaryDims) {
      const used = new Set<string>(suffixNodes.flatMap((n) => n.input));
      const produced = new Set<string>(suffixNodes.flatMap((n) => n.output));
      const input = graph.input.filter((v) => (v.name === inputName && readsInput) || gateNames.has(v.name));
      for (const name of boundaryList) {
        const dims = boundaryDims.get(name);
        if (!dims) throw new Error(`no dims for boundary tensor '${name}'`);
        input.push(makeValueInfo(name, ['N', ...dims]));
      }
      const proto = withGraph(gated.model.proto, {
        node: suffixNodes,
        input,
        initializer: graph.initializer.filter((t) => used.has(t.name)),
        valueInfo: graph.valueInfo.filter((v) => produced.has(v.name)),
      });
      return new OnnxModel(proto);
    },
  };
}

/** A shallow copy of `proto` with some graph fields replaced; tensors are shared, not copied. */
function withGraph(proto: ModelProto, fields: Partial<Pick<GraphProto, 'node' | 'input' | 'output' | 'initializer' | 'valueInfo'>>): ModelProto {
  return { ...proto, graph: { ...proto.graph!, ...fields } } as ModelProto;
}

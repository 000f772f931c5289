// Channel dependency groups (issue 2 §5, METHOD §1–2): which output channels must be removed
// together, which constants shrink, and where gates multiply channels. Every (tensor, channel)
// is a union-find element; op rules (rules/, one per op type) join the elements that must live or
// die together, and a component with a source channel (a weight op's output) and no lock is one
// prunable variable.
import type { NodeProto } from 'onnx-buf';
import type { OnnxModel } from '../onnx';
import { foldChannelShapes } from '../onnx/foldChannelShapes';
import { subgraphRefs, topoOrder } from '../onnx/graph';
import { assembleAnalysis } from './groupAssembly';
import { RULES, RuleContext, WEIGHT_OPS, assertKnownOps, channelsLast, isKnownOp, opLabel, readsChannelsLast } from './rules';
import type { DependencyAnalysis, ShapeMap } from './types';

export { assertKnownOps } from './rules';

export interface AnalyzeOptions {
  /** Throw OnnxModelError 'unknown-ops' instead of locking channels that pass through unknown ops. */
  strict?: boolean;
  /**
   * Prune channels normalised together by a LayerNormalization over the channel axis (ConvNeXt).
   * Off by default: the kept channels are then normalised by their own mean and variance, so the
   * pruned model is not the gated one with gates 0 (the analysis adds a note saying so).
   */
  allowLayerNormPruning?: boolean;
}

/**
 * Analyses channel dependencies. `shapes` (tensor → dims for one concrete input) is needed where a
 * spatial size matters: Flatten/Reshape of feature maps into Gemm features. Without it those
 * channels are locked as 'unresolved'. With shapes, channel counts the graph reads at run time
 * (Shape → Gather(1) → … → Slice bounds or Reshape targets, ShuffleNetV2) are first folded into
 * constants in `model` itself (foldChannelShapes): the model computes the same, and the export of
 * this analysis rewrites those constants.
 */
export function analyzeDependencies(model: OnnxModel, shapes?: ShapeMap, opts: AnalyzeOptions = {}): DependencyAnalysis {
  if (opts.strict) assertKnownOps(model);
  if (shapes) foldChannelShapes(model, shapes);
  const order = topoOrder(model.nodes);
  const ctx = new RuleContext(model, shapes, order, opts.allowLayerNormPruning === true);
  const unknownOps = walk(ctx, order);
  const deps = assembleAnalysis(ctx.g, order, unknownOps);
  const notes = ctx.layerNorms
    .filter((n) => deps.tensors.get(n.output)?.variable.some((v) => v >= 0))
    .map((n) => `${n.decomposed ? 'LayerNorm (ReduceMean … Div) from' : 'LayerNormalization'} '${n.name}' normalises over channels that may be pruned: the pruned model normalises the kept channels by their own mean and variance, so it is not equivalent to the gated model (fine-tune after pruning)`);
  if (notes.length) deps.notes = notes;
  return deps;
}

/** Graph inputs, then every node producer-first, then graph outputs; returns the unknown op labels. */
function walk(ctx: RuleContext, order: readonly NodeProto[]): string[] {
  const g = ctx.g;
  const unknownOps: string[] = [];
  for (const v of ctx.model.realInputs) {
    const d = g.dims(v.name);
    if (!d || d.length < 2 || !(d[1]! > 0)) continue;
    const s = g.alloc(v.name, d[1]!, d.length, 'input', v.name, d.slice(2));
    g.lockRange(s, 0, s.count, 'graph-input', `graph input '${v.name}' cannot lose channels`);
  }
  for (const node of order) visit(ctx, node, unknownOps);
  for (const out of ctx.model.outputNames) g.lockTensor(out, 'graph-output', `its channels reach graph output '${out}'`);
  return unknownOps;
}

function visit(ctx: RuleContext, node: NodeProto, unknownOps: string[]): void {
  if (ctx.isHandled(node)) return;
  const op = node.opType;
  // Constant nodes are read through model.constant() wherever they are used.
  if (op === 'Constant' && node.input.length === 0) return;
  if (!isKnownOp(node)) {
    const label = opLabel(node);
    if (!unknownOps.includes(label)) unknownOps.push(label);
    const detail = `${label} node '${node.name}' is not understood by the channel analysis`;
    ctx.lockNode(node, 'unknown-op', detail);
    for (const r of subgraphRefs(node)) ctx.g.lockTensor(r, 'unknown-op', detail);
    return;
  }
  const hasChannels = node.input.some((i) => i && ctx.g.slots.has(i));
  if (!hasChannels && !WEIGHT_OPS.has(op)) {
    // Shape arithmetic or constant folding: outputs are not feature maps the analysis can prune.
    ctx.lockNode(node, 'unresolved', `${op} '${node.name}' computes '${node.output[0]}' without any feature map`);
    return;
  }
  if (readsChannelsLast(ctx, node)) return channelsLast(ctx, node);
  RULES[op]!(ctx, node);
}

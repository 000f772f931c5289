// Parameters and MACs of a model, and of its pruned version predicted from the analysis without
// exporting (the slice plan is the one the export uses, so the two agree by construction).
//
// Conventions are those of analysis/layers.ts (docs/ANALYSIS.md), so the prediction can be checked
// against analyzeLayers() on the exported model:
// - params: what PyTorch counts as parameters: floating-point initializers except BatchNorm
//   running statistics, constants that only configure ops (Resize scales, Clip bounds, Pad
//   values) and one-element literals of element-wise arithmetic. `floatElements` counts every
//   used floating-point initializer element.
// - MACs (batch 1) of the weight ops only: Conv = output pixels × weight elements; ConvTranspose =
//   input pixels × weight elements; Gemm = weight elements; MatMul with a constant weight =
//   rows × weight elements.
import type { NodeProto } from 'onnx-buf';
import { DataType, elementCount, type OnnxModel } from '../onnx';
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import { FLOAT_TYPES, isParameterUse } from '../analysis/layers';
import { PruneError } from './errors';
import { validateKeep } from './masks';
import { planSlices, slicedDims } from './slicePlan';

export interface LayerCost {
  node: string;
  op: string;
  params: number;
  macs: number;
}

export interface ModelCost {
  params: number;
  /** Every used floating-point initializer element (params + BN statistics + literals). */
  floatElements: number;
  macs: number;
  layers: LayerCost[];
}

/** A model's constants as name → dims / float-ness, and its nodes' input names. */
interface CostView {
  nodes: { node: NodeProto; inputs: string[] }[];
  constDims: Map<string, { dims: number[]; float: boolean; init: boolean }>;
}

function viewOf(model: OnnxModel): CostView {
  const constDims = new Map<string, { dims: number[]; float: boolean; init: boolean }>();
  for (const t of model.graph.initializer) constDims.set(t.name, { dims: t.dims.map(Number), float: FLOAT_TYPES.has(t.dataType), init: true });
  for (const n of model.nodes) {
    if (n.opType !== 'Constant' || !n.output[0]) continue;
    const v = n.attribute.find((a) => a.name === 'value');
    if (v?.t) constDims.set(n.output[0], { dims: v.t.dims.map(Number), float: FLOAT_TYPES.has(v.t.dataType), init: false });
    else {
      const c = model.constant(n.output[0]);
      if (c) constDims.set(n.output[0], { dims: c.dims, float: c.dataType === DataType.FLOAT, init: false });
    }
  }
  return { nodes: model.nodes.map((node) => ({ node, inputs: node.input.slice() })), constDims };
}

function spatialOf(shapes: ShapeMap, tensor: string, node: NodeProto): number {
  const d = shapes.get(tensor);
  if (!d) throw new PruneError('missing-shapes', `no shape for '${tensor}' (node '${node.name}'); probe shapes with the same model`);
  return elementCount(d.slice(2));
}

function costOfView(view: CostView, shapes: ShapeMap): ModelCost {
  const uses = new Map<string, { op: string; index: number }[]>();
  for (const { node, inputs } of view.nodes) {
    inputs.forEach((i, index) => {
      let l = uses.get(i);
      if (!l) uses.set(i, (l = []));
      l.push({ op: node.opType, index });
    });
  }
  let params = 0;
  let floatElements = 0;
  for (const [name, c] of view.constDims) {
    const u = uses.get(name);
    if (!c.init || !c.float || !u) continue;
    const n = elementCount(c.dims);
    floatElements += n;
    if (isParameterUse(u, n)) params += n;
  }
  const layers: LayerCost[] = [];
  let macs = 0;
  for (const { node, inputs } of view.nodes) {
    const op = node.opType;
    if (op !== 'Conv' && op !== 'ConvTranspose' && op !== 'Gemm' && op !== 'MatMul') continue;
    const w = view.constDims.get(inputs[1] ?? '');
    if (!w) continue;
    const wElems = elementCount(w.dims);
    let lm: number;
    if (op === 'Conv') lm = spatialOf(shapes, node.output[0]!, node) * wElems;
    else if (op === 'ConvTranspose') lm = spatialOf(shapes, inputs[0]!, node) * wElems;
    else if (op === 'Gemm') lm = wElems;
    else {
      const a = shapes.get(inputs[0]!);
      if (!a) throw new PruneError('missing-shapes', `no shape for '${inputs[0]}' (node '${node.name}')`);
      lm = elementCount(a.slice(1, -1)) * wElems;
    }
    const bias = op === 'MatMul' ? undefined : view.constDims.get(inputs[2] ?? '');
    const lp = wElems + (bias ? elementCount(bias.dims) : 0);
    layers.push({ node: node.name, op, params: lp, macs: lm });
    macs += lm;
  }
  return { params, floatElements, macs, layers };
}

/** Counts a model as it is. `shapes` must be the model's own tensor shapes (batch ignored). */
export function countCost(model: OnnxModel, shapes: ShapeMap): ModelCost {
  return costOfView(viewOf(model), shapes);
}

/**
 * Cost of exportPruned(model, deps, keep) without building it. `shapes` are the original model's;
 * pruning never changes spatial sizes, and channel dims come from the sliced weights.
 */
export function predictCost(model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap, keep: Uint8Array): ModelCost {
  validateKeep(deps, keep);
  const view = viewOf(model);
  for (const item of planSlices(model, deps)) {
    const src = view.constDims.get(item.source);
    if (!src) continue;
    // The export writes every sliced constant as an initializer.
    view.constDims.set(item.target, { dims: slicedDims(src.dims, item.slices, keep), float: src.float, init: true });
    for (const entry of view.nodes) {
      if (item.rewire.includes(entry.node.name)) entry.inputs = entry.inputs.map((i) => (i === item.source ? item.target : i));
    }
  }
  return costOfView(view, shapes);
}

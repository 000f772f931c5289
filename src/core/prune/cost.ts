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
import { attrInt, DataType, elementCount, type OnnxModel } from '../onnx';
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import { FLOAT_TYPES, isParameterUse } from '../analysis/layers';
import { PruneError } from './errors';
import { validateKeep } from './masks';
import { planSlices, slicedDims, type AxisSlice } from './slicePlan';

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

/**
 * Arithmetic on tensor sizes. Plain numbers count one mask; polynomials in the groups' kept counts
 * (costModel) describe every mask at once. Both go through the same counting code below, so the
 * cost model cannot drift from predictCost.
 */
interface SizeAlgebra<T> {
  of(x: number): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  /** The plain value when it is one (a single mask), so a literal pruned to one element stops counting as a parameter exactly as counting the export does. */
  known?(a: T): number;
}

const NUMBERS: SizeAlgebra<number> = { of: (x) => x, add: (a, b) => a + b, mul: (a, b) => a * b, known: (a) => a };

/** A model's constants as name → dims / float-ness, and its nodes' input names. */
interface ConstInfo<T> {
  /** Dims of the model as it is (decides what counts as a parameter: one-element literals do not). */
  dims: number[];
  /** Size of each dim after pruning (plain numbers, or polynomials in the kept counts). */
  sizes: T[];
  float: boolean;
  init: boolean;
}
interface CostView<T> {
  nodes: { node: NodeProto; inputs: string[] }[];
  constDims: Map<string, ConstInfo<T>>;
}

function viewOf<T>(model: OnnxModel, alg: SizeAlgebra<T>): CostView<T> {
  const constDims = new Map<string, ConstInfo<T>>();
  const info = (dims: number[], float: boolean, init: boolean): ConstInfo<T> => ({ dims, sizes: dims.map((d) => alg.of(d)), float, init });
  for (const t of model.graph.initializer) constDims.set(t.name, info(t.dims.map(Number), FLOAT_TYPES.has(t.dataType), true));
  for (const n of model.nodes) {
    if (n.opType !== 'Constant' || !n.output[0]) continue;
    const v = n.attribute.find((a) => a.name === 'value');
    if (v?.t) constDims.set(n.output[0], info(v.t.dims.map(Number), FLOAT_TYPES.has(v.t.dataType), false));
    else {
      const c = model.constant(n.output[0]);
      if (c) constDims.set(n.output[0], info(c.dims, c.dataType === DataType.FLOAT, false));
    }
  }
  return { nodes: model.nodes.map((node) => ({ node, inputs: node.input.slice() })), constDims };
}

function spatialOf(shapes: ShapeMap, tensor: string, node: NodeProto): number {
  const d = shapes.get(tensor);
  if (!d) throw new PruneError('missing-shapes', `no shape for '${tensor}' (node '${node.name}'); probe shapes with the same model`);
  return elementCount(d.slice(2));
}

interface GenericCost<T> {
  params: T;
  floatElements: T;
  macs: T;
  layers: { node: string; op: string; params: T; macs: T }[];
}

function costOfView<T>(view: CostView<T>, shapes: ShapeMap, alg: SizeAlgebra<T>): GenericCost<T> {
  const uses = new Map<string, { op: string; index: number }[]>();
  for (const { node, inputs } of view.nodes) {
    inputs.forEach((i, index) => {
      let l = uses.get(i);
      if (!l) uses.set(i, (l = []));
      l.push({ op: node.opType, index });
    });
  }
  const elems = (c: ConstInfo<T>) => c.sizes.reduce((acc, d) => alg.mul(acc, d), alg.of(1));
  let params = alg.of(0);
  let floatElements = alg.of(0);
  for (const [name, c] of view.constDims) {
    const u = uses.get(name);
    if (!c.init || !c.float || !u) continue;
    const n = elems(c);
    floatElements = alg.add(floatElements, n);
    if (isParameterUse(u, alg.known ? alg.known(n) : elementCount(c.dims))) params = alg.add(params, n);
  }
  const layers: GenericCost<T>['layers'] = [];
  let macs = alg.of(0);
  for (const { node, inputs } of view.nodes) {
    const op = node.opType;
    if (op !== 'Conv' && op !== 'ConvTranspose' && op !== 'Gemm' && op !== 'MatMul') continue;
    const w = view.constDims.get(inputs[1] ?? '');
    if (!w) continue;
    const wElems = elems(w);
    let lm: T;
    if (op === 'Conv') lm = alg.mul(alg.of(spatialOf(shapes, node.output[0]!, node)), wElems);
    else if (op === 'ConvTranspose') lm = alg.mul(alg.of(spatialOf(shapes, inputs[0]!, node)), wElems);
    else if (op === 'Gemm') lm = wElems;
    else {
      const a = shapes.get(inputs[0]!);
      if (!a) throw new PruneError('missing-shapes', `no shape for '${inputs[0]}' (node '${node.name}')`);
      lm = alg.mul(alg.of(elementCount(a.slice(1, -1))), wElems);
    }
    const bias = op === 'MatMul' ? undefined : view.constDims.get(inputs[2] ?? '');
    const lp = bias ? alg.add(wElems, elems(bias)) : wElems;
    layers.push({ node: node.name, op, params: lp, macs: lm });
    macs = alg.add(macs, lm);
  }
  return { params, floatElements, macs, layers };
}

/** Rewires the view to the constants the export writes (shared by predictCost and costModel). */
function applySlices<T>(model: OnnxModel, deps: DependencyAnalysis, view: CostView<T>, sliced: (dims: number[], slices: AxisSlice[]) => T[]): void {
  for (const item of planSlices(model, deps)) {
    const src = view.constDims.get(item.source);
    if (!src) continue;
    // The export writes every sliced constant as an initializer.
    view.constDims.set(item.target, { dims: src.dims, sizes: sliced(src.dims, item.slices), float: src.float, init: true });
    for (const entry of view.nodes) {
      if (item.rewire.includes(entry.node.name)) entry.inputs = entry.inputs.map((i) => (i === item.source ? item.target : i));
    }
  }
}

/** Counts a model as it is. `shapes` must be the model's own tensor shapes (batch ignored). */
export function countCost(model: OnnxModel, shapes: ShapeMap): ModelCost {
  return costOfView(viewOf(model, NUMBERS), shapes, NUMBERS);
}

/**
 * Cost of exportPruned(model, deps, keep) without building it. `shapes` are the original model's;
 * pruning never changes spatial sizes, and channel dims come from the sliced weights.
 */
export function predictCost(model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap, keep: Uint8Array): ModelCost {
  validateKeep(deps, keep);
  const view = viewOf(model, NUMBERS);
  applySlices(model, deps, view, (dims, slices) => slicedDims(dims, slices, keep));
  return costOfView(view, shapes, NUMBERS);
}

/**
 * A cost as a polynomial of degree ≤ 2 in the groups' kept counts c_g:
 * constant + Σ_g linear[g]·c_g + Σ_k weight[k]·c_{a[k]}·c_{b[k]} (a[k] ≤ b[k]; a = b is c_g²).
 */
export interface CountCost {
  constant: number;
  linear: Float64Array;
  pairA: Int32Array;
  pairB: Int32Array;
  pairWeight: Float64Array;
}

export interface GroupCostModel {
  /** deps.groups order. */
  groupIds: string[];
  macs: CountCost;
  params: CountCost;
  /**
   * Groups only part of whose channels size some axis (Split/Slice parts): that axis then depends
   * on which channels are kept, not only how many, and the model uses the uniform average. Empty
   * means the model is exact for every mask.
   */
  partialGroups: string[];
}

/** Sparse quadratic polynomial in kept counts; keys: -1 constant, g linear, G + a·G + b for c_a·c_b. */
class CountPolynomial {
  constructor(
    readonly G: number,
    readonly terms: Map<number, number> = new Map(),
  ) {}
  degreeOf(key: number): number {
    return key < 0 ? 0 : key < this.G ? 1 : 2;
  }
  get degree(): number {
    let d = 0;
    for (const [k, v] of this.terms) if (v !== 0) d = Math.max(d, this.degreeOf(k));
    return d;
  }
  static constant(G: number, x: number): CountPolynomial {
    return new CountPolynomial(G, new Map([[-1, x]]));
  }
  add(o: CountPolynomial): CountPolynomial {
    const t = new Map(this.terms);
    for (const [k, v] of o.terms) t.set(k, (t.get(k) ?? 0) + v);
    return new CountPolynomial(this.G, t);
  }
  mul(o: CountPolynomial): CountPolynomial {
    const G = this.G;
    const t = new Map<number, number>();
    for (const [k1, v1] of this.terms) {
      if (v1 === 0) continue;
      for (const [k2, v2] of o.terms) {
        if (v2 === 0) continue;
        let key: number;
        if (k1 < 0) key = k2;
        else if (k2 < 0) key = k1;
        else if (k1 < G && k2 < G) key = G + Math.min(k1, k2) * G + Math.max(k1, k2);
        else throw new PruneError('invalid-export', 'a constant is sized by three or more channel groups at once; the cost is not quadratic in kept counts');
        t.set(key, (t.get(key) ?? 0) + v1 * v2);
      }
    }
    return new CountPolynomial(G, t);
  }
  toCountCost(): CountCost {
    const G = this.G;
    const linear = new Float64Array(G);
    const a: number[] = [];
    const b: number[] = [];
    const w: number[] = [];
    let constant = 0;
    for (const [k, v] of this.terms) {
      if (v === 0) continue;
      if (k < 0) constant += v;
      else if (k < G) linear[k] += v;
      else {
        a.push(Math.floor((k - G) / G));
        b.push((k - G) % G);
        w.push(v);
      }
    }
    return { constant, linear, pairA: Int32Array.from(a), pairB: Int32Array.from(b), pairWeight: Float64Array.from(w) };
  }
}

/** Value of a CountCost at per-group kept counts. */
export function evaluateCountCost(c: CountCost, counts: ArrayLike<number>): number {
  let v = c.constant;
  for (let g = 0; g < c.linear.length; g++) v += c.linear[g]! * counts[g]!;
  for (let k = 0; k < c.pairWeight.length; k++) v += c.pairWeight[k]! * counts[c.pairA[k]!]! * counts[c.pairB[k]!]!;
  return v;
}

/** The model's view with every sliced axis sized as a polynomial in the groups' kept counts (shared by costModel and layerCountCosts). */
function polynomialView(model: OnnxModel, deps: DependencyAnalysis): { view: CostView<CountPolynomial>; alg: SizeAlgebra<CountPolynomial>; partial: Set<number> } {
  const G = deps.groups.length;
  const groupOf = new Int32Array(deps.variables.length).fill(-1);
  deps.groups.forEach((g, gi) => {
    for (const v of g.variables) groupOf[v] = gi;
  });
  const alg: SizeAlgebra<CountPolynomial> = {
    of: (x) => CountPolynomial.constant(G, x),
    add: (a, b) => a.add(b),
    mul: (a, b) => a.mul(b),
  };
  const partial = new Set<number>();
  const view = viewOf(model, alg);
  applySlices(model, deps, view, (dims, slices) => {
    const sizes = dims.map((d) => alg.of(d));
    for (const s of slices) {
      const len = dims[s.axis]!;
      let fixed = 0;
      const perVariable = new Map<number, number>();
      for (let i = 0; i < len; i++) {
        const v = s.variable[Math.floor(i / s.block)]!;
        if (v < 0) fixed++;
        else perVariable.set(v, (perVariable.get(v) ?? 0) + 1);
      }
      const perGroup = new Map<number, number>();
      for (const [v, count] of perVariable) {
        const g = groupOf[v]!;
        if (g < 0) {
          fixed += count;
          continue;
        }
        perGroup.set(g, (perGroup.get(g) ?? 0) + count);
      }
      const terms = new Map<number, number>([[-1, fixed]]);
      for (const [g, entries] of perGroup) {
        const size = deps.groups[g]!.size;
        // Every channel of g repeated the same number of times: the size is exactly that multiple of c_g.
        const members = [...perVariable.keys()].filter((v) => groupOf[v] === g);
        const even = members.length === size && members.every((v) => perVariable.get(v) === entries / size);
        if (!even) partial.add(g);
        terms.set(g, entries / size);
      }
      sizes[s.axis] = new CountPolynomial(G, terms);
    }
    return sizes;
  });
  return { view, alg, partial };
}

/**
 * MACs and params of exportPruned(model, deps, keep) as functions of the groups' kept counts,
 * derived by running the same counting as predictCost on sizes that are polynomials: an axis
 * sliced by group g has size fixed + (entries of g)/|g|·c_g, so a conv weight sliced on its output
 * axis by g and its input axis by h contributes k·k·H·W·c_g·c_h (divided by the conv's groups
 * through the weight's own shape), a bias or norm parameter a linear term.
 */
export function costModel(model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap): GroupCostModel {
  const { view, alg, partial } = polynomialView(model, deps);
  const cost = costOfView(view, shapes, alg);
  return {
    groupIds: deps.groups.map((g) => g.id),
    macs: cost.macs.toCountCost(),
    params: cost.params.toCountCost(),
    partialGroups: [...partial].sort((a, b) => a - b).map((g) => deps.groups[g]!.id),
  };
}

/** One weight op's MACs and the element counts of its input and output activations (batch 1), in the groups' kept counts. */
export interface LayerCountCost {
  node: string;
  op: string;
  macs: CountCost;
  inElems: CountCost;
  outElems: CountCost;
}

/**
 * Per weight op (Conv, ConvTranspose, Gemm, MatMul with a constant weight), its MACs and activation
 * sizes after pruning, from the same sliced-weight view as costModel. Channel counts come from the
 * weight's axes; a grouped conv's other channel count is its sliced one times the original ratio
 * (exact for depthwise convs, whose group count the export shrinks with the channels).
 */
export function layerCountCosts(model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap): LayerCountCost[] {
  const { view, alg } = polynomialView(model, deps);
  const macsByNode = new Map(costOfView(view, shapes, alg).layers.map((l) => [l.node, l.macs]));
  const out: LayerCountCost[] = [];
  for (const { node, inputs } of view.nodes) {
    const op = node.opType;
    const macs = macsByNode.get(node.name);
    const w = view.constDims.get(inputs[1] ?? '');
    if (!macs || !w) continue;
    const [s0, s1] = [w.sizes[0] ?? alg.of(1), w.sizes[1] ?? alg.of(1)];
    const [d0, d1] = [w.dims[0] ?? 1, w.dims[1] ?? 1];
    let inCh: CountPolynomial;
    let outCh: CountPolynomial;
    let inPix = 1;
    let outPix = 1;
    if (op === 'Conv' || op === 'ConvTranspose') {
      const group = attrInt(node, 'group', 1);
      inPix = spatialOf(shapes, inputs[0]!, node);
      outPix = spatialOf(shapes, node.output[0]!, node);
      // Conv weights are [out, in/group, ...], ConvTranspose weights [in, out/group, ...].
      const perGroup = group === 1 ? s1 : s0.mul(alg.of((d1 * group) / d0));
      [inCh, outCh] = op === 'Conv' ? [perGroup, s0] : [s0, perGroup];
    } else if (op === 'Gemm') {
      // Batch 1: one row; transB stores the weight as [N, K].
      [inCh, outCh] = attrInt(node, 'transB', 0) ? [s1, s0] : [s0, s1];
    } else {
      const a = shapes.get(inputs[0]!);
      if (!a) throw new PruneError('missing-shapes', `no shape for '${inputs[0]}' (node '${node.name}')`);
      inPix = outPix = elementCount(a.slice(1, -1));
      [inCh, outCh] = [s0, s1];
    }
    out.push({ node: node.name, op, macs: macs.toCountCost(), inElems: inCh.mul(alg.of(inPix)).toCountCost(), outElems: outCh.mul(alg.of(outPix)).toCountCost() });
  }
  return out;
}

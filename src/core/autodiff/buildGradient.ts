// Reverse-mode differentiation of an ONNX graph, emitted as ONNX nodes appended to a copy of the
// forward graph, so the backward pass runs inside onnxruntime on whatever execution provider runs
// the forward pass. Design notes and the list of covered ops: docs/AUTODIFF.md.
import type { NodeProto } from 'onnx-buf';
import { DataType, MAX_OPSET, MIN_OPSET, makeValueInfo, valueInfoElemType, type OnnxModel } from '../onnx';
import { reduceTo } from './broadcast';
import { Emitter } from './emitter';
import { AutodiffError } from './errors';
import { emitChannelSums, emitGram } from './gram';
import { emitLoss, lossInputNames, type GradientLoss } from './loss';
import { RULES, type RuleContext } from './rules';
import { OpsetTooLow, upgradeOpset } from './opsetUpgrade';
import { inferSymbolicShapes, type Dim } from './shapes';
import { topoOrder } from '../onnx/graph';

export interface GradientOptions {
  /** Float graph inputs to differentiate with respect to, e.g. per-sample gates 'gate/<group>' [N, C, 1, 1]. */
  wrt: string[];
  loss: GradientLoss;
  /** Forward tensors to expose as extra graph outputs (e.g. activations for checks). */
  extraOutputs?: string[];
  /** Gram matrices (C×C, summed over samples and positions) of named forward tensors. */
  grams?: { name: string; tensor: string; channelsLast?: boolean }[];
  /** Dims to assume for graph inputs whose value info lacks a usable shape. */
  inputShapes?: Record<string, Dim[]>;
  /** Name of the per-sample loss output (default 'loss'). */
  lossName?: string;
}

export interface GradientModel {
  model: OnnxModel;
  /** Per-sample loss [N]. */
  lossOutput: string;
  /** wrt input → output holding ∂(Σ_n loss_n)/∂input, shaped like the input. */
  gradOutputs: Record<string, string>;
  /** gram name → output holding the C×C Gram matrix. */
  gramOutputs: Record<string, string>;
  /** gram name → output holding the per-channel sums [C] of the same tensor (for channel means). */
  channelSumOutputs: Record<string, string>;
  /** Number of nodes added for the loss and the backward pass. */
  addedNodes: number;
}

interface Flow {
  inputs: number[];
  outputs: number[];
}

function flowOf(node: NodeProto): Flow {
  const rule = node.domain && node.domain !== 'ai.onnx' ? undefined : RULES[node.opType];
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    inputs: (rule?.inputs ? rule.inputs(node) : all(node.input.length)).filter((i) => !!node.input[i]),
    outputs: (rule?.outputs ?? all(node.output.length)).filter((i) => !!node.output[i]),
  };
}

export function buildGradientModel(forward: OnnxModel, opts: GradientOptions): GradientModel {
  if (forward.opset < MIN_OPSET || forward.opset > MAX_OPSET) {
    throw new AutodiffError('unsupported-opset', `gradient graphs are built for opsets ${MIN_OPSET}–${MAX_OPSET}; the model uses ${forward.opset}`);
  }
  // At the model's own opset when its rules allow (the gradient graph then runs wherever the
  // model does); otherwise once more at the opset a rule asked for, with the forward nodes
  // carried over to it. Rules ask only for what they need, so a second retry cannot help.
  try {
    return buildAt(forward, forward.opset, opts);
  } catch (err) {
    if (!(err instanceof OpsetTooLow) || err.needed > MAX_OPSET) throw err;
    return buildAt(forward, err.needed, opts);
  }
}

function buildAt(forward: OnnxModel, opset: number, opts: GradientOptions): GradientModel {
  const model = forward.clone();
  if (opset > model.opset) upgradeOpset(model, opset, inferSymbolicShapes(model, opts.inputShapes));
  const graph = model.graph;
  const realInputs = new Map(model.realInputs.map((v) => [v.name, v]));
  const tensors = new Set<string>([...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  for (const n of graph.node) for (const o of n.output) if (o) tensors.add(o);

  if (opts.wrt.length === 0) throw new AutodiffError('bad-option', 'no input to differentiate with respect to (wrt is empty)');
  for (const w of opts.wrt) {
    const v = realInputs.get(w);
    if (!v) throw new AutodiffError('bad-option', `wrt '${w}' is not a graph input of the model`);
    const t = valueInfoElemType(v);
    if (t !== 0 && t !== DataType.FLOAT) throw new AutodiffError('bad-option', `wrt '${w}' is not a float32 input`);
  }
  const loss = opts.loss;
  if (!tensors.has(loss.output)) throw new AutodiffError('bad-option', `loss output '${loss.output}' is not a tensor of the model`);
  const lossInputs = lossInputNames(loss);
  for (const lossInput of lossInputs) if (tensors.has(lossInput)) throw new AutodiffError('bad-option', `the loss input name '${lossInput}' is already used in the model`);
  for (const t of [...(opts.extraOutputs ?? []), ...(opts.grams ?? []).map((g) => g.tensor)]) {
    if (!tensors.has(t)) throw new AutodiffError('bad-option', `'${t}' is not a tensor of the model`);
  }

  const shapes = inferSymbolicShapes(model, opts.inputShapes);
  const used = new Set<string>([...tensors, ...graph.node.map((n) => n.name), ...lossInputs]);
  const e = new Emitter(opset, used);
  const outDims = shapes.get(loss.output);
  if (loss.kind === 'mse') {
    graph.input.push(makeValueInfo(loss.target, outDims?.map((d) => d ?? undefined), DataType.FLOAT));
    shapes.set(loss.target, outDims);
  }
  const labelsInput = loss.labels;
  if (labelsInput !== undefined) {
    graph.input.push(makeValueInfo(labelsInput, outDims ? [outDims[0] ?? undefined] : undefined, DataType.INT64));
  }
  const emitted = emitLoss(e, shapes, loss);

  const ctx: RuleContext = {
    e,
    model,
    shapes,
    opset,
    reduceTo: (g, gShape, like) => reduceTo(e, shapes, g, gShape, like),
    rank: (t, node) => {
      const r = shapes.rank(t);
      if (r === undefined) ctx.fail(node, 'shape-unknown', `the rank of '${t}' could not be inferred (give inputShapes)`);
      return r;
    },
    fail: (node, code, detail) => {
      throw new AutodiffError(code, `${node.opType} node '${node.name}': ${detail}`, node.name, node.opType);
    },
    needOpset: (node, min, detail) => {
      if (opset >= min) return;
      throw new OpsetTooLow(min, `${node.opType} node '${node.name}': ${detail}`, node.name, node.opType);
    },
  };

  // Only tensors that depend on a wrt input and that the loss depends on carry gradients.
  const order = topoOrder(graph.node, { onCycle: 'throw' });
  const flows = new Map(order.map((n) => [n, flowOf(n)]));
  const fromWrt = new Set(opts.wrt);
  for (const n of order) {
    const f = flows.get(n)!;
    if (f.inputs.some((i) => fromWrt.has(n.input[i]!))) for (const o of f.outputs) fromWrt.add(n.output[o]!);
  }
  const toLoss = new Set([loss.output]);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const f = flows.get(n)!;
    if (f.outputs.some((o) => toLoss.has(n.output[o]!))) for (const i of f.inputs) toLoss.add(n.input[i]!);
  }
  const active = (t: string) => fromWrt.has(t) && toLoss.has(t);

  const pending = new Map<string, string[]>();
  const addGrad = (t: string, g: string) => {
    const list = pending.get(t);
    if (list) list.push(g);
    else pending.set(t, [g]);
  };
  const gradOf = (t: string): string | undefined => {
    const list = pending.get(t);
    if (!list) return undefined;
    if (list.length > 1) pending.set(t, [e.op1('Sum', list)]);
    return pending.get(t)![0];
  };
  addGrad(loss.output, emitted.seed);

  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const f = flows.get(node)!;
    const need = node.input.map((t, i) => f.inputs.includes(i) && active(t));
    if (!need.some((x) => x)) continue;
    const dY = node.output.map((o, i) => (f.outputs.includes(i) && active(o) ? gradOf(o) : undefined));
    if (dY.every((g) => g === undefined)) continue;
    const rule = node.domain && node.domain !== 'ai.onnx' ? undefined : RULES[node.opType];
    if (!rule) {
      throw new AutodiffError(
        'no-gradient-rule',
        `no backward rule for op ${node.domain ? node.domain + '.' : ''}${node.opType} (node '${node.name}'), which lies between a wrt input and the loss`,
        node.name,
        node.opType,
      );
    }
    const res = rule.backward(ctx, node, dY, need);
    need.forEach((nd, i) => {
      if (!nd) return;
      const g = res[i];
      if (!g) ctx.fail(node, 'no-gradient-rule', `no backward rule for input ${i} ('${node.input[i]}')`);
      addGrad(node.input[i]!, g);
    });
  }

  const outputs: { name: string; elemType: number }[] = [];
  const lossOutput = e.claim(opts.lossName ?? 'loss');
  e.op('Identity', [emitted.loss], {}, [lossOutput]);
  outputs.push({ name: lossOutput, elemType: DataType.FLOAT });
  const gradOutputs: Record<string, string> = {};
  for (const w of opts.wrt) {
    const name = e.claim(`grad/${w}`);
    e.op('Identity', [gradOf(w) ?? e.zerosLike(w)], {}, [name]);
    gradOutputs[w] = name;
    outputs.push({ name, elemType: DataType.FLOAT });
  }
  const gramOutputs: Record<string, string> = {};
  const channelSumOutputs: Record<string, string> = {};
  for (const g of opts.grams ?? []) {
    const name = e.claim(`gram/${g.name}`);
    e.op('Identity', [emitGram(e, shapes, g.tensor, g.channelsLast)], {}, [name]);
    gramOutputs[g.name] = name;
    outputs.push({ name, elemType: DataType.FLOAT });
    const sumName = e.claim(`chansum/${g.name}`);
    e.op('Identity', [emitChannelSums(e, shapes, g.tensor, g.channelsLast)], {}, [sumName]);
    channelSumOutputs[g.name] = sumName;
    outputs.push({ name: sumName, elemType: DataType.FLOAT });
  }
  const declared = new Set(graph.output.map((v) => v.name));
  const known = new Map([...graph.valueInfo, ...graph.input, ...graph.output].map((v) => [v.name, valueInfoElemType(v)]));
  for (const t of opts.extraOutputs ?? []) if (!declared.has(t)) outputs.push({ name: t, elemType: known.get(t) || DataType.FLOAT });

  graph.node.push(...e.nodes);
  graph.initializer.push(...e.initializers);
  for (const o of outputs) graph.output.push(makeValueInfo(o.name, undefined, o.elemType));
  model.invalidate();
  return { model, lossOutput, gradOutputs, gramOutputs, channelSumOutputs, addedNodes: e.nodes.length };
}

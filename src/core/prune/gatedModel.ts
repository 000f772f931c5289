// The gated model (issue 3 §1, METHOD §2): one graph input per channel group, multiplied onto
// every tensor where its channels are consumed, so gate 0 equals physical removal. The plumbing
// uses only Reshape (constant shape), Concat, Gather (constant indices), Mul and Add with
// constants, which the ONNX autodiff differentiates.
import type { NodeProto } from 'onnx-buf';
import { DataType, int64Tensor, makeNode, makeTensor, makeValueInfo, type OnnxModel } from '../onnx';
import type { DependencyAnalysis } from '../analysis/types';
import { PruneError } from './errors';

export type GateLayout = 'shared' | 'per-sample';

export interface GateInput {
  group: string;
  name: string;
  size: number;
}

/** Where gates are applied: the gated copy of `tensor` and the groups whose gates it reads. */
export interface GatePoint {
  tensor: string;
  gated: string;
  groups: number[];
}

export interface GatedModel {
  model: OnnxModel;
  gateInputs: GateInput[];
  layout: GateLayout;
  /** Every gated tensor, in graph order of its producer; lets a caller tell which tensors a group's gate reaches first. */
  points: GatePoint[];
}

/** Graph input name of a group's gate. */
export function gateInputName(groupId: string): string {
  return `gate/${groupId}`;
}

/** Rank of the tensors a group's producers write (4 for conv maps, 2 for Gemm features). */
function groupRank(model: OnnxModel, deps: DependencyAnalysis, groupIndex: number): number {
  const p = model.node(deps.groups[groupIndex]!.producers[0]!);
  return deps.tensors.get(p?.output[0] ?? '')?.rank ?? 4;
}

/**
 * Shared layout: gate/<id> has shape [C_g], one mask for the whole batch. Per-sample layout:
 * [N, C_g, 1, 1] ([N, C_g] for Gemm features), one mask per batch item, so one backward pass
 * yields per-sample gradients (METHOD §3).
 */
export function buildGatedModel(model: OnnxModel, deps: DependencyAnalysis, opts: { layout: GateLayout }): GatedModel {
  if (deps.groups.length === 0) throw new PruneError('no-variables', 'the model has no prunable channel groups to gate');
  const layout = opts.layout;
  const m = model.clone();
  const g = m.graph;
  const taken = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...m.nodes.flatMap((n) => [...n.input, ...n.output, n.name])]);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };

  // Bank position of every variable: groups one after another, in group order.
  const offsets: number[] = [];
  let total = 0;
  for (const grp of deps.groups) {
    offsets.push(total);
    total += grp.size;
  }
  const bankPos = Int32Array.from(deps.variables, (v) => offsets[v.group]! + v.index);

  const gateInputs: GateInput[] = [];
  const prelude: NodeProto[] = [];
  const bankParts: string[] = [];
  deps.groups.forEach((grp, gi) => {
    const name = gateInputName(grp.id);
    if (taken.has(name)) throw new PruneError('bad-option', `the model already has a tensor named '${name}'`);
    taken.add(name);
    gateInputs.push({ group: grp.id, name, size: grp.size });
    const rank = groupRank(model, deps, gi);
    if (layout === 'shared') {
      g.input.push(makeValueInfo(name, [grp.size]));
      bankParts.push(name);
    } else {
      const dims: (number | string)[] = rank === 2 ? ['N', grp.size] : ['N', grp.size, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
      g.input.push(makeValueInfo(name, dims));
      if (rank === 2) bankParts.push(name);
      else {
        // [N, C, 1, 1] → [N, C] so every group lines up on axis 1 of one [N, total] bank.
        const shape = fresh(`qp_gate/${grp.id}/shape2d`);
        g.initializer.push(int64Tensor(shape, [-1, grp.size]));
        const flat = fresh(`qp_gate/${grp.id}/2d`);
        prelude.push(makeNode('Reshape', [name, shape], [flat], fresh(`qp_gate/${grp.id}/Reshape`)));
        bankParts.push(flat);
      }
    }
  });
  const bank = fresh('qp_gate/bank');
  const axis = layout === 'shared' ? 0 : 1;
  prelude.push(makeNode('Concat', bankParts, [bank], fresh('qp_gate/bank/Concat'), { axis }));

  // One Mul per gated tensor; all of its gate edges read the product.
  const edgesByTensor = new Map<string, { node: string; inputIndex: number }[]>();
  for (const gp of deps.gates) {
    let l = edgesByTensor.get(gp.tensor);
    if (!l) edgesByTensor.set(gp.tensor, (l = []));
    l.push({ node: gp.node, inputIndex: gp.inputIndex });
  }
  const after = new Map<string, NodeProto[]>();
  const early: NodeProto[] = [];
  const points: GatePoint[] = [];
  for (const [tensor, edges] of edgesByTensor) {
    const map = deps.tensors.get(tensor);
    if (!map) continue;
    const rank = map.rank ?? 4;
    const C = map.variable.length;
    const ones = new Array<number>(Math.max(0, rank - 2)).fill(1);
    // Channels-last tensors take the gate on their last axis: [1, …, 1, C] broadcasts there.
    const gateDims = map.axis === rank - 1 && rank > 2 ? [...ones, C] : [C, ...ones];
    const idx = new BigInt64Array(C);
    const locked: number[] = [];
    map.variable.forEach((v, c) => {
      if (v >= 0) idx[c] = BigInt(bankPos[v]!);
      else locked.push(c);
    });
    const base = `qp_gate/${tensor}`;
    const idxName = fresh(`${base}/index`);
    g.initializer.push(makeTensor(idxName, gateDims, idx, DataType.INT64));
    const gathered = fresh(`${base}/gate`);
    const nodes: NodeProto[] = [makeNode('Gather', [bank, idxName], [gathered], fresh(`${base}/Gather`), { axis })];
    let gate = gathered;
    if (locked.length > 0) {
      // Locked channels get gate 1 exactly: g·a + b with a = 0, b = 1 there (a = 1, b = 0 elsewhere).
      const a = new Float32Array(C).fill(1);
      const b = new Float32Array(C);
      for (const c of locked) {
        a[c] = 0;
        b[c] = 1;
      }
      const aName = fresh(`${base}/unlocked`);
      const bName = fresh(`${base}/locked`);
      g.initializer.push(makeTensor(aName, gateDims, a, DataType.FLOAT), makeTensor(bName, gateDims, b, DataType.FLOAT));
      const scaled = fresh(`${base}/gate_scaled`);
      const full = fresh(`${base}/gate_full`);
      nodes.push(makeNode('Mul', [gathered, aName], [scaled], fresh(`${base}/MulLocked`)));
      nodes.push(makeNode('Add', [scaled, bName], [full], fresh(`${base}/AddLocked`)));
      gate = full;
    }
    const gated = fresh(`${tensor}/gated`);
    points.push({ tensor, gated, groups: [...new Set(map.variable.filter((v) => v >= 0).map((v) => deps.variables[v]!.group))].sort((x, y) => x - y) });
    nodes.push(makeNode('Mul', [tensor, gate], [gated], fresh(`${base}/Mul`)));
    for (const e of edges) {
      const node = m.node(e.node);
      if (!node || node.input[e.inputIndex] !== tensor) throw new PruneError('bad-option', `gate point ${e.node}:${e.inputIndex} does not read '${tensor}'`);
      node.input[e.inputIndex] = gated;
    }
    const p = model.producer(tensor);
    if (p) {
      let l = after.get(p.name);
      if (!l) after.set(p.name, (l = []));
      l.push(...nodes);
    } else early.push(...nodes);
  }
  const ordered: NodeProto[] = [...prelude, ...early];
  for (const n of g.node) {
    ordered.push(n);
    const extra = after.get(n.name);
    if (extra) ordered.push(...extra);
  }
  g.node = ordered;
  m.invalidate();
  return { model: m, gateInputs, layout, points };
}

/** Gate feeds for a keep mask: values per group in the layout's shape (batch 1 for per-sample). */
export function gateValues(deps: DependencyAnalysis, keep: Uint8Array | undefined, group: number): Float32Array {
  const grp = deps.groups[group]!;
  return Float32Array.from(grp.variables, (v) => (keep ? keep[v]! : 1));
}

// Physical pruning (issue 3 §2): a new model in which pruned channels no longer exist. Every
// constant slice from the analysis is cut, channel-dependent attributes and shape constants are
// rewritten, stale shape annotations are dropped and dead nodes removed.
import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, DataType, makeAttr, makeValueInfo, OnnxModelError, type OnnxModel } from '../onnx';
import { openSession, ort } from '../runtime/session';
import type { DependencyAnalysis, TensorChannels } from '../analysis/types';
import { normAxis, sliceRange } from '../analysis/rules/shapeMath';
import { PruneError } from './errors';
import { validateKeep } from './masks';
import { keptCount, keptIndices, planSlices, sliceAxis } from './slicePlan';

export interface ExportOptions {
  /** Allow writing over the model the input was loaded from. */
  allowOverwriteSource?: boolean;
  /** Input shape for a trial run on zeros (in addition to loading the model in onnxruntime). */
  checkInputShape?: number[];
}

export function exportPruned(model: OnnxModel, deps: DependencyAnalysis, keep: Uint8Array): OnnxModel {
  validateKeep(deps, keep);
  // Sliced tensors are replaced whole and the rest are kept as they are, so the export can share
  // the source's bytes instead of copying every weight first.
  const m = model.deriveSharingWeights();
  const plan = planSlices(model, deps);
  for (const item of plan) {
    const t = m.constant(item.source);
    if (!t) throw new PruneError('invalid-export', `constant '${item.source}' is missing from the model`);
    let data = t.data;
    const dims = t.dims.slice();
    for (const s of item.slices) {
      const idx = keptIndices(s, dims[s.axis]!, keep);
      data = sliceAxis(data, dims, s.axis, idx);
      dims[s.axis] = idx.length;
    }
    m.setInitializer(item.target, dims, data, t.dataType);
    for (const nodeName of item.rewire) {
      const node = m.node(nodeName)!;
      node.input = node.input.map((i) => (i === item.source ? item.target : i));
    }
  }
  m.invalidate();
  declareSlicedInputs(m, plan.map((i) => i.target));
  fixChannelAttributes(m, deps, keep);
  dropStaleShapes(m, deps, keep);
  removeDeadCode(m);
  m.invalidate();
  return m;
}

/**
 * Exports, checks that onnxruntime accepts the result, then writes it atomically. The source
 * model is never overwritten unless allowed.
 */
export async function savePruned(model: OnnxModel, deps: DependencyAnalysis, keep: Uint8Array, outPath: string, opts: ExportOptions = {}): Promise<OnnxModel> {
  const pruned = exportPruned(model, deps, keep);
  await validatePruned(pruned, opts.checkInputShape);
  await pruned.save(outPath, { allowOverwriteSource: opts.allowOverwriteSource });
  return pruned;
}

/**
 * Loads the model in onnxruntime (CPU) and, given an input shape, runs it once on zeros. With the
 * `source` it was pruned from, a failure is first checked against the source: when that fails
 * too, the input model is at fault (bad input), not the export.
 */
export async function validatePruned(model: OnnxModel, inputShape?: number[], source?: OnnxModel): Promise<void> {
  const problem = await runsInOnnxruntime(model, inputShape);
  if (problem === undefined) return;
  const sourceProblem = source ? await runsInOnnxruntime(source, inputShape) : undefined;
  if (sourceProblem !== undefined) {
    throw new OnnxModelError('invalid-graph', `${source!.sourcePath ? `'${source!.sourcePath}'` : 'the model'} does not run in onnxruntime: ${sourceProblem}`);
  }
  throw new PruneError('invalid-export', `the pruned model does not load in onnxruntime: ${problem}`);
}

/** Why onnxruntime cannot load the model (or run it at `inputShape`), or undefined when it can. */
async function runsInOnnxruntime(model: OnnxModel, inputShape?: number[]): Promise<string | undefined> {
  let session: ort.InferenceSession | undefined;
  try {
    session = (await openSession(model.toBytes(), { provider: 'cpu', threads: 1 })).session;
    if (inputShape) {
      const n = inputShape.reduce((a, b) => a * b, 1);
      await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(n), inputShape) });
    }
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  } finally {
    await session?.release();
  }
}

/**
 * Old exporters (IR < 4 requires it) list initializers among the graph inputs with their shapes;
 * those declarations must follow the sliced dims, and new copies must be declared too.
 */
function declareSlicedInputs(m: OnnxModel, targets: string[]): void {
  const g = m.graph;
  const listsInits = g.input.some((v) => m.isInitializer(v.name));
  if (!listsInits && m.proto.irVersion >= 4n) return;
  for (const name of targets) {
    const t = m.initializers().get(name)!;
    const info = makeValueInfo(name, t.dims.map(Number), t.dataType);
    const i = g.input.findIndex((v) => v.name === name);
    if (i >= 0) g.input[i] = info;
    else g.input.push(info);
  }
}

function kept(deps: DependencyAnalysis, tensor: string | undefined, keep: Uint8Array): { map: TensorChannels; kept: number } | undefined {
  const map = tensor ? deps.tensors.get(tensor) : undefined;
  if (!map) return undefined;
  return { map, kept: keptCount(map.variable, keep) };
}

function ints(m: OnnxModel, name: string | undefined): number[] | undefined {
  const t = name ? m.constant(name) : undefined;
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

function freshName(m: OnnxModel, base: string): string {
  const taken = new Set<string>([...m.graph.initializer.map((t) => t.name), ...m.nodes.flatMap((n) => [...n.input, ...n.output])]);
  let name = base;
  for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
  return name;
}

/** Writes an int vector constant as a new initializer of the original's type and points the node at it. */
function replaceIntInput(m: OnnxModel, node: NodeProto, index: number, values: number[], like?: string): void {
  const orig = like ? m.constant(like) : undefined;
  const dt = orig?.dataType === DataType.INT32 ? DataType.INT32 : DataType.INT64;
  const data = dt === DataType.INT32 ? Int32Array.from(values) : BigInt64Array.from(values.map((v) => BigInt(v)));
  const name = freshName(m, `${node.name}/pruned_${index}`);
  m.setInitializer(name, [values.length], data, dt);
  while (node.input.length <= index) node.input.push('');
  node.input[index] = name;
}

function setIntsAttr(node: NodeProto, name: string, values: number[]): void {
  node.attribute = node.attribute.filter((a) => a.name !== name);
  node.attribute.push(makeAttr(name, values));
}

/** Int64 slice bounds can hold INT64_MAX; keep them exact instead of round-tripping through numbers. */
function replaceBound(m: OnnxModel, node: NodeProto, index: number, k: number, value: number): void {
  const name = node.input[index]!;
  const t = m.constant(name)!;
  const name2 = freshName(m, `${node.name}/pruned_${index}`);
  if (t.data instanceof BigInt64Array) {
    const d = t.data.slice();
    d[k] = BigInt(value);
    m.setInitializer(name2, t.dims, d, DataType.INT64);
  } else {
    const d = Int32Array.from(t.data as ArrayLike<number>);
    d[k] = value;
    m.setInitializer(name2, t.dims, d, DataType.INT32);
  }
  node.input[index] = name2;
}

function fixChannelAttributes(m: OnnxModel, deps: DependencyAnalysis, keep: Uint8Array): void {
  const opset = m.opset;
  for (const node of m.nodes) {
    const op = node.opType;
    if ((op === 'Conv' || op === 'ConvTranspose') && attrInt(node, 'group', 1) > 1) {
      // Grouped and depthwise convs lose whole groups (the analysis couples each group's input
      // channels), so the kept input channels divide into groups of the original width.
      const x = kept(deps, node.input[0], keep);
      const group = attrInt(node, 'group', 1);
      if (!x || x.kept === x.map.variable.length) continue;
      const groups = x.kept / (x.map.variable.length / group);
      if (Number.isInteger(groups) && groups !== group) {
        node.attribute = node.attribute.filter((a) => a.name !== 'group');
        node.attribute.push(makeAttr('group', groups));
      }
    } else if (op === 'Split') {
      const x = kept(deps, node.input[0], keep);
      if (!x) continue;
      const axis = normAxis(attrInt(node, 'axis', 0), x.map.rank ?? 4);
      if (axis !== 1) continue;
      const outs = node.output.map((o) => kept(deps, o, keep));
      if (outs.every((o) => o && o.kept === o.map.variable.length)) continue;
      const sizes = outs.map((o) => o?.kept ?? 0);
      if (opset < 13) setIntsAttr(node, 'split', sizes);
      else {
        node.attribute = node.attribute.filter((a) => a.name !== 'num_outputs');
        replaceIntInput(m, node, 1, sizes, node.input[1]);
      }
    } else if (op === 'Slice') {
      const x = kept(deps, node.input[0], keep);
      if (!x || x.kept === x.map.variable.length) continue;
      const starts = ints(m, node.input[1]);
      const ends = ints(m, node.input[2]);
      if (!starts || !ends) continue;
      const axes = node.input[3] ? ints(m, node.input[3])! : starts.map((_, i) => i);
      const rank = x.map.rank ?? 4;
      const k = axes.findIndex((a) => normAxis(a, rank) === 1);
      if (k < 0) continue;
      const r = sliceRange(starts[k]!, ends[k]!, 1, x.map.variable.length)!;
      let before = 0;
      let inside = 0;
      x.map.variable.forEach((v, c) => {
        const alive = v < 0 || keep[v] === 1;
        if (!alive) return;
        if (c < r.start) before++;
        else if (c < r.end) inside++;
      });
      replaceBound(m, node, 1, k, before);
      replaceBound(m, node, 2, k, before + inside);
    } else if (op === 'Resize') {
      const y = kept(deps, node.output[0], keep);
      const sizes = ints(m, node.input[3]);
      if (!y || !sizes || y.kept === y.map.variable.length) continue;
      const axesAttr = attrInts(node, 'axes');
      const pos = axesAttr ? axesAttr.findIndex((a) => normAxis(a, y.map.rank ?? 4) === 1) : 1;
      if (pos < 0) continue;
      sizes[pos] = y.kept;
      replaceIntInput(m, node, 3, sizes, node.input[3]);
    } else if (op === 'Reshape') {
      const y = kept(deps, node.output[0], keep);
      const target = reshapeTarget(m, node);
      if (!y && target) {
        shuffleTarget(node, kept(deps, node.input[0], keep), target);
        continue;
      }
      if (!y || !target || y.kept === y.map.variable.length) continue;
      const c = target.values[1];
      if (c !== undefined && c > 0) target.write(1, y.kept);
    }
  }
}

interface ReshapeTarget {
  /** Entries of the target; undefined where a Concat piece is computed at run time. */
  values: (number | undefined)[];
  /** Replaces one constant entry, in a fresh constant so that no other reader of the old one sees it. */
  write(k: number, value: number): void;
}

/**
 * A Reshape's target as a constant, or as the Concat of constants and one-entry run-time pieces the
 * analysis accepts (reshapeTarget in rules/structure.ts): there only the constant piece holding the
 * channel entry is replaced, and the batch and spatial entries stay computed at run time.
 */
function reshapeTarget(m: OnnxModel, node: NodeProto): ReshapeTarget | undefined {
  const whole = ints(m, node.input[1]);
  if (whole) return { values: whole, write: (k, v) => replaceIntInput(m, node, 1, whole.map((w, i) => (i === k ? v : w)), node.input[1]) };
  const cat = m.producer(node.input[1]!);
  if (!cat || cat.opType !== 'Concat') return undefined;
  const values: (number | undefined)[] = [];
  const pieceAt: { piece: number; offset: number }[] = [];
  cat.input.forEach((name, piece) => {
    const v = ints(m, name) ?? [undefined];
    v.forEach((e, offset) => {
      values.push(e);
      pieceAt.push({ piece, offset });
    });
  });
  const write = (k: number, value: number) => {
    const { piece, offset } = pieceAt[k]!;
    const v = ints(m, cat.input[piece])!;
    v[offset] = value;
    replaceIntInput(m, cat, piece, v, cat.input[piece]);
  };
  return { values, write };
}

/**
 * First Reshape of a channel shuffle, [N, C, …] → [N, g, C/g, …]: the analysis keeps the same
 * positions in every block, so the block width becomes kept/g and g stays.
 */
function shuffleTarget(node: NodeProto, x: { map: TensorChannels; kept: number } | undefined, target: ReshapeTarget): void {
  if (!x || x.kept === x.map.variable.length || target.values.length !== (x.map.rank ?? 4) + 1) return;
  const C = x.map.variable.length;
  const [groups, per] = [target.values[1], target.values[2]];
  if (per === undefined || per <= 0 || C % per !== 0) return;
  const g = C / per;
  if (groups === undefined || (groups > 0 && groups !== g)) {
    throw new PruneError('invalid-export', `Reshape '${node.name}': channel shuffle target [${target.values.join(',')}] does not split ${C} channels into blocks of ${per}`);
  }
  target.write(2, x.kept / g);
}

/** value_info entries of shrunk tensors would contradict the new shapes (ORT warns and falls back). */
function dropStaleShapes(m: OnnxModel, deps: DependencyAnalysis, keep: Uint8Array): void {
  const changed = new Set<string>();
  for (const [name, t] of deps.tensors) if (keptCount(t.variable, keep) !== t.variable.length) changed.add(name);
  m.graph.valueInfo = m.graph.valueInfo.filter((v) => !changed.has(v.name));
}

function removeDeadCode(m: OnnxModel): void {
  const g = m.graph;
  for (;;) {
    const used = new Set<string>(m.outputNames);
    for (const n of g.node) for (const i of n.input) used.add(i);
    for (const n of g.node) for (const a of n.attribute) if (a.g || a.graphs.length) collectSubgraphInputs(a, used);
    const before = g.node.length;
    g.node = g.node.filter((n) => n.output.some((o) => o && used.has(o)));
    if (g.node.length === before) {
      const deadInits = g.initializer.filter((t) => !used.has(t.name)).map((t) => t.name);
      for (const name of deadInits) m.removeInitializer(name);
      return;
    }
    m.invalidate();
  }
}

function collectSubgraphInputs(a: NodeProto['attribute'][number], used: Set<string>): void {
  const graphs = a.g ? [a.g, ...a.graphs] : a.graphs;
  for (const sg of graphs) {
    for (const n of sg.node) {
      for (const i of n.input) used.add(i);
      for (const b of n.attribute) collectSubgraphInputs(b, used);
    }
  }
}

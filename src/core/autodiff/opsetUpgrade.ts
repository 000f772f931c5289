// Raises the opset of a forward graph so its gradient graph can use ops the source opset lacks
// (issue 14 §4): overlapping MaxPool windows and Gather with run-time indices scatter with
// ScatterElements(reduction="add"), which exists from opset 16, while PyTorch exports GoogLeNet
// and ResNet stems at opset 13 or lower by default. The gradient model is ours, so it may run at
// a newer opset than the file; the forward nodes copied into it are rewritten wherever their
// signature changed between the two versions, so they compute exactly what they did.
import type { GraphProto, NodeProto } from 'onnx-buf';
import { attr, attrInt, attrString, int64Tensor, floatTensor, makeAttr, makeNode, type OnnxModel } from '../onnx';
import { AutodiffError } from './errors';
import type { ShapeInfo } from './shapes';

/** Thrown by a backward rule that needs a newer opset than the model's; buildGradientModel retries at `needed`. */
export class OpsetTooLow extends AutodiffError {
  constructor(
    readonly needed: number,
    message: string,
    node?: string,
    opType?: string,
  ) {
    super('unsupported-opset', message, node, opType);
  }
}

const DEFAULT_DOMAIN = (n: NodeProto) => !n.domain || n.domain === 'ai.onnx';

/**
 * Rewrites `model` (a private copy) in place from its opset to `target`. `shapes` (inferred at the
 * source opset) gives ranks where a semantic change depends on them (Softmax before 13). Throws
 * 'unsupported-opset' naming the node when a node cannot be carried over unchanged in meaning.
 */
export function upgradeOpset(model: OnnxModel, target: number, shapes: ShapeInfo): void {
  const from = model.opset;
  if (target <= from) return;
  const taken = new Set<string>([...model.graph.initializer.map((t) => t.name), ...model.graph.input.map((v) => v.name)]);
  const walk = (g: GraphProto) => {
    for (const n of g.node) {
      taken.add(n.name);
      for (const o of n.output) taken.add(o);
      for (const a of n.attribute) {
        if (a.g) walk(a.g);
        a.graphs.forEach(walk);
      }
    }
  };
  walk(model.graph);
  const fresh = (hint: string) => {
    let name = hint;
    for (let k = 1; taken.has(name); k++) name = `${hint}_${k}`;
    taken.add(name);
    return name;
  };
  const fail = (node: NodeProto, why: string): never => {
    throw new AutodiffError('unsupported-opset', `cannot raise the model from opset ${from} to ${target} for its gradient graph: ${node.opType} node '${node.name}' ${why}`, node.name, node.opType);
  };
  const convertGraph = (g: GraphProto, top: boolean) => {
    const out: NodeProto[] = [];
    for (const node of g.node) {
      for (const a of node.attribute) {
        if (a.g) convertGraph(a.g, false);
        a.graphs.forEach((s) => convertGraph(s, false));
      }
      if (!DEFAULT_DOMAIN(node)) {
        out.push(node);
        continue;
      }
      out.push(...convertNode(node, top));
    }
    g.node = out;
  };
  const moveIntsToInput = (node: NodeProto, name: string, position: number) => {
    const a = attr(node, name);
    if (!a) return;
    const c = fresh(`${node.name}/${name}`);
    model.graph.initializer.push(int64Tensor(c, a.ints.map(Number)));
    while (node.input.length < position) node.input.push('');
    node.input[position] = c;
    node.attribute = node.attribute.filter((x) => x !== a);
  };
  const convertNode = (node: NodeProto, top: boolean): NodeProto[] => {
    const op = node.opType;
    if (from < 12 && target >= 12 && op === 'Dropout') {
      // Dropout-12 takes the ratio as an input; at inference it is the identity either way.
      const a = attr(node, 'ratio');
      if (a) {
        const c = fresh(`${node.name}/ratio`);
        model.graph.initializer.push(floatTensor(c, [a.f], []));
        node.input[1] = c;
        node.attribute = node.attribute.filter((x) => x !== a);
      }
    }
    if (from < 13 && target >= 13) {
      if (op === 'Squeeze' || op === 'Unsqueeze' || op === 'ReduceSum') moveIntsToInput(node, 'axes', 1);
      if (op === 'Split') moveIntsToInput(node, 'split', 1);
      if (op === 'Resize' && attrString(node, 'coordinate_transformation_mode', 'half_pixel') === 'tf_half_pixel_for_nn') {
        fail(node, "uses coordinate_transformation_mode 'tf_half_pixel_for_nn', which opset 13 removed");
      }
      if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') return softmaxTo13(node, top);
    }
    return [node];
  };
  // Before opset 13 these ops coerced the input to 2-D at `axis` and normalised over the whole
  // trailing block; from 13 they normalise along `axis` alone. With `axis` the last axis the two
  // agree; otherwise the old meaning is Flatten → op(axis −1) → Reshape back.
  const softmaxTo13 = (node: NodeProto, top: boolean): NodeProto[] => {
    const x = node.input[0]!;
    const r = top ? shapes.rank(x) : undefined;
    if (r === undefined) fail(node, 'normalises over coerced 2-D rows (before opset 13), and the rank of its input is unknown');
    let axis = attrInt(node, 'axis', 1);
    if (axis < 0) axis += r!;
    node.attribute = node.attribute.filter((a) => a.name !== 'axis');
    if (axis === r! - 1) {
      node.attribute.push(makeAttr('axis', -1));
      return [node];
    }
    const flat = fresh(`${node.name}/flat`);
    const soft = fresh(`${node.name}/rows`);
    const shape = fresh(`${node.name}/shape`);
    const y = node.output[0]!;
    const nodes = [makeNode('Flatten', [x], [flat], fresh(`${node.name}/Flatten`), { axis }), makeNode(node.opType, [flat], [soft], node.name, { axis: -1 })];
    // A constant target shape where at most one dim is open, so shape inference (and the
    // gradient rules after it) still knows the output's dims; the input's run-time shape otherwise.
    const dims = shapes.get(x);
    const open = dims ? dims.filter((d) => typeof d !== 'number').length : Infinity;
    // With axis 1 the rows are the batch dim itself, which Reshape's 0 copies by name.
    const target = dims?.map((d, i) => (typeof d === 'number' ? d : i === 0 && axis === 1 ? 0 : -1));
    if (target && (axis === 1 ? open - (typeof dims![0] === 'number' ? 0 : 1) : open) <= 1) model.graph.initializer.push(int64Tensor(shape, target));
    else nodes.push(makeNode('Shape', [x], [shape], fresh(`${node.name}/Shape`)));
    nodes.push(makeNode('Reshape', [soft, shape], [y], fresh(`${node.name}/Reshape`)));
    return nodes;
  };
  convertGraph(model.graph, true);
  const entry = model.proto.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')!;
  entry.version = BigInt(target);
  // The IR version that introduced opset 16 and later (onnx's checker insists on it).
  if (model.proto.irVersion < 8n) model.proto.irVersion = 8n;
  model.invalidate();
}

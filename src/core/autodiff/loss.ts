// The per-sample loss inside the graph, and the gradient of its sum over samples w.r.t. the
// model output (the seed of the backward pass).
import { DataType } from '../onnx';
import { AutodiffError } from './errors';
import type { Emitter } from './emitter';
import type { ShapeInfo } from './shapes';

export interface MseLoss {
  kind: 'mse';
  /** Model output, e.g. the denoised image [N, C, H, W]. */
  output: string;
  /** Name of the new graph input holding the clean target (same shape as the output). */
  target: string;
  /**
   * With logits [N, K]: name of a new int64 input of class labels [N], whose cross-entropy is
   * added with weight `labelWeight` (logit distillation plus the task loss in one graph).
   */
  labels?: string;
  labelWeight?: number;
}

export interface CrossEntropyLoss {
  kind: 'cross-entropy';
  /** Logits [N, K]. */
  output: string;
  /** Name of the new int64 graph input holding the class labels [N]. */
  labels: string;
}

/**
 * Per-pixel cross-entropy of segmentation logits [N, K, H, W] against their own per-pixel argmax:
 * evaluated with every gate at 1 the gated model is the unpruned one, so this is self-distillation
 * from the unpruned model, and it needs no labels (nor any new graph input).
 */
export interface SelfCrossEntropyLoss {
  kind: 'self-cross-entropy';
  /** Class logits [N, K, H, W]. */
  output: string;
  /** No labels input: the target comes from the logits. */
  labels?: never;
}

/** Losses compared with a target fed as a new graph input. */
export type LossSpec = MseLoss | CrossEntropyLoss;
/** Every loss a gradient model can end in. */
export type GradientLoss = LossSpec | SelfCrossEntropyLoss;

/** Names of the graph inputs a loss adds (targets, labels). */
export function lossInputNames(spec: GradientLoss): string[] {
  if (spec.kind === 'mse') return [spec.target, ...(spec.labels !== undefined ? [spec.labels] : [])];
  if (spec.kind === 'cross-entropy') return [spec.labels];
  return [];
}

export interface EmittedLoss {
  /** Per-sample loss [N]. */
  loss: string;
  /** ∂(Σ_n loss_n)/∂output. */
  seed: string;
}

export function emitLoss(e: Emitter, shapes: ShapeInfo, spec: GradientLoss): EmittedLoss {
  const y = spec.output;
  if (spec.kind === 'mse') {
    // loss_n = mean over the sample's M elements of (y − t)²; ∂/∂y = 2(y − t)/M.
    const diff = e.op1('Sub', [y, spec.target]);
    const flat = e.op1('Flatten', [e.mul(diff, diff)], { axis: 1 });
    const mse = e.reduceMean(flat, [1], false);
    const dims = shapes.get(y);
    const per = dims?.slice(1);
    let scale: string;
    if (per && per.every((d) => typeof d === 'number')) scale = e.scalarF(2 / (per as number[]).reduce((a, b) => a * b, 1));
    else scale = e.op1('Div', [e.scalarF(2), e.op1('Cast', [e.shapeSlice(flat, 1, 2)], { to: DataType.FLOAT })]);
    const seed = e.mul(diff, scale);
    if (spec.labels === undefined) return { loss: mse, seed };
    const ce = crossEntropy(e, shapes, y, spec.labels);
    const w = e.scalarF(spec.labelWeight ?? 1);
    return { loss: e.op1('Add', [mse, e.mul(ce.loss, w)]), seed: e.op1('Add', [seed, e.mul(ce.seed, w)]) };
  }
  if (spec.kind === 'self-cross-entropy') return selfCrossEntropy(e, shapes, y);
  return crossEntropy(e, shapes, y, spec.labels);
}

function selfCrossEntropy(e: Emitter, shapes: ShapeInfo, y: string): EmittedLoss {
  const r = shapes.rank(y);
  if (r !== undefined && r !== 4) throw new AutodiffError('bad-option', `per-pixel cross-entropy expects logits of shape [N, K, H, W]; '${y}' has rank ${r}`);
  // log-softmax over the class axis written out: LogSoftmax before opset 13 flattens every axis
  // after the class axis into the softmax, which would mix pixels.
  const z = e.op1('Sub', [y, e.reduce('ReduceMax', y, [1], true)]);
  const logp = e.op1('Sub', [z, e.op1('Log', [e.reduceSum(e.op1('Exp', [z]), [1], true)])]);
  // The reference class per pixel: argmax of the logits themselves. ArgMax has no gradient and
  // none is wanted: the target stays fixed while the gates move.
  const target = e.op1('ArgMax', [y], { axis: 1, keepdims: 1 });
  const picked = e.op1('GatherElements', [logp, target], { axis: 1 });
  // loss_n = mean over the sample's P pixels of −log p(argmax); ∂/∂z = (softmax − onehot) / P.
  const loss = e.op1('Neg', [e.reduceMean(e.op1('Flatten', [picked], { axis: 1 }), [1], false)]);
  const k = e.reshape(e.shapeSlice(y, 1, 2), []);
  const classes = e.reshape(e.op1('Range', [e.constI64([0], []), k, e.constI64([1], [])]), [1, -1, 1, 1]);
  const onehot = e.op1('Cast', [e.op1('Equal', [target, classes])], { to: DataType.FLOAT });
  const dims = shapes.get(y);
  const hw = dims?.slice(2);
  let scale: string;
  if (hw && hw.every((d) => typeof d === 'number')) scale = e.scalarF(1 / (hw as number[]).reduce((a, b) => a * b, 1));
  else scale = e.op1('Div', [e.scalarF(1), e.op1('Cast', [e.op1('ReduceProd', [e.shapeSlice(y, 2)], { keepdims: 0 })], { to: DataType.FLOAT })]);
  return { loss, seed: e.mul(e.op1('Sub', [e.op1('Exp', [logp]), onehot]), scale) };
}

function crossEntropy(e: Emitter, shapes: ShapeInfo, y: string, labels: string): EmittedLoss {
  const r = shapes.rank(y);
  if (r !== undefined && r !== 2) throw new AutodiffError('bad-option', `cross-entropy expects logits of shape [N, K]; '${y}' has rank ${r}`);
  // loss_n = −log softmax(z_n)[label_n]; ∂/∂z = softmax(z) − onehot(label).
  const logp = e.op1('LogSoftmax', [y], { axis: 1 });
  const lab = e.unsqueeze(labels, [1]);
  const picked = e.op1('GatherElements', [logp, lab], { axis: 1 });
  const loss = e.op1('Neg', [e.squeeze(picked, [1])]);
  const k = e.reshape(e.shapeSlice(y, 1, 2), []);
  const classes = e.op1('Range', [e.constI64([0], []), k, e.constI64([1], [])]);
  const onehot = e.op1('Cast', [e.op1('Equal', [lab, classes])], { to: DataType.FLOAT });
  return { loss, seed: e.op1('Sub', [e.op1('Exp', [logp]), onehot]) };
}

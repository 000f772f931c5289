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
}

export interface CrossEntropyLoss {
  kind: 'cross-entropy';
  /** Logits [N, K]. */
  output: string;
  /** Name of the new int64 graph input holding the class labels [N]. */
  labels: string;
}

export type LossSpec = MseLoss | CrossEntropyLoss;

export interface EmittedLoss {
  /** Per-sample loss [N]. */
  loss: string;
  /** ∂(Σ_n loss_n)/∂output. */
  seed: string;
}

export function emitLoss(e: Emitter, shapes: ShapeInfo, spec: LossSpec): EmittedLoss {
  const y = spec.output;
  if (spec.kind === 'mse') {
    // loss_n = mean over the sample's M elements of (y − t)²; ∂/∂y = 2(y − t)/M.
    const diff = e.op1('Sub', [y, spec.target]);
    const flat = e.op1('Flatten', [e.mul(diff, diff)], { axis: 1 });
    const loss = e.reduceMean(flat, [1], false);
    const dims = shapes.get(y);
    const per = dims?.slice(1);
    let scale: string;
    if (per && per.every((d) => typeof d === 'number')) scale = e.scalarF(2 / (per as number[]).reduce((a, b) => a * b, 1));
    else scale = e.op1('Div', [e.scalarF(2), e.op1('Cast', [e.shapeSlice(flat, 1, 2)], { to: DataType.FLOAT })]);
    return { loss, seed: e.mul(diff, scale) };
  }
  const r = shapes.rank(y);
  if (r !== undefined && r !== 2) throw new AutodiffError('bad-option', `cross-entropy expects logits of shape [N, K]; '${y}' has rank ${r}`);
  // loss_n = −log softmax(z_n)[label_n]; ∂/∂z = softmax(z) − onehot(label).
  const logp = e.op1('LogSoftmax', [y], { axis: 1 });
  const lab = e.unsqueeze(spec.labels, [1]);
  const picked = e.op1('GatherElements', [logp, lab], { axis: 1 });
  const loss = e.op1('Neg', [e.squeeze(picked, [1])]);
  const k = e.reshape(e.shapeSlice(y, 1, 2), []);
  const classes = e.op1('Range', [e.constI64([0], []), k, e.constI64([1], [])]);
  const onehot = e.op1('Cast', [e.op1('Equal', [lab, classes])], { to: DataType.FLOAT });
  return { loss, seed: e.op1('Sub', [e.op1('Exp', [logp]), onehot]) };
}

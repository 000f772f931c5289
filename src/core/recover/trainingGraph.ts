// The training graph for recovery: the pruned model with its trainable initializers turned into
// graph inputs (so every step feeds the current weights), the distillation loss against the
// teacher's outputs and ∂loss/∂weight for every trainable tensor, all built by src/core/autodiff.
import { buildGradientModel, type Dim } from '../autodiff';
import { DataType, makeValueInfo, type OnnxModel } from '../onnx';
import { RecoverError } from './errors';

/**
 * Input positions of each op whose initializer is trained. BatchNormalization trains its scale
 * and shift only: its running mean and variance stay frozen (inference form, docs/RECOVERY.md).
 */
const TRAINABLE_INPUTS: Record<string, readonly number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  BatchNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  Gemm: [1, 2],
};

export interface TrainableTensor {
  name: string;
  dims: number[];
  /** The pruned model's value, the starting point of training. */
  initial: Float32Array;
}

/**
 * Float32 initializers used only at trainable positions. One used anywhere else (as a shape, by
 * an op without a weight rule) stays a constant: training it would change something the
 * gradient does not see.
 */
export function trainableTensors(model: OnnxModel): TrainableTensor[] {
  const out: TrainableTensor[] = [];
  const inits = model.initializers();
  for (const name of inits.keys()) {
    const uses = model.consumers(name);
    if (uses.length === 0) continue;
    if (!uses.every((u) => (!u.node.domain || u.node.domain === 'ai.onnx') && TRAINABLE_INPUTS[u.node.opType]?.includes(u.inputIndex))) continue;
    const t = model.constant(name);
    if (!t || !(t.data instanceof Float32Array) || t.data.length === 0) continue;
    out.push({ name, dims: [...t.dims], initial: Float32Array.from(t.data) });
  }
  return out;
}

/**
 * A copy of `model` whose listed initializers are float graph inputs with their own shapes:
 * the form both the training graph and the weight-fed validation model take.
 */
export function withWeightsAsInputs(model: OnnxModel, weights: readonly TrainableTensor[]): OnnxModel {
  const m = model.clone();
  for (const w of weights) {
    m.removeInitializer(w.name);
    m.graph.input.push(makeValueInfo(w.name, w.dims, DataType.FLOAT));
  }
  m.invalidate();
  return m;
}

export interface TrainingGraph {
  model: OnnxModel;
  /** Graph input of the image batch. */
  input: string;
  /** Graph input of the distillation target, shaped like the output. */
  teacher: string;
  /** Per-sample loss [N]. */
  lossOutput: string;
  /** weight name → output holding ∂(Σ_n loss_n)/∂weight. */
  gradOutputs: Record<string, string>;
  /** The student's output, also exposed (for live metrics on the training batch). */
  output: string;
  /** Graph input of the int64 class labels [N] when the loss has a cross-entropy term. */
  labels?: string;
  weights: TrainableTensor[];
}

export interface TrainingGraphOptions {
  /** Dims for the image input when its value info lacks them. */
  inputShapes?: Record<string, Dim[]>;
  teacherName?: string;
  /** Adds λ·cross-entropy on class labels (a new int64 input) to the logit distillation loss. */
  labelWeight?: number;
}

/**
 * loss_n = mean over sample n's outputs of (y − t)² (+ λ·cross-entropy on labels, classifiers). The denoisers' task loss needs no second graph input:
 * MSE(y, teacher) + λ·MSE(y, clean) = (1 + λ)·MSE(y, (teacher + λ·clean)/(1 + λ)) + const, so the
 * trainer feeds that blend as `t` (and scales by 1 + λ where it matters).
 */
export function buildTrainingGraph(pruned: OnnxModel, opts: TrainingGraphOptions = {}): TrainingGraph {
  const inputs = pruned.realInputs;
  if (inputs.length !== 1) throw new RecoverError('unsupported-model', `recovery expects a model with one image input; this one has ${inputs.length}`);
  if (pruned.graph.output.length !== 1) throw new RecoverError('unsupported-model', `recovery expects a model with one output; this one has ${pruned.graph.output.length}`);
  const weights = trainableTensors(pruned);
  if (weights.length === 0) throw new RecoverError('unsupported-model', 'the model has no trainable weights (Conv, ConvTranspose, Gemm, BatchNormalization or InstanceNormalization initializers)');
  const asInputs = withWeightsAsInputs(pruned, weights);
  const output = pruned.graph.output[0]!.name;
  const teacher = opts.teacherName ?? 'recover/teacher';
  const labels = opts.labelWeight !== undefined && opts.labelWeight > 0 ? 'recover/labels' : undefined;
  const gm = buildGradientModel(asInputs, {
    wrt: weights.map((w) => w.name),
    loss: { kind: 'mse', output, target: teacher, ...(labels ? { labels, labelWeight: opts.labelWeight } : {}) },
    ...(opts.inputShapes ? { inputShapes: opts.inputShapes } : {}),
    lossName: 'recover/loss',
  });
  return { model: gm.model, input: inputs[0]!.name, teacher, lossOutput: gm.lossOutput, gradOutputs: gm.gradOutputs, output, weights, ...(labels ? { labels } : {}) };
}

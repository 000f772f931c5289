// Re-estimates BatchNormalization running statistics of a pruned model on calibration data.
// Pruning removes input channels of every later convolution, so the activations reaching each
// BatchNormalization shift away from the statistics stored at training time; frozen, those
// statistics mis-normalise every layer after the first pruned one (DnCNN at 36 %: the L1-pruned
// model is ~10 dB below the original). One forward pass in "batch statistics" form — every BN
// normalised by the mean and variance of its own input over the batch, as PyTorch's train mode
// does — yields statistics that are consistent layer after layer, which a per-layer pass with
// the old statistics upstream would not be.
import { Emitter, inferSymbolicShapes } from '../autodiff';
import { makeValueInfo, DataType, type OnnxModel } from '../onnx';
import { openSession, ort, type SessionOptions } from '../runtime/session';

interface BnNode {
  name: string;
  mean: string;
  variance: string;
  channels: number;
}

/** BatchNormalization nodes whose running mean and variance are float32 initializers. */
function batchNorms(model: OnnxModel): BnNode[] {
  const out: BnNode[] = [];
  for (const n of model.graph.node) {
    if (n.opType !== 'BatchNormalization' || (n.domain && n.domain !== 'ai.onnx')) continue;
    const mean = model.constant(n.input[3] ?? '');
    const variance = model.constant(n.input[4] ?? '');
    if (!(mean?.data instanceof Float32Array) || !(variance?.data instanceof Float32Array)) continue;
    // A statistic shared with another node would change that node too.
    if (model.consumers(n.input[3]!).length !== 1 || model.consumers(n.input[4]!).length !== 1) continue;
    out.push({ name: n.name, mean: n.input[3]!, variance: n.input[4]!, channels: mean.data.length });
  }
  return out;
}

/**
 * A copy of `model` whose listed BatchNormalization nodes normalise by batch statistics, with
 * each node's batch mean and (biased) variance as graph outputs `[C]`.
 */
function batchStatisticsModel(model: OnnxModel, bns: readonly BnNode[], inputShape: readonly number[]): { model: OnnxModel; outputs: Map<string, { mean: string; variance: string }> } {
  const m = model.clone();
  const shapes = inferSymbolicShapes(m, { [m.realInputs[0]!.name]: [...inputShape] });
  const used = new Set<string>();
  for (const n of m.graph.node) {
    used.add(n.name);
    for (const t of [...n.input, ...n.output]) used.add(t);
  }
  for (const v of [...m.graph.input, ...m.graph.initializer]) used.add(v.name);
  const e = new Emitter(m.opset, used, 'bnstat');
  const byName = new Map(bns.map((b) => [b.name, b]));
  const outputs = new Map<string, { mean: string; variance: string }>();
  const nodes = [];
  for (const n of m.graph.node) {
    const bn = byName.get(n.name);
    if (!bn || n.opType !== 'BatchNormalization') {
      nodes.push(n);
      continue;
    }
    const x = n.input[0]!;
    const rank = shapes.rank(x) ?? 4;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, k) => k + 2)];
    const first = e.nodes.length;
    const mu = e.reduceMean(x, axes, true);
    const d = e.op1('Sub', [x, mu]);
    const v = e.reduceMean(e.mul(d, d), axes, true);
    const mean = e.reshape(mu, [-1]);
    const variance = e.reshape(v, [-1]);
    // The same op with the batch's statistics in place of the stored ones (inference form).
    const replaced = { ...n, input: [x, n.input[1]!, n.input[2]!, mean, variance] };
    nodes.push(...e.nodes.slice(first), replaced);
    outputs.set(bn.name, { mean, variance });
  }
  m.graph.node = nodes;
  m.graph.initializer.push(...e.initializers);
  for (const o of outputs.values()) m.graph.output.push(makeValueInfo(o.mean, undefined, DataType.FLOAT), makeValueInfo(o.variance, undefined, DataType.FLOAT));
  m.invalidate();
  return { model: m, outputs };
}

export interface BatchNormRecalibration {
  /** The model with re-estimated running statistics. */
  model: OnnxModel;
  /** BatchNormalization nodes whose statistics were re-estimated. */
  layers: number;
  seconds: number;
}

/**
 * Running mean and variance of every BatchNormalization re-estimated from `input` (samples of
 * shape `dims`, run in chunks of `chunk`): chunk means averaged, variances pooled by the law of
 * total variance. Undefined when the model has no BatchNormalization with stored statistics.
 */
export async function recalibrateBatchNorm(model: OnnxModel, input: Float32Array, dims: readonly number[], chunk: number, sessionOpts: SessionOptions): Promise<BatchNormRecalibration | undefined> {
  const started = performance.now();
  const bns = batchNorms(model);
  if (bns.length === 0) return undefined;
  const [n, ...rest] = dims;
  const per = rest.reduce((a, b) => a * b, 1);
  const stat = batchStatisticsModel(model, bns, [Math.min(chunk, n!), ...rest]);
  const opened = await openSession(stat.model.toBytes(), sessionOpts);
  const sums = new Map(bns.map((b) => [b.name, { mean: new Float64Array(b.channels), square: new Float64Array(b.channels) }]));
  let chunks = 0;
  try {
    const inputName = opened.session.inputNames[0]!;
    const fetch = [...stat.outputs.values()].flatMap((o) => [o.mean, o.variance]);
    // Equal-sized chunks only, so each chunk's statistics weigh the same in the average.
    const size = Math.min(chunk, n!);
    for (let s = 0; s + size <= n!; s += size) {
      const x = new ort.Tensor('float32', input.subarray(s * per, (s + size) * per), [size, ...rest]);
      const out = await opened.session.run({ [inputName]: x }, fetch);
      for (const b of bns) {
        const o = stat.outputs.get(b.name)!;
        const mu = out[o.mean]!.data as Float32Array;
        const v = out[o.variance]!.data as Float32Array;
        const acc = sums.get(b.name)!;
        for (let c = 0; c < b.channels; c++) {
          acc.mean[c]! += mu[c]!;
          acc.square[c]! += v[c]! + mu[c]! * mu[c]!;
        }
      }
      chunks++;
    }
  } finally {
    await opened.session.release();
  }
  const out = model.clone();
  for (const b of bns) {
    const acc = sums.get(b.name)!;
    const mean = new Float32Array(b.channels);
    const variance = new Float32Array(b.channels);
    for (let c = 0; c < b.channels; c++) {
      const mu = acc.mean[c]! / chunks;
      mean[c] = mu;
      variance[c] = Math.max(0, acc.square[c]! / chunks - mu * mu);
    }
    out.setInitializer(b.mean, [b.channels], mean);
    out.setInitializer(b.variance, [b.channels], variance);
  }
  return { model: out, layers: bns.length, seconds: (performance.now() - started) / 1000 };
}

// One pass over the calibration split through the gradient model: per-sample gate gradients
// become Taylor/Fisher sums, and Gram matrices at the gates become activation similarity.
import type { InferenceSession } from 'onnxruntime-node';
import { ort } from '../runtime/session';
import type { DataSplit } from '../data';
import type { DependencyAnalysis } from '../analysis/types';
import { GradientAccumulator } from '../importance/gradientStats';
import { throwIfCancelled } from './cancel';
import type { ModelTask } from './modelTask';

export interface GateInput {
  group: number;
  name: string;
  size: number;
  /** Trailing singleton dims of the per-sample gate ([N,C,1,1] → 2). */
  trailing: number;
}

export interface GramRequest {
  /** Output name of the Gram matrix in the gradient model. */
  output: string;
  tensor: string;
  channels: number;
  /** Output name of the per-channel sums [C] of the same tensor. */
  sumOutput?: string;
  /** The tensor is channels-last ([N, …, C]); the gradient model transposes it for the Gram. */
  channelsLast?: boolean;
}

export interface CalibrationResult {
  accumulator: GradientAccumulator;
  /** Summed Gram matrix per requested tensor, channels×channels. */
  grams: Map<string, Float64Array>;
  /** Summed activations per channel per requested tensor (when sums were requested). */
  channelSums: Map<string, Float64Array>;
  /** Samples whose activations the Gram matrices and sums cover. */
  gramSamples: number;
  samples: number;
  meanLoss: number;
}

export interface CalibrationOptions {
  session: InferenceSession;
  inputName: string;
  /** Name of the target feed: clean image (denoise) or int64 labels (classify); segmentation has none (its target is computed in the graph). */
  targetName: string;
  task: ModelTask;
  lossOutput: string;
  gates: GateInput[];
  gradOutputs: Record<string, string>;
  grams: GramRequest[];
  deps: DependencyAnalysis;
  split: DataSplit;
  batchSize: number;
  maxSamples: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * Gradients are taken at m = 1: every gate fed as ones. Each gate's gradient slice for sample n is
 * ∂L_n/∂m_i(n), because the loss is the sum of per-sample losses and each sample has its own gates.
 */
export async function calibrate(o: CalibrationOptions): Promise<CalibrationResult> {
  const n = o.deps.variables.length;
  const acc = new GradientAccumulator(n);
  const grams = new Map<string, Float64Array>();
  const sums = new Map<string, Float64Array>();
  for (const g of o.grams) {
    grams.set(g.tensor, new Float64Array(g.channels * g.channels));
    if (g.sumOutput) sums.set(g.tensor, new Float64Array(g.channels));
  }
  let gramSamples = 0;
  const fetches = [o.lossOutput, ...o.gates.map((g) => o.gradOutputs[g.name]!), ...o.grams.flatMap((g) => (g.sumOutput ? [g.output, g.sumOutput] : [g.output]))];
  let seen = 0;
  let lossSum = 0;
  const total = Math.min(o.maxSamples, o.split.count);
  for await (const batch of o.split.batches(o.batchSize)) {
    throwIfCancelled(o.signal);
    const take = Math.min(batch.shape[0], total - seen);
    if (take <= 0) break;
    const B = batch.shape[0];
    const feeds: Record<string, ort.Tensor> = { [o.inputName]: new ort.Tensor('float32', batch.input, batch.shape) };
    if (o.task === 'denoise') feeds[o.targetName] = new ort.Tensor('float32', batch.target!, batch.shape);
    else if (o.task === 'classify') feeds[o.targetName] = new ort.Tensor('int64', BigInt64Array.from(Array.from(batch.labels!, (v) => BigInt(v))), [B]);
    for (const g of o.gates) {
      feeds[g.name] = new ort.Tensor('float32', new Float32Array(B * g.size).fill(1), [B, g.size, ...new Array<number>(g.trailing).fill(1)]);
    }
    const out = await o.session.run(feeds, fetches);
    const loss = out[o.lossOutput]!.data as Float32Array;
    // Per-variable rows, sample-major, for the samples this batch contributes.
    const rows = new Float64Array(take * n);
    for (const g of o.gates) {
      const grad = out[o.gradOutputs[g.name]!]!.data as Float32Array;
      const vars = o.deps.groups[g.group]!.variables;
      for (let b = 0; b < take; b++) for (let i = 0; i < g.size; i++) rows[b * n + vars[i]!] = grad[b * g.size + i]!;
    }
    acc.addBatch(rows, take);
    for (let b = 0; b < take; b++) lossSum += loss[b]!;
    // A Gram matrix sums over the whole batch; a partial last batch would add samples past the
    // budget, so it is only used when nothing else was collected.
    if (take === B || seen === 0) {
      for (const g of o.grams) {
        const m = out[g.output]!.data as Float32Array;
        const sum = grams.get(g.tensor)!;
        for (let i = 0; i < sum.length; i++) sum[i] += m[i]!;
        if (g.sumOutput) {
          const c = out[g.sumOutput]!.data as Float32Array;
          const acc = sums.get(g.tensor)!;
          for (let i = 0; i < acc.length; i++) acc[i] += c[i]!;
        }
      }
      gramSamples += B;
    }
    seen += take;
    o.onProgress?.(seen / total);
    if (seen >= total) break;
  }
  return { accumulator: acc, grams, channelSums: sums, gramSamples, samples: seen, meanLoss: lossSum / Math.max(1, seen) };
}

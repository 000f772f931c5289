// Runs gated and pruned models side by side in onnxruntime (CPU, one thread) for the pruning tests.
import type { DependencyAnalysis } from '../../src/core/analysis/types';
import type { OnnxModel } from '../../src/core/onnx';
import type { GatedModel } from '../../src/core/prune/gatedModel';
import { openSession, ort } from '../../src/core/runtime/session';

export async function session(model: OnnxModel): Promise<ort.InferenceSession> {
  return (await openSession(model.toBytes(), { provider: 'cpu', threads: 1 })).session;
}

export async function runFirst(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const out = await s.run(feeds);
  return out[s.outputNames[0]!]!.data as Float32Array;
}

export function inputTensor(x: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', x, dims);
}

/** Gate feeds of a shared-layout gated model for one keep mask (undefined = all ones). */
export function sharedGateFeeds(deps: DependencyAnalysis, gated: GatedModel, keep: Uint8Array | undefined): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  deps.groups.forEach((g, gi) => {
    const vals = Float32Array.from(g.variables, (v) => (keep ? keep[v]! : 1));
    feeds[gated.gateInputs[gi]!.name] = new ort.Tensor('float32', vals, [g.size]);
  });
  return feeds;
}

/** Gate feeds of a per-sample gated model: row b holds mask b, shaped [B, C, 1, 1] (or [B, C] for features). */
export function perSampleGateFeeds(model: OnnxModel, deps: DependencyAnalysis, gated: GatedModel, keeps: Uint8Array[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const B = keeps.length;
  deps.groups.forEach((g, gi) => {
    const vals = new Float32Array(B * g.size);
    keeps.forEach((k, b) => g.variables.forEach((v, c) => (vals[b * g.size + c] = k[v]!)));
    const producerOut = model.node(g.producers[0]!)!.output[0]!;
    const rank = deps.tensors.get(producerOut)!.rank ?? 4;
    const dims = rank === 2 ? [B, g.size] : [B, g.size, ...new Array<number>(rank - 2).fill(1)];
    feeds[gated.gateInputs[gi]!.name] = new ort.Tensor('float32', vals, dims);
  });
  return feeds;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

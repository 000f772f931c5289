// What refinement scores candidates on, and when its result replaces the QUBO mask: one rule for
// the pipeline and the benchmarks.
import type { PruneSettings } from '../../protocol';
import { concatBatches, firstSamples, type Batch, type DataTask, type Dataset } from '../data';
import { elementCount, type OnnxModel } from '../onnx';
import type { ShapeMap } from '../analysis/types';
import type { GatedModel } from '../prune/gatedModel';
import { countCost } from '../prune/cost';
import { BatchedEvaluator, type GateLayout } from '../refine/batchedEvaluator';
import { openSession, type ProviderName } from '../runtime/session';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * The refinement objective's crops (setting refine.data): the first refine.valSamples validation
 * crops, after the first `samples` calibration crops for 'calib+val'. The test split is never used.
 */
export async function refinementBatch(data: Pick<Dataset<DataTask>, 'calib' | 'val'>, s: PruneSettings): Promise<Batch> {
  const val = await firstSamples(data.val, s.refine.valSamples);
  return s.refine.data === 'calib+val' ? concatBatches(await firstSamples(data.calib, s.samples), val) : val;
}

/** A refined mask replaces the QUBO mask only when its objective gain reaches refine.minGain (and is positive). */
export function refinementAccepted(r: { startValue: number; bestValue: number }, minGain: number): boolean {
  return r.bestValue > r.startValue && r.bestValue - r.startValue >= minGain;
}

/**
 * Batch items (candidates × images) per evaluator run. On CPU, big runs are slower per item, not
 * faster: 20 candidates × 28 crops of the Half-UNet fixture in one run took 6.5 s, in runs of 2–10
 * candidates 1.0–1.2 s (docs/REFINEMENT.md, "Evaluation cost"), because every run then touches hundreds of
 * megabytes of fresh activations. So a CPU run is sized so its largest activation stays near
 * 32 MiB; GPUs keep large runs (256 MiB), which they need to be busy. Always whole candidates.
 */
export function evaluatorRunItems(shapes: ShapeMap, images: number, provider: string): number {
  let largest = 4;
  for (const dims of shapes.values()) if (dims.length > 0) largest = Math.max(largest, elementCount(dims.slice(1)) * 4);
  const budget = (provider === 'cpu' ? 32 : 256) * 1024 * 1024;
  return Math.max(1, Math.floor(budget / (largest * images))) * images;
}

export interface RefinementEvaluatorInput {
  /** A session on `gated.model` (per-sample gates). */
  session: InferenceSession;
  provider: ProviderName;
  gated: GatedModel;
  /** The original model and its shapes (for MACs per node and the run size). */
  model: OnnxModel;
  shapes: ShapeMap;
  inputName: string;
  outputName: string;
  gates: GateLayout;
  data: Batch;
  task: 'denoise' | 'classify';
  signal?: AbortSignal;
}

/** The evaluator refinement scores candidates with, as the pipeline and the benchmarks build it: sized runs and block splits. */
export function refinementEvaluator(o: RefinementEvaluatorInput): BatchedEvaluator {
  return new BatchedEvaluator({
    session: o.session,
    inputName: o.inputName,
    outputName: o.outputName,
    gates: o.gates,
    data: o.data,
    task: o.task,
    maxBatchItems: evaluatorRunItems(o.shapes, o.data.shape[0], o.provider),
    ...(o.signal ? { signal: o.signal } : {}),
    split: {
      gated: o.gated,
      open: async (bytes) => (await openSession(bytes, { provider: o.provider, memPattern: false })).session,
      nodeCost: new Map(countCost(o.model, o.shapes).layers.map((l) => [l.node, l.macs])),
    },
  });
}

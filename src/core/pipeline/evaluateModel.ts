// Test-split metrics of a real (unmasked) model file: the numbers users see. A denoiser is scored
// on whole test images (as a user would measure it), tiled only when one image's activations would
// not fit in memory; a classifier on its test inputs as prepared (resize and centre crop); a
// segmentation model on the same prepared inputs, against the unpruned model's class maps.
import { openSession, ort, type ProviderName } from '../runtime/session';
import { ClassifyMetrics, DenoiseMetrics, SegmentationMetrics, argmaxClasses } from '../metrics';
import type { DataSplit } from '../data';
import { memoryBudgetBytes } from '../util/memory';
import { PipelineError, throwIfCancelled } from './cancel';
import { runTiled, type TileSpec } from './tiledRun';
import type { ModelTask } from './modelTask';
import type { QualityMetrics } from './events';

/** Whole-image batches hold at most this many images of one size. */
const EVAL_BATCH = 4;
/** Tiles when tiling is needed: large enough for kernels to run efficiently, overlap past a typical denoiser's receptive-field radius. */
export const TILE = { size: 256, overlap: 16 } as const;
/** Smallest tile tried when even 256×256 tiles would not fit. */
const MIN_TILE = 64;

export interface EvaluationPlan {
  /** Null: each image (or batch of same-size images) runs whole. */
  tile: TileSpec | null;
  /** How the test metrics are measured, in words for the report, e.g. 'whole images 128×128'. */
  test: string;
}

/**
 * Whole images when one image's activations fit `budgetBytes`, else the largest tile (256, halved
 * down to 64) whose activations do. `bytesPerPixel`: activation bytes per input pixel at batch 1.
 */
export function planWholeImageEvaluation(sizes: readonly [number, number][], bytesPerPixel: number, budgetBytes = memoryBudgetBytes() / 2): EvaluationPlan {
  let maxPixels = 0;
  const distinct = new Set<string>();
  for (const [h, w] of sizes) {
    maxPixels = Math.max(maxPixels, h * w);
    distinct.add(`${h}×${w}`);
  }
  const list = [...distinct];
  const sizeText = list.length === 1 ? list[0]! : `of ${list.length} sizes (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', …' : ''})`;
  if (maxPixels * bytesPerPixel <= budgetBytes) return { tile: null, test: `whole images ${sizeText}` };
  let size: number = TILE.size;
  while (size > MIN_TILE && size * size * bytesPerPixel > budgetBytes) size /= 2;
  return { tile: { size, overlap: TILE.overlap }, test: `tiles ${size} with overlap ${TILE.overlap} of whole images ${sizeText}` };
}

export type ModelMetrics = QualityMetrics;

/** The unpruned model's class map of every test sample: the reference segmentation is scored against. */
export interface SegmentationReference {
  /** Per sample index of the split: [H·W] classes. */
  maps: Int32Array[];
  classes: number;
}

/** Runs the unpruned model once over the split and keeps its per-pixel argmax. */
export async function segmentationReference(bytes: Uint8Array, split: DataSplit, provider: ProviderName, signal?: AbortSignal): Promise<SegmentationReference> {
  const { session } = await openSession(bytes, { provider });
  try {
    const input = session.inputNames[0]!;
    const output = session.outputNames[0]!;
    const maps: Int32Array[] = new Array<Int32Array>(split.count);
    let classes = 0;
    for (const ids of sameSizeBatches(split.sizes(), EVAL_BATCH)) {
      throwIfCancelled(signal);
      const batch = await split.get(ids);
      const y = (await session.run({ [input]: new ort.Tensor('float32', batch.input, batch.shape) }))[output]!;
      classes = y.dims[1]!;
      const cls = argmaxClasses(y.data as Float32Array, y.dims);
      const plane = cls.length / ids.length;
      ids.forEach((id, b) => (maps[id] = cls.slice(b * plane, (b + 1) * plane)));
    }
    return { maps, classes };
  } finally {
    await session.release();
  }
}

/** Sample indices grouped by [h, w], batches of at most `batch`, in first-appearance order. */
export function sameSizeBatches(sizes: readonly [number, number][], batch: number): number[][] {
  const bySize = new Map<string, number[]>();
  sizes.forEach(([h, w], i) => {
    const k = `${h}x${w}`;
    const l = bySize.get(k) ?? [];
    l.push(i);
    bySize.set(k, l);
  });
  const out: number[][] = [];
  for (const l of bySize.values()) for (let i = 0; i < l.length; i += batch) out.push(l.slice(i, i + batch));
  return out;
}

export async function evaluateModel(
  bytes: Uint8Array,
  split: DataSplit,
  task: ModelTask,
  provider: ProviderName,
  signal?: AbortSignal,
  onProgress?: (fraction: number) => void,
  plan: Pick<EvaluationPlan, 'tile'> = { tile: null },
  reference?: SegmentationReference,
): Promise<ModelMetrics> {
  if (task === 'segment' && !reference) throw new PipelineError('internal', 'segmentation is scored against the unpruned model: evaluateModel needs its reference class maps');
  const { session } = await openSession(bytes, { provider });
  try {
    const input = session.inputNames[0]!;
    const output = session.outputNames[0]!;
    const dm = new DenoiseMetrics();
    let cm: ClassifyMetrics | undefined;
    const sm = reference ? new SegmentationMetrics(reference.classes) : undefined;
    let done = 0;
    // Tiles run one image at a time; otherwise same-size images share a batch.
    const groups = sameSizeBatches(split.sizes(), plan.tile ? 1 : EVAL_BATCH);
    for (const ids of groups) {
      throwIfCancelled(signal);
      const batch = await split.get(ids);
      const y = plan.tile ? await runTiled(session, batch.input, batch.shape, plan.tile) : (await session.run({ [input]: new ort.Tensor('float32', batch.input, batch.shape) }))[output]!;
      if (task === 'denoise') dm.add(y.data as Float32Array, batch.target!, batch.shape);
      else if (task === 'segment') {
        if (y.dims[1] !== reference!.classes) throw new PipelineError('internal', `the pruned model outputs ${y.dims[1]} classes, the unpruned ${reference!.classes}`);
        const cls = argmaxClasses(y.data as Float32Array, y.dims);
        const plane = cls.length / ids.length;
        const ref = new Int32Array(cls.length);
        ids.forEach((id, b) => ref.set(reference!.maps[id]!, b * plane));
        sm!.add(cls, ref, ids.length);
      } else (cm ??= new ClassifyMetrics(y.dims[1]!)).add(y.data as Float32Array, batch.labels!);
      done += batch.shape[0];
      onProgress?.(done / split.count);
    }
    if (task === 'denoise') {
      const r = dm.summary();
      return { psnr: r.psnr, ssim: r.ssim };
    }
    if (task === 'segment') {
      const r = sm!.summary();
      return { pixelAgreement: r.agreement, meanIoU: r.meanIoU };
    }
    const r = cm!.summary();
    return { accuracy: r.top1, crossEntropy: r.crossEntropy };
  } finally {
    await session.release();
  }
}

// Segmentation scored against a reference label map, per pixel. The pipeline has no ground-truth
// masks: its reference is the unpruned model's own argmax, so these figures measure agreement
// with the unpruned model, not accuracy.
import { MetricError } from './errors';

type Arr = ArrayLike<number>;

/**
 * Class index of the largest logit per pixel of [B, K, H, W] logits, as [B, H, W]. Ties go to the
 * lower class (as numpy's and onnxruntime's ArgMax do); a NaN logit never wins.
 */
export function argmaxClasses(logits: Arr, shape: readonly number[]): Int32Array {
  if (shape.length !== 4) throw new MetricError('shape-mismatch', `Segmentation logits must be [B, K, H, W], got [${shape}].`);
  const [B, K, H, W] = shape as [number, number, number, number];
  const plane = H * W;
  if (logits.length !== B * K * plane) throw new MetricError('shape-mismatch', `Shape [${shape}] needs ${B * K * plane} values, got ${logits.length}.`);
  const out = new Int32Array(B * plane);
  const best = new Float64Array(plane);
  for (let b = 0; b < B; b++) {
    best.fill(-Infinity);
    const o = b * plane;
    for (let k = 0; k < K; k++) {
      const base = (b * K + k) * plane;
      for (let p = 0; p < plane; p++) {
        const v = logits[base + p]!;
        // Strictly greater: an equal later class loses, and NaN compares false.
        if (v > best[p]!) {
          best[p] = v;
          out[o + p] = k;
        }
      }
    }
  }
  return out;
}

export interface SegmentationSummary {
  /** Images (samples) scored. */
  count: number;
  pixels: number;
  /** Share of pixels whose predicted class equals the reference's. */
  agreement: number;
  /** Mean over classes present in the prediction or the reference of |P ∩ R| / |P ∪ R|, pooled over all pixels. */
  meanIoU: number;
  /** Classes that entered the mean IoU. */
  classes: number;
}

/** Pools per-class intersections and unions over batches, so IoU is over the whole split (not a mean of per-image IoUs). */
export class SegmentationMetrics {
  private readonly inter: Float64Array;
  private readonly pred: Float64Array;
  private readonly ref: Float64Array;
  private images = 0;
  private pixels = 0;

  constructor(readonly numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new MetricError('shape-mismatch', `numClasses must be a positive integer, got ${numClasses}.`);
    this.inter = new Float64Array(numClasses);
    this.pred = new Float64Array(numClasses);
    this.ref = new Float64Array(numClasses);
  }

  /** predicted and reference: class maps [B, H, W] (from argmaxClasses), `images` = B. */
  add(predicted: Arr, reference: Arr, images: number): void {
    if (predicted.length !== reference.length) throw new MetricError('shape-mismatch', `Predicted and reference maps differ in size: ${predicted.length} vs ${reference.length}.`);
    if (predicted.length === 0) throw new MetricError('empty', 'Empty class maps.');
    const K = this.numClasses;
    for (let i = 0; i < predicted.length; i++) {
      const p = predicted[i]!;
      const r = reference[i]!;
      if (!(p >= 0 && p < K && Number.isInteger(p)) || !(r >= 0 && r < K && Number.isInteger(r))) {
        throw new MetricError('bad-label', `Class ${p >= 0 && p < K ? r : p} at pixel ${i} is outside [0, ${K}).`);
      }
      this.pred[p]++;
      this.ref[r]++;
      if (p === r) this.inter[p]++;
    }
    this.pixels += predicted.length;
    this.images += images;
  }

  get count(): number {
    return this.images;
  }

  summary(): SegmentationSummary {
    if (this.pixels === 0) throw new MetricError('empty', 'No pixels were scored.');
    let agree = 0;
    let iou = 0;
    let classes = 0;
    for (let k = 0; k < this.numClasses; k++) {
      agree += this.inter[k]!;
      const union = this.pred[k]! + this.ref[k]! - this.inter[k]!;
      if (union > 0) {
        iou += this.inter[k]! / union;
        classes++;
      }
    }
    return { count: this.images, pixels: this.pixels, agreement: agree / this.pixels, meanIoU: iou / classes, classes };
  }
}

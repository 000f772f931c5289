import { MetricError } from './errors';

type Arr = ArrayLike<number>;

/**
 * Value that stands for +∞ dB in means. 100 dB is an MSE of 1e-10 on [0, 1] images, far above any
 * real restoration, so a capped mean stays finite while still ranking identical outputs first.
 */
export const PSNR_CAP_DB = 100;

function sameLength(a: Arr, b: Arr): void {
  if (a.length !== b.length) throw new MetricError('shape-mismatch', `Arrays differ in length: ${a.length} vs ${b.length}.`);
  if (a.length === 0) throw new MetricError('empty', 'Empty arrays.');
}

/** Sum of squared differences over [offset, offset + n), accumulated in double precision. */
export function sumSquaredError(a: Arr, b: Arr, offset = 0, n = a.length - offset): number {
  let s = 0;
  for (let i = offset, end = offset + n; i < end; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

export function mse(a: Arr, b: Arr): number {
  sameLength(a, b);
  return sumSquaredError(a, b) / a.length;
}

/** PSNR in dB from an MSE: 10·log10(range² / MSE); +∞ when MSE is 0. */
export function psnrFromMse(m: number, dataRange = 1): number {
  return m === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / m);
}

/** PSNR of one image (any layout), images in [0, dataRange]. Identical images give +∞. */
export function psnr(a: Arr, b: Arr, dataRange = 1): number {
  return psnrFromMse(mse(a, b), dataRange);
}

/** PSNR of each image of a batch stored as `batch` equal consecutive blocks (e.g. [B, C, H, W]). */
export function psnrPerImage(a: Arr, b: Arr, batch: number, dataRange = 1): Float64Array {
  sameLength(a, b);
  if (!Number.isInteger(batch) || batch < 1 || a.length % batch !== 0) {
    throw new MetricError('shape-mismatch', `Length ${a.length} is not divisible into ${batch} images.`);
  }
  const per = a.length / batch;
  const out = new Float64Array(batch);
  for (let i = 0; i < batch; i++) out[i] = psnrFromMse(sumSquaredError(a, b, i * per, per) / per, dataRange);
  return out;
}

/** Mean of per-image PSNRs with +∞ (identical images) counted as `cap` dB. */
export function meanPsnr(values: Arr, cap = PSNR_CAP_DB): number {
  if (values.length === 0) throw new MetricError('empty', 'No PSNR values to average.');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.min(values[i]!, cap);
  return s / values.length;
}

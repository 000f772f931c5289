// Classifier input preprocessing as torchvision's standard transforms do it (issue 14 §5):
// Resize(shorter side) with bilinear antialiasing, then CenterCrop to the model's size. A model
// trained on ImageNet-style pipelines only sees images through these two steps, so calibrating
// and validating it on raw centre crops of full-size photographs would measure something else.
import type { RawImage } from './decode';

/** ImageNet per-channel statistics, as in torchvision's reference training scripts. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** torchvision's "resize 256, crop 224": the shorter side before cropping to `crop`. */
export function autoResize(crop: number): number {
  return Math.round(crop / 0.875);
}

/**
 * Size after resizing the shorter side to `size`, keeping the aspect ratio: the longer side is
 * truncated, as torchvision's `Resize(int)` computes it (`int(size * long / short)`).
 */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

/** Python's round() (half to even), which torchvision's CenterCrop uses for the offset. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Offset of a centred crop of `crop` samples in `size`, as torchvision's CenterCrop places it. */
export function centerCropOffset(size: number, crop: number): number {
  return roundHalfEven((size - crop) / 2);
}

interface Coefficients {
  /** First input sample of each output sample. */
  start: Int32Array;
  /** Number of input samples of each output sample. */
  count: Int32Array;
  /** `taps` weights per output sample (zero beyond its count), summing to 1. */
  weights: Float32Array;
  taps: number;
}

/**
 * Triangle-filter weights for resampling `inSize` samples to `outSize`, widened by the scale when
 * shrinking (the antialiasing): PIL's ImagingResample coefficients, which torchvision's
 * antialiased bilinear Resize reproduces. Pixel centres sit at half-integers.
 */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    const n = hi - lo;
    for (let k = 0; k < n; k++) {
      const w = Math.max(0, 1 - Math.abs((k + lo - center + 0.5) / filterScale));
      weights[i * taps + k] = w;
      total += w;
    }
    if (total > 0) for (let k = 0; k < n; k++) weights[i * taps + k]! /= total;
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, taps };
}

/**
 * The image resized to `width`×`height` with antialiased bilinear filtering, in float: samples are
 * scaled to [0, 1] first (max becomes 1), so no rounding to the source's integer levels happens
 * between the two passes (torchvision on tensors; PIL would round to 8 bits in between).
 */
export function resizeImage(img: RawImage, width: number, height: number): RawImage {
  const C = img.channels;
  const { src, stride, max } = img;
  const W0 = img.width;
  const H0 = img.height;
  // Horizontal pass: H0 rows of `width` samples, interleaved channels.
  const cx = coefficients(W0, width);
  const mid = new Float32Array(H0 * width * C);
  for (let y = 0; y < H0; y++) {
    const row = y * W0 * stride;
    for (let x = 0; x < width; x++) {
      const s = cx.start[x]!;
      const n = cx.count[x]!;
      const wo = x * cx.taps;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += cx.weights[wo + k]! * src[row + (s + k) * stride + c]!;
        mid[(y * width + x) * C + c] = acc / max;
      }
    }
  }
  // Vertical pass.
  const cy = coefficients(H0, height);
  const out = new Float32Array(height * width * C);
  for (let y = 0; y < height; y++) {
    const s = cy.start[y]!;
    const n = cy.count[y]!;
    const wo = y * cy.taps;
    for (let k = 0; k < n; k++) {
      const w = cy.weights[wo + k]!;
      const inRow = (s + k) * width * C;
      const outRow = y * width * C;
      for (let i = 0; i < width * C; i++) out[outRow + i] += w * mid[inRow + i]!;
    }
  }
  return { width, height, channels: C, src: out, stride: C, max: 1 };
}

/** Resizes the shorter side to `size` (torchvision's `Resize(size)`); the same image when nothing changes. */
export function resizeShorterSide(img: RawImage, size: number): RawImage {
  const to = resizedSize(img.width, img.height, size);
  if (to.width === img.width && to.height === img.height) return img;
  return resizeImage(img, to.width, to.height);
}

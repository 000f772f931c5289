import { Rng } from '../util/rng';
import type { RawImage } from './decode';

/** A crop window in image coordinates; it may reach outside the image when padding is on. */
export interface CropRect {
  y: number;
  x: number;
  h: number;
  w: number;
}

export type CropMode = 'center' | 'random';

/**
 * Crop windows for one image. Along an axis where the image is smaller than the patch the window
 * is centred (it overhangs both sides equally and the overhang is filled by reflection).
 */
export function cropRects(
  width: number,
  height: number,
  patchH: number,
  patchW: number,
  mode: CropMode,
  count: number,
  rng: Rng,
): CropRect[] {
  const rects: CropRect[] = [];
  for (let k = 0; k < count; k++) {
    const y = placeAxis(height, patchH, mode, rng);
    const x = placeAxis(width, patchW, mode, rng);
    rects.push({ y, x, h: patchH, w: patchW });
  }
  return rects;
}

function placeAxis(size: number, patch: number, mode: CropMode, rng: Rng): number {
  const slack = size - patch;
  if (slack <= 0 || mode === 'center') return Math.floor(slack / 2);
  return rng.nextInt(slack + 1);
}

/** Mirror index without repeating the edge sample (numpy 'reflect'), for any distance outside. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

/** Copies a window out of a decoded image into planar CHW float32 in [0, 1]; samples outside are reflected. */
export function extractCrop(img: RawImage, r: CropRect): Float32Array {
  const { width, height, channels, src, stride, max } = img;
  const out = new Float32Array(channels * r.h * r.w);
  const xs = new Int32Array(r.w);
  for (let j = 0; j < r.w; j++) xs[j] = reflectIndex(r.x + j, width) * stride;
  let o = 0;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < r.h; i++) {
      const row = reflectIndex(r.y + i, height) * width * stride + c;
      for (let j = 0; j < r.w; j++) out[o++] = src[row + xs[j]!]! / max;
    }
  }
  return out;
}

/** ITU-R BT.601 luma weights, the usual RGB→gray conversion for 8-bit sRGB images. */
const LUMA = [0.299, 0.587, 0.114] as const;

/** Converts planar data between 1 and 3 channels (gray→RGB replicates; RGB→gray takes BT.601 luma). */
export function convertChannels(data: Float32Array, from: 1 | 3, to: 1 | 3, plane: number): Float32Array {
  if (from === to) return data;
  if (from === 1) {
    const out = new Float32Array(3 * plane);
    out.set(data, 0);
    out.set(data, plane);
    out.set(data, 2 * plane);
    return out;
  }
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    out[i] = LUMA[0] * data[i]! + LUMA[1] * data[plane + i]! + LUMA[2] * data[2 * plane + i]!;
  }
  return out;
}

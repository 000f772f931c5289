import { MetricError } from './errors';

type Arr = ArrayLike<number>;

export interface SsimOptions {
  /** Window side (odd), default 11. */
  win?: number;
  /** Gaussian σ, default 1.5. */
  sigma?: number;
  k1?: number;
  k2?: number;
  /** L, the dynamic range, default 1 for [0, 1] images. */
  dataRange?: number;
}

/** Normalised 1-D Gaussian; the 2-D window is its outer product (separable). */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const r = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    const x = i - r;
    g[i] = Math.exp((-0.5 * x * x) / (sigma * sigma));
    s += g[i]!;
  }
  for (let i = 0; i < size; i++) g[i]! /= s;
  return g;
}

/**
 * Mean SSIM of one channel (h×w at `offset` in both arrays) over the 'valid' region: windows lie
 * wholly inside the image, so the map is (h − win + 1)×(w − win + 1). Local moments are
 * Gaussian-weighted, variances use the population form (no N/(N−1) factor).
 */
export function ssimChannel(a: Arr, b: Arr, h: number, w: number, offset = 0, opts: SsimOptions = {}): number {
  const win = opts.win ?? 11;
  const sigma = opts.sigma ?? 1.5;
  const L = opts.dataRange ?? 1;
  const c1 = ((opts.k1 ?? 0.01) * L) ** 2;
  const c2 = ((opts.k2 ?? 0.03) * L) ** 2;
  if (h < win || w < win) {
    throw new MetricError('too-small', `SSIM needs images of at least ${win}×${win}, got ${h}×${w}.`);
  }
  const g = gaussianWindow(win, sigma);
  // Monomorphic float64 copies keep the inner loops fast whatever array type the caller passes.
  const n = h * w;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = a[offset + i]!;
    y[i] = b[offset + i]!;
  }
  return ssimPlanes(x, y, h, w, g, c1, c2);
}

function ssimPlanes(x: Float64Array, y: Float64Array, h: number, w: number, g: Float64Array, c1: number, c2: number): number {
  const win = g.length;
  const ow = w - win + 1;
  const oh = h - win + 1;
  // Horizontal pass for all rows: Gaussian-weighted sums of x, y, x², y², xy.
  const m = h * ow;
  const hx = new Float64Array(m);
  const hy = new Float64Array(m);
  const hxx = new Float64Array(m);
  const hyy = new Float64Array(m);
  const hxy = new Float64Array(m);
  for (let i = 0; i < h; i++) {
    const row = i * w;
    for (let j = 0; j < ow; j++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let k = 0; k < win; k++) {
        const gk = g[k]!;
        const u = x[row + j + k]!;
        const v = y[row + j + k]!;
        const gu = gk * u;
        const gv = gk * v;
        sx += gu;
        sy += gv;
        sxx += gu * u;
        syy += gv * v;
        sxy += gu * v;
      }
      const o = i * ow + j;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }
  // Vertical pass, row by row so the five running rows stay in cache.
  const mx = new Float64Array(ow);
  const my = new Float64Array(ow);
  const exx = new Float64Array(ow);
  const eyy = new Float64Array(ow);
  const exy = new Float64Array(ow);
  let total = 0;
  for (let i = 0; i < oh; i++) {
    mx.fill(0);
    my.fill(0);
    exx.fill(0);
    eyy.fill(0);
    exy.fill(0);
    for (let k = 0; k < win; k++) {
      const gk = g[k]!;
      const base = (i + k) * ow;
      for (let j = 0; j < ow; j++) {
        mx[j]! += gk * hx[base + j]!;
        my[j]! += gk * hy[base + j]!;
        exx[j]! += gk * hxx[base + j]!;
        eyy[j]! += gk * hyy[base + j]!;
        exy[j]! += gk * hxy[base + j]!;
      }
    }
    for (let j = 0; j < ow; j++) {
      const ux = mx[j]!;
      const uy = my[j]!;
      const vx = exx[j]! - ux * ux;
      const vy = eyy[j]! - uy * uy;
      const cxy = exy[j]! - ux * uy;
      total += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
  }
  return total / (oh * ow);
}

/** SSIM of each image of a [B, C, H, W] batch: the mean over its channels. */
export function ssimPerImage(a: Arr, b: Arr, shape: readonly number[], opts: SsimOptions = {}): Float64Array {
  if (shape.length < 3 || shape.length > 4) {
    throw new MetricError('shape-mismatch', `SSIM expects [C,H,W] or [B,C,H,W], got [${shape}].`);
  }
  const [B, C, H, W] = shape.length === 3 ? [1, ...shape] : shape;
  const n = B! * C! * H! * W!;
  if (a.length !== n || b.length !== n) {
    throw new MetricError('shape-mismatch', `Shape [${shape}] needs ${n} values, got ${a.length} and ${b.length}.`);
  }
  const out = new Float64Array(B!);
  const plane = H! * W!;
  for (let i = 0; i < B!; i++) {
    let s = 0;
    for (let c = 0; c < C!; c++) s += ssimChannel(a, b, H!, W!, (i * C! + c) * plane, opts);
    out[i] = s / C!;
  }
  return out;
}

/** Mean SSIM over the images of a [B, C, H, W] (or [C, H, W]) batch. */
export function ssim(a: Arr, b: Arr, shape: readonly number[], opts: SsimOptions = {}): number {
  const v = ssimPerImage(a, b, shape, opts);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

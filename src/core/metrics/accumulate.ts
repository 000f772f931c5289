import { MetricError } from './errors';
import { PSNR_CAP_DB, meanPsnr, psnrFromMse, sumSquaredError } from './psnr';
import { ssimPerImage, type SsimOptions } from './ssim';
import { crossEntropyPerSample, topKCorrect } from './classification';

type Arr = ArrayLike<number>;

export interface DenoiseMetricOptions {
  /** Clip model outputs to [0, 1] before scoring, as image outputs are saved (default true). */
  clip?: boolean;
  /** Compute SSIM too (about 20× the cost of PSNR; default true). */
  ssim?: boolean;
  ssimOptions?: SsimOptions;
  /** dB standing for +∞ in the mean PSNR (default 100). */
  psnrCap?: number;
}

export interface DenoiseSummary {
  count: number;
  /** Mean of per-image PSNRs (+∞ counted as psnrCap). The headline number. */
  psnr: number;
  /** PSNR of the MSE pooled over all pixels of all images (weights images by size; ≤ the mean for equal sizes). */
  psnrPooled: number;
  /** Images scored +∞ (output identical to target). */
  psnrInfinite: number;
  /** Mean SSIM (NaN when SSIM is off). */
  ssim: number;
  mse: number;
  perImagePsnr: number[];
  perImageSsim: number[];
}

/** Accumulates denoising metrics batch by batch, so a whole split never has to sit in memory. */
export class DenoiseMetrics {
  private psnrs: number[] = [];
  private ssims: number[] = [];
  private sse = 0;
  private pixels = 0;
  private readonly clip: boolean;
  private readonly withSsim: boolean;

  constructor(private readonly opts: DenoiseMetricOptions = {}) {
    this.clip = opts.clip ?? true;
    this.withSsim = opts.ssim ?? true;
  }

  /** output and target: [B, C, H, W] with values on the [0, 1] scale. */
  add(output: Arr, target: Arr, shape: readonly [number, number, number, number] | readonly number[]): void {
    if (shape.length !== 4) throw new MetricError('shape-mismatch', `Expected [B, C, H, W], got [${shape}].`);
    const [B, C, H, W] = shape as [number, number, number, number];
    const per = C * H * W;
    if (output.length !== B * per || target.length !== B * per) {
      throw new MetricError('shape-mismatch', `Shape [${shape}] needs ${B * per} values, got ${output.length} and ${target.length}.`);
    }
    let out: Arr = output;
    if (this.clip) {
      const c = new Float32Array(output.length);
      for (let i = 0; i < c.length; i++) {
        const v = output[i]!;
        c[i] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
      out = c;
    }
    for (let i = 0; i < B; i++) {
      const s = sumSquaredError(out, target, i * per, per);
      this.sse += s;
      this.pixels += per;
      this.psnrs.push(psnrFromMse(s / per));
    }
    if (this.withSsim) this.ssims.push(...ssimPerImage(out, target, shape, this.opts.ssimOptions));
  }

  get count(): number {
    return this.psnrs.length;
  }

  summary(): DenoiseSummary {
    if (this.psnrs.length === 0) throw new MetricError('empty', 'No images were scored.');
    const m = this.sse / this.pixels;
    return {
      count: this.psnrs.length,
      psnr: meanPsnr(this.psnrs, this.opts.psnrCap ?? PSNR_CAP_DB),
      psnrPooled: psnrFromMse(m),
      psnrInfinite: this.psnrs.filter((v) => v === Infinity).length,
      ssim: this.ssims.length ? this.ssims.reduce((a, b) => a + b, 0) / this.ssims.length : NaN,
      mse: m,
      perImagePsnr: [...this.psnrs],
      perImageSsim: [...this.ssims],
    };
  }
}

export interface ClassifySummary {
  count: number;
  top1: number;
  top5: number;
  /** Mean softmax cross-entropy in nats. */
  crossEntropy: number;
}

/** Accumulates classification metrics over batches of logits. */
export class ClassifyMetrics {
  private n = 0;
  private hit1 = 0;
  private hit5 = 0;
  private ce = 0;

  constructor(readonly numClasses: number) {}

  /** logits: [N, numClasses] row-major (trailing 1×1 spatial dims are fine). */
  add(logits: Arr, labels: Arr): void {
    const t1 = topKCorrect(logits, labels, this.numClasses, 1);
    const t5 = topKCorrect(logits, labels, this.numClasses, Math.min(5, this.numClasses));
    const ce = crossEntropyPerSample(logits, labels, this.numClasses);
    for (let i = 0; i < labels.length; i++) {
      this.hit1 += t1[i]!;
      this.hit5 += t5[i]!;
      this.ce += ce[i]!;
    }
    this.n += labels.length;
  }

  get count(): number {
    return this.n;
  }

  summary(): ClassifySummary {
    if (this.n === 0) throw new MetricError('empty', 'No samples were scored.');
    return { count: this.n, top1: this.hit1 / this.n, top5: this.hit5 / this.n, crossEntropy: this.ce / this.n };
  }
}

// AdamW (Loshchilov & Hutter 2019: Adam with decoupled weight decay) over float32 weight arrays,
// with a linear warm-up followed by a cosine decay of the learning rate. The TT refinement's
// Adam (src/core/tt/adam.ts) works on a few float64 parameters without decay or schedule; the
// weights here are float32 (what the model stores) and can number millions, so the moments are
// float32 too and the update runs in one fused loop per tensor.

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled decay, applied as w ← w − lr·λ·w (not added to the gradient). */
  weightDecay?: number;
}

/** Learning rate at `step` (0-based): linear warm-up to `peak` over `warmup` steps, then cosine to `floor`·peak at `total`. */
export function warmupCosine(step: number, total: number, peak: number, warmup: number, floor = 0.05): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, (step - warmup) / span);
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export class AdamW {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(
    private readonly params: Float32Array[],
    opts: Omit<AdamWOptions, 'lr'> = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  get steps(): number {
    return this.t;
  }

  /** One descent step with learning rate `lr`; `grads[k]` is scaled by `gradScale` first (e.g. 1/batch). */
  step(grads: readonly Float32Array[], lr: number, gradScale = 1): void {
    if (grads.length !== this.params.length) throw new Error(`AdamW: ${grads.length} gradients for ${this.params.length} parameters`);
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const decay = 1 - lr * this.weightDecay;
    const stepSize = lr / c1;
    const rc2 = 1 / Math.sqrt(c2);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      if (g.length !== p.length) throw new Error(`AdamW: gradient ${k} has ${g.length} elements, parameter ${p.length}`);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * gradScale;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * rc2 + this.eps);
      }
    }
  }
}

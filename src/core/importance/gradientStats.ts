// Accumulates per-sample gate gradients into first-order Taylor and Fisher scores (METHOD §3),
// and Gram matrices into activation |cos| similarity (METHOD §4).

/** Running sums over calibration samples for every variable. */
export class GradientAccumulator {
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  samples = 0;

  constructor(readonly variables: number) {
    this.sum = new Float64Array(variables);
    this.sumSq = new Float64Array(variables);
  }

  /**
   * Adds one batch: `grads` is [N, n] row-major (sample-major), one row of t_i(n) per sample,
   * already mapped from gate inputs to global variable indices.
   */
  addBatch(grads: Float64Array | Float32Array, batch: number): void {
    const n = this.variables;
    if (grads.length !== batch * n) throw new Error(`gradient batch has ${grads.length} values, expected ${batch}×${n}`);
    for (let b = 0; b < batch; b++) {
      const row = b * n;
      for (let i = 0; i < n; i++) {
        const t = grads[row + i]!;
        this.sum[i] += t;
        this.sumSq[i] += t * t;
      }
    }
    this.samples += batch;
  }

  /** T_i = |(1/N) Σ_n t_i(n)| */
  taylor(): Float64Array {
    const out = new Float64Array(this.variables);
    for (let i = 0; i < this.variables; i++) out[i] = Math.abs(this.sum[i]! / Math.max(1, this.samples));
    return out;
  }

  /** F_i = (1/(2N)) Σ_n t_i(n)² */
  fisher(): Float64Array {
    const out = new Float64Array(this.variables);
    for (let i = 0; i < this.variables; i++) out[i] = this.sumSq[i]! / (2 * Math.max(1, this.samples));
    return out;
  }
}

/** Absolute cosine similarity from an (accumulated) Gram matrix G (c×c): |G_ij| / sqrt(G_ii G_jj). */
export function cosineFromGram(gram: Float64Array, c: number): Float64Array {
  const s = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      const den = Math.sqrt(gram[i * c + i]! * gram[j * c + j]!);
      s[i * c + j] = i === j ? 1 : den > 0 ? Math.min(1, Math.abs(gram[i * c + j]!) / den) : 0;
    }
  }
  return s;
}

/** Picks a sub-block of a Gram matrix: rows/cols `idx` of an m×m matrix. */
export function subMatrix(g: Float64Array | Float32Array, m: number, idx: ArrayLike<number>): Float64Array {
  const c = idx.length;
  const out = new Float64Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) out[i * c + j] = g[idx[i]! * m + idx[j]!]!;
  return out;
}

/** Divides by the mean over all variables (global, not per layer: METHOD §3). */
export function normaliseByGlobalMean(x: Float64Array): Float64Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= Math.max(1, x.length);
  const out = new Float64Array(x.length);
  if (m > 0) for (let i = 0; i < x.length; i++) out[i] = x[i]! / m;
  return out;
}

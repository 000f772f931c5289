// Accumulates per-sample gate gradients into first-order Taylor and Fisher scores (METHOD §3),
// and Gram matrices into activation |cos| similarity (METHOD §4).

/** Running sums over calibration samples for every variable. */
export class GradientAccumulator {
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  samples = 0;
  /** Per-sample rows t(n), kept for within-group cross terms (N·n numbers: small next to one image). */
  private readonly rows: Float64Array[] = [];

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
      this.rows.push(Float64Array.from(grads.subarray(row, row + n)));
    }
    this.samples += batch;
  }

  /** T_i = |(1/N) Σ_n t_i(n)| */
  taylor(): Float64Array {
    const out = new Float64Array(this.variables);
    for (let i = 0; i < this.variables; i++) out[i] = Math.abs(this.sum[i]! / Math.max(1, this.samples));
    return out;
  }

  /**
   * Empirical Fisher block Φ_ij = (1/N) Σ_n t_i(n)·t_j(n) over the given variables (c×c, row-major).
   * ½·pᵀΦp is the second-order estimate of the loss increase from pruning the set p jointly
   * (Group-Fisher style), whose off-diagonal part is what per-channel scores miss.
   */
  fisherBlock(variables: ArrayLike<number>): Float64Array {
    const c = variables.length;
    const out = new Float64Array(c * c);
    const v = new Float64Array(c);
    for (const row of this.rows) {
      for (let i = 0; i < c; i++) v[i] = row[variables[i]!]!;
      for (let i = 0; i < c; i++) {
        const a = v[i]!;
        if (a === 0) continue;
        for (let j = 0; j < c; j++) out[i * c + j] += a * v[j]!;
      }
    }
    const inv = 1 / Math.max(1, this.rows.length);
    for (let k = 0; k < out.length; k++) out[k] *= inv;
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

/**
 * |Pearson correlation| of channels from their Gram matrix G = Σ a·aᵀ, per-channel sums s = Σ a and
 * the number of summed positions M: r_ij = (M·G_ij − s_i·s_j) / √((M·G_ii − s_i²)(M·G_jj − s_j²)).
 * Unlike |cos|, it ignores a shared offset, which post-ReLU channels all have.
 */
export function pearsonFromGram(gram: Float64Array, sums: Float64Array, count: number, c: number): Float64Array {
  const s = new Float64Array(c * c);
  const v = new Float64Array(c);
  for (let i = 0; i < c; i++) v[i] = Math.max(0, count * gram[i * c + i]! - sums[i]! * sums[i]!);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      if (i === j) {
        s[i * c + j] = 1;
        continue;
      }
      const den = Math.sqrt(v[i]! * v[j]!);
      // A constant channel has no correlation to speak of; 0 rather than NaN.
      s[i * c + j] = den > 0 ? Math.min(1, Math.abs(count * gram[i * c + j]! - sums[i]! * sums[j]!) / den) : 0;
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

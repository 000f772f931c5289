import type { Rng } from '../util/rng';
import { TtError } from './errors';

/**
 * A discrete distribution over d positions held as a non-negative Tensor Train.
 *
 * Parametrisation: unconstrained log-cores W_k of shape [r_k, n_k, r_{k+1}] (r_0 = r_d = 1) and
 * cores G_k = exp(W_k). The TT value P(x) = G_1[:, x_1, :] ··· G_d[:, x_d, :] is then positive for
 * every x, and p(x) = P(x) / Z with Z = Σ_x P(x) is a proper distribution whose log-likelihood is
 * smooth in W everywhere (no |·| kink, no zero of P to divide by, unlike a signed or squared TT).
 * p is invariant to scaling any single core, so each G_k is computed as exp(W_k − max W_k) to
 * keep magnitudes near 1 without changing the distribution.
 */
export class TtDistribution {
  readonly d: number;
  /** Alphabet size per position. */
  readonly n: Int32Array;
  /** Bond ranks, length d + 1, ranks[0] = ranks[d] = 1. */
  readonly ranks: Int32Array;
  /** Log-cores W_k, layout [a, v, b] → (a·n_k + v)·r_{k+1} + b. These are the trainable parameters. */
  readonly logCores: Float64Array[];
  private readonly coreCache: Float64Array[];
  private stale = true;

  constructor(n: ArrayLike<number>, rank: number) {
    const d = n.length;
    if (d < 1) throw new TtError('bad-shape', 'A TT distribution needs at least one position.');
    if (!Number.isInteger(rank) || rank < 1) {
      throw new TtError('bad-shape', `TT rank must be a positive integer, got ${rank}.`);
    }
    this.d = d;
    this.n = new Int32Array(d);
    for (let k = 0; k < d; k++) {
      const nk = n[k]!;
      if (!Number.isInteger(nk) || nk < 1 || nk > 255) {
        throw new TtError('bad-shape', `Alphabet size at position ${k} must be an integer in [1, 255], got ${nk}.`);
      }
      this.n[k] = nk;
    }
    // A bond never needs more rank than the number of configurations on either side of it.
    this.ranks = new Int32Array(d + 1);
    const left = new Float64Array(d + 1);
    const right = new Float64Array(d + 1);
    left[0] = 1;
    for (let k = 0; k < d; k++) left[k + 1] = Math.min(left[k]! * this.n[k]!, 1e9);
    right[d] = 1;
    for (let k = d - 1; k >= 0; k--) right[k] = Math.min(right[k + 1]! * this.n[k]!, 1e9);
    for (let k = 0; k <= d; k++) this.ranks[k] = Math.min(rank, left[k]!, right[k]!);
    this.logCores = [];
    this.coreCache = [];
    for (let k = 0; k < d; k++) {
      const size = this.ranks[k]! * this.n[k]! * this.ranks[k + 1]!;
      this.logCores.push(new Float64Array(size));
      this.coreCache.push(new Float64Array(size));
    }
  }

  /** Largest bond rank (sizes scratch buffers). */
  get maxRank(): number {
    let m = 1;
    for (let k = 0; k <= this.d; k++) m = Math.max(m, this.ranks[k]!);
    return m;
  }

  /** Largest alphabet size. */
  get maxAlphabet(): number {
    let m = 1;
    for (let k = 0; k < this.d; k++) m = Math.max(m, this.n[k]!);
    return m;
  }

  /** Fills every log-core with N(0, sigma²) noise. */
  randomise(rng: Rng, sigma: number): void {
    for (const w of this.logCores) for (let i = 0; i < w.length; i++) w[i] = sigma * rng.normal();
    this.stale = true;
  }

  /** Must be called after writing logCores directly. */
  markChanged(): void {
    this.stale = true;
  }

  /** Positive cores G_k ∝ exp(W_k), refreshed lazily after parameter changes. */
  cores(): readonly Float64Array[] {
    if (this.stale) {
      for (let k = 0; k < this.d; k++) {
        const w = this.logCores[k]!;
        const g = this.coreCache[k]!;
        let max = -Infinity;
        for (let i = 0; i < w.length; i++) if (w[i]! > max) max = w[i]!;
        if (!Number.isFinite(max)) throw new TtError('bad-shape', `Log-core ${k} holds a non-finite value.`);
        for (let i = 0; i < w.length; i++) g[i] = Math.exp(w[i]! - max);
      }
      this.stale = false;
    }
    return this.coreCache;
  }

  /** Right interfaces and the per-position tables derived from them (see {@link TtInterfaces}). */
  interfaces(): TtInterfaces {
    const G = this.cores();
    const { d, n, ranks } = this;
    const right: Float64Array[] = new Array(d + 1);
    const scale = new Float64Array(d);
    const weights: Float64Array[] = new Array(d);
    right[d] = Float64Array.of(1);
    let logZ = 0;
    for (let k = d - 1; k >= 0; k--) {
      const rk = ranks[k]!;
      const nk = n[k]!;
      const rk1 = ranks[k + 1]!;
      const g = G[k]!;
      const next = right[k + 1]!;
      const A = new Float64Array(rk * nk);
      const cur = new Float64Array(rk);
      let sum = 0;
      for (let a = 0; a < rk; a++) {
        let rowSum = 0;
        for (let v = 0; v < nk; v++) {
          const base = (a * nk + v) * rk1;
          let s = 0;
          for (let b = 0; b < rk1; b++) s += g[base + b]! * next[b]!;
          A[a * nk + v] = s;
          rowSum += s;
        }
        cur[a] = rowSum;
        sum += rowSum;
      }
      // Normalising each interface keeps long trains inside double range; every ratio used by the
      // sampler and the likelihood is invariant to these scales.
      for (let a = 0; a < rk; a++) cur[a] = cur[a]! / sum;
      for (let i = 0; i < A.length; i++) A[i] = A[i]! / sum;
      scale[k] = sum;
      logZ += Math.log(sum);
      right[k] = cur;
      weights[k] = A;
    }
    return { right, scale, weights, logZ };
  }
}

/**
 * Normalised right interfaces of the TT: right[k] ∝ Σ_{x_k..x_d} G_k[:, x_k, :] ··· G_d[:, x_d, :]
 * (right[d] = [1]); right[k] = S_k right[k+1] / scale[k] with S_k = Σ_v G_k[:, v, :].
 * weights[k][a·n_k + v] = (G_k[a, v, :] · right[k+1]) / scale[k]: contracting a left interface with
 * these gives the unnormalised conditional of x_k. logZ = log Σ_x P(x) for the current cores.
 */
export interface TtInterfaces {
  right: Float64Array[];
  scale: Float64Array;
  weights: Float64Array[];
  logZ: number;
}

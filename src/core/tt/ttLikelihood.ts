import type { SamplingConstraint } from './constraint';
import { TtError } from './errors';
import type { TtDistribution } from './ttTensor';

/**
 * Log-likelihood of sequences under the TT distribution, or under its masked version q when a
 * constraint is given, and the exact gradient of the mean with respect to the log-cores.
 *
 * Both cases use the autoregressive form
 *   log q(x) = Σ_k [ log(L_k · A_k[:, x_k]) − log(L_k · Σ_{v allowed} A_k[:, v]) ],
 * with L_k the normalised left product of the sequence's first k slices and A_k[a, v] =
 * G_k[a, v, :] · R_{k+1} (right interface). Without a constraint the sum telescopes to
 * log P(x) − log Z. Every term is a ratio that is invariant to the scale of each left and right
 * interface, so the normalisers are treated as constants in the reverse pass without error.
 */
export function logLikelihoods(
  dist: TtDistribution,
  samples: Uint8Array,
  count: number,
  constraint?: SamplingConstraint,
): Float64Array {
  return run(dist, samples, count, constraint, undefined).perSample;
}

/**
 * Mean log-likelihood of `count` row-major samples; writes d(mean)/dW_k into grad[k] (overwritten,
 * same layout as dist.logCores) and returns the mean.
 */
export function meanLogLikelihoodGradient(
  dist: TtDistribution,
  samples: Uint8Array,
  count: number,
  grad: Float64Array[],
  constraint?: SamplingConstraint,
): number {
  if (count < 1) throw new TtError('bad-option', 'The likelihood gradient needs at least one sample.');
  const { perSample } = run(dist, samples, count, constraint, grad);
  let sum = 0;
  for (let s = 0; s < count; s++) sum += perSample[s]!;
  return sum / count;
}

function run(
  dist: TtDistribution,
  samples: Uint8Array,
  count: number,
  constraint: SamplingConstraint | undefined,
  grad: Float64Array[] | undefined,
): { perSample: Float64Array } {
  const { d, n, ranks } = dist;
  if (samples.length < count * d) {
    throw new TtError('bad-sample', `Expected ${count}×${d} sample values, got ${samples.length}.`);
  }
  const G = dist.cores();
  const { right, scale, weights } = dist.interfaces();
  const rmax = dist.maxRank;
  const nmax = dist.maxAlphabet;
  const perSample = new Float64Array(count);

  // Per-sample forward storage, reused across samples: left interfaces, their normalisers, the
  // numerator and denominator of each term, and which values were allowed.
  const L = new Float64Array((d + 1) * rmax);
  const lnorm = new Float64Array(d);
  const num = new Float64Array(d);
  const den = new Float64Array(d);
  const allowed = new Uint8Array(d * nmax);
  // Reverse-pass scratch.
  let gL = new Float64Array(rmax);
  let gLprev = new Float64Array(rmax);
  const h = new Float64Array(nmax * rmax);
  const coef = new Float64Array(nmax);
  const gR: Float64Array[] | undefined = grad ? right.map((r) => new Float64Array(r.length)) : undefined;
  const gG: Float64Array[] | undefined = grad ? G.map((g) => new Float64Array(g.length)) : undefined;
  const weight = 1 / count;

  for (let s = 0; s < count; s++) {
    const row = s * d;
    L[0] = 1;
    let state = constraint ? constraint.initialState : 0;
    let logq = 0;
    for (let k = 0; k < d; k++) {
      const rk = ranks[k]!;
      const nk = n[k]!;
      const rk1 = ranks[k + 1]!;
      const A = weights[k]!;
      const x = samples[row + k]!;
      if (x >= nk) throw new TtError('bad-sample', `Sample ${s} has value ${x} at position ${k}, alphabet size ${nk}.`);
      const lo = k * rmax;
      let numer = 0;
      let denom = 0;
      for (let v = 0; v < nk; v++) {
        const ok = !constraint || constraint.allowed(k, state, v);
        allowed[k * nmax + v] = ok ? 1 : 0;
        if (!ok) continue;
        let acc = 0;
        for (let a = 0; a < rk; a++) acc += L[lo + a]! * A[a * nk + v]!;
        denom += acc;
        if (v === x) numer = acc;
      }
      if (!allowed[k * nmax + x]) {
        throw new TtError('infeasible', `Sample ${s} breaks the constraint at position ${k} (value ${x}).`);
      }
      num[k] = numer;
      den[k] = denom;
      logq += Math.log(numer / denom);
      if (constraint) state = constraint.next(k, state, x);
      const g = G[k]!;
      const hi = (k + 1) * rmax;
      let norm = 0;
      for (let b = 0; b < rk1; b++) {
        let acc = 0;
        for (let a = 0; a < rk; a++) acc += L[lo + a]! * g[(a * nk + x) * rk1 + b]!;
        L[hi + b] = acc;
        norm += acc;
      }
      for (let b = 0; b < rk1; b++) L[hi + b] = L[hi + b]! / norm;
      lnorm[k] = norm;
    }
    perSample[s] = logq;
    if (!gG || !gR) continue;

    // Reverse pass for this sample. gL holds ∂(log q)/∂L_{k+1}; L_d feeds no term, so it starts at 0.
    gL.fill(0);
    for (let k = d - 1; k >= 0; k--) {
      const rk = ranks[k]!;
      const nk = n[k]!;
      const rk1 = ranks[k + 1]!;
      const x = samples[row + k]!;
      const g = G[k]!;
      const r = right[k + 1]!;
      const sc = scale[k]!;
      const lo = k * rmax;
      const invNum = 1 / num[k]!;
      const invDen = 1 / den[k]!;
      const invNorm = 1 / lnorm[k]!;
      // Term k depends on G_k[a, v, b] through L_k[a]·G_k[a, v, b]·R_{k+1}[b]/scale_k with weight
      // coef_v; L_{k+1} = L_k G_k[:, x, :]/lnorm_k adds gL there. h_v[b] gathers both.
      for (let v = 0; v < nk; v++) {
        const c = (v === x ? invNum : 0) - (allowed[k * nmax + v] ? invDen : 0);
        coef[v] = c;
        for (let b = 0; b < rk1; b++) {
          h[v * rmax + b] = (c * r[b]!) / sc + (v === x ? gL[b]! * invNorm : 0);
        }
      }
      const gg = gG[k]!;
      const gr = gR[k + 1]!;
      for (let a = 0; a < rk; a++) {
        const la = L[lo + a]!;
        let acc = 0;
        for (let v = 0; v < nk; v++) {
          const base = (a * nk + v) * rk1;
          for (let b = 0; b < rk1; b++) {
            const hv = h[v * rmax + b]!;
            gg[base + b] = gg[base + b]! + weight * la * hv;
            acc += g[base + b]! * hv;
          }
        }
        gLprev[a] = acc;
      }
      // ∂term/∂R_{k+1}[b] = Σ_v coef_v (L_k G_k[:, v, b]) / scale_k.
      for (let b = 0; b < rk1; b++) {
        let acc = 0;
        for (let v = 0; v < nk; v++) {
          const c = coef[v]!;
          if (c === 0) continue;
          let lg = 0;
          for (let a = 0; a < rk; a++) lg += L[lo + a]! * g[(a * nk + v) * rk1 + b]!;
          acc += c * lg;
        }
        gr[b] = gr[b]! + (weight * acc) / sc;
      }
      const t = gL;
      gL = gLprev;
      gLprev = t;
    }
  }

  if (gG && gR && grad) {
    // Shared reverse pass through R_k = S_k R_{k+1} / scale_k, from the left (R_0 feeds no term).
    for (let k = 0; k < d; k++) {
      const rk = ranks[k]!;
      const nk = n[k]!;
      const rk1 = ranks[k + 1]!;
      const g = G[k]!;
      const gg = gG[k]!;
      const gr = gR[k]!;
      const grNext = gR[k + 1]!;
      const r = right[k + 1]!;
      const inv = 1 / scale[k]!;
      for (let a = 0; a < rk; a++) {
        const ga = gr[a]! * inv;
        if (ga === 0) continue;
        for (let v = 0; v < nk; v++) {
          const base = (a * nk + v) * rk1;
          for (let b = 0; b < rk1; b++) {
            gg[base + b] = gg[base + b]! + ga * r[b]!;
            grNext[b] = grNext[b]! + ga * g[base + b]!;
          }
        }
      }
    }
    // G = exp(W − const): ∂/∂W = G ⊙ ∂/∂G.
    for (let k = 0; k < d; k++) {
      const out = grad[k]!;
      const g = G[k]!;
      const gg = gG[k]!;
      if (out.length !== g.length) throw new TtError('bad-shape', `Gradient buffer ${k} has length ${out.length}, expected ${g.length}.`);
      for (let i = 0; i < g.length; i++) out[i] = gg[i]! * g[i]!;
    }
  }
  return { perSample };
}

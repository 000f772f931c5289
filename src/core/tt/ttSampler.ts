import type { Rng } from '../util/rng';
import type { SamplingConstraint } from './constraint';
import { TtError } from './errors';
import type { TtDistribution } from './ttTensor';

/**
 * Draws `count` independent samples from the TT distribution (or from its masked version when a
 * constraint is given), exactly: the right interfaces are contracted once, then x_1, x_2, … are
 * drawn left to right, each from p(x_k | x_<k) ∝ L_{k-1} G_k[:, v, :] R_{k+1}, where L is the
 * sample's running left product. Loops run position-major over all samples at once, with the left
 * interfaces of the whole batch in one typed array.
 * Returns a row-major [count, d] matrix.
 */
export function sampleTt(
  dist: TtDistribution,
  count: number,
  rng: Rng,
  constraint?: SamplingConstraint,
): Uint8Array {
  if (!Number.isInteger(count) || count < 0) throw new TtError('bad-option', `Sample count must be a non-negative integer, got ${count}.`);
  const { d, n, ranks } = dist;
  const G = dist.cores();
  const { weights } = dist.interfaces();
  const rmax = dist.maxRank;
  const nmax = dist.maxAlphabet;
  const out = new Uint8Array(count * d);
  let left = new Float64Array(count * rmax);
  let nextLeft = new Float64Array(count * rmax);
  for (let s = 0; s < count; s++) left[s * rmax] = 1;
  const state = new Float64Array(count);
  if (constraint) state.fill(constraint.initialState);
  const w = new Float64Array(nmax);

  for (let k = 0; k < d; k++) {
    const rk = ranks[k]!;
    const nk = n[k]!;
    const rk1 = ranks[k + 1]!;
    const A = weights[k]!;
    const g = G[k]!;
    for (let s = 0; s < count; s++) {
      const lo = s * rmax;
      let total = 0;
      for (let v = 0; v < nk; v++) {
        if (constraint && !constraint.allowed(k, state[s]!, v)) {
          w[v] = 0;
          continue;
        }
        let acc = 0;
        for (let a = 0; a < rk; a++) acc += left[lo + a]! * A[a * nk + v]!;
        w[v] = acc;
        total += acc;
      }
      if (!(total > 0)) {
        throw new TtError('infeasible', `No value is allowed (or all have zero probability) at position ${k}.`);
      }
      let u = rng.next() * total;
      let pick = -1;
      for (let v = 0; v < nk; v++) {
        if (w[v]! <= 0) continue;
        pick = v;
        u -= w[v]!;
        if (u < 0) break;
      }
      out[s * d + k] = pick;
      if (constraint) state[s] = constraint.next(k, state[s]!, pick);
      let norm = 0;
      for (let b = 0; b < rk1; b++) {
        let acc = 0;
        for (let a = 0; a < rk; a++) acc += left[lo + a]! * g[(a * nk + pick) * rk1 + b]!;
        nextLeft[lo + b] = acc;
        norm += acc;
      }
      for (let b = 0; b < rk1; b++) nextLeft[lo + b] = nextLeft[lo + b]! / norm;
    }
    const t = left;
    left = nextLeft;
    nextLeft = t;
  }
  return out;
}

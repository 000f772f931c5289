import type { Rng } from '../util/rng';
import { QuboError } from './errors';
import { instanceLevels, type CapacityLevels } from './levels';
import type { QuboInstance } from './types';

/**
 * The mask with exactly K kept that maximises Σ score_i x_i under the floors and round-to levels.
 * With unit steps, floors first then global top-K is optimal (each group's prefix sums are
 * concave); with round-to a DP over groups and allowed counts is used instead.
 */
export function bestLinearMask(inst: QuboInstance, score: Float64Array, K: number = inst.K, levels: CapacityLevels = instanceLevels(inst)): Uint8Array {
  if (score.length !== inst.n) throw new QuboError('score-length', `score has ${score.length} values, expected ${inst.n}`);
  const G = inst.groupCount;
  const order: Int32Array[] = [];
  for (let g = 0; g < G; g++) order.push(sortedDesc(score, inst.groupStart[g]!, inst.groupSize[g]!));
  const mask = new Uint8Array(inst.n);
  const counts = new Int32Array(G);
  if (levels.bigSteps.length === 0) {
    let kept = 0;
    const rest: number[] = [];
    for (let g = 0; g < G; g++) {
      const o = order[g]!;
      for (let r = 0; r < o.length; r++) {
        if (r < inst.floors[g]!) {
          mask[o[r]!] = 1;
          kept++;
        } else rest.push(o[r]!);
      }
    }
    if (kept > K) throw new QuboError('k-below-floors', `K ${K} is below the sum of floors (${kept})`);
    rest.sort((a, b) => score[b]! - score[a]! || a - b);
    if (K - kept > rest.length) throw new QuboError('k-above-n', `K ${K} exceeds the ${inst.n} variables`);
    for (let r = 0; r < K - kept; r++) mask[rest[r]!] = 1;
    return mask;
  }
  const W = K + 1;
  const best = new Float64Array((G + 1) * W).fill(Number.NEGATIVE_INFINITY);
  const choice = new Int32Array(G * W).fill(-1);
  best[0] = 0;
  for (let g = 0; g < G; g++) {
    const o = order[g]!;
    const prefix = new Float64Array(o.length + 1);
    for (let r = 0; r < o.length; r++) prefix[r + 1] = prefix[r]! + score[o[r]!]!;
    const lv = levels.list[g]!;
    for (let t = 0; t < W; t++) {
      const base = best[g * W + t]!;
      if (base === Number.NEGATIVE_INFINITY) continue;
      for (let k = 0; k < lv.length; k++) {
        const c = lv[k]!;
        if (t + c >= W) break;
        const v = base + prefix[c]!;
        const at = (g + 1) * W + t + c;
        if (v > best[at]!) {
          best[at] = v;
          choice[g * W + t + c] = c;
        }
      }
    }
  }
  if (best[G * W + K] === Number.NEGATIVE_INFINITY) throw new QuboError('k-unachievable', `no allowed per-group counts sum to ${K}`);
  let t = K;
  for (let g = G - 1; g >= 0; g--) {
    const c = choice[g * W + t]!;
    counts[g] = c;
    t -= c;
  }
  for (let g = 0; g < G; g++) {
    const o = order[g]!;
    for (let r = 0; r < counts[g]!; r++) mask[o[r]!] = 1;
  }
  return mask;
}

/** Greedy start of the search (METHOD §6.1): top-K by h respecting floors and round-to. */
export function greedyStart(inst: QuboInstance, levels?: CapacityLevels): Uint8Array {
  return bestLinearMask(inst, inst.h, inst.K, levels);
}

/** Baselines of METHOD §7: global top-K by a score (Taylor, L1, …) with the instance's floors and round-to. */
export function greedyMask(inst: QuboInstance, score: Float64Array): Uint8Array {
  return bestLinearMask(inst, score);
}

/**
 * Random feasible mask (sanity baseline): the best mask for uniform random scores, so floors and
 * the rest of K are uniform draws and, under round-to, per-group counts stay close to proportional
 * (drawing a capacity per group would let the first groups' draws decide the last groups' counts).
 */
export function randomMask(inst: QuboInstance, rng: Rng, levels: CapacityLevels = instanceLevels(inst)): Uint8Array {
  const score = new Float64Array(inst.n);
  for (let i = 0; i < inst.n; i++) score[i] = rng.next();
  return bestLinearMask(inst, score, inst.K, levels);
}

function sortedDesc(score: Float64Array, start: number, size: number): Int32Array {
  const idx = Array.from({ length: size }, (_, r) => start + r);
  idx.sort((a, b) => score[b]! - score[a]! || a - b);
  return Int32Array.from(idx);
}

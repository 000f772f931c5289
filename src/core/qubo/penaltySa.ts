import { Rng } from '../util/rng';
import { localFields, quboEnergy } from './energy';
import type { QuboInstance } from './types';

export interface PenaltySaOptions {
  seed?: number;
  /** Penalty weight; default lambdaBound(inst) (the smallest weight that makes K the penalised optimum's count). */
  lambda?: number;
  /** Flip attempts; default 200·n when no time budget is given. */
  maxIterations?: number;
  timeMs?: number;
  /** Start and end temperature as multiples of the mean |h|. */
  t0?: number;
  t1?: number;
}

export interface PenaltySaResult {
  /** Lowest penalised-energy state visited (what a penalty method returns). */
  mask: Uint8Array;
  /** True QUBO energy of `mask` (without the penalty). */
  energy: number;
  count: number;
  /** |count − K| of the returned mask: non-zero means the sparsity target was missed. */
  violation: number;
  /** Best state with exactly K kept that the walk visited, if any. */
  bestFeasibleEnergy: number;
  bestFeasibleMask: Uint8Array | null;
  lambda: number;
  iterations: number;
  timeMs: number;
}

/**
 * Smallest λ that makes count K the penalised optimum. Above K some group is above its floor, and
 * dropping its channel i changes E by f_i ≤ h_i while the penalty falls by at least λ; below K
 * adding a pruned j changes E by −f_j ≤ Σ_j Q_ij − h_j while the penalty falls by at least λ. So
 * with λ above both maxima every point off K has an improving single flip.
 */
export function lambdaBound(inst: QuboInstance): number {
  let bound = 0;
  for (let g = 0; g < inst.groupCount; g++) {
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    for (let a = 0; a < C; a++) {
      let row = 0;
      for (let b = 0; b < C; b++) row += Math.max(0, Q[a * C + b]!);
      bound = Math.max(bound, inst.h[s + a]!, row - inst.h[s + a]!);
    }
  }
  return bound;
}

/**
 * Baseline of METHOD §6 (for the benchmark only): E(x) + λ(Σx − K)² minimised by single-flip
 * simulated annealing with a geometric temperature schedule. Floors are kept as hard constraints
 * (flips below a floor are refused); round-to is ignored, since single flips cannot respect it.
 */
export function solvePenaltySa(inst: QuboInstance, options: PenaltySaOptions = {}): PenaltySaResult {
  const t0 = performance.now();
  const rng = new Rng(options.seed ?? 1);
  const { n, K, groupOf, groupStart, groupSize, h, Q, floors } = inst;
  const lambda = options.lambda ?? lambdaBound(inst);
  const timeMs = options.timeMs ?? Number.POSITIVE_INFINITY;
  const maxIt = options.maxIterations ?? (options.timeMs === undefined ? 200 * n : Number.MAX_SAFE_INTEGER);
  let hMean = 0;
  for (let i = 0; i < n; i++) hMean += Math.abs(h[i]!);
  hMean = n > 0 ? hMean / n : 1;
  const T0 = (options.t0 ?? 2) * hMean;
  const T1 = (options.t1 ?? 1e-3) * hMean;

  // Random start with about K kept, floors met.
  const x = new Uint8Array(n);
  const cnt = new Int32Array(inst.groupCount);
  for (let i = 0; i < n; i++) {
    if (rng.next() < K / n) {
      x[i] = 1;
      cnt[groupOf[i]!]!++;
    }
  }
  for (let g = 0; g < inst.groupCount; g++) {
    for (let a = 0; cnt[g]! < floors[g]! && a < groupSize[g]!; a++) {
      if (!x[groupStart[g]! + a]) {
        x[groupStart[g]! + a] = 1;
        cnt[g]!++;
      }
    }
  }
  const f = localFields(inst, x, new Float64Array(n));
  let count = 0;
  for (let i = 0; i < n; i++) count += x[i]!;
  let E = quboEnergy(inst, x) + lambda * (count - K) ** 2;
  let bestE = E;
  const best = x.slice();
  let bestFeasE = count === K ? E : Number.POSITIVE_INFINITY;
  let bestFeas: Uint8Array | null = count === K ? x.slice() : null;

  let it = 0;
  let T = T0;
  for (; it < maxIt; it++) {
    if ((it & 1023) === 0) {
      const el = performance.now() - t0;
      if (el >= timeMs) break;
      const frac = Math.max(timeMs < Number.POSITIVE_INFINITY ? el / timeMs : 0, maxIt < Number.MAX_SAFE_INTEGER ? it / maxIt : 0);
      T = T0 * (T1 / T0) ** frac;
    }
    const i = rng.nextInt(n);
    const g = groupOf[i]!;
    const on = x[i]!;
    if (on && cnt[g]! <= floors[g]!) continue;
    const dc = on ? -1 : 1;
    const dE = (on ? f[i]! : -f[i]!) + lambda * ((count + dc - K) ** 2 - (count - K) ** 2);
    if (dE > 0 && rng.next() >= Math.exp(-dE / T)) continue;
    const s = groupStart[g]!;
    const C = groupSize[g]!;
    const row = (i - s) * C;
    const q = Q[g]!;
    if (on) for (let b = 0; b < C; b++) f[s + b]! += q[row + b]!;
    else for (let b = 0; b < C; b++) f[s + b]! -= q[row + b]!;
    x[i] = on ? 0 : 1;
    cnt[g]! += dc;
    count += dc;
    E += dE;
    if (E < bestE) {
      bestE = E;
      best.set(x);
    }
    if (count === K && E < bestFeasE) {
      bestFeasE = E;
      if (bestFeas) bestFeas.set(x);
      else bestFeas = x.slice();
    }
  }
  let bestCount = 0;
  for (let i = 0; i < n; i++) bestCount += best[i]!;
  return {
    mask: best,
    energy: quboEnergy(inst, best),
    count: bestCount,
    violation: Math.abs(bestCount - K),
    bestFeasibleEnergy: bestFeas ? quboEnergy(inst, bestFeas) : Number.POSITIVE_INFINITY,
    bestFeasibleMask: bestFeas,
    lambda,
    iterations: it,
    timeMs: performance.now() - t0,
  };
}

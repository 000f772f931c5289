// Turns importance scores into a keep-mask for each method (hybrid and the paper's baselines),
// all through the same QUBO layout so floors, round-to and K are identical across methods.
import type { Method } from '../../protocol';
import {
  bestLinearMask,
  buildQubo,
  randomMask,
  solveQuboAsync,
  type QuboGroupInput,
  type QuboInstance,
  type SearchResult,
} from '../qubo';
import { normaliseByGlobalMean } from '../importance/gradientStats';
import { BUDGET_TOLERANCE, type CostBudget, type QuboBudget } from '../qubo/budget';
import { budgetStart, solveBudgetQuboAsync } from '../qubo/budgetSearch';
import type { CountCost } from '../prune/cost';
import { Rng } from '../util/rng';

export interface ChannelScores {
  taylor: Float64Array;
  fisher: Float64Array;
  l1: Float64Array;
  l2: Float64Array;
}

export interface GroupTerms {
  id: string;
  /** Global variable indices in QUBO order. */
  variables: Int32Array;
  activationSimilarity: Float64Array;
  /** |Pearson| of the activations (ablation against |cos|); absent when channel sums were not collected. */
  activationPearson?: Float64Array;
  weightSimilarity: Float64Array;
  /** Empirical Fisher block Φ (c×c) of the group's gate gradients, for the joint-Fisher interaction. */
  fisherBlock?: Float64Array;
}

export interface SelectOptions {
  /** The product's methods, plus greedy Fisher for the benchmark's "best greedy criterion" row. */
  method: Method | 'fisher';
  sparsity: number;
  alpha: number;
  beta: number;
  floor: number;
  roundTo: number;
  seed: number;
  searchTimeMs: number;
  /** Activation similarity in the redundancy term (default |cos|, METHOD §4). */
  similarity?: 'cosine' | 'pearson';
  /**
   * 'global' (default, METHOD §6): one K, capacities move between groups during the search.
   * 'per-group': each group keeps round((1−s)·C_g) (uniform per-layer sparsity), for the ablation.
   */
  capacity?: 'global' | 'per-group';
  /**
   * Weight γ of the joint-Fisher interaction: Q_ij += γ(1−α)·Φ_ij/mean(F) within each group, with the
   * matching linear correction, so that at γ = 1 the Fisher part of E is the second-order estimate
   * ½·pᵀΦp of pruning the set p together instead of the sum of single-channel estimates. 0 = off.
   */
  jointFisher?: number;
  signal?: AbortSignal;
  onProgress?: (p: { iteration: number; bestEnergy: number }) => void;
  /**
   * A MAC, parameter or latency budget (ratio of the original, or ms for latencyMs with the
   * latency model's CountCost) instead of the sparsity: the kept counts are
   * chosen so the cost lands in [(1 − 2%)·limit, limit]. `cost` is costModel()'s polynomial for
   * that kind, in `groups` order. Greedy baselines take the knapsack-ratio start (budgetStart) on
   * their own scores.
   */
  budget?: { spec: CostBudget; cost: CountCost };
}

export interface Selection {
  /** Keep-mask over global variables. */
  keep: Uint8Array;
  instance: QuboInstance;
  search?: SearchResult;
  /** h (linear gain) of each global variable under the hybrid objective, for refinement slots. */
  gain: Float64Array;
}

/**
 * Similarity divided by (C_g − 1), so that a channel's redundancy with its whole group is at most
 * β·ȟ_g. Unnormalised, the pair sum grows with the square of the kept count and, with post-ReLU
 * activations' high |cos|, swamps the linear term in wide layers (β sweep in docs/BENCHMARKS.md).
 */
function perChannelScale(S: Float64Array, size: number): Float64Array {
  if (size < 2) return S;
  const out = new Float64Array(S.length);
  for (let i = 0; i < S.length; i++) out[i] = S[i]! / (size - 1);
  return out;
}

function pick(arr: Float64Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = arr[idx[i]!]!;
  return out;
}

/** Global-variable mask from a mask in QUBO order. */
export function toGlobal(mask: Uint8Array, groups: GroupTerms[], n: number): Uint8Array {
  const keep = new Uint8Array(n);
  let p = 0;
  for (const g of groups) for (let i = 0; i < g.variables.length; i++) keep[g.variables[i]!] = mask[p++]!;
  return keep;
}

export function toQubo(keep: Uint8Array, groups: GroupTerms[]): Uint8Array {
  const total = groups.reduce((a, g) => a + g.variables.length, 0);
  const mask = new Uint8Array(total);
  let p = 0;
  for (const g of groups) for (let i = 0; i < g.variables.length; i++) mask[p++] = keep[g.variables[i]!]!;
  return mask;
}

/** Adds γ·Φ/mean(F) cross terms and their linear correction to a built instance (see SelectOptions.jointFisher). */
function addJointFisher(inst: QuboInstance, groups: GroupTerms[], fisher: Float64Array, gamma: number): void {
  let mean = 0;
  let count = 0;
  for (const g of groups) for (let i = 0; i < g.variables.length; i++, count++) mean += fisher[g.variables[i]!]!;
  mean /= Math.max(1, count);
  if (!(mean > 0)) return;
  const u = gamma / mean;
  groups.forEach((g, gi) => {
    const phi = g.fisherBlock;
    if (!phi) throw new Error(`group '${g.id}' has no Fisher block (calibration kept no per-sample gradients)`);
    const c = g.variables.length;
    const start = inst.groupStart[gi]!;
    const q = inst.Q[gi]!;
    for (let i = 0; i < c; i++) {
      let r = 0;
      for (let j = 0; j < c; j++) {
        if (i === j) continue;
        r += phi[i * c + j]!;
        q[i * c + j] += u * phi[i * c + j]!;
      }
      inst.h[start + i] += u * r;
    }
  });
}

/** β of the L1-QUBO baseline when the run's β is 0 (the paper form's β from the first sweep). */
export const L1_QUBO_BETA = 0.05;

function pearsonOf(g: GroupTerms): Float64Array {
  if (!g.activationPearson) throw new Error(`group '${g.id}' has no Pearson similarity (channel sums were not collected)`);
  return g.activationPearson;
}

export async function selectMask(scores: ChannelScores, groups: GroupTerms[], o: SelectOptions): Promise<Selection> {
  const n = scores.taylor.length;
  const inputs: QuboGroupInput[] = groups.map((g) => ({
    id: g.id,
    size: g.variables.length,
    taylor: pick(scores.taylor, g.variables),
    fisher: pick(scores.fisher, g.variables),
    l1: pick(scores.l1, g.variables),
    similarity: perChannelScale(o.similarity === 'pearson' ? pearsonOf(g) : g.activationSimilarity, g.variables.length),
    // Only the l1-qubo objective reads the filter cosines; reading them computes them (prepare.ts).
    ...(o.method === 'l1-qubo' ? { weightSimilarity: perChannelScale(g.weightSimilarity, g.variables.length) } : {}),
  }));
  let common: { rho: number; roundTo: number; sparsity?: number; keep?: number } = { rho: o.floor, roundTo: o.roundTo, sparsity: o.sparsity };
  if (o.capacity === 'per-group') {
    // Floors equal to each group's own target make Σ floors = K, so only swaps inside a group remain.
    let keep = 0;
    inputs.forEach((g) => {
      const r = Math.max(1, o.roundTo);
      let target = Math.max(1, Math.round((1 - o.sparsity) * g.size));
      if (r > 1) target = Math.min(g.size, Math.max(r, Math.round(target / r) * r));
      g.floor = target;
      keep += target;
    });
    common = { rho: o.floor, roundTo: o.roundTo, keep };
  }
  const hybrid = buildQubo(inputs, { ...common, objective: 'hybrid', alpha: o.alpha, beta: o.beta });
  if (o.jointFisher && o.jointFisher > 0 && o.alpha < 1) addJointFisher(hybrid, groups, scores.fisher, o.jointFisher * (1 - o.alpha));
  const gain = new Float64Array(n);
  {
    let p = 0;
    for (const g of groups) for (let i = 0; i < g.variables.length; i++) gain[g.variables[i]!] = hybrid.h[p++]!;
  }
  let quboBudget: QuboBudget | undefined;
  if (o.budget) {
    const { spec, cost } = o.budget;
    // Per-group floors equal to each group's target leave no capacity to trade against the cost.
    if (o.capacity === 'per-group') throw new Error("a cost budget chooses each group's count, so it cannot be combined with capacity 'per-group'");
    const full = cost.constant + groups.reduce((acc, g, gi) => acc + cost.linear[gi]! * g.variables.length, 0) + Array.from(cost.pairWeight).reduce((acc, w, k) => acc + w * groups[cost.pairA[k]!]!.variables.length * groups[cost.pairB[k]!]!.variables.length, 0);
    // latencyMs is absolute (the cost is the latency model's prediction in ms); the others are ratios of the full model's cost.
    const limit = spec.kind === 'latencyMs' ? spec.limit : spec.limit * full;
    if (spec.kind === 'latencyMs' && !(limit < full)) throw new RangeError(`the latency budget ${limit} ms is not below the original's predicted ${full.toFixed(3)} ms`);
    quboBudget = { ...cost, limit, lower: limit * (1 - BUDGET_TOLERANCE) };
  }
  const search = async (inst: QuboInstance): Promise<SearchResult> =>
    quboBudget
      ? solveBudgetQuboAsync(inst, quboBudget, { seed: o.seed, timeMs: o.searchTimeMs, signal: o.signal, onProgress: o.onProgress ? (p) => o.onProgress!({ iteration: p.iteration, bestEnergy: p.bestEnergy }) : undefined, progressEveryMs: 100 })
      : solveQuboAsync(inst, {
      seed: o.seed,
      timeMs: o.searchTimeMs,
      signal: o.signal,
      onProgress: o.onProgress ? (p) => o.onProgress!({ iteration: p.iteration, bestEnergy: p.bestEnergy }) : undefined,
      progressEveryMs: 100,
    });
  const qorder = (s: Float64Array) => {
    const out = new Float64Array(hybrid.n);
    let p = 0;
    for (const g of groups) for (let i = 0; i < g.variables.length; i++) out[p++] = s[g.variables[i]!]!;
    return out;
  };
  // Greedy baselines under a budget: the knapsack-ratio fill on their own scores (no couplings).
  const greedyUnderBudget = (score: Float64Array) => budgetStart({ ...hybrid, h: score, Q: hybrid.Q.map((q) => new Float64Array(q.length)) }, quboBudget!);
  if (quboBudget) {
    // The total count is whatever the budget buys: the instance's K says what was kept, so the
    // report's K and its groups agree.
    const done = (mask: Uint8Array, inst: QuboInstance, r?: SearchResult): Selection => ({ keep: toGlobal(mask, groups, n), instance: { ...inst, K: mask.reduce((acc, v) => acc + v, 0) }, ...(r ? { search: r } : {}), gain });
    if (o.method === 'hybrid') {
      const r = await search(hybrid);
      return done(r.mask, hybrid, r);
    }
    if (o.method === 'l1-qubo') {
      const inst = buildQubo(inputs, { ...common, objective: 'l1', beta: o.beta > 0 ? o.beta : L1_QUBO_BETA });
      const r = await search(inst);
      return done(r.mask, inst, r);
    }
    // Random under a budget: the same knapsack fill on random scores, so it lands in the band too.
    const rng = new Rng(o.seed);
    const raw = o.method === 'taylor' ? normaliseByGlobalMean(scores.taylor) : o.method === 'fisher' ? normaliseByGlobalMean(scores.fisher) : o.method === 'l1' ? scores.l1 : Float64Array.from({ length: n }, () => rng.next());
    return done(greedyUnderBudget(qorder(raw)), hybrid);
  }
  switch (o.method) {
    case 'hybrid': {
      const r = await search(hybrid);
      return { keep: toGlobal(r.mask, groups, n), instance: hybrid, search: r, gain };
    }
    case 'l1-qubo': {
      // The baseline keeps its own redundancy term: at the Hybrid default β = 0 it would be L1 greedy.
      const inst = buildQubo(inputs, { ...common, objective: 'l1', beta: o.beta > 0 ? o.beta : L1_QUBO_BETA });
      const r = await search(inst);
      return { keep: toGlobal(r.mask, groups, n), instance: inst, search: r, gain };
    }
    case 'taylor':
      return { keep: toGlobal(bestLinearMask(hybrid, qorder(normaliseByGlobalMean(scores.taylor))), groups, n), instance: hybrid, gain };
    case 'fisher':
      return { keep: toGlobal(bestLinearMask(hybrid, qorder(normaliseByGlobalMean(scores.fisher))), groups, n), instance: hybrid, gain };
    case 'l1':
      return { keep: toGlobal(bestLinearMask(hybrid, qorder(scores.l1)), groups, n), instance: hybrid, gain };
    case 'random':
      return { keep: toGlobal(randomMask(hybrid, new Rng(o.seed)), groups, n), instance: hybrid, gain };
  }
}

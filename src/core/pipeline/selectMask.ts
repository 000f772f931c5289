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
  const search = async (inst: QuboInstance) =>
    solveQuboAsync(inst, {
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

import { QuboError } from './errors';
import { instanceLevels, type CapacityLevels } from './levels';
import type { QuboInstance } from './types';

export interface ExactResult {
  mask: Uint8Array;
  energy: number;
  capacities: Int32Array;
}

/** Largest group the exact solver enumerates (2^size subsets). */
export const EXACT_MAX_GROUP = 24;

/**
 * Exact minimum of the constrained QUBO, for tests and benchmark ground truth. Groups do not
 * interact, so each group's best energy for every kept count is found by enumeration, and a DP
 * over groups picks the counts that sum to K. Cost ~ Σ_g 2^size_g + G·K·levels.
 */
export function solveExact(inst: QuboInstance, maxGroup: number = EXACT_MAX_GROUP, levels: CapacityLevels = instanceLevels(inst)): ExactResult {
  const G = inst.groupCount;
  for (let g = 0; g < G; g++) {
    if (inst.groupSize[g]! > maxGroup) {
      throw new QuboError('too-large', `group '${inst.groupIds[g]}' has ${inst.groupSize[g]} channels; exact enumeration is limited to ${maxGroup}`);
    }
  }
  const perGroup: { energy: Float64Array; subset: Float64Array }[] = [];
  for (let g = 0; g < G; g++) perGroup.push(enumerateGroup(inst, g));

  const K = inst.K;
  const W = K + 1;
  const best = new Float64Array((G + 1) * W).fill(Number.POSITIVE_INFINITY);
  const choice = new Int32Array(G * W).fill(-1);
  best[0] = 0;
  for (let g = 0; g < G; g++) {
    const lv = levels.list[g]!;
    const eg = perGroup[g]!.energy;
    for (let t = 0; t < W; t++) {
      const base = best[g * W + t]!;
      if (base === Number.POSITIVE_INFINITY) continue;
      for (let k = 0; k < lv.length; k++) {
        const c = lv[k]!;
        if (t + c >= W) break;
        const v = base + eg[c]!;
        if (v < best[(g + 1) * W + t + c]!) {
          best[(g + 1) * W + t + c] = v;
          choice[g * W + t + c] = c;
        }
      }
    }
  }
  if (best[G * W + K] === Number.POSITIVE_INFINITY) throw new QuboError('k-unachievable', `no allowed per-group counts sum to ${K}`);
  const capacities = new Int32Array(G);
  const mask = new Uint8Array(inst.n);
  let t = K;
  for (let g = G - 1; g >= 0; g--) {
    const c = choice[g * W + t]!;
    capacities[g] = c;
    t -= c;
    const bits = perGroup[g]!.subset[c]!;
    const s = inst.groupStart[g]!;
    for (let a = 0; a < inst.groupSize[g]!; a++) if (Math.floor(bits / 2 ** a) % 2 === 1) mask[s + a] = 1;
  }
  return { mask, energy: best[G * W + K]!, capacities };
}

/**
 * Best energy of group g for every kept count. Meet in the middle: the group splits into halves
 * A and B; for each subset T of B the couplings to A reduce to a vector v, and the cross term of
 * every subset S of A follows from S minus its lowest bit in O(1), so the whole scan is O(2^size).
 */
export function enumerateGroup(inst: QuboInstance, g: number): { energy: Float64Array; subset: Float64Array } {
  const C = inst.groupSize[g]!;
  const s0 = inst.groupStart[g]!;
  const Q = inst.Q[g]!;
  const h = inst.h;
  const a = C >> 1;
  const b = C - a;
  const NA = 1 << a;
  const NB = 1 << b;
  const EA = subsetEnergies(h, Q, C, s0, 0, a);
  const EB = subsetEnergies(h, Q, C, s0, a, b);
  const popA = popcounts(a);
  const popB = popcounts(b);
  const energy = new Float64Array(C + 1).fill(Number.POSITIVE_INFINITY);
  const bestS = new Int32Array(C + 1);
  const bestT = new Int32Array(C + 1);
  // vB[T·a + i] = Σ_{j∈T} Q[i][a+j]
  const vB = new Float64Array(NB * Math.max(a, 1));
  for (let T = 1; T < NB; T++) {
    const low = 31 - Math.clz32(T & -T);
    const prev = T & (T - 1);
    for (let i = 0; i < a; i++) vB[T * a + i] = vB[prev * a + i]! + Q[i * C + a + low]!;
  }
  const cross = new Float64Array(NA);
  for (let T = 0; T < NB; T++) {
    const eb = EB[T]!;
    const pb = popB[T]!;
    const vo = T * a;
    let e = EA[0]! + eb;
    if (e < energy[pb]!) {
      energy[pb] = e;
      bestS[pb] = 0;
      bestT[pb] = T;
    }
    for (let S = 1; S < NA; S++) {
      const low = 31 - Math.clz32(S & -S);
      const cv = cross[S & (S - 1)]! + vB[vo + low]!;
      cross[S] = cv;
      e = EA[S]! + eb + cv;
      const c = popA[S]! + pb;
      if (e < energy[c]!) {
        energy[c] = e;
        bestS[c] = S;
        bestT[c] = T;
      }
    }
  }
  const subset = new Float64Array(C + 1);
  for (let c = 0; c <= C; c++) subset[c] = bestS[c]! + bestT[c]! * NA;
  return { energy, subset };
}

function subsetEnergies(h: Float64Array, Q: Float64Array, C: number, s0: number, from: number, count: number): Float64Array {
  const N = 1 << count;
  const E = new Float64Array(N);
  for (let S = 1; S < N; S++) {
    const low = 31 - Math.clz32(S & -S);
    const prev = S & (S - 1);
    const i = from + low;
    let e = E[prev]! - h[s0 + i]!;
    for (let r = prev; r !== 0; r &= r - 1) {
      const k = from + (31 - Math.clz32(r & -r));
      e += Q[i * C + k]!;
    }
    E[S] = e;
  }
  return E;
}

function popcounts(bits: number): Uint8Array {
  const N = 1 << bits;
  const p = new Uint8Array(N);
  for (let S = 1; S < N; S++) p[S] = p[S & (S - 1)]! + 1;
  return p;
}

// Cost budgets (MACs, parameters) as the exact constraint of the QUBO instead of a channel count.
// The cost of a pruned model depends only on how many channels each group keeps: a conv between
// groups a and b costs k·k·H·W·c_a·c_b, a bias or norm c_a. So the budget is a quadratic constraint
// on the capacity vector, while the energy stays the QUBO's. See docs/SOLVER.md §9.
import { QuboError } from './errors';
import { groupCounts, quboEnergy } from './energy';
import { enumerateGroup } from './exact';
import { instanceLevels, type CapacityLevels } from './levels';
import type { QuboInstance } from './types';

/** What a preset's budget limits: a ratio of the original model's MACs, parameters or predicted latency, or milliseconds. */
export type CostKind = 'macs' | 'params' | 'latencyMs' | 'latencyRatio';

export interface CostBudget {
  kind: CostKind;
  /** macs / params / latencyRatio: a ratio of the original in (0, 1]; latencyMs: milliseconds. */
  limit: number;
}

/**
 * cost(c) = constant + Σ_g linear[g]·c_g + Σ_k pairWeight[k]·c_{pairA[k]}·c_{pairB[k]}, in the
 * instance's group order, and the band it must end in: lower ≤ cost ≤ limit. The lower edge keeps
 * the search from spending less than the budget allows (docs/SOLVER.md §9).
 */
export interface QuboBudget {
  constant: number;
  linear: Float64Array;
  pairA: Int32Array;
  pairB: Int32Array;
  pairWeight: Float64Array;
  limit: number;
  lower: number;
}

/** Default width of the band below the limit: the result spends at least 98% of the budget. */
export const BUDGET_TOLERANCE = 0.02;

export function budgetCost(b: QuboBudget, counts: ArrayLike<number>): number {
  let v = b.constant;
  for (let g = 0; g < b.linear.length; g++) v += b.linear[g]! * counts[g]!;
  for (let k = 0; k < b.pairWeight.length; k++) v += b.pairWeight[k]! * counts[b.pairA[k]!]! * counts[b.pairB[k]!]!;
  return v;
}

/** Slack for rounding when comparing costs (sums of up to ~1e10 MACs in doubles). */
export function costEps(b: QuboBudget): number {
  return 1e-9 * Math.max(1, Math.abs(b.limit));
}

export function validateBudget(inst: QuboInstance, b: QuboBudget): void {
  const G = inst.groupCount;
  if (b.linear.length !== G) throw new QuboError('bad-budget', `budget has ${b.linear.length} linear terms for ${G} groups`);
  if (b.pairA.length !== b.pairWeight.length || b.pairB.length !== b.pairWeight.length) throw new QuboError('bad-budget', 'budget pair arrays differ in length');
  for (let k = 0; k < b.pairWeight.length; k++) {
    const a = b.pairA[k]!;
    const c = b.pairB[k]!;
    if (!(a >= 0 && a < G && c >= 0 && c < G)) throw new QuboError('bad-budget', `budget pair ${k} names group ${a} or ${c} outside 0..${G - 1}`);
  }
  const finite = [b.constant, b.limit, ...b.linear, ...b.pairWeight].every(Number.isFinite);
  // lower = −∞ means "no lower edge" (only the limit binds).
  if (!finite || !(Number.isFinite(b.lower) || b.lower === Number.NEGATIVE_INFINITY)) throw new QuboError('bad-budget', 'budget has a NaN or infinite coefficient, limit or lower edge');
  if (b.lower > b.limit) throw new QuboError('bad-budget', `budget lower edge ${b.lower} is above its limit ${b.limit}`);
}

/** Why a mask does not meet the levels and the budget band, or null. */
export function budgetProblem(inst: QuboInstance, b: QuboBudget, mask: Uint8Array, levels: CapacityLevels = instanceLevels(inst)): string | null {
  if (mask.length !== inst.n) return `mask has ${mask.length} entries, expected ${inst.n}`;
  const counts = groupCounts(inst, mask);
  for (let g = 0; g < inst.groupCount; g++) {
    if (!levels.isLevel[levels.offset[g]! + counts[g]!]) return `group '${inst.groupIds[g]}' keeps ${counts[g]} of ${inst.groupSize[g]} (floor ${inst.floors[g]}, round-to ${inst.roundTo[g]})`;
  }
  const cost = budgetCost(b, counts);
  const eps = costEps(b);
  if (cost > b.limit + eps) return `cost ${cost} is above the budget ${b.limit}`;
  if (cost < b.lower - eps) return `cost ${cost} is below the band's lower edge ${b.lower}`;
  return null;
}

/**
 * Exact change of the cost when group a's count moves by da and group b's by db (b may be −1).
 * `marginal` holds ∂cost/∂c_g at the current counts; `hess(a, b)` the second derivatives.
 */
export class BudgetState {
  readonly G: number;
  /** Dense Hessian of the cost (symmetric; H_aa = 2·weight of c_a²). */
  readonly hess: Float64Array;
  readonly marginal: Float64Array;
  /** Groups coupled to each group (non-zero Hessian entries), for O(degree) marginal updates. */
  private readonly nbr: Int32Array[];
  cost = 0;

  constructor(
    readonly b: QuboBudget,
    G: number,
  ) {
    this.G = G;
    this.hess = new Float64Array(G * G);
    for (let k = 0; k < b.pairWeight.length; k++) {
      const a = b.pairA[k]!;
      const c = b.pairB[k]!;
      const w = b.pairWeight[k]!;
      if (a === c) this.hess[a * G + a] += 2 * w;
      else {
        this.hess[a * G + c] += w;
        this.hess[c * G + a] += w;
      }
    }
    this.nbr = [];
    for (let g = 0; g < G; g++) {
      const l: number[] = [];
      for (let h = 0; h < G; h++) if (this.hess[g * G + h] !== 0) l.push(h);
      this.nbr.push(Int32Array.from(l));
    }
    this.marginal = new Float64Array(G);
  }

  load(counts: ArrayLike<number>): void {
    const { G, hess, marginal } = this;
    for (let g = 0; g < G; g++) {
      let m = this.b.linear[g]!;
      for (const h of this.nbr[g]!) m += hess[g * G + h]! * counts[h]!;
      // ∂/∂c_g of w·c_g² is 2w·c_g = H_gg·c_g: already in the loop.
      marginal[g] = m;
    }
    this.cost = budgetCost(this.b, counts);
  }

  /** Cost change of moving group a by da and group c by dc (c = −1 for a single-group move). */
  delta(a: number, da: number, c: number, dc: number): number {
    const { G, hess, marginal } = this;
    let d = da * marginal[a]! + 0.5 * da * da * hess[a * G + a]!;
    if (c >= 0) d += dc * marginal[c]! + 0.5 * dc * dc * hess[c * G + c]! + da * dc * hess[a * G + c]!;
    return d;
  }

  /** Applies a change of group g's count by d. */
  apply(g: number, d: number): void {
    const { G, hess, marginal } = this;
    this.cost += this.delta(g, d, -1, 0);
    for (const h of this.nbr[g]!) marginal[h] += d * hess[h * G + g]!;
  }
}

export interface ExactBudgetResult {
  mask: Uint8Array;
  energy: number;
  capacities: Int32Array;
  cost: number;
}

/**
 * Exact optimum under a budget, for tests and ground truth: every group's best energy per kept
 * count by enumeration (exact.ts), then every capacity vector on the levels with its exact cost.
 * Limited to `maxVectors` capacity vectors (the product of the groups' level counts).
 */
export function solveExactBudget(inst: QuboInstance, b: QuboBudget, maxGroup = 20, maxVectors = 5_000_000): ExactBudgetResult {
  validateBudget(inst, b);
  const G = inst.groupCount;
  const levels = instanceLevels(inst);
  let vectors = 1;
  for (let g = 0; g < G; g++) {
    if (inst.groupSize[g]! > maxGroup) throw new QuboError('too-large', `group '${inst.groupIds[g]}' has ${inst.groupSize[g]} channels; exact enumeration is limited to ${maxGroup}`);
    vectors *= levels.list[g]!.length;
  }
  if (vectors > maxVectors) throw new QuboError('too-large', `${vectors} capacity vectors; the exact budget solver is limited to ${maxVectors}`);
  const per = Array.from({ length: G }, (_, g) => enumerateGroup(inst, g));
  const eps = costEps(b);
  const caps = new Int32Array(G);
  const bestCaps = new Int32Array(G);
  let best = Number.POSITIVE_INFINITY;
  let bestCost = 0;
  const visit = (g: number, e: number): void => {
    if (g === G) {
      const cost = budgetCost(b, caps);
      if (cost > b.limit + eps || cost < b.lower - eps) return;
      if (e < best) {
        best = e;
        bestCost = cost;
        bestCaps.set(caps);
      }
      return;
    }
    for (const c of levels.list[g]!) {
      caps[g] = c;
      visit(g + 1, e + per[g]!.energy[c]!);
    }
  };
  visit(0, 0);
  if (best === Number.POSITIVE_INFINITY) throw new QuboError('budget-unachievable', `no allowed per-group counts give a cost in [${b.lower}, ${b.limit}]`);
  const mask = new Uint8Array(inst.n);
  for (let g = 0; g < G; g++) {
    const bits = per[g]!.subset[bestCaps[g]!]!;
    const s = inst.groupStart[g]!;
    for (let a = 0; a < inst.groupSize[g]!; a++) if (Math.floor(bits / 2 ** a) % 2 === 1) mask[s + a] = 1;
  }
  return { mask, energy: quboEnergy(inst, mask), capacities: bestCaps, cost: bestCost };
}

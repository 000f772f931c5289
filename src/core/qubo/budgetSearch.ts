// The capacity-driven tabu search with a cost budget in place of the exact count K: the total
// kept count is free, and every visited point keeps each group on its levels and the cost in the
// band lower ≤ cost ≤ limit (docs/SOLVER.md §9).
import { Rng } from '../util/rng';
import { BudgetState, budgetCost, budgetProblem, costEps, validateBudget, type QuboBudget } from './budget';
import { localFields } from './energy';
import { QuboError } from './errors';
import { instanceLevels, type CapacityLevels } from './levels';
import { CapacityTabuSearch } from './search';
import type { QuboInstance, SearchOptions, SearchResult } from './types';

const INF = Number.POSITIVE_INFINITY;
const NONE = -1;
/** Levels a compound move may jump per group (each direction). */
const COMPOUND_LEVELS = 16;
/** Capacity vectors the search may enumerate when it has never reached the band. */
const EXHAUSTIVE_VECTORS = 200_000;

export interface BudgetSearchResult extends SearchResult {
  /** Cost of the returned mask under the budget's polynomial. */
  cost: number;
  /** The band's lower edge actually enforced: the budget's, or the start's cost when the levels cannot reach it. */
  lower: number;
}

export interface BudgetSearchOptions extends SearchOptions {
  /** Multi-level pair jumps at kicks (default on; off only to measure what they add). */
  compoundMoves?: boolean;
}

/** Largest count of group g below c / smallest above c on its levels, or −1. */
function neighbourLevels(levels: CapacityLevels, g: number, c: number): [number, number] {
  const lv = levels.list[g]!;
  let down = -1;
  let up = -1;
  for (let k = 0; k < lv.length; k++) {
    const v = lv[k]!;
    if (v < c) down = v;
    else if (v > c && up < 0) up = v;
  }
  return [down, up];
}

/**
 * A feasible start: from the full model, repeatedly lower the group whose next level down loses
 * the least energy per unit of cost saved (the HALP-style knapsack ratio) until the cost fits,
 * then raise groups by the best energy gain per unit of cost while the budget allows, so the cost
 * ends just under the limit. Energies are the greedy ones (lowest-field kept channels leave first).
 * With `noise`, the ratios are scaled by random factors (restarts from other capacity vectors).
 */
export function budgetStart(inst: QuboInstance, b: QuboBudget, levels: CapacityLevels = instanceLevels(inst), noise?: { rng: Rng; sigma: number }): Uint8Array {
  const G = inst.groupCount;
  const x = new Uint8Array(inst.n).fill(1);
  const f = localFields(inst, x, new Float64Array(inst.n));
  const cnt = Int32Array.from(inst.groupSize);
  // Greedy d-channel change of group g: energy delta, applying it when asked.
  const change = (g: number, d: number, apply: boolean): number => {
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    const want = d < 0 ? 1 : 0;
    // Removing: the lowest fields first; adding: the highest (ties by position).
    const before = (p: number, q: number) => (d < 0 ? f[s + p]! < f[s + q]! : f[s + p]! > f[s + q]!) || (f[s + p]! === f[s + q]! && p < q);
    let pick: number[];
    if (Math.abs(d) === 1) {
      // One channel (round-to 1, the common case): a linear scan instead of a sort, since this
      // runs for every group at every greedy step (ResNet-50: 37 groups × thousands of steps).
      let b = NONE;
      for (let a = 0; a < C; a++) if (x[s + a] === want && (b === NONE || before(a, b))) b = a;
      pick = b === NONE ? [] : [b];
    } else {
      const order: number[] = [];
      for (let a = 0; a < C; a++) if (x[s + a] === want) order.push(a);
      order.sort((p, q) => (before(p, q) ? -1 : before(q, p) ? 1 : 0));
      pick = order.slice(0, Math.abs(d));
    }
    let e = 0;
    for (let r = 0; r < pick.length; r++) {
      e += d < 0 ? f[s + pick[r]!]! : -f[s + pick[r]!]!;
      for (let q = 0; q < r; q++) e += Q[pick[r]! * C + pick[q]!]!;
    }
    if (apply) {
      // Fields follow each flipped channel's row of the (symmetric) block: O(C) per channel
      // instead of recomputing the group's fields in O(C²).
      for (const a of pick) {
        x[s + a] = want ? 0 : 1;
        const sign = want ? 1 : -1;
        for (let c = 0; c < C; c++) f[s + c] += sign * Q[a * C + c]!;
      }
      cnt[g] += d;
    }
    return e;
  };
  const state = new BudgetState(b, G);
  state.load(cnt);
  const eps = costEps(b);
  const jitter = () => (noise ? Math.exp(noise.sigma * noise.rng.normal()) : 1);
  while (state.cost > b.limit + eps) {
    let best = INF;
    let bg = NONE;
    let bd = 0;
    for (let g = 0; g < G; g++) {
      const [down] = neighbourLevels(levels, g, cnt[g]!);
      if (down < 0) continue;
      const d = down - cnt[g]!;
      const saved = -state.delta(g, d, -1, 0);
      if (!(saved > eps)) continue;
      const r = (change(g, d, false) / saved) * jitter();
      if (r < best) { best = r; bg = g; bd = d; }
    }
    if (bg === NONE) throw new QuboError('budget-unachievable', `the budget ${b.limit} is below the cost ${state.cost} of the smallest model the floors and round-to allow`);
    change(bg, bd, true);
    state.apply(bg, bd);
  }
  for (;;) {
    let best = INF;
    let bg = NONE;
    let bd = 0;
    for (let g = 0; g < G; g++) {
      const [, up] = neighbourLevels(levels, g, cnt[g]!);
      if (up < 0) continue;
      const d = up - cnt[g]!;
      const extra = state.delta(g, d, -1, 0);
      if (state.cost + extra > b.limit + eps) continue;
      const e = change(g, d, false);
      // Energy gained per unit of budget spent; free or negative-cost gains first.
      let r = extra > eps ? e / extra : e < 0 ? -INF : e;
      if (state.cost >= b.lower - eps && e >= 0) continue;
      if (Number.isFinite(r)) r *= r < 0 ? jitter() : 1;
      if (r < best) { best = r; bg = g; bd = d; }
    }
    if (bg === NONE) break;
    change(bg, bd, true);
    state.apply(bg, bd);
  }
  // Still below the band: granularity (no single group step fits under the limit). Pairs of
  // steps (one group down, another up) that raise the cost without passing the limit can still
  // get there; take the one that ends highest. Each taken step raises the cost, so this ends.
  for (let guard = 0; state.cost < b.lower - eps && guard < 4 * inst.n; guard++) {
    let bestCost = state.cost + eps;
    let ba = NONE;
    let bb = NONE;
    for (let a = 0; a < G; a++) {
      const [down] = neighbourLevels(levels, a, cnt[a]!);
      if (down < 0) continue;
      for (let c = 0; c < G; c++) {
        if (c === a) continue;
        const [, up] = neighbourLevels(levels, c, cnt[c]!);
        if (up < 0) continue;
        const nc = state.cost + state.delta(a, down - cnt[a]!, c, up - cnt[c]!);
        if (nc <= b.limit + eps && nc > bestCost) { bestCost = nc; ba = a; bb = c; }
      }
    }
    if (ba === NONE) break;
    const da = neighbourLevels(levels, ba, cnt[ba]!)[0] - cnt[ba]!;
    const db = neighbourLevels(levels, bb, cnt[bb]!)[1] - cnt[bb]!;
    change(ba, da, true);
    state.apply(ba, da);
    change(bb, db, true);
    state.apply(bb, db);
  }
  return x;
}

/**
 * CapacityTabuSearch under a cost budget. Moves: swaps within a group (cost unchanged), one group
 * to its next level down or up, and a pair of groups moving at once (one down, one up: how
 * capacity flows to where it is cheaper or more useful). A move is allowed when the cost stays
 * under the limit; only points inside the band are recorded as the best. Group moves take the lowest-field kept
 * or highest-field pruned channels; the cost delta is exact through BudgetState (O(1) per pair).
 */
export class BudgetTabuSearch extends CapacityTabuSearch {
  private bs!: BudgetState;
  private bandLower = 0;
  private upper = 0;
  private downD!: Int32Array;
  private upD!: Int32Array;
  private downE!: Float64Array;
  private upE!: Float64Array;
  private capDirty!: Uint8Array;
  private readonly budget: QuboBudget;
  /** Off only in the test that checks the compound moves are what closes the gap to the optimum. */
  private readonly compoundMoves: boolean;

  constructor(inst: QuboInstance, budget: QuboBudget, options: BudgetSearchOptions = {}) {
    validateBudget(inst, budget);
    const levels = instanceLevels(inst);
    const start = options.initial ?? budgetStart(inst, budget, levels);
    const startProblem = budgetProblem(inst, { ...budget, lower: -INF }, start, levels);
    if (startProblem) throw new QuboError('bad-mask', `start mask: ${startProblem}`);
    let K = 0;
    for (let i = 0; i < inst.n; i++) K += start[i]!;
    // The base class keeps K for its tenures and stall limits; here it is only the start's count.
    super({ ...inst, K }, { ...options, initial: start });
    this.budget = budget;
    this.compoundMoves = options.compoundMoves ?? true;
    const G = inst.groupCount;
    this.bs = new BudgetState(budget, G);
    this.bs.load(this.cnt);
    this.upper = budget.limit + costEps(budget);
    this.bandLower = Math.min(budget.lower, this.bs.cost) - costEps(budget);
    this.downD = new Int32Array(G);
    this.upD = new Int32Array(G);
    this.downE = new Float64Array(G);
    this.upE = new Float64Array(G);
    this.capDirty = new Uint8Array(G).fill(1);
  }

  protected override load(mask: Uint8Array): void {
    super.load(mask);
    // Called by the base constructor before this class's fields exist.
    if (this.bs) {
      this.bs.load(this.cnt);
      this.capDirty.fill(1);
    }
  }

  protected override revertToBest(): void {
    super.revertToBest();
    this.bs.load(this.cnt);
    this.capDirty.fill(1);
  }

  /**
   * Inside the band, moves must stay in it. Below it (after a kick or a restart, or when the start
   * could not reach it) only moves that raise the cost are taken, so the search climbs back in by
   * the cheapest energy path. Kicks themselves may go anywhere under the limit: a 2%-wide band
   * falls apart into islands on coarse models, and the region below it connects them.
   */
  private allowed(newCost: number): boolean {
    if (newCost > this.upper) return false;
    return this.bs.cost >= this.bandLower ? newCost >= this.bandLower : newCost > this.bs.cost + costEps(this.budget);
  }

  private inBand(): boolean {
    return this.bs.cost <= this.upper && this.bs.cost >= this.bandLower;
  }

  private refreshGroupMoves(g: number): void {
    const [down, up] = neighbourLevels(this.levels, g, this.cnt[g]!);
    const c = this.cnt[g]!;
    this.downD[g] = down < 0 ? 0 : c - down;
    this.upD[g] = up < 0 ? 0 : up - c;
    if (this.downD[g]) {
      this.greedyRun(g, this.downD[g]!, -1, this.downCum, false);
      this.downE[g] = this.downCum[this.downD[g]!]!;
    } else this.downE[g] = INF;
    if (this.upD[g]) {
      this.greedyRun(g, this.upD[g]!, 1, this.upCum, false);
      this.upE[g] = this.upCum[this.upD[g]!]!;
    } else this.upE[g] = INF;
  }

  protected override step(): void {
    const t = ++this.iter;
    const G = this.G;
    for (let g = 0; g < G; g++) {
      if (this.dirty[g]) {
        this.rebuildLists(g);
        this.refreshTabu(g);
        this.refreshGroupMoves(g);
        this.dirty[g] = 0;
        this.capDirty[g] = 0;
      } else if (t >= this.recheckAt[g]!) this.refreshTabu(g);
      if (this.capDirty[g]) {
        this.refreshGroupMoves(g);
        this.capDirty[g] = 0;
      }
    }
    // Best admissible move (m*) and best move ignoring tabu (y*): kind 1 swap, 2 group move.
    let mKind = 0, mDelta = INF, mA = NONE, mB = NONE;
    let yKind = 0, yDelta = INF, yA = NONE, yB = NONE;
    // Swaps keep the cost: useless below the band, where only climbing moves count.
    for (let g = 0; g < G && this.bs.cost >= this.bandLower; g++) {
      const ad = this.admDelta[g]!;
      if (ad < mDelta) { mDelta = ad; mKind = 1; mA = this.admI[g]!; mB = this.admJ[g]!; }
      const yd = this.anyDelta[g]!;
      if (yd < yDelta) { yDelta = yd; yKind = 1; yA = this.anyI[g]!; yB = this.anyJ[g]!; }
    }
    const cost = this.bs.cost;
    // Group moves: a down (NONE = none), b up (NONE = none), a ≠ b.
    for (let a = NONE; a < G; a++) {
      const da = a === NONE ? 0 : this.downD[a]!;
      if (a !== NONE && da === 0) continue;
      const ea = a === NONE ? 0 : this.downE[a]!;
      const aTabu = a !== NONE && this.groupDownTabu[a]! > t;
      for (let b = NONE; b < G; b++) {
        if (b === a) continue;
        const db = b === NONE ? 0 : this.upD[b]!;
        if (b !== NONE && db === 0) continue;
        const e = ea + (b === NONE ? 0 : this.upE[b]!);
        if (e >= yDelta && e >= mDelta) continue;
        const dc = a === NONE ? this.bs.delta(b, db, -1, 0) : b === NONE ? this.bs.delta(a, -da, -1, 0) : this.bs.delta(a, -da, b, db);
        if (!this.allowed(cost + dc)) continue;
        if (e < yDelta) { yDelta = e; yKind = 2; yA = a; yB = b; }
        if (e < mDelta && !aTabu && !(b !== NONE && this.groupUpTabu[b]! > t)) { mDelta = e; mKind = 2; mA = a; mB = b; }
      }
    }
    if (yKind === 0) {
      this.kick(true);
      return;
    }
    const eps = 1e-12 * Math.max(1, Math.abs(this.bestE));
    if (this.E + yDelta < this.bestE - eps && yDelta < mDelta) { mKind = yKind; mA = yA; mB = yB; }
    if (mKind === 0) {
      this.kick(false);
      return;
    }
    if (mKind === 1) {
      this.remove(mA);
      this.add(mB);
      this.tabuUntil[mA] = t + this.tenurePruned + this.rng.nextInt(3);
      this.tabuUntil[mB] = t + this.tenureKept + this.rng.nextInt(3);
    } else {
      const tg = 1 + Math.max(this.tenureKept, this.tenurePruned);
      if (mA !== NONE) {
        const d = this.downD[mA]!;
        this.greedyRun(mA, d, -1, this.downCum, true);
        this.bs.apply(mA, -d);
        this.groupUpTabu[mA] = t + tg;
        this.markCoupled(mA);
      }
      if (mB !== NONE) {
        const d = this.upD[mB]!;
        this.greedyRun(mB, d, 1, this.upCum, true);
        this.bs.apply(mB, d);
        this.groupDownTabu[mB] = t + tg;
        this.markCoupled(mB);
      }
    }
    if (this.bandLower < this.budget.lower - costEps(this.budget) && this.bs.cost >= this.budget.lower - costEps(this.budget)) {
      // The start could not reach the band, but the search did: from now on only the band counts.
      this.bandLower = this.budget.lower - costEps(this.budget);
      this.recordBest();
    } else if (this.E < this.bestE - eps && this.inBand()) this.recordBest();
    else if (++this.sinceBest >= this.stallLimit) this.kick(false);
  }

  /** Costs of other groups' moves change with g's count only through the marginals: no cache to refresh. */
  private markCoupled(g: number): void {
    this.capDirty[g] = 1;
  }

  /**
   * Back to the best point, then random allowed moves; every sixth failed kick restarts from a
   * randomised budget start (other capacity vectors, possibly another region of the band).
   */
  protected override kick(fresh: boolean): void {
    // Before any random kick: from the best point (or, stuck below the band, from here), a jump of
    // several levels in one or two groups at once, which single-level moves cannot chain through
    // when every intermediate point leaves the band or costs energy.
    if (this.compoundMoves) {
      if (!fresh) this.revertToBest();
      if (this.compoundMove()) {
        this.sinceBest = 0;
        return;
      }
    }
    this.restarts++;
    this.sinceBest = 0;
    this.failedKicks++;
    if (fresh || this.failedKicks % 6 === 0) {
      this.load(this.restarts % 2 ? this.randomCapacityStart() : budgetStart(this.inst, this.budget, this.levels, { rng: this.rng, sigma: 0.5 + 0.1 * (this.failedKicks % 10) }));
      return;
    }
    this.revertToBest();
    const span = Math.max(1, Math.min(this.K, this.n - this.K));
    const strength = Math.min(span, 1 + Math.floor(this.failedKicks / 2) + this.rng.nextInt(Math.max(1, Math.ceil(0.05 * span))));
    // Half the kicks drop one group to a random lower level: the climb back into the band then
    // refills by energy, which is how capacity jumps several levels between groups.
    if (this.rng.nextInt(2) === 0) this.randomDrop();
    for (let r = 0; r < strength; r++) this.randomBudgetMove();
  }

  /**
   * The best pair jump: group a down by 1..COMPOUND_LEVELS of its levels and group b up by as
   * many (either may be absent), priced with the greedy channel order of each group and the exact
   * cost change. In the band it must lower the energy; below it, it must land in the band (the
   * cheapest such jump). O((G·COMPOUND_LEVELS)²) per call, so it runs at kicks only.
   */
  private compoundMove(): boolean {
    const { G, levels, cnt } = this;
    const J = COMPOUND_LEVELS;
    const downC: number[][] = [];
    const downEs: number[][] = [];
    const upC: number[][] = [];
    const upEs: number[][] = [];
    for (let g = 0; g < G; g++) {
      const lv = Array.from(levels.list[g]!);
      const c = cnt[g]!;
      const below = lv.filter((v) => v < c).slice(-J).reverse();
      const above = lv.filter((v) => v > c).slice(0, J);
      downC.push(below);
      upC.push(above);
      if (below.length) this.greedyRun(g, c - below[below.length - 1]!, -1, this.downCum, false);
      downEs.push(below.map((v) => this.downCum[c - v]!));
      if (above.length) this.greedyRun(g, above[above.length - 1]! - c, 1, this.upCum, false);
      upEs.push(above.map((v) => this.upCum[v - c]!));
    }
    // The start may not have reached the budget's own band (bandLower is then the start's cost):
    // a jump into the real band is then worth any energy.
    const trueLower = this.budget.lower - costEps(this.budget);
    const short = this.bandLower < trueLower;
    const floor = short ? trueLower : this.bandLower;
    const inBand = !short && this.inBand();
    const eps = 1e-12 * Math.max(1, Math.abs(this.bestE));
    let best = inBand ? -eps : INF;
    let ba = NONE, bb = NONE, bda = 0, bdb = 0;
    const cost = this.bs.cost;
    const lands = (dc: number) => cost + dc <= this.upper && cost + dc >= floor;
    for (let a = NONE; a < G; a++) {
      const na = a === NONE ? 1 : downC[a]!.length;
      for (let ia = 0; ia < na; ia++) {
        const da = a === NONE ? 0 : downC[a]![ia]! - cnt[a]!;
        const ea = a === NONE ? 0 : downEs[a]![ia]!;
        for (let b = NONE; b < G; b++) {
          if (b === a || (a === NONE && b === NONE)) continue;
          const nb = b === NONE ? 1 : upC[b]!.length;
          for (let ib = 0; ib < nb; ib++) {
            const db = b === NONE ? 0 : upC[b]![ib]! - cnt[b]!;
            const e = ea + (b === NONE ? 0 : upEs[b]![ib]!);
            if (!(e < best)) continue;
            const dc = a === NONE ? this.bs.delta(b, db, -1, 0) : b === NONE ? this.bs.delta(a, da, -1, 0) : this.bs.delta(a, da, b, db);
            if (!lands(dc)) continue;
            { best = e; ba = a; bb = b; bda = da; bdb = db; }
          }
        }
      }
    }
    if (ba === NONE && bb === NONE) return short && this.jumpIntoBand(trueLower);
    if (ba !== NONE) {
      this.greedyRun(ba, -bda, -1, this.downCum, true);
      this.bs.apply(ba, bda);
      this.capDirty[ba] = 1;
    }
    if (bb !== NONE) {
      this.greedyRun(bb, bdb, 1, this.upCum, true);
      this.bs.apply(bb, bdb);
      this.capDirty[bb] = 1;
    }
    if (short) {
      this.bandLower = trueLower;
      this.recordBest();
    } else if (this.E < this.bestE - eps && this.inBand()) this.recordBest();
    return true;
  }

  /**
   * Never in the band and no pair jump reaches it: with few capacity vectors (≤ EXHAUSTIVE_VECTORS),
   * every one is priced exactly for cost and greedily for energy, and the cheapest-energy vector in
   * the band is taken. Coarse instances whose band holds only vectors far from every climb.
   */
  private jumpIntoBand(trueLower: number): boolean {
    const { G, levels, cnt } = this;
    let vectors = 1;
    for (let g = 0; g < G && vectors <= EXHAUSTIVE_VECTORS; g++) vectors *= levels.list[g]!.length;
    if (vectors > EXHAUSTIVE_VECTORS) return false;
    const energy: Float64Array[] = [];
    for (let g = 0; g < G; g++) {
      const lv = levels.list[g]!;
      const c = cnt[g]!;
      const e = new Float64Array(lv.length);
      const down = c - lv[0]!;
      const up = lv[lv.length - 1]! - c;
      if (down > 0) this.greedyRun(g, down, -1, this.downCum, false);
      lv.forEach((v, k) => {
        if (v < c) e[k] = this.downCum[c - v]!;
      });
      if (up > 0) this.greedyRun(g, up, 1, this.upCum, false);
      lv.forEach((v, k) => {
        if (v > c) e[k] = this.upCum[v - c]!;
      });
      energy.push(e);
    }
    const caps = new Int32Array(G);
    const best = new Int32Array(G);
    let bestE = INF;
    const visit = (g: number, e: number): void => {
      if (e >= bestE) return;
      if (g === G) {
        const cost = budgetCost(this.budget, caps);
        if (cost <= this.upper && cost >= trueLower) { bestE = e; best.set(caps); }
        return;
      }
      const lv = levels.list[g]!;
      for (let k = 0; k < lv.length; k++) {
        caps[g] = lv[k]!;
        visit(g + 1, e + energy[g]![k]!);
      }
    };
    // Energies may be negative, so the e ≥ bestE cut is only valid once every remaining term is ≥ 0: shift them.
    for (const e of energy) {
      const m = Math.min(...e);
      for (let k = 0; k < e.length; k++) e[k] -= m;
    }
    visit(0, 0);
    if (bestE === INF) return false;
    for (let g = 0; g < G; g++) {
      const d = best[g]! - cnt[g]!;
      if (d < 0) this.greedyRun(g, -d, -1, this.downCum, true);
      else if (d > 0) this.greedyRun(g, d, 1, this.upCum, true);
      if (d !== 0) {
        this.bs.apply(g, d);
        this.capDirty[g] = 1;
      }
    }
    this.bandLower = trueLower;
    this.recordBest();
    return true;
  }

  private randomDrop(): void {
    const g = this.rng.nextInt(this.G);
    const lv = this.levels.list[g]!;
    const below: number[] = [];
    for (const c of lv) if (c < this.cnt[g]!) below.push(c);
    if (below.length === 0) return;
    const d = this.cnt[g]! - below[this.rng.nextInt(below.length)]!;
    for (let r = 0; r < d; r++) this.remove(this.randomMember(g, 1));
    this.bs.apply(g, -d);
  }

  /**
   * Random levels per group, lowered at random until under the limit, then raised at random while
   * below the band: reaches islands of the band that greedy ratios never lead to. Channels by
   * noisy h, as in the count-constrained search's restarts.
   */
  private randomCapacityStart(): Uint8Array {
    const { inst, rng, G } = this;
    const caps = new Int32Array(G);
    for (let g = 0; g < G; g++) {
      const lv = this.levels.list[g]!;
      caps[g] = lv[rng.nextInt(lv.length)]!;
    }
    const st = new BudgetState(this.budget, G);
    st.load(caps);
    const options: number[] = [];
    for (let guard = 0; st.cost > this.upper && guard < 4 * this.n; guard++) {
      options.length = 0;
      for (let g = 0; g < G; g++) if (neighbourLevels(this.levels, g, caps[g]!)[0] >= 0 && st.delta(g, neighbourLevels(this.levels, g, caps[g]!)[0] - caps[g]!, -1, 0) < 0) options.push(g);
      if (options.length === 0) return this.bestX.slice();
      const g = options[rng.nextInt(options.length)]!;
      const d = neighbourLevels(this.levels, g, caps[g]!)[0] - caps[g]!;
      st.apply(g, d);
      caps[g] += d;
    }
    for (let guard = 0; st.cost < this.bandLower && guard < 4 * this.n; guard++) {
      options.length = 0;
      for (let g = 0; g < G; g++) {
        const up = neighbourLevels(this.levels, g, caps[g]!)[1];
        if (up >= 0 && st.cost + st.delta(g, up - caps[g]!, -1, 0) <= this.upper) options.push(g);
      }
      if (options.length === 0) break;
      const g = options[rng.nextInt(options.length)]!;
      const d = neighbourLevels(this.levels, g, caps[g]!)[1] - caps[g]!;
      st.apply(g, d);
      caps[g] += d;
    }
    const mask = new Uint8Array(this.n);
    for (let g = 0; g < G; g++) {
      const s = inst.groupStart[g]!;
      const C = inst.groupSize[g]!;
      const noisy = Array.from({ length: C }, (_, a) => inst.h[s + a]! + Math.abs(inst.h[s + a]!) * rng.normal());
      const order = Array.from({ length: C }, (_, a) => a).sort((p, q) => noisy[q]! - noisy[p]! || p - q);
      for (let r = 0; r < caps[g]!; r++) mask[s + order[r]!] = 1;
    }
    return mask;
  }

  private randomBudgetMove(): void {
    const { rng, G } = this;
    for (let attempt = 0; attempt < 32; attempt++) {
      if (rng.nextInt(2) === 0) {
        const g = rng.nextInt(G);
        const c = this.cnt[g]!;
        if (c === 0 || c === this.inst.groupSize[g]) continue;
        const i = this.randomMember(g, 1);
        const j = this.randomMember(g, 0);
        this.remove(i);
        this.add(j);
        return;
      }
      const a = rng.nextInt(G + 1) - 1;
      const b = rng.nextInt(G + 1) - 1;
      if (a === b) continue;
      const [aDown] = a === NONE ? [0] : neighbourLevels(this.levels, a, this.cnt[a]!);
      const [, bUp] = b === NONE ? [0, 0] : neighbourLevels(this.levels, b, this.cnt[b]!);
      if (aDown < 0 || bUp < 0) continue;
      const da = a === NONE ? 0 : this.cnt[a]! - aDown;
      const db = b === NONE ? 0 : bUp - this.cnt[b]!;
      const dc = a === NONE ? this.bs.delta(b, db, -1, 0) : b === NONE ? this.bs.delta(a, -da, -1, 0) : this.bs.delta(a, -da, b, db);
      if (this.bs.cost + dc > this.upper) continue;
      if (a !== NONE) {
        for (let r = 0; r < da; r++) this.remove(this.randomMember(a, 1));
        this.bs.apply(a, -da);
      }
      if (b !== NONE) {
        for (let r = 0; r < db; r++) this.add(this.randomMember(b, 0));
        this.bs.apply(b, db);
      }
      return;
    }
  }

  override result(): BudgetSearchResult {
    const r = super.result();
    return { ...r, cost: budgetCost(this.budget, r.capacities), lower: this.bandLower + costEps(this.budget) };
  }
}

/** Runs the budgeted search synchronously. */
export function solveBudgetQubo(inst: QuboInstance, budget: QuboBudget, options: BudgetSearchOptions = {}): BudgetSearchResult {
  const s = new BudgetTabuSearch(inst, budget, options);
  s.run();
  return s.result();
}

/** Same, yielding to the event loop every `sliceMs`. */
export async function solveBudgetQuboAsync(inst: QuboInstance, budget: QuboBudget, options: BudgetSearchOptions = {}, sliceMs = 25): Promise<BudgetSearchResult> {
  const s = new BudgetTabuSearch(inst, budget, options);
  while (!s.run(performance.now() + sliceMs)) await new Promise<void>((resolve) => setImmediate(resolve));
  return s.result();
}

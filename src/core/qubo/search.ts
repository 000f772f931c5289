import { Rng } from '../util/rng';
import { assertFeasible, groupCounts, localFields, quboEnergy } from './energy';
import { greedyStart } from './greedy';
import { countCapacityVectors, instanceLevels, sampleCapacities, type CapacityLevels } from './levels';
import type { QuboInstance, SearchOptions, SearchProgress, SearchResult, StopReason, TracePoint } from './types';

/** Iteration budget used when the caller gives neither iterations nor time. */
export function defaultIterations(n: number): number {
  return 20000 + 50 * n;
}

const NONE = -1;
const INF = Number.POSITIVE_INFINITY;
const NEVER = 0x7fffffff;

/**
 * Capacity-driven tabu search (METHOD §6): only feasible points are visited. Moves are swaps of a
 * kept and a pruned channel (within a group, or across groups when both counts may move by one)
 * and, under round-to, capacity moves that shift d channels of capacity from one group to another
 * at once. Local fields f_i = h_i − Σ_j Q_ij x_j give every swap's delta in O(1)
 * (f_i − f_j, minus Q_ij within a group); after a move only the two touched groups' fields change.
 * Each group keeps short candidate lists (lowest-field kept, highest-field pruned) that are rebuilt
 * only when the group changes, so an iteration costs O(groups + touched group sizes).
 */
export class CapacityTabuSearch {
  protected readonly inst: QuboInstance;
  protected readonly levels: CapacityLevels;
  protected readonly rng: Rng;
  protected readonly n: number;
  protected readonly G: number;
  protected readonly K: number;
  protected readonly L: number;
  protected readonly steps: Int32Array;

  protected readonly x: Uint8Array;
  protected readonly f: Float64Array;
  protected readonly cnt: Int32Array;
  protected E = 0;
  protected readonly tabuUntil: Int32Array;

  protected readonly bestX: Uint8Array;
  protected bestE = INF;
  protected bestIter = 0;

  // Candidate lists (depend on fields and x only).
  protected readonly keptList: Int32Array;
  protected readonly keptLen: Int32Array;
  protected readonly prunedList: Int32Array;
  protected readonly prunedLen: Int32Array;
  protected readonly dirty: Uint8Array;
  // Tabu-dependent summaries, refreshed when the group changes or a listed tabu expires.
  protected readonly recheckAt: Int32Array;
  protected readonly firstKept: Int32Array;
  protected readonly firstPruned: Int32Array;
  protected readonly admDelta: Float64Array;
  protected readonly admI: Int32Array;
  protected readonly admJ: Int32Array;
  protected readonly anyDelta: Float64Array;
  protected readonly anyI: Int32Array;
  protected readonly anyJ: Int32Array;
  // Capacity moves of size steps[s] (round-to only).
  protected readonly downDelta: Float64Array;
  protected readonly upDelta: Float64Array;
  protected readonly groupUpTabu: Int32Array;
  protected readonly groupDownTabu: Int32Array;
  protected readonly shiftOrder: Int32Array;
  protected readonly downCum: Float64Array;
  protected readonly upCum: Float64Array;

  protected readonly tenureKept: number;
  protected readonly tenurePruned: number;
  protected readonly stallLimit: number;
  protected readonly maxIterations: number;
  protected readonly timeMs: number;
  protected readonly targetEnergy: number;
  protected readonly traceLimit: number;

  protected iter = 0;
  protected reallocTried = false;
  protected readonly reallocWindow: number;
  protected readonly reallocDown: Float64Array;
  protected readonly reallocUp: Float64Array;
  protected reallocCost: Float64Array;
  protected reallocNext: Float64Array;
  protected readonly reallocChoice: Int8Array | Int16Array;
  protected pairA = NONE;
  protected pairB = NONE;
  protected sinceBest = 0;
  protected failedKicks = 0;
  protected restarts = 0;
  protected readonly trace: TracePoint[] = [];
  protected readonly t0: number;
  protected stopReason: StopReason | null = null;
  protected lastProgress = 0;

  constructor(
    inst: QuboInstance,
    private readonly options: SearchOptions = {},
  ) {
    this.t0 = performance.now();
    this.inst = inst;
    this.levels = instanceLevels(inst);
    this.rng = new Rng(options.seed ?? 1);
    const n = (this.n = inst.n);
    const G = (this.G = inst.groupCount);
    this.K = inst.K;
    let maxC = 1;
    for (let g = 0; g < G; g++) maxC = Math.max(maxC, inst.groupSize[g]!);
    this.L = Math.min(maxC, Math.max(1, options.candidates ?? (n <= 64 ? 64 : 4)));
    this.steps = this.levels.bigSteps;

    this.x = new Uint8Array(n);
    this.f = new Float64Array(n);
    this.cnt = new Int32Array(G);
    this.tabuUntil = new Int32Array(n);
    this.bestX = new Uint8Array(n);
    this.keptList = new Int32Array(G * this.L);
    this.keptLen = new Int32Array(G);
    this.prunedList = new Int32Array(G * this.L);
    this.prunedLen = new Int32Array(G);
    this.dirty = new Uint8Array(G).fill(1);
    this.recheckAt = new Int32Array(G);
    this.firstKept = new Int32Array(G);
    this.firstPruned = new Int32Array(G);
    this.admDelta = new Float64Array(G);
    this.admI = new Int32Array(G);
    this.admJ = new Int32Array(G);
    this.anyDelta = new Float64Array(G);
    this.anyI = new Int32Array(G);
    this.anyJ = new Int32Array(G);
    const S = this.steps.length;
    this.downDelta = new Float64Array(G * S);
    this.upDelta = new Float64Array(G * S);
    this.groupUpTabu = new Int32Array(G);
    this.groupDownTabu = new Int32Array(G);
    this.shiftOrder = new Int32Array(maxC);
    this.downCum = new Float64Array(maxC + 1);
    this.upCum = new Float64Array(maxC + 1);
    let maxM = 1;
    for (let g = 0; g < G; g++) maxM = Math.max(maxM, inst.roundTo[g]!);
    const W = (this.reallocWindow = S ? Math.min(maxC, 2 * maxM) : 0);
    this.reallocDown = new Float64Array(G * (W + 1));
    this.reallocUp = new Float64Array(G * (W + 1));
    this.reallocCost = new Float64Array(4 * W + 1);
    this.reallocNext = new Float64Array(4 * W + 1);
    this.reallocChoice = W < 127 ? new Int8Array(G * (4 * W + 1)) : new Int16Array(G * (4 * W + 1));

    const K = this.K;
    this.tenureKept = options.tenure ?? Math.max(1, Math.min(12, Math.round(0.1 * K)));
    this.tenurePruned = options.tenure ?? Math.max(1, Math.min(12, Math.round(0.1 * (n - K))));
    this.stallLimit = options.stallIterations ?? Math.max(50, Math.min(500, Math.round(n / 4)));
    const budgetGiven = options.maxIterations !== undefined || options.timeMs !== undefined;
    this.maxIterations = options.maxIterations ?? (budgetGiven ? Number.MAX_SAFE_INTEGER : defaultIterations(n));
    this.timeMs = options.timeMs ?? INF;
    this.targetEnergy = options.targetEnergy ?? Number.NEGATIVE_INFINITY;
    this.traceLimit = Math.max(16, options.traceLimit ?? 2000);

    const start = options.initial ?? greedyStart(inst, this.levels);
    assertFeasible(inst, start, this.levels);
    this.load(start);
    this.recordBest();
  }

  get done(): boolean {
    return this.stopReason !== null;
  }

  /** Runs until the budget is spent or `untilMs` (performance.now()) passes; returns true when finished. */
  run(untilMs: number = INF): boolean {
    const signal = this.options.signal;
    while (this.stopReason === null) {
      if (this.iter >= this.maxIterations) {
        this.stopReason = 'iterations';
        break;
      }
      if (this.bestE <= this.targetEnergy) {
        this.stopReason = 'target';
        break;
      }
      if ((this.iter & 15) === 0) {
        const now = performance.now();
        if (now - this.t0 >= this.timeMs) {
          this.stopReason = 'time';
          break;
        }
        if ((this.iter & 255) === 0) {
          if (signal?.aborted) {
            this.stopReason = 'aborted';
            break;
          }
          this.maybeProgress(now);
        }
        if (now >= untilMs) return false;
      }
      this.step();
    }
    return true;
  }

  result(): SearchResult {
    const mask = this.bestX.slice();
    const capacities = new Int32Array(this.G);
    for (let i = 0; i < this.n; i++) if (mask[i]) capacities[this.inst.groupOf[i]!]!++;
    const timeMs = performance.now() - this.t0;
    return {
      mask,
      energy: quboEnergy(this.inst, mask),
      capacities,
      iterations: this.iter,
      timeMs,
      trace: this.trace.slice(),
      stopReason: this.stopReason ?? 'iterations',
      bestIteration: this.bestIter,
      restarts: this.restarts,
    };
  }

  // ---- state -----------------------------------------------------------------------------------

  protected load(mask: Uint8Array): void {
    const { inst, x, f, cnt } = this;
    x.set(mask);
    localFields(inst, x, f);
    cnt.set(groupCounts(inst, x));
    this.E = quboEnergy(inst, x);
    this.tabuUntil.fill(0);
    this.groupUpTabu.fill(0);
    this.groupDownTabu.fill(0);
    this.dirty.fill(1);
  }

  protected remove(i: number): void {
    const g = this.inst.groupOf[i]!;
    const s = this.inst.groupStart[g]!;
    const C = this.inst.groupSize[g]!;
    const Q = this.inst.Q[g]!;
    const f = this.f;
    this.E += f[i]!;
    this.x[i] = 0;
    this.cnt[g]!--;
    const row = (i - s) * C;
    for (let b = 0; b < C; b++) f[s + b]! += Q[row + b]!;
    this.dirty[g] = 1;
  }

  protected add(j: number): void {
    const g = this.inst.groupOf[j]!;
    const s = this.inst.groupStart[g]!;
    const C = this.inst.groupSize[g]!;
    const Q = this.inst.Q[g]!;
    const f = this.f;
    this.E -= f[j]!;
    this.x[j] = 1;
    this.cnt[g]!++;
    const row = (j - s) * C;
    for (let b = 0; b < C; b++) f[s + b]! -= Q[row + b]!;
    this.dirty[g] = 1;
  }

  protected recordBest(): void {
    this.bestE = this.E;
    this.bestX.set(this.x);
    this.bestIter = this.iter;
    this.sinceBest = 0;
    this.reallocTried = false;
    this.failedKicks = 0;
    this.trace.push({ iteration: this.iter, energy: this.E, timeMs: performance.now() - this.t0 });
    if (this.trace.length > this.traceLimit) {
      // Thin the older half so early and late progress both stay visible.
      const keep: TracePoint[] = [];
      for (let k = 0; k < this.trace.length; k++) if (k % 2 === 0 || k === this.trace.length - 1) keep.push(this.trace[k]!);
      this.trace.length = 0;
      this.trace.push(...keep);
    }
  }

  protected maybeProgress(now: number): void {
    const cb = this.options.onProgress;
    if (!cb) return;
    if (now - this.lastProgress < (this.options.progressEveryMs ?? 100)) return;
    this.lastProgress = now;
    const p: SearchProgress = { iteration: this.iter, bestEnergy: this.bestE, currentEnergy: this.E, timeMs: now - this.t0 };
    cb(p);
  }

  // ---- per-group caches ------------------------------------------------------------------------

  protected rebuildLists(g: number): void {
    const { inst, x, f, L } = this;
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const kl = this.keptList;
    const pl = this.prunedList;
    const base = g * L;
    let nk = 0;
    let np = 0;
    for (let i = s; i < s + C; i++) {
      const v = f[i]!;
      if (x[i]) {
        // ascending field: the cheapest channels to drop first
        if (nk === L && v >= f[kl[base + nk - 1]!]!) continue;
        let p = nk < L ? nk++ : nk - 1;
        while (p > 0 && f[kl[base + p - 1]!]! > v) {
          kl[base + p] = kl[base + p - 1]!;
          p--;
        }
        kl[base + p] = i;
      } else {
        if (np === L && v <= f[pl[base + np - 1]!]!) continue;
        let p = np < L ? np++ : np - 1;
        while (p > 0 && f[pl[base + p - 1]!]! < v) {
          pl[base + p] = pl[base + p - 1]!;
          p--;
        }
        pl[base + p] = i;
      }
    }
    this.keptLen[g] = nk;
    this.prunedLen[g] = np;
  }

  protected refreshTabu(g: number): void {
    const { inst, f, L, tabuUntil } = this;
    const t = this.iter;
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    const base = g * L;
    const nk = this.keptLen[g]!;
    const np = this.prunedLen[g]!;
    let recheck = NEVER;
    let fk = NONE;
    let fp = NONE;
    for (let a = 0; a < nk; a++) {
      const i = this.keptList[base + a]!;
      const tu = tabuUntil[i]!;
      if (tu > t) recheck = Math.min(recheck, tu);
      else if (fk === NONE) fk = i;
    }
    for (let b = 0; b < np; b++) {
      const j = this.prunedList[base + b]!;
      const tu = tabuUntil[j]!;
      if (tu > t) recheck = Math.min(recheck, tu);
      else if (fp === NONE) fp = j;
    }
    let ad = INF;
    let ai = NONE;
    let aj = NONE;
    let yd = INF;
    let yi = NONE;
    let yj = NONE;
    for (let a = 0; a < nk; a++) {
      const i = this.keptList[base + a]!;
      const fi = f[i]!;
      const iFree = tabuUntil[i]! <= t;
      const row = (i - s) * C - s;
      for (let b = 0; b < np; b++) {
        const j = this.prunedList[base + b]!;
        const d = fi - f[j]! - Q[row + j]!;
        if (d < yd) {
          yd = d;
          yi = i;
          yj = j;
        }
        if (d < ad && iFree && tabuUntil[j]! <= t) {
          ad = d;
          ai = i;
          aj = j;
        }
      }
    }
    this.firstKept[g] = fk;
    this.firstPruned[g] = fp;
    this.admDelta[g] = ad;
    this.admI[g] = ai;
    this.admJ[g] = aj;
    this.anyDelta[g] = yd;
    this.anyI[g] = yi;
    this.anyJ[g] = yj;
    this.recheckAt[g] = recheck;
  }

  /**
   * Capacity shift of group g: drop (sign −1) the `depth` kept channels with the lowest fields, or
   * add (+1) the pruned ones with the highest. The exact cost of shifting the first d of that
   * order is cum[d] = Σ ±f + Σ_{pairs among them} Q_ij (the pairs' couplings are counted once in
   * the fields of both), built for every d ≤ depth in O(size·depth + depth²). With `apply` the
   * first `depth` are moved for real.
   */
  protected greedyRun(g: number, depth: number, sign: number, cum: Float64Array, apply: boolean): void {
    const { inst, f, x } = this;
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    const ord = this.shiftOrder;
    const want = sign < 0 ? 1 : 0;
    let len = 0;
    for (let i = s; i < s + C; i++) {
      if (x[i] !== want) continue;
      const v = -sign * f[i]!;
      if (len === depth && v >= -sign * f[ord[len - 1]!]!) continue;
      let p = len < depth ? len++ : len - 1;
      while (p > 0 && -sign * f[ord[p - 1]!]! > v) {
        ord[p] = ord[p - 1]!;
        p--;
      }
      ord[p] = i;
    }
    cum[0] = 0;
    for (let r = 0; r < depth; r++) {
      const i = ord[r]!;
      const row = (i - s) * C - s;
      let pair = 0;
      for (let q = 0; q < r; q++) pair += Q[row + ord[q]!]!;
      cum[r + 1] = cum[r]! - sign * f[i]! + pair;
    }
    if (!apply) return;
    for (let r = 0; r < depth; r++) {
      const i = ord[r]!;
      if (sign < 0) {
        this.remove(i);
        this.tabuUntil[i] = this.iter + this.tenurePruned + this.rng.nextInt(3);
      } else {
        this.add(i);
        this.tabuUntil[i] = this.iter + this.tenureKept + this.rng.nextInt(3);
      }
    }
  }

  protected refreshCapacity(g: number): void {
    const S = this.steps.length;
    const c = this.cnt[g]!;
    const off = this.levels.offset[g]!;
    const C = this.inst.groupSize[g]!;
    const isLevel = this.levels.isLevel;
    let downDepth = 0;
    let upDepth = 0;
    for (let k = 0; k < S; k++) {
      const d = this.steps[k]!;
      if (c - d >= 0 && isLevel[off + c - d]) downDepth = d;
      if (c + d <= C && isLevel[off + c + d]) upDepth = d;
    }
    if (downDepth > 0) this.greedyRun(g, downDepth, -1, this.downCum, false);
    if (upDepth > 0) this.greedyRun(g, upDepth, 1, this.upCum, false);
    for (let k = 0; k < S; k++) {
      const d = this.steps[k]!;
      this.downDelta[g * S + k] = d <= downDepth && isLevel[off + c - d] ? this.downCum[d]! : INF;
      this.upDelta[g * S + k] = d <= upDepth && isLevel[off + c + d] ? this.upCum[d]! : INF;
    }
  }

  // ---- one iteration ---------------------------------------------------------------------------

  protected step(): void {
    const t = ++this.iter;
    const { f, G, L, tabuUntil } = this;
    const isLevel = this.levels.isLevel;
    const offset = this.levels.offset;
    const size = this.inst.groupSize;

    // Best admissible (non-tabu) move and best move ignoring tabu (for aspiration).
    let mType = 0; // 1 swap, 2 capacity move
    let mDelta = INF;
    let mA = NONE;
    let mB = NONE;
    let mStep = 0;
    let yType = 0;
    let yDelta = INF;
    let yA = NONE;
    let yB = NONE;
    let yStep = 0;

    // Cross-group d = 1 swaps: the two best groups for dropping and for adding (tabu-free and any).
    let k1 = NONE, k1g = NONE, k2 = NONE;
    let p1 = NONE, p1g = NONE, p2 = NONE;
    let ka1 = NONE, ka1g = NONE, ka2 = NONE;
    let pa1 = NONE, pa1g = NONE, pa2 = NONE;

    for (let g = 0; g < G; g++) {
      if (this.dirty[g]) {
        this.rebuildLists(g);
        this.refreshTabu(g);
        if (this.steps.length) this.refreshCapacity(g);
        this.dirty[g] = 0;
      } else if (t >= this.recheckAt[g]!) this.refreshTabu(g);

      const ad = this.admDelta[g]!;
      if (ad < mDelta) { mDelta = ad; mType = 1; mA = this.admI[g]!; mB = this.admJ[g]!; }
      const yd = this.anyDelta[g]!;
      if (yd < yDelta) { yDelta = yd; yType = 1; yA = this.anyI[g]!; yB = this.anyJ[g]!; }

      const c = this.cnt[g]!;
      const off = offset[g]!;
      if (c > 0 && isLevel[off + c - 1]) {
        const i = this.firstKept[g]!;
        if (i !== NONE) {
          if (k1 === NONE || f[i]! < f[k1]!) { k2 = k1; k1 = i; k1g = g; }
          else if (k2 === NONE || f[i]! < f[k2]!) k2 = i;
        }
        if (this.keptLen[g]! > 0) {
          const ia = this.keptList[g * L]!;
          if (ka1 === NONE || f[ia]! < f[ka1]!) { ka2 = ka1; ka1 = ia; ka1g = g; }
          else if (ka2 === NONE || f[ia]! < f[ka2]!) ka2 = ia;
        }
      }
      if (c < size[g]! && isLevel[off + c + 1]) {
        const j = this.firstPruned[g]!;
        if (j !== NONE) {
          if (p1 === NONE || f[j]! > f[p1]!) { p2 = p1; p1 = j; p1g = g; }
          else if (p2 === NONE || f[j]! > f[p2]!) p2 = j;
        }
        if (this.prunedLen[g]! > 0) {
          const ja = this.prunedList[g * L]!;
          if (pa1 === NONE || f[ja]! > f[pa1]!) { pa2 = pa1; pa1 = ja; pa1g = g; }
          else if (pa2 === NONE || f[ja]! > f[pa2]!) pa2 = ja;
        }
      }
    }

    // Cross-group swap: different groups, so the delta is additive (no shared Q term).
    if (k1 !== NONE && p1 !== NONE) {
      let i = k1;
      let j = p1;
      if (k1g === p1g) {
        const d1 = p2 !== NONE ? f[k1]! - f[p2]! : INF;
        const d2 = k2 !== NONE ? f[k2]! - f[p1]! : INF;
        if (d1 <= d2) j = p2;
        else i = k2;
      }
      if (i !== NONE && j !== NONE) {
        const d = f[i]! - f[j]!;
        if (d < mDelta) { mDelta = d; mType = 1; mA = i; mB = j; }
      }
    }
    if (ka1 !== NONE && pa1 !== NONE) {
      let i = ka1;
      let j = pa1;
      if (ka1g === pa1g) {
        const d1 = pa2 !== NONE ? f[ka1]! - f[pa2]! : INF;
        const d2 = ka2 !== NONE ? f[ka2]! - f[pa1]! : INF;
        if (d1 <= d2) j = pa2;
        else i = ka2;
      }
      if (i !== NONE && j !== NONE) {
        const d = f[i]! - f[j]!;
        if (d < yDelta) { yDelta = d; yType = 1; yA = i; yB = j; }
      }
    }

    // Capacity moves of d > 1 channels between two groups (round-to).
    const S = this.steps.length;
    for (let k = 0; k < S; k++) {
      let da = NONE, da2 = NONE, ua = NONE, ua2 = NONE; // admissible
      let dy = NONE, dy2 = NONE, uy = NONE, uy2 = NONE; // any
      for (let g = 0; g < G; g++) {
        const dd = this.downDelta[g * S + k]!;
        if (dd < INF) {
          if (dy === NONE || dd < this.downDelta[dy * S + k]!) { dy2 = dy; dy = g; }
          else if (dy2 === NONE || dd < this.downDelta[dy2 * S + k]!) dy2 = g;
          if (this.groupDownTabu[g]! <= t) {
            if (da === NONE || dd < this.downDelta[da * S + k]!) { da2 = da; da = g; }
            else if (da2 === NONE || dd < this.downDelta[da2 * S + k]!) da2 = g;
          }
        }
        const ud = this.upDelta[g * S + k]!;
        if (ud < INF) {
          if (uy === NONE || ud < this.upDelta[uy * S + k]!) { uy2 = uy; uy = g; }
          else if (uy2 === NONE || ud < this.upDelta[uy2 * S + k]!) uy2 = g;
          if (this.groupUpTabu[g]! <= t) {
            if (ua === NONE || ud < this.upDelta[ua * S + k]!) { ua2 = ua; ua = g; }
            else if (ua2 === NONE || ud < this.upDelta[ua2 * S + k]!) ua2 = g;
          }
        }
      }
      const md = this.pairShift(k, da, da2, ua, ua2);
      if (md < mDelta) { mDelta = md; mType = 2; mA = this.pairA; mB = this.pairB; mStep = this.steps[k]!; }
      const yd = this.pairShift(k, dy, dy2, uy, uy2);
      if (yd < yDelta) { yDelta = yd; yType = 2; yA = this.pairA; yB = this.pairB; yStep = this.steps[k]!; }
    }

    if (yType === 0) {
      // No move exists from here at all: only a restart with other capacities can go anywhere,
      // and not even that when this capacity vector is the only one and no group can swap inside.
      if (this.steps.length === 0 || this.isOnlyPoint()) {
        this.stopReason = 'trivial';
        return;
      }
      this.kick(true);
      return;
    }
    const eps = 1e-12 * Math.max(1, Math.abs(this.bestE));
    if (this.E + yDelta < this.bestE - eps && yDelta < mDelta) {
      mType = yType;
      mA = yA;
      mB = yB;
      mStep = yStep;
    }
    if (mType === 0) {
      this.kick(false);
      return;
    }
    if (mType === 1) {
      this.remove(mA);
      this.add(mB);
      tabuUntil[mA] = t + this.tenurePruned + this.rng.nextInt(3);
      tabuUntil[mB] = t + this.tenureKept + this.rng.nextInt(3);
    } else {
      this.greedyRun(mA, mStep, -1, this.downCum, true);
      this.greedyRun(mB, mStep, 1, this.upCum, true);
      const tg = 1 + Math.max(this.tenureKept, this.tenurePruned);
      this.groupUpTabu[mA] = t + tg;
      this.groupDownTabu[mB] = t + tg;
    }
    if (this.E < this.bestE - eps) this.recordBest();
    else if (++this.sinceBest >= this.stallLimit) this.kick(false);
  }

  /** Best shift of steps[k] from one of the two best donors to one of the two best receivers (distinct groups). */
  protected pairShift(k: number, a: number, a2: number, b: number, b2: number): number {
    const S = this.steps.length;
    if (a === NONE || b === NONE) return INF;
    if (a !== b) {
      this.pairA = a;
      this.pairB = b;
      return this.downDelta[a * S + k]! + this.upDelta[b * S + k]!;
    }
    const d1 = b2 !== NONE ? this.downDelta[a * S + k]! + this.upDelta[b2 * S + k]! : INF;
    const d2 = a2 !== NONE ? this.downDelta[a2 * S + k]! + this.upDelta[b * S + k]! : INF;
    if (d1 <= d2) { this.pairA = a; this.pairB = b2; }
    else { this.pairA = a2; this.pairB = b; }
    return Math.min(d1, d2);
  }

  protected isOnlyPoint(): boolean {
    for (let g = 0; g < this.G; g++) if (this.cnt[g]! > 0 && this.cnt[g]! < this.inst.groupSize[g]!) return false;
    return countCapacityVectors(this.levels, this.K) === 1;
  }

  // ---- diversification -------------------------------------------------------------------------

  /**
   * Restarts from the best point with a random kick whose strength grows while kicks keep failing;
   * every eighth failed kick (fourth under round-to, whose capacity moves do not connect every
   * capacity vector) starts over from random capacities instead.
   */
  protected kick(fresh: boolean): void {
    this.restarts++;
    this.sinceBest = 0;
    this.failedKicks++;
    const { rng } = this;
    if (fresh || this.failedKicks % (this.steps.length ? 4 : 8) === 0) {
      this.load(this.randomStart());
      return;
    }
    if (this.restarts % 64 === 0) this.load(this.bestX);
    else this.revertToBest();
    if (this.steps.length && !this.reallocTried) {
      this.reallocTried = true;
      if (this.reallocate()) {
        this.recordBest();
        return;
      }
    }
    const span = Math.max(1, Math.min(this.K, this.n - this.K));
    // Big instances needed big kicks in the benchmark (small ones fell back into the same basin).
    const strength = Math.min(span, 1 + Math.floor(this.failedKicks / 2) + rng.nextInt(Math.max(1, Math.ceil(0.05 * span))));
    for (let r = 0; r < strength; r++) this.randomMove();
  }

  /**
   * Under round-to, pair moves do not connect every capacity vector (e.g. +4 in one group against
   * −3 and −1 in two others). From the best point this finds the best joint change of all groups'
   * counts by at most W each, summing to zero, by a DP over groups on the running total; each
   * group's cost is its greedy shift cost, exact because groups do not interact.
   */
  protected reallocate(): boolean {
    const { G, inst } = this;
    const W = this.reallocWindow;
    const R = 2 * W;
    const span = 2 * R + 1;
    const isLevel = this.levels.isLevel;
    const offset = this.levels.offset;
    const down = this.reallocDown;
    const up = this.reallocUp;
    for (let g = 0; g < G; g++) {
      const c = this.cnt[g]!;
      const dd = Math.min(W, c - inst.floors[g]!);
      const du = Math.min(W, inst.groupSize[g]! - c);
      if (dd > 0) this.greedyRun(g, dd, -1, this.downCum, false);
      if (du > 0) this.greedyRun(g, du, 1, this.upCum, false);
      for (let d = 0; d <= W; d++) {
        down[g * (W + 1) + d] = d === 0 ? 0 : d <= dd ? this.downCum[d]! : INF;
        up[g * (W + 1) + d] = d === 0 ? 0 : d <= du ? this.upCum[d]! : INF;
      }
    }
    let cur = this.reallocCost;
    let nxt = this.reallocNext;
    const choice = this.reallocChoice;
    cur.fill(INF);
    cur[R] = 0;
    for (let g = 0; g < G; g++) {
      nxt.fill(INF);
      const c = this.cnt[g]!;
      const off = offset[g]!;
      for (let t = 0; t < span; t++) {
        const base = cur[t]!;
        if (base === INF) continue;
        for (let d = -W; d <= W; d++) {
          const t2 = t + d;
          if (t2 < 0 || t2 >= span || c + d < 0 || c + d > inst.groupSize[g]! || !isLevel[off + c + d]) continue;
          const cost = base + (d < 0 ? down[g * (W + 1) - d]! : up[g * (W + 1) + d]!);
          if (cost < nxt[t2]!) {
            nxt[t2] = cost;
            choice[g * span + t2] = d;
          }
        }
      }
      const tmp = cur;
      cur = nxt;
      nxt = tmp;
    }
    if (!(cur[R]! < -1e-9 * Math.max(1, Math.abs(this.E)))) return false;
    const delta = new Int32Array(G);
    let t = R;
    for (let g = G - 1; g >= 0; g--) {
      delta[g] = choice[g * span + t]!;
      t -= delta[g]!;
    }
    for (let g = 0; g < G; g++) if (delta[g]! < 0) this.greedyRun(g, -delta[g]!, -1, this.downCum, true);
    for (let g = 0; g < G; g++) if (delta[g]! > 0) this.greedyRun(g, delta[g]!, 1, this.upCum, true);
    return true;
  }

  /**
   * Back to the best point by flipping only the channels that differ, so a kick costs
   * O(differences · group size) instead of a full O(Σ size²) reload (which still runs every 64th
   * kick to wash out rounding drift in the fields).
   */
  protected revertToBest(): void {
    const { x, bestX, n } = this;
    for (let i = 0; i < n; i++) if (x[i] === 1 && bestX[i] === 0) this.remove(i);
    for (let i = 0; i < n; i++) if (x[i] === 0 && bestX[i] === 1) this.add(i);
    this.E = this.bestE;
    this.tabuUntil.fill(0);
    this.groupUpTabu.fill(0);
    this.groupDownTabu.fill(0);
    this.recheckAt.fill(0);
  }

  protected randomStart(): Uint8Array {
    const { inst, rng } = this;
    const caps = new Int32Array(this.G);
    sampleCapacities(this.levels, this.K, () => rng.next(), caps);
    const mask = new Uint8Array(this.n);
    let scale = 0;
    for (let i = 0; i < this.n; i++) scale += Math.abs(inst.h[i]!);
    scale = this.n > 0 ? scale / this.n : 1;
    for (let g = 0; g < this.G; g++) {
      const s = inst.groupStart[g]!;
      const C = inst.groupSize[g]!;
      const noisy: number[] = [];
      for (let a = 0; a < C; a++) noisy.push(inst.h[s + a]! + scale * rng.normal());
      const order = Array.from({ length: C }, (_, a) => a).sort((p, q) => noisy[q]! - noisy[p]! || p - q);
      for (let r = 0; r < caps[g]!; r++) mask[s + order[r]!] = 1;
    }
    return mask;
  }

  /** One uniformly drawn feasible move (within-group swap, cross-group swap or capacity shift). */
  protected randomMove(): void {
    const { inst, rng, x, n } = this;
    const isLevel = this.levels.isLevel;
    const offset = this.levels.offset;
    for (let attempt = 0; attempt < 32; attempt++) {
      const kind = rng.nextInt(this.steps.length ? 3 : 2);
      if (kind === 2) {
        const d = this.steps[rng.nextInt(this.steps.length)]!;
        const a = rng.nextInt(this.G);
        const b = rng.nextInt(this.G);
        const ca = this.cnt[a]!;
        const cb = this.cnt[b]!;
        if (a === b || ca - d < 0 || !isLevel[offset[a]! + ca - d] || cb + d > inst.groupSize[b]! || !isLevel[offset[b]! + cb + d]) continue;
        for (let r = 0; r < d; r++) this.remove(this.randomMember(a, 1));
        for (let r = 0; r < d; r++) this.add(this.randomMember(b, 0));
        return;
      }
      const i = rng.nextInt(n);
      if (!x[i]) continue;
      const g = inst.groupOf[i]!;
      let j: number;
      if (kind === 0) {
        if (this.cnt[g] === inst.groupSize[g]) continue;
        j = this.randomMember(g, 0);
      } else {
        j = rng.nextInt(n);
        const b = inst.groupOf[j]!;
        if (x[j] || b === g) continue;
        if (!isLevel[offset[g]! + this.cnt[g]! - 1] || !isLevel[offset[b]! + this.cnt[b]! + 1]) continue;
      }
      this.remove(i);
      this.add(j);
      return;
    }
  }

  protected randomMember(g: number, state: number): number {
    const s = this.inst.groupStart[g]!;
    const C = this.inst.groupSize[g]!;
    const want = state === 1 ? this.cnt[g]! : C - this.cnt[g]!;
    let r = this.rng.nextInt(want);
    for (let a = 0; a < C; a++) if (this.x[s + a] === state && r-- === 0) return s + a;
    return NONE;
  }
}

/** Runs the search synchronously to its budget (iterations, time, target or abort). */
export function solveQubo(inst: QuboInstance, options: SearchOptions = {}): SearchResult {
  const search = new CapacityTabuSearch(inst, options);
  search.run();
  return search.result();
}

/** Same search, yielding to the event loop every `sliceMs` so progress messages and aborts get through. */
export async function solveQuboAsync(inst: QuboInstance, options: SearchOptions = {}, sliceMs = 25): Promise<SearchResult> {
  const search = new CapacityTabuSearch(inst, options);
  while (!search.run(performance.now() + sliceMs)) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return search.result();
}

import { Rng } from '../util/rng';
import { Adam } from './adam';
import { satisfies, type SamplingConstraint } from './constraint';
import { TtError } from './errors';
import { CancelledError } from '../errors';
import { logLikelihoods, meanLogLikelihoodGradient } from './ttLikelihood';
import { sampleTt } from './ttSampler';
import { TtDistribution } from './ttTensor';

/**
 * Black box scored by the optimiser: one call per batch of new candidates (so a caller can run
 * many candidates through one runtime call); returns one value per candidate. NaN counts as the
 * worst possible value.
 */
export type BlackBox = (batch: Uint8Array[], signal?: AbortSignal) => Promise<ArrayLike<number>>;

export interface ProtesProgress {
  iteration: number;
  /** Candidates scored so far, cache hits included (PROTES's own count). */
  evaluations: number;
  /** Candidates actually sent to the black box so far (what maxEvaluations limits). */
  uniqueEvaluations: number;
  /** Best value seen so far (raw black-box value). */
  best: number;
  /** Mean and best raw value of this iteration's elites. */
  eliteMean: number;
  eliteBest: number;
  /** Restarts so far (see ProtesOptions.restarts). */
  restarts: number;
  seconds: number;
}

export type ProtesStopReason = 'budget' | 'time' | 'iterations' | 'converged' | 'target' | 'aborted';

export interface ProtesResult {
  best: Uint8Array;
  bestValue: number;
  evaluations: number;
  uniqueEvaluations: number;
  iterations: number;
  restarts: number;
  seconds: number;
  stopReason: ProtesStopReason;
  trace: ProtesProgress[];
}

export type ProtesInit =
  | 'random'
  | {
      /** Start with this vector holding `mass` of the (masked) probability. */
      near: ArrayLike<number>;
      /** Probability of `near` under the initial distribution, in (0, 1). Default 0.5. */
      mass?: number;
    };

export interface ProtesOptions {
  d: number;
  /** Alphabet size, one for all positions or one per position (default 2). */
  n?: number | ArrayLike<number>;
  /** Samples per iteration (default 100). */
  k?: number;
  /** Elites per iteration (default 10). */
  kTop?: number;
  /** Adam steps per iteration (default 1). */
  kGd?: number;
  /**
   * Take the kTop best *distinct* candidates of each batch as elites (default true). With false,
   * repeated draws of one vector fill several elite slots, as in the published algorithm; that
   * weights the likelihood towards whatever the distribution already favours and makes it collapse
   * early (see docs/REFINEMENT.md for the measured difference).
   */
  distinctElites?: boolean;
  /** Adam learning rate (default 5e-2). */
  lr?: number;
  /** TT rank (default 5). */
  rank?: number;
  /** Black-box evaluations allowed, cache hits not counted (default 10 000). */
  maxEvaluations?: number;
  /** Wall-clock limit, checked between batches (default none). */
  maxSeconds?: number;
  maxIterations?: number;
  /** The distribution counts as converged after this many consecutive iterations that drew only already-scored candidates (default 20). */
  maxStallIterations?: number;
  /**
   * On convergence, re-initialise the TT up to this many times (random init again, or near the best
   * point seen when `init` is near a point) with fresh Adam state, keeping the cache and the best;
   * default 0, i.e. stop with 'converged' as the published algorithm would.
   */
  restarts?: number;
  /** Minimise instead of maximise. */
  minimize?: boolean;
  /** Stop as soon as the best value reaches this (≥ when maximising, ≤ when minimising). */
  stopAt?: number;
  seed?: number;
  /** Standard deviation of the log-core noise at initialisation (default 1 for 'random', 0.1 near a point). */
  initNoise?: number;
  init?: ProtesInit;
  /** Points scored before anything else; the result is never worse than the best of them. */
  x0?: ArrayLike<number>[];
  constraint?: SamplingConstraint;
  signal?: AbortSignal;
  onProgress?: (progress: ProtesProgress) => void | Promise<void>;
}

/**
 * PROTES-style optimisation (Batsheva et al., NeurIPS 2023) of a black box over discrete vectors:
 * a TT distribution is sampled, the `kTop` best of each batch of `k` become elites, and `kGd` Adam
 * steps raise their mean log-likelihood. Written from the published algorithm.
 */
export async function protes(f: BlackBox, options: ProtesOptions): Promise<ProtesResult> {
  const o = resolveOptions(options);
  const { d, n } = o;
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const sign = o.minimize ? -1 : 1;
  const scoreOf = (value: number) => (Number.isNaN(value) ? -Infinity : sign * value);
  const rng = new Rng(o.seed);
  const cache = new Map<string, number>();
  let evaluations = 0;
  let unique = 0;
  let best: Uint8Array | null = null;
  let bestValue = NaN;
  let bestScore = -Infinity;
  const trace: ProtesProgress[] = [];
  let stopReason: ProtesStopReason | null = null;
  let restarts = 0;

  const consider = (x: Uint8Array, value: number) => {
    const score = scoreOf(value);
    if (best === null || score > bestScore) {
      best = x.slice();
      bestValue = value;
      bestScore = score;
    }
  };

  // Scores every candidate the budget allows; `scored` flags those that got a value (new candidates
  // beyond the budget are left out).
  const scoreBatch = async (cands: Uint8Array[]): Promise<{ values: Float64Array; scored: Uint8Array; keys: string[] }> => {
    const values = new Float64Array(cands.length);
    const scored = new Uint8Array(cands.length);
    const keys = cands.map(keyOf);
    const fresh: number[] = [];
    const pending = new Set<string>();
    for (let i = 0; i < cands.length; i++) {
      const key = keys[i]!;
      if (cache.has(key) || pending.has(key)) continue;
      if (unique + fresh.length >= o.maxEvaluations) continue;
      pending.add(key);
      fresh.push(i);
    }
    if (fresh.length > 0) {
      if (o.signal?.aborted) throw abortError();
      const got = await f(
        fresh.map((i) => cands[i]!.slice()),
        o.signal,
      );
      if (!got || got.length !== fresh.length) {
        throw new TtError('bad-values', `The black box returned ${got?.length ?? 'nothing'} values for ${fresh.length} candidates.`);
      }
      unique += fresh.length;
      for (let j = 0; j < fresh.length; j++) {
        const v = Number(got[j]);
        cache.set(keys[fresh[j]!]!, v);
        consider(cands[fresh[j]!]!, v);
      }
    }
    for (let i = 0; i < cands.length; i++) {
      const v = cache.get(keys[i]!);
      if (v === undefined) continue;
      values[i] = v;
      scored[i] = 1;
      evaluations++;
    }
    return { values, scored, keys };
  };

  const checkStop = (): ProtesStopReason | null => {
    if (o.signal?.aborted) return 'aborted';
    if (best !== null && bestScore >= sign * o.stopAt) return 'target';
    if (unique >= o.maxEvaluations) return 'budget';
    if (seconds() >= o.maxSeconds) return 'time';
    return null;
  };

  try {
    if (o.x0.length > 0) {
      if (o.signal?.aborted) throw abortError();
      await scoreBatch(o.x0);
    }

    const dist = new TtDistribution(n, o.rank);
    const initialise = (near: ArrayLike<number> | null) => {
      if (o.init === 'random') dist.randomise(rng, o.initNoise);
      else {
        // The best point may be a caller's initial point that breaks the constraint.
        const centre = near && (!o.constraint || satisfies(o.constraint, near)) ? near : o.init.near;
        initNear(dist, centre, o.init.mass, o.initNoise, rng, o.constraint);
      }
      return new Adam(dist.logCores, o.lr);
    };
    let adam = initialise(null);
    const grad = dist.logCores.map((w) => new Float64Array(w.length));

    let iteration = 0;
    let stall = 0;
    let uniqueAtRestart = -1;
    stopReason = checkStop();
    while (stopReason === null) {
      if (iteration >= o.maxIterations) {
        stopReason = 'iterations';
        break;
      }
      iteration++;
      const samples = sampleTt(dist, o.k, rng, o.constraint);
      const cands: Uint8Array[] = [];
      for (let s = 0; s < o.k; s++) cands.push(samples.subarray(s * d, (s + 1) * d));
      const uniqueBefore = unique;
      const { values, scored, keys } = await scoreBatch(cands);
      stall = unique === uniqueBefore ? stall + 1 : 0;

      const order: number[] = [];
      for (let s = 0; s < o.k; s++) if (scored[s]) order.push(s);
      order.sort((a, b) => scoreOf(values[b]!) - scoreOf(values[a]!) || a - b);
      const elites: number[] = [];
      const taken = new Set<string>();
      for (const s of order) {
        if (elites.length >= o.kTop) break;
        if (o.distinctElites) {
          if (taken.has(keys[s]!)) continue;
          taken.add(keys[s]!);
        }
        elites.push(s);
      }
      let eliteMean = NaN;
      let eliteBest = NaN;
      if (elites.length > 0) {
        let sum = 0;
        for (const s of elites) sum += values[s]!;
        eliteMean = sum / elites.length;
        eliteBest = values[elites[0]!]!;
      }

      stopReason = checkStop();
      let restarted = false;
      if (stopReason === null && stall >= o.maxStallIterations) {
        // A restart that brought nothing new means the reachable points are exhausted.
        if (restarts < o.restarts && unique > uniqueAtRestart) {
          uniqueAtRestart = unique;
          // A collapsed distribution only redraws scored points; start again (near the best seen
          // when the run started near a point), keeping the cache and the best.
          restarts++;
          stall = 0;
          adam = initialise(best);
          restarted = true;
        } else stopReason = 'converged';
      }
      if (stopReason === null && !restarted && elites.length > 0) {
        const eliteRows = new Uint8Array(elites.length * d);
        elites.forEach((s, j) => eliteRows.set(cands[s]!, j * d));
        for (let step = 0; step < o.kGd; step++) {
          meanLogLikelihoodGradient(dist, eliteRows, elites.length, grad, o.constraint);
          adam.ascend(grad);
          dist.markChanged();
        }
      }

      const progress: ProtesProgress = {
        iteration,
        evaluations,
        uniqueEvaluations: unique,
        best: bestValue,
        eliteMean,
        eliteBest,
        restarts,
        seconds: seconds(),
      };
      trace.push(progress);
      if (o.onProgress) await o.onProgress(progress);
      if (stopReason === null) stopReason = checkStop();
      // Let timers and abort events run even when the black box resolves synchronously.
      if (stopReason === null) await yieldToEventLoop();
    }
    return finish(iteration);
  } catch (err) {
    // An abort surfaces either as our own check or as whatever the black box throws on the signal.
    if (best !== null && (o.signal?.aborted || err instanceof CancelledError)) {
      stopReason = 'aborted';
      return finish(trace.length);
    }
    throw err;
  }

  function finish(iterations: number): ProtesResult {
    if (best === null) throw abortError();
    return {
      best,
      bestValue,
      evaluations,
      uniqueEvaluations: unique,
      iterations,
      restarts,
      seconds: seconds(),
      stopReason: stopReason ?? 'budget',
      trace,
    };
  }
}

/**
 * Sets the log-cores to noise plus a common boost γ (+ log(n_k − 1), so that multi-valued positions
 * start on the same footing) on each position's value in `x`, with γ found by bisection so that
 * `x` holds probability `mass` under the (masked) distribution. The noise gives every other point
 * positive mass and breaks the symmetry between rank components.
 */
export function initNear(
  dist: TtDistribution,
  x: ArrayLike<number>,
  mass: number,
  noise: number,
  rng: Rng,
  constraint?: SamplingConstraint,
): void {
  const { d, n } = dist;
  const row = toRow(x, n, 'init.near');
  dist.randomise(rng, noise);
  const base = dist.logCores.map((w) => w.slice());
  const massAt = (gamma: number): number => {
    for (let k = 0; k < d; k++) {
      const nk = n[k]!;
      const rk = dist.ranks[k]!;
      const rk1 = dist.ranks[k + 1]!;
      const w = dist.logCores[k]!;
      w.set(base[k]!);
      const boost = gamma + Math.log(Math.max(nk - 1, 1));
      for (let a = 0; a < rk; a++) {
        const off = (a * nk + row[k]!) * rk1;
        for (let b = 0; b < rk1; b++) w[off + b] = w[off + b]! + boost;
      }
    }
    dist.markChanged();
    return Math.exp(logLikelihoods(dist, row, 1, constraint)[0]!);
  };
  let lo = -30;
  let hi = 1;
  if (massAt(lo) >= mass) return;
  while (massAt(hi) < mass && hi < 200) hi *= 2;
  for (let it = 0; it < 60; it++) {
    const mid = 0.5 * (lo + hi);
    if (massAt(mid) < mass) lo = mid;
    else hi = mid;
  }
  massAt(hi);
}

/** Injective string key of a vector of bytes (cache of scored candidates). */
export function keyOf(x: Uint8Array): string {
  let s = '';
  const chunk = 8192;
  for (let i = 0; i < x.length; i += chunk) {
    s += String.fromCharCode.apply(null, x.subarray(i, Math.min(i + chunk, x.length)) as unknown as number[]);
  }
  return s;
}

interface Resolved {
  d: number;
  n: Int32Array;
  k: number;
  kTop: number;
  kGd: number;
  distinctElites: boolean;
  lr: number;
  rank: number;
  maxEvaluations: number;
  maxSeconds: number;
  maxIterations: number;
  maxStallIterations: number;
  restarts: number;
  minimize: boolean;
  stopAt: number;
  seed: number;
  initNoise: number;
  init: 'random' | { near: ArrayLike<number>; mass: number };
  x0: Uint8Array[];
  constraint: SamplingConstraint | undefined;
  signal: AbortSignal | undefined;
  onProgress: ((p: ProtesProgress) => void | Promise<void>) | undefined;
}

function resolveOptions(opt: ProtesOptions): Resolved {
  const posInt = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) throw new TtError('bad-option', `${name} must be an integer ≥ ${min}, got ${v}.`);
    return v;
  };
  const d = posInt('d', opt.d);
  const n = new Int32Array(d);
  if (opt.n === undefined || typeof opt.n === 'number') n.fill(opt.n ?? 2);
  else {
    if (opt.n.length !== d) throw new TtError('bad-option', `n has ${opt.n.length} entries, expected d = ${d}.`);
    for (let i = 0; i < d; i++) n[i] = opt.n[i]!;
  }
  for (let i = 0; i < d; i++) {
    if (!Number.isInteger(n[i]) || n[i]! < 1 || n[i]! > 255) {
      throw new TtError('bad-option', `Alphabet size at position ${i} must be in [1, 255], got ${n[i]}.`);
    }
  }
  const k = posInt('k', opt.k ?? 100);
  const kTop = posInt('kTop', opt.kTop ?? 10);
  if (kTop > k) throw new TtError('bad-option', `kTop (${kTop}) cannot exceed k (${k}).`);
  const kGd = posInt('kGd', opt.kGd ?? 1, 0);
  const lr = opt.lr ?? 5e-2;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new TtError('bad-option', `lr must be a positive number, got ${lr}.`);
  const rank = posInt('rank', opt.rank ?? 5);
  const maxEvaluations = posInt('maxEvaluations', opt.maxEvaluations ?? 10_000);
  const maxSeconds = opt.maxSeconds ?? Infinity;
  if (!(maxSeconds > 0)) throw new TtError('bad-option', `maxSeconds must be positive, got ${maxSeconds}.`);
  const maxIterations = opt.maxIterations ?? Infinity;
  if (!(maxIterations >= 0)) throw new TtError('bad-option', `maxIterations must be ≥ 0, got ${maxIterations}.`);
  const maxStallIterations = posInt('maxStallIterations', opt.maxStallIterations ?? 20);
  const restarts = opt.restarts ?? 0;
  if (!(restarts >= 0) || (restarts !== Infinity && !Number.isInteger(restarts))) {
    throw new TtError('bad-option', `restarts must be a non-negative integer or Infinity, got ${restarts}.`);
  }
  const seed = opt.seed ?? 0;
  if (!Number.isInteger(seed)) throw new TtError('bad-option', `seed must be an integer, got ${seed}.`);
  let init: Resolved['init'] = 'random';
  if (opt.init !== undefined && opt.init !== 'random') {
    const mass = opt.init.mass ?? 0.5;
    if (!(mass > 0 && mass < 1)) throw new TtError('bad-option', `init.mass must be in (0, 1), got ${mass}.`);
    init = { near: toRow(opt.init.near, n, 'init.near'), mass };
    if (opt.constraint && !satisfies(opt.constraint, init.near)) {
      throw new TtError('bad-option', 'init.near does not satisfy the constraint, so it cannot be given probability mass.');
    }
  }
  const initNoise = opt.initNoise ?? (init === 'random' ? 1 : 0.1);
  if (!(initNoise >= 0) || !Number.isFinite(initNoise)) throw new TtError('bad-option', `initNoise must be ≥ 0, got ${initNoise}.`);
  const x0 = (opt.x0 ?? []).map((x, i) => toRow(x, n, `x0[${i}]`));
  return {
    d, n, k, kTop, kGd, distinctElites: opt.distinctElites ?? true, lr, rank, maxEvaluations, maxSeconds, maxIterations, maxStallIterations, restarts,
    minimize: opt.minimize ?? false, stopAt: opt.stopAt ?? (opt.minimize ? -Infinity : Infinity), seed, initNoise, init, x0,
    constraint: opt.constraint, signal: opt.signal, onProgress: opt.onProgress,
  };
}

function toRow(x: ArrayLike<number>, n: Int32Array, what: string): Uint8Array {
  if (x.length !== n.length) throw new TtError('bad-option', `${what} has length ${x.length}, expected ${n.length}.`);
  const row = new Uint8Array(n.length);
  for (let i = 0; i < n.length; i++) {
    const v = x[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n[i]!) {
      throw new TtError('bad-option', `${what}[${i}] = ${v} is outside the alphabet [0, ${n[i]! - 1}].`);
    }
    row[i] = v;
  }
  return row;
}

function abortError(): CancelledError {
  return new CancelledError('the optimisation was aborted before any candidate was scored');
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

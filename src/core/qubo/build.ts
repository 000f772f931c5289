import { MAX_TYPED_ARRAY_LENGTH, formatBytes, memoryBudgetBytes } from '../util/memory';
import { QuboError } from './errors';
import { achievableAround, computeLevels, effectiveFloor, isAchievable, nearestAchievable } from './levels';
import type { QuboBuildOptions, QuboGroupInput, QuboInstance, QuboObjective, QuboTermsGroup } from './types';

export const DEFAULT_ALPHA = 0.5;
/** Placeholder until the end-to-end benchmark picks β (METHOD §5); small because S sums over up to C−1 partners. */
export const DEFAULT_BETA = 0.1;
export const DEFAULT_RHO = 0.1;
/** Tolerance on similarity range and symmetry (Gram matrices computed in float32). */
const SIM_TOL = 1e-5;

export interface QuboTarget {
  keep?: number;
  sparsity?: number;
}

/**
 * Builds the Hybrid QUBO (or the L1-QUBO / direct variant) of METHOD §5 from per-channel scores
 * and per-group similarity matrices. Scores are normalised by their mean over all unlocked
 * channels, so groups stay comparable across layers.
 */
export function buildQubo(groups: readonly QuboGroupInput[], options: QuboBuildOptions = {}): QuboInstance {
  const objective: QuboObjective = options.objective ?? 'hybrid';
  if (objective !== 'hybrid' && objective !== 'l1' && objective !== 'direct') {
    throw new QuboError('bad-option', `objective must be 'hybrid', 'l1' or 'direct', got '${String(objective)}'`);
  }
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const beta = options.beta ?? DEFAULT_BETA;
  const rho = options.rho ?? DEFAULT_RHO;
  const globalRound = options.roundTo ?? 1;
  checkRange('alpha', alpha, 0, 1);
  checkRange('beta', beta, 0, Number.POSITIVE_INFINITY);
  checkRange('rho', rho, 0, 1);
  checkRoundTo(globalRound, 'roundTo');
  validateLayout(groups);

  const scoreKeys: ('taylor' | 'fisher' | 'l1' | 'h')[] =
    objective === 'hybrid' ? [...(alpha > 0 ? ['taylor' as const] : []), ...(alpha < 1 ? ['fisher' as const] : [])] : objective === 'l1' ? ['l1'] : ['h'];
  const simKey = objective === 'l1' ? 'weightSimilarity' : 'similarity';

  // Global means over unlocked channels, so locked groups (constants) cannot skew the scale.
  const means = new Map<string, number>();
  for (const key of scoreKeys) {
    let sum = 0;
    let count = 0;
    for (const g of groups) {
      const v = g[key];
      if (!v) {
        if (!g.locked) throw new QuboError('missing-score', `group '${g.id}' has no '${key}' scores (needed by the ${objective} objective)`);
        continue;
      }
      checkScores(g, key, v, key !== 'h');
      if (g.locked) continue;
      for (let i = 0; i < v.length; i++) sum += v[i]!;
      count += v.length;
    }
    means.set(key, count > 0 ? sum / count : 0);
  }

  const terms: QuboTermsGroup[] = groups.map((g) => {
    const h = new Float64Array(g.size);
    const add = (key: 'taylor' | 'fisher' | 'l1' | 'h', weight: number, normalise: boolean) => {
      const v = g[key];
      if (!v || weight === 0) return;
      const mean = means.get(key)!;
      const scale = normalise ? (mean > 0 ? weight / mean : 0) : weight;
      for (let i = 0; i < g.size; i++) h[i]! += scale * v[i]!;
    };
    if (objective === 'hybrid') {
      add('taylor', alpha, true);
      add('fisher', 1 - alpha, true);
    } else if (objective === 'l1') add('l1', 1, true);
    else add('h', 1, false);

    let Q: Float64Array | undefined;
    const S = g[simKey];
    if (S) checkSimilarity(g, simKey, S);
    if (beta > 0 && g.size > 1 && !g.locked) {
      if (!S) throw new QuboError('missing-similarity', `group '${g.id}' has no '${simKey}' matrix (needed when beta > 0)`);
      let hMean = 0;
      for (let i = 0; i < g.size; i++) hMean += h[i]!;
      hMean /= g.size;
      Q = new Float64Array(g.size * g.size);
      const scale = beta * hMean;
      for (let i = 0; i < g.size; i++) {
        for (let j = i + 1; j < g.size; j++) {
          const s = Math.min(1, Math.max(0, 0.5 * (S[i * g.size + j]! + S[j * g.size + i]!)));
          Q[i * g.size + j] = Q[j * g.size + i] = scale * s;
        }
      }
    }
    const floor = g.floor ?? Math.min(g.size, Math.max(1, Math.ceil(rho * g.size - 1e-9)));
    return { id: g.id, size: g.size, h, ...(Q ? { Q } : {}), floor, roundTo: g.roundTo ?? globalRound, locked: !!g.locked };
  });
  const target: QuboTarget = {};
  if (options.keep !== undefined) target.keep = options.keep;
  if (options.sparsity !== undefined) target.sparsity = options.sparsity;
  const inst = assembleQubo(terms, target);
  inst.objective = objective;
  inst.alpha = alpha;
  inst.beta = beta;
  return inst;
}

/** Builds the L1-QUBO baseline (METHOD §7) through the same code path. */
export function buildL1Qubo(groups: readonly QuboGroupInput[], options: Omit<QuboBuildOptions, 'objective' | 'alpha'> = {}): QuboInstance {
  return buildQubo(groups, { ...options, objective: 'l1' });
}

/**
 * Lays out already computed terms as an instance and resolves the target count: an explicit
 * `keep` must be achievable; a sparsity-derived K is moved to the nearest achievable total.
 */
export function assembleQubo(groups: readonly QuboTermsGroup[], target: QuboTarget): QuboInstance {
  validateLayout(groups);
  const G = groups.length;
  const groupStart = new Int32Array(G);
  const groupSize = new Int32Array(G);
  const floors = new Int32Array(G);
  const roundTo = new Int32Array(G);
  const locked = new Uint8Array(G);
  let n = 0;
  for (let g = 0; g < G; g++) {
    const gr = groups[g]!;
    groupStart[g] = n;
    groupSize[g] = gr.size;
    n += gr.size;
    const m = gr.roundTo ?? 1;
    checkRoundTo(m, `roundTo of group '${gr.id}'`);
    roundTo[g] = m;
    locked[g] = gr.locked ? 1 : 0;
    if (!Number.isInteger(gr.floor) || gr.floor < 0 || gr.floor > gr.size) {
      throw new QuboError('bad-floor', `floor of group '${gr.id}' must be an integer in [0, ${gr.size}], got ${gr.floor}`);
    }
    floors[g] = gr.locked ? gr.size : effectiveFloor(gr.floor, gr.size, m);
  }
  const groupOf = new Int32Array(n);
  const h = new Float64Array(n);
  const Q: Float64Array[] = [];
  for (let g = 0; g < G; g++) {
    const gr = groups[g]!;
    groupOf.fill(g, groupStart[g]!, groupStart[g]! + gr.size);
    if (gr.h.length !== gr.size) throw new QuboError('score-length', `group '${gr.id}': h has ${gr.h.length} values, expected ${gr.size}`);
    for (let i = 0; i < gr.size; i++) {
      const v = gr.h[i]!;
      if (!Number.isFinite(v)) throw new QuboError('bad-score', `group '${gr.id}': h[${i}] is ${v}`);
      h[groupStart[g]! + i] = v;
    }
    const q = new Float64Array(gr.size * gr.size);
    if (gr.Q) {
      if (gr.Q.length !== gr.size * gr.size) {
        throw new QuboError('similarity-size', `group '${gr.id}': Q has ${gr.Q.length} values, expected ${gr.size}×${gr.size}`);
      }
      for (let i = 0; i < gr.size; i++) {
        for (let j = 0; j < gr.size; j++) {
          const a = gr.Q[i * gr.size + j]!;
          if (!Number.isFinite(a)) throw new QuboError('bad-similarity', `group '${gr.id}': Q[${i}][${j}] is ${a}`);
          if (i === j) continue;
          const b = gr.Q[j * gr.size + i]!;
          if (Math.abs(a - b) > SIM_TOL * Math.max(1, Math.abs(a), Math.abs(b))) {
            throw new QuboError('asymmetric-similarity', `group '${gr.id}': Q[${i}][${j}] = ${a} but Q[${j}][${i}] = ${b}`);
          }
          q[i * gr.size + j] = 0.5 * (a + b);
        }
      }
    }
    Q.push(q);
  }

  let nLocked = 0;
  let floorSum = 0;
  for (let g = 0; g < G; g++) {
    if (locked[g]) nLocked += groupSize[g]!;
    floorSum += floors[g]!;
  }
  const levels = computeLevels(groupSize, floors, roundTo);
  let K: number;
  let kRequested: number;
  if (target.keep !== undefined) {
    const keep = target.keep;
    if (!Number.isInteger(keep)) throw new QuboError('bad-option', `keep must be an integer, got ${keep}`);
    kRequested = keep;
    if (keep > n) throw new QuboError('k-above-n', `keep ${keep} exceeds the ${n} variables`);
    if (keep < floorSum) throw new QuboError('k-below-floors', `keep ${keep} is below the sum of group floors (${floorSum})`);
    if (!isAchievable(levels, keep)) {
      throw new QuboError('k-unachievable', `keep ${keep} cannot be split into allowed per-group counts (round-to); nearby achievable totals: ${achievableAround(levels, keep).join(', ')}`);
    }
    K = keep;
  } else if (target.sparsity !== undefined) {
    const s = target.sparsity;
    checkRange('sparsity', s, 0, 1);
    kRequested = nLocked + Math.round((1 - s) * (n - nLocked));
    if (kRequested < floorSum) {
      throw new QuboError('k-below-floors', `sparsity ${s} keeps ${kRequested} of ${n} channels, below the sum of group floors (${floorSum})`);
    }
    K = nearestAchievable(levels, kRequested);
  } else {
    throw new QuboError('no-target', 'give either keep (K) or sparsity');
  }
  return {
    n,
    groupCount: G,
    groupIds: groups.map((g) => g.id),
    groupOf,
    groupStart,
    groupSize,
    h,
    Q,
    floors,
    roundTo,
    locked,
    K,
    kRequested,
    objective: 'terms',
    alpha: Number.NaN,
    beta: Number.NaN,
  };
}

/** Concatenates one per-channel score of every group in the instance's variable order (for greedy baselines). */
export function layoutScores(groups: readonly QuboGroupInput[], key: 'taylor' | 'fisher' | 'l1' | 'h'): Float64Array {
  let n = 0;
  for (const g of groups) n += g.size;
  const out = new Float64Array(n);
  let at = 0;
  for (const g of groups) {
    const v = g[key];
    if (v) {
      checkScores(g, key, v, key !== 'h');
      out.set(v, at);
    } else if (!g.locked) throw new QuboError('missing-score', `group '${g.id}' has no '${key}' scores`);
    at += g.size;
  }
  return out;
}

function validateLayout(groups: readonly { id: string; size: number }[]): void {
  if (!Array.isArray(groups) || groups.length === 0) throw new QuboError('bad-group', 'at least one group is needed');
  const seen = new Set<string>();
  for (const g of groups) {
    if (typeof g.id !== 'string' || g.id.length === 0) throw new QuboError('bad-group', 'every group needs a non-empty string id');
    if (seen.has(g.id)) throw new QuboError('duplicate-group', `group id '${g.id}' appears twice`);
    seen.add(g.id);
    if (!Number.isInteger(g.size) || g.size < 1) throw new QuboError('bad-group', `group '${g.id}': size must be a positive integer, got ${g.size}`);
  }
  checkQuboSize(groups);
}

/** Bytes per variable outside the Q blocks: h, layout and the search's per-variable state. */
const BYTES_PER_VARIABLE = 64;

/**
 * Every group, locked or not, gets a dense size² block of Float64 (the search reads Q without
 * branching on sparsity), so the instance is refused up front when those blocks, or one of them,
 * cannot be allocated.
 */
export function checkQuboSize(groups: readonly { id: string; size: number }[]): void {
  const budget = memoryBudgetBytes();
  let bytes = 0;
  let n = 0;
  let largest = groups[0]!;
  for (const g of groups) {
    n += g.size;
    bytes += g.size * g.size * 8;
    if (g.size > largest.size) largest = g;
  }
  bytes += n * BYTES_PER_VARIABLE;
  const block = `${largest.size}×${largest.size}`;
  if (largest.size * largest.size > MAX_TYPED_ARRAY_LENGTH) {
    throw new QuboError('too-large', `group '${largest.id}' has ${largest.size} channels: its ${block} interaction block is more than one array can hold (${MAX_TYPED_ARRAY_LENGTH} values); split it into smaller groups`);
  }
  if (bytes > budget) {
    throw new QuboError(
      'too-large',
      `the instance (${n} channels in ${groups.length} group${groups.length === 1 ? '' : 's'}, largest '${largest.id}' with ${largest.size}) needs about ${formatBytes(bytes)} for its dense per-group interaction blocks, over the ${formatBytes(budget)} limit (a quarter of this machine's memory, at most 4 GiB); use fewer or smaller groups`,
    );
  }
}

function checkScores(g: QuboGroupInput, key: string, v: ArrayLike<number>, nonNegative: boolean): void {
  if (v.length !== g.size) throw new QuboError('score-length', `group '${g.id}': ${key} has ${v.length} values, expected ${g.size}`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x) || (nonNegative && x < 0)) {
      throw new QuboError('bad-score', `group '${g.id}': ${key}[${i}] is ${x}${nonNegative ? ' (must be finite and ≥ 0)' : ' (must be finite)'}`);
    }
  }
}

function checkSimilarity(g: QuboGroupInput, key: string, S: ArrayLike<number>): void {
  const C = g.size;
  if (S.length !== C * C) throw new QuboError('similarity-size', `group '${g.id}': ${key} has ${S.length} values, expected ${C}×${C} = ${C * C}`);
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      if (i === j) continue;
      const a = S[i * C + j]!;
      if (!Number.isFinite(a) || a < -SIM_TOL || a > 1 + SIM_TOL) {
        throw new QuboError('bad-similarity', `group '${g.id}': ${key}[${i}][${j}] = ${a}, expected |cos| in [0, 1]`);
      }
      if (j > i && Math.abs(a - S[j * C + i]!) > SIM_TOL) {
        throw new QuboError('asymmetric-similarity', `group '${g.id}': ${key}[${i}][${j}] = ${a} but [${j}][${i}] = ${S[j * C + i]}`);
      }
    }
  }
}

function checkRange(name: string, v: number, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new QuboError('bad-option', `${name} must be a number in [${lo}, ${hi === Number.POSITIVE_INFINITY ? '∞' : hi}], got ${v}`);
  }
}

function checkRoundTo(m: number, name: string): void {
  if (!Number.isInteger(m) || m < 1) throw new QuboError('bad-option', `${name} must be a positive integer, got ${m}`);
}

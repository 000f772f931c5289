// Tensor-Train refinement of a keep-mask against the true metric (METHOD §8): PROTES over swap
// slots around the QUBO solution, on a chosen set of layers or on the whole network block by block.
import { protes, type BlackBox, type ProtesProgress, type ProtesResult } from '../tt';
import { RefineError } from './errors';
import { CancelledError } from '../errors';
import { partitionBlocks, pickLayers, swappableGroups } from './scopes';
import { chooseSlots, encodeSlots, rankingKey, slotCapacity, type RefineGroup, type SlotForm } from './swapSlots';

export type { RefineGroup, SlotForm } from './swapSlots';

/** Scores keep-masks over global variables; higher is better (mean PSNR, accuracy). NaN = worst. */
export type MaskScore = (masks: Uint8Array[]) => Promise<ArrayLike<number>>;

export interface RefineProgress {
  /** PROTES iterations over all blocks so far (0 = the start mask was scored). */
  iteration: number;
  /** Distinct masks scored so far, the start included (what `evaluations` limits). */
  evaluations: number;
  /** Best value so far (never below the start's). */
  best: number;
  /** Mean value of this iteration's elites (the start's value at iteration 0). */
  eliteMean: number;
  /** Label of the block being refined (network scope, or a later sweep of the layers scope). */
  block?: string;
}

export interface RefineOptions {
  /** Keep-mask over global variables (1 = keep), e.g. the QUBO solution x*. */
  start: Uint8Array;
  /** Linear gain h per global variable (the hybrid term): ranks the channels that get slots. */
  gain: Float64Array;
  /** Channel groups in network (topological) order; their variables must not overlap. */
  groups: readonly RefineGroup[];
  score: MaskScore;
  /**
   * Called before each block with the block's group indices and the mask its candidates start
   * from; every candidate of the block differs from that mask only in those groups' variables.
   * An evaluator can use it to compute what those groups do not affect once (BatchedEvaluator.focus).
   */
  focus?: (groups: readonly number[], base: Uint8Array) => Promise<unknown>;
  /** 'layers': one block of chosen groups (the paper's setting); 'network': every group, block by block. */
  scope: 'layers' | 'network';
  /** Layers scope: how many groups (those with the most pruned channels) or their ids. Default 8. */
  layers?: number | readonly string[];
  /** Swap slots per block (a slot is one TT position in 'pairs', two in 'boundary'/'capacity'). Default: layers 32, network 4. */
  slotsPerBlock?: number;
  /** Network scope: consecutive groups per block. Default 1. */
  groupsPerBlock?: number;
  /** Default: 'pairs' for the layers scope (the paper's encoding), 'boundary' for the network scope (measured better, docs/REFINEMENT.md). */
  form?: SlotForm;
  /** Distinct masks scored at most, the start included. */
  evaluations: number;
  /** Wall-clock limit, checked between batches. */
  seconds: number;
  /** TT rank. */
  rank: number;
  /** Candidates per PROTES iteration (one score() call). Default 20. */
  k?: number;
  /** Elites per iteration. Default 5. */
  kTop?: number;
  /** Adam rate. Default 0.1. */
  lr?: number;
  /** Probability the initial TT gives to the block's start point. Default 0.35 (about one changed position per draw). */
  initMass?: number;
  /** Sweeps the budget is planned for (network scope). Default 1. */
  sweeps?: number;
  /** Further sweeps run while budget is left and the previous sweep gained, up to this many in all. Default 10. */
  maxSweeps?: number;
  /** A block stops after this many distinct evaluations without a new best. Default: network scope max(3k, half the block's share); layers scope unlimited. */
  patience?: number;
  /** Sensitivity hint per global variable (higher = more important), mixed into the ranking. */
  hint?: Float64Array;
  hintWeight?: number;
  seed: number;
  /** On abort: stops between batches and rejects with the signal's reason (a CancelledError when it has none). */
  signal?: AbortSignal;
  onProgress?: (p: RefineProgress) => void;
}

export interface RefineBlock {
  label: string;
  groups: string[];
  sweep: number;
  slots: number;
  /** Best value after the block minus the value before it (≥ 0). */
  gain: number;
  /** Distinct masks this block scored. */
  evaluations: number;
  iterations: number;
  /** Swaps (changed pairs) the block's best applied to the mask it started from. */
  swaps: number;
  stopReason: string;
}

export interface RefineResult {
  mask: Uint8Array;
  startValue: number;
  bestValue: number;
  evaluations: number;
  seconds: number;
  blocks: RefineBlock[];
  trace: RefineProgress[];
  stopReason: 'budget' | 'time' | 'done' | 'no-slots';
}


/**
 * Refines `start` against `score` and returns the best mask seen, never worse than the start
 * (which is scored first). Every candidate keeps the total kept count; 'pairs' and 'boundary'
 * also keep every group's count (so floors and round-to hold), 'capacity' keeps each block's total.
 */
export async function refineMask(opts: RefineOptions): Promise<RefineResult> {
  const o = resolve(opts);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const { signal } = opts;
  throwIfAborted(signal);

  const cache = new Map<string, number>();
  let unique = 0;
  let best = opts.start.slice();
  let bestValue = NaN;
  let bestRank = -Infinity;
  const trace: RefineProgress[] = [];
  let iteration = 0;
  let reportedAt = 0;
  const report = (p: RefineProgress) => {
    trace.push(p);
    opts.onProgress?.(p);
  };

  // Masks already scored (an earlier block's, or the start every block begins from) cost nothing.
  const scoreMasks = async (masks: Uint8Array[]): Promise<Float64Array> => {
    const keys = masks.map(maskKey);
    const out = new Float64Array(masks.length);
    const fresh: number[] = [];
    const pending = new Set<string>();
    keys.forEach((key, i) => {
      if (!cache.has(key) && !pending.has(key)) {
        pending.add(key);
        fresh.push(i);
      }
    });
    if (fresh.length > 0) {
      throwIfAborted(signal);
      const got = await opts.score(fresh.map((i) => masks[i]!));
      if (!got || got.length !== fresh.length) {
        throw new RefineError('bad-input', `score() returned ${got?.length ?? 'nothing'} values for ${fresh.length} masks`);
      }
      unique += fresh.length;
      fresh.forEach((i, j) => {
        const v = Number(got[j]);
        cache.set(keys[i]!, v);
        const r = Number.isNaN(v) ? -Infinity : v;
        if (r > bestRank) {
          bestRank = r;
          bestValue = v;
          best = masks[i]!.slice();
        }
      });
    }
    keys.forEach((key, i) => (out[i] = cache.get(key)!));
    return out;
  };

  const [startValue] = await scoreMasks([opts.start]);
  report({ iteration: 0, evaluations: unique, best: startValue!, eliteMean: startValue! });
  reportedAt = unique;

  const key = rankingKey(opts.gain, opts.hint, opts.hintWeight ?? 1);
  const tried = new Uint8Array(opts.start.length);
  const blocks: RefineBlock[] = [];
  let stopReason: RefineResult['stopReason'] = 'done';

  const eligibleAll = o.scope === 'layers' ? pickLayers(opts.start, opts.groups, o.layers) : swappableGroups(opts.start, opts.groups);
  if (eligibleAll.length === 0) stopReason = 'no-slots';

  const groupsPerBlock = o.groupsPerBlock;

  for (let sweep = 1; sweep <= o.maxSweeps && stopReason === 'done'; sweep++) {
    const plan =
      o.scope === 'layers'
        ? [eligibleAll]
        : partitionBlocks(eligibleAll, groupsPerBlock, sweep % 2 === 0 ? Math.floor(groupsPerBlock / 2) : 0);
    let progressed = false;
    for (let b = 0; b < plan.length; b++) {
      throwIfAborted(signal);
      const evalsLeft = o.evaluations - unique;
      const secondsLeft = o.seconds - elapsed();
      if (evalsLeft <= 0) {
        stopReason = 'budget';
        break;
      }
      if (secondsLeft <= 0) {
        stopReason = 'time';
        break;
      }
      // Shares of what is left: the rest of this sweep plus any planned later sweeps.
      const sharesLeft = plan.length - b + plan.length * Math.max(0, o.sweeps - sweep);
      const blockEvals = Math.max(1, Math.floor(evalsLeft / sharesLeft));
      const blockSeconds = secondsLeft / sharesLeft;

      const eligible = plan[b]!.filter((g) => slotCapacity(best, opts.groups, [g]) > 0);
      const slots = chooseSlots({ mask: best, key, groups: opts.groups, eligible, count: o.slotsPerBlock, tried });
      if (slots.length === 0) continue;
      for (const s of slots) tried[s.drop] = tried[s.add] = 1;
      const base = best.slice();
      const enc = encodeSlots(slots, o.form, base, opts.groups);
      // Candidates only touch the groups that hold slots ('capacity' moves counts among them only).
      if (opts.focus) await opts.focus([...new Set(slots.map((x) => x.group))], base);
      const ids = eligible.map((g) => opts.groups[g]!.id);
      const label =
        (o.scope === 'network' ? `block ${b + 1}/${plan.length}: ${ids[0]}${ids.length > 1 ? `…${ids.at(-1)}` : ''}` : `${ids.length} layers`) +
        (sweep > 1 ? ` (sweep ${sweep})` : '');
      const before = bestRank;
      const uniqueBefore = unique;
      const patience = o.patience ?? (o.scope === 'network' ? Math.max(3 * o.k, Math.ceil(blockEvals / 2)) : Infinity);

      // The block's own signal: the caller's abort, or our early stop when the block stops paying.
      const inner = new AbortController();
      const onAbort = () => inner.abort(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let lastGainAt = unique;
      let blockBestRank = bestRank;
      const f: BlackBox = async (batch) => scoreMasks(batch.map((z) => enc.decode(z, base)));
      let res: ProtesResult;
      try {
        res = await protes(f, {
          d: enc.d,
          k: o.k,
          kTop: Math.min(o.kTop, o.k),
          lr: o.lr,
          rank: o.rank,
          // The start point is already cached; it takes one unit of PROTES's own count.
          maxEvaluations: blockEvals + 1,
          maxSeconds: Math.max(blockSeconds, 1e-3),
          maxStallIterations: 5,
          seed: (o.seed + 7919 * (blocks.length + 1)) >>> 0,
          init: { near: enc.x0, mass: o.initMass },
          x0: [enc.x0],
          ...(enc.constraint ? { constraint: enc.constraint } : {}),
          signal: inner.signal,
          onProgress: (p: ProtesProgress) => {
            iteration++;
            if (bestRank > blockBestRank) {
              blockBestRank = bestRank;
              lastGainAt = unique;
            } else if (unique - lastGainAt >= patience) inner.abort(new CancelledError('block stopped: no gain within its patience'));
            // Iterations that only redrew cached masks add nothing to the chart.
            if (unique > reportedAt) {
              reportedAt = unique;
              report({ iteration, evaluations: unique, best: bestValue, eliteMean: p.eliteMean, block: label });
            }
          },
        });
      } catch (err) {
        throwIfAborted(signal);
        throw err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      throwIfAborted(signal);
      const gained = bestRank > before;
      if (gained) progressed = true;
      blocks.push({
        label,
        groups: ids,
        sweep,
        slots: slots.length,
        gain: gained ? bestValue - (Number.isFinite(before) ? before : bestValue) : 0,
        evaluations: unique - uniqueBefore,
        iterations: res.iterations,
        swaps: gained ? enc.changes(res.best) : 0,
        stopReason: res.stopReason === 'aborted' ? 'patience' : res.stopReason,
      });
    }
    if (stopReason !== 'done') break;
    if (o.evaluations - unique <= 0) stopReason = 'budget';
    else if (o.seconds - elapsed() <= 0) stopReason = 'time';
    // Stop after a sweep that found nothing, except the first: the second one sees fresh slots
    // (channels already tried rank last) and, with blocks of several groups, shifted borders.
    else if (sweep >= 2 && !progressed) break;
  }

  return {
    mask: best,
    startValue: startValue!,
    bestValue,
    evaluations: unique,
    seconds: elapsed(),
    blocks,
    trace,
    stopReason,
  };
}

interface Resolved {
  scope: 'layers' | 'network';
  layers: number | readonly string[];
  slotsPerBlock: number;
  groupsPerBlock: number;
  form: SlotForm;
  evaluations: number;
  seconds: number;
  rank: number;
  k: number;
  kTop: number;
  lr: number;
  initMass: number;
  sweeps: number;
  maxSweeps: number;
  patience: number | undefined;
  seed: number;
}

function resolve(o: RefineOptions): Resolved {
  const n = o.start?.length;
  if (!(o.start instanceof Uint8Array)) throw new RefineError('bad-input', 'start must be a Uint8Array keep-mask');
  for (let i = 0; i < n; i++) if (o.start[i]! > 1) throw new RefineError('bad-input', `start[${i}] = ${o.start[i]} is not 0 or 1`);
  if (!(o.gain instanceof Float64Array) || o.gain.length !== n) throw new RefineError('bad-input', `gain must be a Float64Array of length ${n}`);
  if (o.hint && o.hint.length !== n) throw new RefineError('bad-input', `hint must have length ${n}`);
  const owner = new Int32Array(n).fill(-1);
  o.groups.forEach((g, gi) => {
    for (const v of g.variables) {
      if (!(v >= 0 && v < n)) throw new RefineError('bad-input', `group '${g.id}' names variable ${v}, outside 0..${n - 1}`);
      if (owner[v]! >= 0) throw new RefineError('bad-input', `variable ${v} is in groups '${o.groups[owner[v]!]!.id}' and '${g.id}'`);
      owner[v] = gi;
    }
  });
  if (o.scope !== 'layers' && o.scope !== 'network') throw new RefineError('bad-option', `scope must be 'layers' or 'network', got '${String(o.scope)}'`);
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RefineError('bad-option', `${name} must be an integer ≥ ${min}, got ${v}`);
    return v;
  };
  const k = int('k', o.k ?? 20, 1);
  const initMass = o.initMass ?? 0.35;
  if (!(initMass > 0 && initMass < 1)) throw new RefineError('bad-option', `initMass must be in (0, 1), got ${initMass}`);
  const lr = o.lr ?? 0.1;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new RefineError('bad-option', `lr must be a positive number, got ${lr}`);
  if (!(o.seconds > 0)) throw new RefineError('bad-option', `seconds must be positive, got ${o.seconds}`);
  const sweeps = int('sweeps', o.sweeps ?? 1, 1);
  const form = o.form ?? (o.scope === 'network' ? 'boundary' : 'pairs');
  if (form !== 'pairs' && form !== 'boundary' && form !== 'capacity') throw new RefineError('bad-option', `form must be 'pairs', 'boundary' or 'capacity', got '${String(form)}'`);
  if (o.patience !== undefined && !(o.patience >= 1)) throw new RefineError('bad-option', `patience must be ≥ 1, got ${o.patience}`);
  return {
    scope: o.scope,
    layers: o.layers ?? 8,
    slotsPerBlock: int('slotsPerBlock', o.slotsPerBlock ?? (o.scope === 'network' ? 4 : 32), 1),
    groupsPerBlock: int('groupsPerBlock', o.groupsPerBlock ?? 1, 1),
    form,
    evaluations: int('evaluations', o.evaluations, 1),
    seconds: o.seconds,
    rank: int('rank', o.rank, 1),
    k,
    kTop: int('kTop', o.kTop ?? 5, 1),
    lr,
    initMass,
    sweeps,
    maxSweeps: Math.max(sweeps, int('maxSweeps', o.maxSweeps ?? 10, 1)),
    patience: o.patience,
    seed: int('seed', o.seed, 0),
  };
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new CancelledError('refinement aborted');
}

/** Injective key of a 0/1 mask, 16 bits per character. */
function maskKey(mask: Uint8Array): string {
  let s = '';
  for (let i = 0; i < mask.length; i += 16) {
    let v = 0;
    for (let b = 0; b < 16 && i + b < mask.length; b++) v |= (mask[i + b]! & 1) << b;
    s += String.fromCharCode(v);
  }
  return s;
}

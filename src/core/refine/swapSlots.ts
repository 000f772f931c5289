// Search spaces for the Tensor-Train refinement around a keep-mask (METHOD §8, §10): which channels
// the optimiser may touch, how its discrete vector maps back to a keep-mask, and the sampling
// constraint that keeps every candidate feasible without a penalty.
import type { SamplingConstraint } from '../tt';
import { RefineError } from './errors';

/** One channel group as refinement sees it (global variable indices). */
export interface RefineGroup {
  id: string;
  variables: Int32Array;
  /** Minimum kept count; only the 'capacity' form reads it (default 1: a group is never emptied). */
  floor?: number;
  /** Kept count must stay a multiple of this; the 'capacity' form refuses groups with roundTo > 1. */
  roundTo?: number;
}

/** Swap of one kept channel for one pruned channel of the same group. */
export interface SwapSlot {
  /** Index into the groups array. */
  group: number;
  /** Kept channel (global variable) that the swap prunes. */
  drop: number;
  /** Pruned channel (global variable) that the swap keeps. */
  add: number;
  /** key(drop) − key(add): the smaller, the less the ranking is sure that the current choice is right. */
  margin: number;
}

/**
 * - 'pairs' (METHOD §8): position k = swap slot k, z_k = 1 performs it. Every group keeps its count.
 * - 'boundary' (METHOD §10, masked sampling): the channels of a group's slots are positions holding
 *   their keep bit; a per-group exact-count constraint keeps the group's count. Any exchange among a
 *   group's boundary channels is reachable, not only the planned pairs (C(2m, m) points instead of 2^m).
 * - 'capacity': the same positions, but only the block's total is exact and each group stays at or
 *   above its floor, so capacity moves between the block's groups; refused under round-to.
 */
export type SlotForm = 'pairs' | 'boundary' | 'capacity';

export interface SlotChoice {
  /** Current keep-mask over global variables. */
  mask: Uint8Array;
  /** Ranking key per global variable, higher = more worth keeping (h, or h mixed with a hint). */
  key: Float64Array;
  groups: readonly RefineGroup[];
  /** Groups that may hold slots, by index into groups. */
  eligible: readonly number[];
  /** Number of slots wanted (fewer come back when the groups cannot hold them). */
  count: number;
  /** Channels that sat in a slot before: ranked after the fresh ones of their group, so a later sweep looks further from the boundary. */
  tried?: Uint8Array;
}

/**
 * Pairs, per group, the i-th weakest kept channel with the i-th strongest pruned one (by `key`), so
 * the slots are disjoint by construction. Each eligible group first gets its most uncertain pair
 * (smallest margin) while slots last; further slots go to the smallest margins overall (h is
 * normalised by its global mean, so margins compare across layers). Slots come back grouped by
 * group, in eligible order, so that a group's slots are neighbours in the TT.
 */
export function chooseSlots(o: SlotChoice): SwapSlot[] {
  const { mask, key, groups } = o;
  const tried = o.tried;
  const queues: SwapSlot[][] = o.eligible.map((g) => {
    const group = groups[g]!;
    const kept: number[] = [];
    const pruned: number[] = [];
    for (const v of group.variables) (mask[v] ? kept : pruned).push(v);
    const t = (v: number) => (tried ? tried[v]! : 0);
    kept.sort((a, b) => t(a) - t(b) || key[a]! - key[b]! || a - b);
    pruned.sort((a, b) => t(a) - t(b) || key[b]! - key[a]! || a - b);
    const m = Math.min(kept.length, pruned.length);
    const q: SwapSlot[] = [];
    for (let i = 0; i < m; i++) q.push({ group: g, drop: kept[i]!, add: pruned[i]!, margin: key[kept[i]!]! - key[pruned[i]!]! });
    return q;
  });
  const taken = new Int32Array(queues.length);
  let left = Math.max(0, Math.floor(o.count));
  // One slot for every group first, most uncertain groups first when slots are scarce.
  const firsts = queues.map((_q, i) => i).filter((i) => queues[i]!.length > 0);
  firsts.sort((a, b) => queues[a]![0]!.margin - queues[b]![0]!.margin || a - b);
  for (const i of firsts) {
    if (left === 0) break;
    taken[i] = 1;
    left--;
  }
  while (left > 0) {
    let bestQ = -1;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      if (taken[i]! >= q.length) continue;
      if (bestQ < 0 || q[taken[i]!]!.margin < queues[bestQ]![taken[bestQ]!]!.margin) bestQ = i;
    }
    if (bestQ < 0) break;
    taken[bestQ]!++;
    left--;
  }
  const out: SwapSlot[] = [];
  queues.forEach((q, i) => out.push(...q.slice(0, taken[i]!)));
  return out;
}

/** Most slots the given groups can hold: Σ min(kept, pruned). */
export function slotCapacity(mask: Uint8Array, groups: readonly RefineGroup[], eligible: readonly number[]): number {
  let total = 0;
  for (const g of eligible) {
    let kept = 0;
    const vars = groups[g]!.variables;
    for (const v of vars) kept += mask[v]!;
    total += Math.min(kept, vars.length - kept);
  }
  return total;
}

/**
 * Ranking key of each channel: h alone, or h/mean|h| + w·hint/mean|hint| when a sensitivity hint
 * (higher = more important) is given, so both count on the same scale.
 */
export function rankingKey(gain: Float64Array, hint?: Float64Array, weight = 1): Float64Array {
  if (!hint || weight === 0) return gain;
  const meanAbs = (a: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
    return a.length > 0 ? s / a.length : 0;
  };
  const mg = meanAbs(gain);
  const mh = meanAbs(hint);
  const out = new Float64Array(gain.length);
  for (let i = 0; i < gain.length; i++) out[i] = (mg > 0 ? gain[i]! / mg : 0) + (mh > 0 ? (weight * hint[i]!) / mh : 0);
  return out;
}

/** The optimiser's view of a set of slots: its vector length, start point, constraint and decoder. */
export interface SlotEncoding {
  form: SlotForm;
  d: number;
  /** The base mask's own position vector (the point the TT starts near). */
  x0: Uint8Array;
  constraint?: SamplingConstraint;
  /** Keep-mask of a position vector: a copy of base with the positions applied. */
  decode(z: ArrayLike<number>, base: Uint8Array): Uint8Array;
  /** Channels whose keep bit differs between the decoded mask and base, halved (= swaps for count-preserving forms). */
  changes(z: ArrayLike<number>): number;
}

export function encodeSlots(slots: readonly SwapSlot[], form: SlotForm, base: Uint8Array, groups: readonly RefineGroup[]): SlotEncoding {
  if (slots.length === 0) throw new RefineError('bad-input', 'no swap slots to encode');
  if (form === 'pairs') {
    return {
      form,
      d: slots.length,
      x0: new Uint8Array(slots.length),
      decode(z, b) {
        const m = b.slice();
        for (let k = 0; k < slots.length; k++) {
          if (z[k]) {
            m[slots[k]!.drop] = 0;
            m[slots[k]!.add] = 1;
          }
        }
        return m;
      },
      changes(z) {
        let c = 0;
        for (let k = 0; k < slots.length; k++) c += z[k] ? 1 : 0;
        return c;
      },
    };
  }
  if (form !== 'boundary' && form !== 'capacity') throw new RefineError('bad-option', `unknown slot form '${String(form)}'`);
  // Partners sit next to each other: the TT couples neighbouring positions most cheaply.
  const vars: number[] = [];
  const lengths: number[] = [];
  const segGroups: number[] = [];
  for (const s of slots) {
    if (segGroups.at(-1) !== s.group) {
      segGroups.push(s.group);
      lengths.push(0);
    }
    vars.push(s.drop, s.add);
    lengths[lengths.length - 1]! += 2;
  }
  const d = vars.length;
  const x0 = Uint8Array.from(vars, (v) => base[v]!);
  const min = new Int32Array(lengths.length);
  const max = new Int32Array(lengths.length);
  let total: number | undefined;
  if (form === 'boundary') {
    lengths.forEach((len, s) => (min[s] = max[s] = len / 2));
  } else {
    total = 0;
    lengths.forEach((len, s) => {
      const g = groups[segGroups[s]!]!;
      if ((g.roundTo ?? 1) > 1) {
        throw new RefineError('bad-option', `group '${g.id}' has round-to ${g.roundTo}: the 'capacity' form would break it; use 'pairs' or 'boundary'`);
      }
      let kept = 0;
      for (const v of g.variables) kept += base[v]!;
      const floor = g.floor ?? 1;
      // Kept channels outside the segment stay kept, so the segment only has to make up the rest.
      min[s] = Math.max(0, floor - (kept - len / 2));
      max[s] = len;
      total! += len / 2;
    });
  }
  return {
    form,
    d,
    x0,
    constraint: segmentCountConstraint(Int32Array.from(lengths), min, max, total),
    decode(z, b) {
      const m = b.slice();
      for (let p = 0; p < d; p++) m[vars[p]!] = z[p] ? 1 : 0;
      return m;
    },
    changes(z) {
      let c = 0;
      for (let p = 0; p < d; p++) c += (z[p] ? 1 : 0) !== x0[p] ? 1 : 0;
      return c / 2;
    },
  };
}

/**
 * Binary vectors made of consecutive segments whose ones count lies in [min_s, max_s], and, when
 * `total` is given, with exactly `total` ones overall. A value is allowed only if the remainder can
 * still be completed, so every prefix the sampler reaches is feasible. The state packs the ones
 * drawn so far and the ones in the current segment into one number.
 */
export function segmentCountConstraint(lengths: Int32Array, min: Int32Array, max: Int32Array, total?: number): SamplingConstraint {
  const segs = lengths.length;
  let d = 0;
  for (let s = 0; s < segs; s++) {
    const len = lengths[s]!;
    if (!(len >= 1) || !(min[s]! >= 0) || min[s]! > max[s]! || min[s]! > len) {
      throw new RefineError('bad-input', `segment ${s}: need 0 ≤ min ≤ max and min ≤ length, got length ${len}, min ${min[s]}, max ${max[s]}`);
    }
    d += len;
  }
  const segOf = new Int32Array(d);
  const segEnd = new Int32Array(segs);
  const sufMin = new Float64Array(segs + 1);
  const sufMax = new Float64Array(segs + 1);
  let p = 0;
  let longest = 0;
  for (let s = 0; s < segs; s++) {
    for (let i = 0; i < lengths[s]!; i++) segOf[p++] = s;
    segEnd[s] = p;
    longest = Math.max(longest, lengths[s]!);
  }
  for (let s = segs - 1; s >= 0; s--) {
    sufMin[s] = sufMin[s + 1]! + min[s]!;
    sufMax[s] = sufMax[s + 1]! + Math.min(max[s]!, lengths[s]!);
  }
  if (total !== undefined && !(total >= sufMin[0]! && total <= sufMax[0]!)) {
    throw new RefineError('bad-input', `no vector has ${total} ones with the segment bounds (${sufMin[0]}..${sufMax[0]})`);
  }
  const S = longest + 1;
  const split = (state: number) => {
    const tot = Math.floor(state / S);
    return [tot, state - tot * S] as const;
  };
  return {
    initialState: 0,
    allowed(position, state, value) {
      if (value !== 0 && value !== 1) return false;
      const seg = segOf[position]!;
      const [tot, inSeg] = split(state);
      const in1 = inSeg + value;
      const rest = segEnd[seg]! - position - 1;
      if (in1 > max[seg]! || in1 + rest < min[seg]!) return false;
      if (total === undefined) return true;
      const need = total - (tot + value);
      const lo = Math.max(0, min[seg]! - in1) + sufMin[seg + 1]!;
      const hi = Math.min(rest, max[seg]! - in1) + sufMax[seg + 1]!;
      return need >= lo && need <= hi;
    },
    next(position, state, value) {
      const [tot, inSeg] = split(state);
      const endOfSeg = position === segEnd[segOf[position]!]! - 1;
      return (tot + value) * S + (endOfSeg ? 0 : inSeg + value);
    },
  };
}

import { QuboError } from './errors';
import type { QuboInstance } from './types';

/**
 * The kept counts each group may take: floor..size when roundTo is 1, otherwise the multiples of
 * roundTo in that range plus the full size (a group is never forced to drop channels just to hit a
 * multiple). Capacities therefore move between groups in steps of roundTo, except next to the full
 * size where the step is size mod roundTo.
 */
export interface CapacityLevels {
  /** isLevel[offset[g] + c] = 1 when group g may keep c channels. */
  offset: Int32Array;
  isLevel: Uint8Array;
  /** Allowed counts of each group, ascending. */
  list: Int32Array[];
  /**
   * Capacity shift sizes d > 1 the search tries besides single swaps: every difference between two
   * allowed counts of a group with gaps, up to 2·roundTo (so an odd remainder next to the full size
   * can move from one group to another in one move). Empty when all groups have unit steps.
   */
  bigSteps: Int32Array;
  /** reach[g·(n+1) + t] = 1 when groups g..G−1 can keep exactly t channels in total. */
  reach: Uint8Array;
  n: number;
}

export function effectiveFloor(rawFloor: number, size: number, roundTo: number): number {
  if (rawFloor >= size) return size;
  if (roundTo <= 1) return rawFloor;
  const up = Math.ceil(rawFloor / roundTo) * roundTo;
  return up >= size ? size : up;
}

export function computeLevels(groupSize: Int32Array, floors: Int32Array, roundTo: Int32Array): CapacityLevels {
  const G = groupSize.length;
  const offset = new Int32Array(G + 1);
  for (let g = 0; g < G; g++) offset[g + 1] = offset[g]! + groupSize[g]! + 1;
  const isLevel = new Uint8Array(offset[G]!);
  const list: Int32Array[] = [];
  const steps = new Set<number>();
  let n = 0;
  for (let g = 0; g < G; g++) {
    const size = groupSize[g]!;
    const m = Math.max(1, roundTo[g]!);
    n += size;
    const counts: number[] = [];
    for (let c = floors[g]!; c <= size; c++) {
      if (c === size || c % m === 0) {
        counts.push(c);
        isLevel[offset[g]! + c] = 1;
      }
    }
    if (m > 1) {
      for (let a = 0; a < counts.length; a++) {
        for (let b = a + 1; b < counts.length; b++) {
          const d = counts[b]! - counts[a]!;
          if (d > 2 * m) break;
          if (d > 1) steps.add(d);
        }
      }
    }
    list.push(Int32Array.from(counts));
  }
  const reach = new Uint8Array((G + 1) * (n + 1));
  reach[G * (n + 1)] = 1;
  for (let g = G - 1; g >= 0; g--) {
    const lv = list[g]!;
    const row = g * (n + 1);
    const next = (g + 1) * (n + 1);
    for (let t = 0; t <= n; t++) {
      if (!reach[next + t]) continue;
      for (let k = 0; k < lv.length; k++) {
        const s = t + lv[k]!;
        if (s <= n) reach[row + s] = 1;
      }
    }
  }
  return { offset, isLevel, list, bigSteps: Int32Array.from([...steps].sort((a, b) => a - b)), reach, n };
}

export function instanceLevels(inst: QuboInstance): CapacityLevels {
  return computeLevels(inst.groupSize, inst.floors, inst.roundTo);
}

export function isAchievable(levels: CapacityLevels, K: number): boolean {
  return K >= 0 && K <= levels.n && levels.reach[K] === 1;
}

/** The achievable total closest to K (ties go to the larger count: prune less rather than more). */
export function nearestAchievable(levels: CapacityLevels, K: number): number {
  for (let d = 0; d <= levels.n; d++) {
    if (isAchievable(levels, K + d)) return K + d;
    if (isAchievable(levels, K - d)) return K - d;
  }
  return -1;
}

/** Lists a few achievable totals around K for error messages. */
export function achievableAround(levels: CapacityLevels, K: number): number[] {
  const out: number[] = [];
  for (let t = K; t >= 0 && out.length < 2; t--) if (isAchievable(levels, t)) out.unshift(t);
  for (let t = K + 1; t <= levels.n && out.length < 4; t++) if (isAchievable(levels, t)) out.push(t);
  return out;
}

/** Number of per-group capacity vectors summing to K, saturated at `cap`. */
export function countCapacityVectors(levels: CapacityLevels, K: number, cap = 2): number {
  let ways = new Float64Array(K + 1);
  ways[0] = 1;
  for (const lv of levels.list) {
    const next = new Float64Array(K + 1);
    for (let t = 0; t <= K; t++) {
      if (!ways[t]) continue;
      for (let k = 0; k < lv.length && t + lv[k]! <= K; k++) next[t + lv[k]!] = Math.min(cap, next[t + lv[k]!]! + ways[t]!);
    }
    ways = next;
  }
  return ways[K]!;
}

/** Draws a random per-group capacity vector summing to K (not uniform over vectors, but every vector has a chance). */
export function sampleCapacities(levels: CapacityLevels, K: number, rand: () => number, out: Int32Array): void {
  const G = levels.list.length;
  const n = levels.n;
  let t = K;
  const ok: number[] = [];
  for (let g = 0; g < G; g++) {
    const lv = levels.list[g]!;
    ok.length = 0;
    const next = (g + 1) * (n + 1);
    for (let k = 0; k < lv.length; k++) {
      const c = lv[k]!;
      if (c <= t && levels.reach[next + t - c]) ok.push(c);
    }
    if (ok.length === 0) throw new QuboError('k-unachievable', `no capacity vector sums to ${K}`);
    const c = ok[Math.floor(rand() * ok.length)]!;
    out[g] = c;
    t -= c;
  }
}

// Synthetic refinement problems: groups of channels, a start mask (top half of each group by h),
// and black boxes with a known better mask inside the swap-slot space.
import { Rng } from '../../src/core/util/rng';
import { chooseSlots, type RefineGroup, type SwapSlot } from '../../src/core/refine/swapSlots';
import { pickLayers } from '../../src/core/refine/scopes';
import type { MaskScore } from '../../src/core/refine/refine';

export interface Problem {
  n: number;
  groups: RefineGroup[];
  gain: Float64Array;
  start: Uint8Array;
  K: number;
}

/** `groupCount` groups of `size` channels; each keeps its `keep` channels of highest h. */
export function makeProblem(seed: number, groupCount: number, size: number, keep = Math.floor(size / 2)): Problem {
  const rng = new Rng(seed);
  const n = groupCount * size;
  const gain = Float64Array.from({ length: n }, () => Math.exp(0.5 * rng.normal()));
  // Variables of a group are scattered over the global index space, as in real networks.
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  rng.shuffle(perm);
  const groups: RefineGroup[] = [];
  const start = new Uint8Array(n);
  for (let g = 0; g < groupCount; g++) {
    const variables = perm.slice(g * size, (g + 1) * size);
    groups.push({ id: `g${g}`, variables, floor: 1 });
    const order = Array.from(variables).sort((a, b) => gain[b]! - gain[a]!);
    for (let i = 0; i < keep; i++) start[order[i]!] = 1;
  }
  return { n, groups, gain, start, K: groupCount * keep };
}

/** The slots refineMask's first block uses in the layers scope over every group. */
export function firstSlots(p: Problem, count: number): SwapSlot[] {
  const eligible = pickLayers(p.start, p.groups, p.groups.map((g) => g.id));
  return chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible, count });
}

export function applySwaps(mask: Uint8Array, slots: readonly SwapSlot[], z: ArrayLike<number>): Uint8Array {
  const m = mask.slice();
  slots.forEach((s, k) => {
    if (z[k]) {
      m[s.drop] = 0;
      m[s.add] = 1;
    }
  });
  return m;
}

/** −(Hamming distance to `target`); its only maximum 0 is the target. */
export function negHamming(target: Uint8Array): MaskScore {
  return async (masks) =>
    Float64Array.from(masks, (m) => {
      let h = 0;
      for (let i = 0; i < m.length; i++) if (m[i] !== target[i]) h++;
      return h === 0 ? 0 : -h;
    });
}

/**
 * A smooth, non-separable metric: Σ v_i keep_i − Σ_{i<j same group} c_ij keep_i keep_j, where the
 * true values v are h plus noise (h is an imperfect estimate) and c is a random redundancy.
 */
export function smoothMetric(p: Problem, seed: number, noise = 0.6, redundancy = 0.15): MaskScore {
  const rng = new Rng(5000 + seed);
  const v = Float64Array.from(p.gain, (h) => h + noise * rng.normal());
  const pairs = p.groups.map((g) => {
    const c = g.variables.length;
    return Float64Array.from({ length: c * c }, () => redundancy * rng.next());
  });
  const f = (m: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < m.length; i++) s += v[i]! * m[i]!;
    p.groups.forEach((g, gi) => {
      const vars = g.variables;
      const c = vars.length;
      const C = pairs[gi]!;
      for (let a = 0; a < c; a++) {
        if (!m[vars[a]!]) continue;
        for (let b = a + 1; b < c; b++) if (m[vars[b]!]) s -= C[a * c + b]!;
      }
    });
    return s;
  };
  return async (masks) => Float64Array.from(masks, f);
}

/** Best value of `score` over every subset of the given slots (brute force; slots ≤ ~14). */
export async function bruteForceBest(p: Problem, slots: readonly SwapSlot[], score: MaskScore): Promise<number> {
  const d = slots.length;
  const masks: Uint8Array[] = [];
  const z = new Uint8Array(d);
  for (let code = 0; code < 1 << d; code++) {
    for (let k = 0; k < d; k++) z[k] = (code >> k) & 1;
    masks.push(applySwaps(p.start, slots, z));
  }
  const values = await score(masks);
  let best = -Infinity;
  for (let i = 0; i < values.length; i++) best = Math.max(best, values[i]!);
  return best;
}

export function groupCounts(mask: Uint8Array, groups: readonly RefineGroup[]): number[] {
  return groups.map((g) => Array.from(g.variables).reduce((a, v) => a + mask[v]!, 0));
}

/**
 * A metric with cross-layer interactions: channel j of group g contributes v_j only in proportion
 * to how much of its (random, sparse) input from group g−1 is kept, so blocks cannot be solved
 * independently.
 */
export function chainMetric(p: Problem, seed: number, noise = 0.6): MaskScore {
  const rng = new Rng(7000 + seed);
  const v = Float64Array.from(p.gain, (h) => h + noise * rng.normal());
  const W = p.groups.map((g, gi) => {
    if (gi === 0) return null;
    const prev = p.groups[gi - 1]!.variables.length;
    return Float64Array.from({ length: g.variables.length * prev }, () => (rng.next() < 0.3 ? rng.next() : 0));
  });
  const f = (m: Uint8Array) => {
    let s = 0;
    p.groups.forEach((g, gi) => {
      const w = W[gi];
      const prevVars = gi > 0 ? p.groups[gi - 1]!.variables : null;
      g.variables.forEach((j, a) => {
        if (!m[j]) return;
        let frac = 1;
        if (w && prevVars) {
          let kept = 0;
          let all = 0;
          for (let b = 0; b < prevVars.length; b++) {
            const x = w[a * prevVars.length + b]!;
            all += x;
            kept += x * m[prevVars[b]!]!;
          }
          frac = all > 0 ? kept / all : 1;
        }
        s += v[j]! * (0.5 + 0.5 * frac);
      });
    });
    return s;
  };
  return async (masks) => Float64Array.from(masks, f);
}

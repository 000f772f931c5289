import { QuboError } from './errors';
import { instanceLevels, type CapacityLevels } from './levels';
import type { QuboInstance } from './types';

/** E(x) = −Σ h_i x_i + Σ_{i<j, same group} Q_ij x_i x_j, computed from scratch. */
export function quboEnergy(inst: QuboInstance, mask: Uint8Array): number {
  let e = 0;
  for (let g = 0; g < inst.groupCount; g++) {
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    for (let a = 0; a < C; a++) {
      if (!mask[s + a]) continue;
      e -= inst.h[s + a]!;
      let q = 0;
      for (let b = a + 1; b < C; b++) if (mask[s + b]) q += Q[a * C + b]!;
      e += q;
    }
  }
  return e;
}

/**
 * Local fields f_i = h_i − Σ_{j same group} Q_ij x_j (the energy a kept channel saves), written into
 * `out`; every search starts from them and then updates them per move.
 */
export function localFields(inst: QuboInstance, x: Uint8Array, out: Float64Array): Float64Array {
  for (let g = 0; g < inst.groupCount; g++) {
    const s = inst.groupStart[g]!;
    const C = inst.groupSize[g]!;
    const Q = inst.Q[g]!;
    for (let a = 0; a < C; a++) {
      let q = 0;
      for (let b = 0; b < C; b++) if (x[s + b]) q += Q[a * C + b]!;
      out[s + a] = inst.h[s + a]! - q;
    }
  }
  return out;
}

export function groupCounts(inst: QuboInstance, mask: Uint8Array): Int32Array {
  const out = new Int32Array(inst.groupCount);
  for (let i = 0; i < inst.n; i++) if (mask[i]) out[inst.groupOf[i]!]!++;
  return out;
}

/** Why a mask is not a feasible solution, or null when it is. */
export function feasibilityProblem(inst: QuboInstance, mask: Uint8Array, levels: CapacityLevels = instanceLevels(inst)): string | null {
  if (mask.length !== inst.n) return `mask has ${mask.length} entries, expected ${inst.n}`;
  let total = 0;
  for (let i = 0; i < inst.n; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) return `mask[${i}] = ${mask[i]}, expected 0 or 1`;
    total += mask[i]!;
  }
  if (total !== inst.K) return `mask keeps ${total} channels, expected exactly ${inst.K}`;
  const counts = groupCounts(inst, mask);
  for (let g = 0; g < inst.groupCount; g++) {
    const c = counts[g]!;
    if (!levels.isLevel[levels.offset[g]! + c]) {
      return `group '${inst.groupIds[g]}' keeps ${c} of ${inst.groupSize[g]} (floor ${inst.floors[g]}, round-to ${inst.roundTo[g]})`;
    }
  }
  return null;
}

export function assertFeasible(inst: QuboInstance, mask: Uint8Array, levels?: CapacityLevels): void {
  const p = feasibilityProblem(inst, mask, levels);
  if (p) throw new QuboError('bad-mask', p);
}

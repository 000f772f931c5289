import { bestLinearMask } from './greedy';
import type { CapacityLevels } from './levels';
import type { QuboInstance } from './types';

/**
 * A lower bound on the constrained minimum, for reporting the gap on instances too large for the
 * exact solver: couplings ≥ 0 are dropped and negative ones assumed active, and the linear part is
 * the exact best allocation of K by h under the floors and levels.
 */
export function quboLowerBound(inst: QuboInstance, levels?: CapacityLevels): number {
  let negative = 0;
  for (let g = 0; g < inst.groupCount; g++) {
    const Q = inst.Q[g]!;
    const C = inst.groupSize[g]!;
    for (let a = 0; a < C; a++) for (let b = a + 1; b < C; b++) if (Q[a * C + b]! < 0) negative += Q[a * C + b]!;
  }
  const mask = bestLinearMask(inst, inst.h, inst.K, levels);
  let e = 0;
  for (let i = 0; i < inst.n; i++) if (mask[i]) e -= inst.h[i]!;
  return e + negative;
}

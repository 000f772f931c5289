// Kernel-aware channel counts (issue 15 item 3). Convolution kernels block channels in fixed
// widths (4, 8 or 16 floats on CPUs), so a layer keeping 41 of 64 channels can run slower than one
// keeping 48. Which width pays depends on the provider and the machine, so it is measured: the
// model pruned uniformly to the run's sparsity with counts rounded to each candidate multiple,
// timed at batch 1, and the fastest kept (a smaller multiple when it is within noise, since a
// coarser round-to constrains the search more).
import type { DependencyAnalysis } from '../analysis/types';

export const ROUND_TO_CANDIDATES = [1, 4, 8, 16] as const;
/** A larger round-to is chosen only when it beats the smaller ones by more than this fraction. */
export const ROUND_TO_MARGIN = 0.03;

/** round(kept) to a multiple of r, at least r and at most the group's size (a full group is always allowed). */
export function roundedCount(size: number, kept: number, r: number): number {
  if (r <= 1) return Math.min(size, Math.max(1, Math.round(kept)));
  return Math.min(size, Math.max(r, Math.round(kept / r) * r));
}

/** Candidates the model admits: checkRoundTo refuses a round-to at or above the largest group. */
export function roundToCandidates(deps: DependencyAnalysis, candidates: readonly number[] = ROUND_TO_CANDIDATES): number[] {
  const largest = Math.max(0, ...deps.groups.map((g) => g.size));
  return candidates.filter((r) => r <= 1 || r < largest);
}

/** Each group keeps its first round_r((1 − sparsity)·size) channels: the shapes a search at round-to r would produce, on average. */
export function uniformKeep(deps: DependencyAnalysis, sparsity: number, r: number): Uint8Array {
  const keep = new Uint8Array(deps.variables.length);
  for (const g of deps.groups) {
    const k = roundedCount(g.size, (1 - sparsity) * g.size, r);
    for (let i = 0; i < k; i++) keep[g.variables[i]!] = 1;
  }
  return keep;
}

export interface RoundToTiming {
  roundTo: number;
  medianMs: number;
  iqrMs: number;
}

/**
 * The round-to to use: the smallest candidate whose median is within ROUND_TO_MARGIN of the
 * fastest. Ties in noise go to the finer round-to because it leaves the search more choice.
 */
export function pickRoundTo(timings: readonly RoundToTiming[], margin = ROUND_TO_MARGIN): number {
  if (timings.length === 0) throw new RangeError('no round-to timings to choose from');
  const best = Math.min(...timings.map((t) => t.medianMs));
  const ok = timings.filter((t) => t.medianMs <= best * (1 + margin)).map((t) => t.roundTo);
  return Math.min(...ok);
}

/** Candidates from fastest to slowest measured (for the speed guard's retries). */
export function roundToBySpeed(timings: readonly RoundToTiming[]): number[] {
  return [...timings].sort((p, q) => p.medianMs - q.medianMs || p.roundTo - q.roundTo).map((t) => t.roundTo);
}

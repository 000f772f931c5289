// Robust summaries of repeated timings and the words a report uses for a speed ratio. Pure, so
// the figures a user reads can be tested without a clock.

/** Timed runs per measurement (at least): enough for a stable median and quartiles. */
export const TIMED_RUNS = 20;

export interface TimingSummary {
  /** Median of the timed runs, in milliseconds. */
  medianMs: number;
  /** First and third quartiles (linear interpolation between order statistics, as numpy's default). */
  q1Ms: number;
  q3Ms: number;
  /** q3 − q1: the spread a reader should weigh a difference of medians against. */
  iqrMs: number;
  runs: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of ascending `sorted` by linear interpolation between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile level must be in [0, 1], got ${q}`);
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export function summariseTimings(times: ArrayLike<number>): TimingSummary {
  if (times.length === 0) throw new RangeError('no timed runs to summarise');
  const sorted = Float64Array.from(times).sort();
  for (const t of sorted) if (!Number.isFinite(t) || t < 0) throw new RangeError(`a timed run took ${t} ms`);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  return { medianMs: quantileSorted(sorted, 0.5), q1Ms: q1, q3Ms: q3, iqrMs: q3 - q1, runs: sorted.length };
}

/**
 * "1.42× faster" or "1.06× slower" for a model that takes `afterMs` where the original took
 * `beforeMs`: the ratio is always ≥ 1 and the word says the direction, because "0.94× faster"
 * reads as a speed-up to anyone skimming. Equal to two decimals reads "same speed (1.00×)".
 */
export function speedWording(beforeMs: number, afterMs: number): string {
  if (!(beforeMs > 0 && afterMs > 0)) throw new RangeError(`latencies must be positive, got ${beforeMs} and ${afterMs} ms`);
  const faster = beforeMs / afterMs;
  if (faster.toFixed(2) === '1.00' && (1 / faster).toFixed(2) === '1.00') return 'same speed (1.00×)';
  return faster >= 1 ? `${faster.toFixed(2)}× faster` : `${(afterMs / beforeMs).toFixed(2)}× slower`;
}

/** "12.3 ms (IQR 0.4)" — a median with its spread, for tables. */
export function formatTiming(t: Pick<TimingSummary, 'medianMs' | 'iqrMs'>): string {
  const digits = t.medianMs >= 100 ? 0 : t.medianMs >= 10 ? 1 : 2;
  return `${t.medianMs.toFixed(digits)} ms (IQR ${t.iqrMs.toFixed(digits)})`;
}

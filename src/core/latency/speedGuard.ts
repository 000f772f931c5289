// The default preset's promise: never ship a model slower than the original on the provider the
// run used (issue 15 item 3). When the exported model times slower at batch 1, the pipeline tries
// alternatives (search + export + timing again, not calibration) in a fixed, bounded order and
// ships the fastest one that beats the original; failing that, the first model with the 'slower'
// flag. Pure: what to try and what to ship, from figures.

export interface GuardAttempt {
  roundTo: number;
  sparsity: number;
  /** Batch-1 median of the exported model. */
  medianMs: number;
  label: string;
}

export interface GuardOutcome {
  originalMs: number;
  attempts: GuardAttempt[];
  /** Index into attempts of the model shipped. */
  shipped: number;
  /** The shipped model beats the original. */
  faster: boolean;
  message: string;
}

/** At most this many alternatives after the first attempt: each costs a search, an export and a timing. */
export const MAX_ALTERNATIVES = 3;

/**
 * What to try after the first attempt (roundTo `used`, `sparsity`): the other round-to values in
 * measured-speed order (fastest first), then, when the run has a sparsity (no cost budget), a
 * smaller sparsity at the fastest round-to. Never the first attempt again; at most MAX_ALTERNATIVES.
 */
export function guardAlternatives(p: { used: number; sparsity: number; bySpeed: readonly number[]; smallerSparsity?: number }): { roundTo: number; sparsity: number }[] {
  const out: { roundTo: number; sparsity: number }[] = [];
  for (const r of p.bySpeed) if (r !== p.used) out.push({ roundTo: r, sparsity: p.sparsity });
  const fastest = p.bySpeed[0] ?? p.used;
  const alts = out.slice(0, p.smallerSparsity !== undefined ? MAX_ALTERNATIVES - 1 : MAX_ALTERNATIVES);
  if (p.smallerSparsity !== undefined) alts.push({ roundTo: fastest, sparsity: p.smallerSparsity });
  return alts;
}

/** The fastest attempt that beats the original, else the first attempt (which then ships flagged 'slower'). */
export function chooseShipped(originalMs: number, attempts: readonly GuardAttempt[]): GuardOutcome {
  if (attempts.length === 0) throw new RangeError('no attempts to choose from');
  let best = -1;
  attempts.forEach((a, i) => {
    if (a.medianMs < originalMs && (best < 0 || a.medianMs < attempts[best]!.medianMs)) best = i;
  });
  const first = attempts[0]!;
  if (best < 0) {
    return {
      originalMs,
      attempts: [...attempts],
      shipped: 0,
      faster: false,
      message: `no variant ran faster than the original (${originalMs.toFixed(2)} ms at batch 1): tried ${attempts.map((a) => `${a.label} ${a.medianMs.toFixed(2)} ms`).join(', ')}; the first is shipped and flagged slower`,
    };
  }
  const message =
    best === 0
      ? `${first.label} runs faster than the original (${first.medianMs.toFixed(2)} vs ${originalMs.toFixed(2)} ms)`
      : `${first.label} ran slower than the original (${first.medianMs.toFixed(2)} vs ${originalMs.toFixed(2)} ms at batch 1); shipping ${attempts[best]!.label} instead (${attempts[best]!.medianMs.toFixed(2)} ms)`;
  return { originalMs, attempts: [...attempts], shipped: best, faster: true, message };
}

// Least-squares fit of a layer's latency to t ≈ a + b·cin + c·cout + d·cin·cout over measured
// kept-count levels. That form is exactly what the cost-budget search handles (a constant, linear
// terms and one product per pair of groups), so a fitted table becomes a budget directly.

export interface BilinearSample {
  cin: number;
  cout: number;
  ms: number;
}

export interface BilinearFit {
  a: number;
  b: number;
  c: number;
  d: number;
  /**
   * Root-mean-square of (fit − measured) / measured over the samples; the denominator is at least
   * 1% of the layer's largest sample, so a probe measured at (or near) zero after the overhead is
   * subtracted does not turn a microsecond of error into an infinite relative one.
   */
  rmsRelError: number;
  /** Largest |fit − measured| / measured (same floor on the denominator). */
  maxRelError: number;
}

export function evalBilinear(f: Pick<BilinearFit, 'a' | 'b' | 'c' | 'd'>, cin: number, cout: number): number {
  return f.a + f.b * cin + f.c * cout + f.d * cin * cout;
}

/** Solves the 4×4 system m·x = r in place by Gaussian elimination with partial pivoting. */
function solve4(m: Float64Array, r: Float64Array): Float64Array | undefined {
  const n = 4;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(m[i * n + col]!) > Math.abs(m[p * n + col]!)) p = i;
    if (Math.abs(m[p * n + col]!) < 1e-12 * Math.max(1, Math.abs(m[0]!))) return undefined;
    if (p !== col) {
      for (let k = 0; k < n; k++) [m[col * n + k], m[p * n + k]] = [m[p * n + k]!, m[col * n + k]!];
      [r[col], r[p]] = [r[p]!, r[col]!];
    }
    for (let i = col + 1; i < n; i++) {
      const f = m[i * n + col]! / m[col * n + col]!;
      for (let k = col; k < n; k++) m[i * n + k] -= f * m[col * n + k]!;
      r[i] -= f * r[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = r[i]!;
    for (let k = i + 1; k < n; k++) s -= m[i * n + k]! * x[k]!;
    x[i] = s / m[i * n + i]!;
  }
  return x;
}

/**
 * Fits the four coefficients. Counts are scaled to [0, 1] by their largest value before the
 * normal equations are formed (products of counts in the hundreds would make them ill-conditioned).
 * Needs at least two distinct cin and two distinct cout levels in a grid-like layout.
 */
export function fitBilinear(samples: readonly BilinearSample[]): BilinearFit {
  if (samples.length < 4) throw new RangeError(`a bilinear fit needs at least 4 samples, got ${samples.length}`);
  const si = Math.max(...samples.map((s) => s.cin));
  const so = Math.max(...samples.map((s) => s.cout));
  if (!(si > 0 && so > 0)) throw new RangeError('channel counts must be positive');
  const m = new Float64Array(16);
  const r = new Float64Array(4);
  for (const s of samples) {
    const x = [1, s.cin / si, s.cout / so, (s.cin / si) * (s.cout / so)];
    for (let i = 0; i < 4; i++) {
      r[i] += x[i]! * s.ms;
      for (let k = 0; k < 4; k++) m[i * 4 + k] += x[i]! * x[k]!;
    }
  }
  const x = solve4(m, r);
  if (!x) throw new RangeError('the samples do not determine a bilinear fit (need two distinct input and two distinct output counts)');
  const fit = { a: x[0]!, b: x[1]! / si, c: x[2]! / so, d: x[3]! / (si * so) };
  let sq = 0;
  let max = 0;
  const floor = Math.max(1e-9, 0.01 * Math.max(...samples.map((s) => s.ms)));
  for (const s of samples) {
    const e = Math.abs(evalBilinear(fit, s.cin, s.cout) - s.ms) / Math.max(s.ms, floor);
    sq += e * e;
    max = Math.max(max, e);
  }
  return { ...fit, rmsRelError: Math.sqrt(sq / samples.length), maxRelError: max };
}

/** Evenly spaced kept-count levels from about a quarter of `full` up to `full`, multiples of `step` where possible. */
export function countLevels(full: number, levels = 4, step = 1): number[] {
  const out = new Set<number>();
  for (let i = 0; i < levels; i++) {
    const raw = full * (0.25 + (0.75 * i) / Math.max(1, levels - 1));
    out.add(Math.min(full, Math.max(1, Math.round(raw / step) * step)));
  }
  return [...out].sort((p, q) => p - q);
}

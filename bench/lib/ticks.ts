/** Tick positions and labels for chart axes. */

/** The smallest step of the form {1, 2, 5} x 10^k that is at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  // A little slack so that e.g. 0.2000000001 does not jump to 0.5.
  const m = norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10;
  return m * mag;
}

/** Decimal places that print every multiple of `step` exactly. */
export function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Ticks at multiples of a nice step inside [lo, hi], with at most `maxCount` ticks (at least 2 where possible). */
export function niceTicks(lo: number, hi: number, maxCount: number): { step: number; ticks: number[] } {
  const count = Math.max(2, Math.floor(maxCount));
  let step = niceStep((hi - lo) / (count - 1));
  let ticks = ticksFor(lo, hi, step);
  while (ticks.length > count) {
    step = niceStep(step * 1.01);
    ticks = ticksFor(lo, hi, step);
  }
  return { step, ticks };
}

/** Every multiple of `step` inside [lo, hi]. */
export function ticksFor(lo: number, hi: number, step: number): number[] {
  const eps = step * 1e-9;
  const first = Math.ceil((lo - eps) / step);
  const last = Math.floor((hi + eps) / step);
  const d = stepDecimals(step);
  const out: number[] = [];
  // Rounding through toFixed removes float residue such as 0.30000000000000004.
  for (let i = first; i <= last; i++) out.push(Number((i * step).toFixed(d)));
  return out;
}

/** Extends [lo, hi] outward to multiples of `step`. */
export function snapRange(lo: number, hi: number, step: number): [number, number] {
  const d = stepDecimals(step);
  return [Number((Math.floor(lo / step + 1e-9) * step).toFixed(d)), Number((Math.ceil(hi / step - 1e-9) * step).toFixed(d))];
}

/** Formats a tick value with the given number of decimals, never as "-0". */
export function formatTick(v: number, decimals: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-6)) return v.toExponential(1).replace('e+', 'e');
  const s = v.toFixed(Math.min(decimals, 10));
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

const SUFFIXES: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * Labels for ticks spaced `step` apart. Values of 100000 and above get an SI suffix (20M, 1.5G) so that tick
 * labels stay short for counts such as MACs and parameters; smaller ones print with the step's decimals.
 */
export function formatTicks(ticks: readonly number[], step: number): string[] {
  const maxAbs = Math.max(0, ...ticks.map(Math.abs));
  if (maxAbs >= 1e5) {
    const [unit, suffix] = SUFFIXES.find(([u]) => u <= maxAbs)!;
    const d = stepDecimals(step / unit);
    return ticks.map((v) => (v === 0 ? '0' : formatTick(v / unit, d) + suffix));
  }
  const d = stepDecimals(step);
  return ticks.map((v) => formatTick(v, d));
}

/** Shortest exact-looking label for a user-supplied tick value (up to 6 decimals). */
export function formatValue(v: number): string {
  return formatTick(Number(v.toFixed(6)), decimalsOf(v));
}

function decimalsOf(v: number): number {
  const s = Number(v.toFixed(6)).toString();
  const i = s.indexOf('.');
  return i < 0 || s.includes('e') ? 0 : s.length - i - 1;
}

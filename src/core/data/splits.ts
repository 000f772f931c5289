import { Rng } from '../util/rng';
import { DataError } from './errors';
import { SPLIT_NAMES, type SplitName } from './layout';
import { mixSeed } from './noise';

/** Per split: a value in (0, 1) is a fraction of the groups, an integer ≥ 1 a count, 0 leaves the split empty on purpose. */
export type SplitSpec = Record<SplitName, number>;

export const DEFAULT_SPLITS: SplitSpec = { calib: 0.25, val: 0.25, test: 0.5 };

/** Salt so the split shuffle and the crop positions draw from unrelated streams of the same seed. */
const SPLIT_SALT = 0x5b11;

export function validateSplitSpec(spec: SplitSpec): void {
  let fracSum = 0;
  for (const s of SPLIT_NAMES) {
    const v = spec[s];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new DataError('bad-split', `Split "${s}" must be a fraction in (0, 1) or a non-negative integer count, got ${v}.`);
    }
    if (v >= 1 && !Number.isInteger(v)) {
      throw new DataError('bad-split', `Split "${s}" = ${v}: counts must be integers (fractions must be below 1).`);
    }
    if (v < 1) fracSum += v;
  }
  if (fracSum > 1 + 1e-9) throw new DataError('bad-split', `Split fractions add up to ${fracSum.toFixed(3)} > 1.`);
}

/**
 * Number of groups per split for `n` groups. Fractions are rounded, but never to 0 (that would
 * silently drop a split the caller asked for); when the rounding overshoots `n`, the split that
 * was rounded up the most gives one back.
 */
export function splitCounts(n: number, spec: SplitSpec): Record<SplitName, number> {
  validateSplitSpec(spec);
  const counts = { calib: 0, val: 0, test: 0 };
  const ideal = { calib: 0, val: 0, test: 0 };
  for (const s of SPLIT_NAMES) {
    const v = spec[s];
    ideal[s] = v < 1 ? v * n : v;
    counts[s] = v === 0 ? 0 : v < 1 ? Math.max(1, Math.round(v * n)) : v;
  }
  const asked = SPLIT_NAMES.filter((s) => spec[s] > 0);
  if (asked.length > n) {
    throw new DataError(
      'empty-split',
      `Only ${n} image group(s) for ${asked.length} splits (${asked.join(', ')}): at least one split would be empty. Add images or set a split to 0.`,
    );
  }
  const countTotal = SPLIT_NAMES.filter((s) => spec[s] >= 1).reduce((a, s) => a + counts[s], 0);
  if (countTotal > n) {
    throw new DataError('bad-split', `Splits ask for ${countTotal} image group(s) but the folder has ${n}.`);
  }
  let total = counts.calib + counts.val + counts.test;
  while (total > n) {
    let best: SplitName | undefined;
    for (const s of SPLIT_NAMES) {
      if (spec[s] >= 1 || spec[s] === 0 || counts[s] <= 1) continue;
      if (!best || counts[s] - ideal[s] > counts[best] - ideal[best]) best = s;
    }
    if (!best) {
      throw new DataError('empty-split', `Cannot fit the requested splits into ${n} image group(s) without an empty split.`);
    }
    counts[best]--;
    total--;
  }
  return counts;
}

/** Shuffles the groups by seed and deals consecutive runs to calib, val and test, so splits never share a group. */
export function assignGroups(groups: string[], spec: SplitSpec, seed: number): Record<SplitName, string[]> {
  const unique = [...new Set(groups)].sort();
  const counts = splitCounts(unique.length, spec);
  new Rng(mixSeed(seed, SPLIT_SALT)).shuffle(unique);
  const out = { calib: [] as string[], val: [] as string[], test: [] as string[] };
  let p = 0;
  for (const s of SPLIT_NAMES) {
    out[s] = unique.slice(p, p + counts[s]);
    p += counts[s];
  }
  return out;
}

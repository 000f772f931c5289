// One preset schema for the CLI (flags or a JSON/JSONC file) and the extension (workspace settings).
// Validation reports the exact setting at fault, so both front ends can show it as is.
import type { InputNormalization, Method, ProviderChoice, PruneSettings, RefineScope } from '../protocol';
import { oneLine } from './util/oneLine';

export class PresetError extends Error {
  readonly code = 'invalid-preset';
  constructor(
    /** Dotted path of the offending setting, e.g. 'refine.rank'. */
    readonly setting: string,
    message: string,
  ) {
    super(oneLine(`${setting}: ${message}`));
    this.name = 'PresetError';
  }
}

export const METHODS: readonly Method[] = ['hybrid', 'taylor', 'l1-qubo', 'l1', 'random'];
export const PROVIDERS: readonly ProviderChoice[] = ['auto', 'cpu', 'webgpu', 'cuda'];
export const REFINE_SCOPES: readonly RefineScope[] = ['off', 'layers', 'network'];

export const DEFAULT_SETTINGS: PruneSettings = {
  method: 'hybrid',
  sparsity: 0.36,
  alpha: 0,
  beta: 0,
  similarity: 'cosine',
  gamma: 0.35,
  floor: 0.1,
  roundTo: 1,
  samples: 16,
  patch: 64,
  noise: null,
  searchTimeMs: 1000,
  refine: { scope: 'network', layers: 8, evaluations: 600, seconds: 60, rank: 4, valSamples: 12, data: 'calib+val', minGain: 0.1 },
  provider: 'auto',
  seed: 0,
  resize: null,
  normalize: 'none',
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type PresetOverrides = DeepPartial<PruneSettings>;

/** Named presets; their defaults come from the benchmark (docs/BENCHMARKS.md). */
export const BUILTIN_PRESETS: Record<string, { description: string; settings: PresetOverrides }> = {
  fast: {
    description: 'Hybrid QUBO without refinement: seconds on a laptop CPU.',
    settings: { samples: 8, patch: 48, searchTimeMs: 300, refine: { scope: 'off' } },
  },
  balanced: {
    description: 'Hybrid QUBO plus a short whole-network Tensor-Train refinement.',
    settings: {},
  },
  thorough: {
    description: 'More calibration data, a longer search and a longer refinement.',
    settings: { samples: 32, patch: 96, searchTimeMs: 3000, refine: { scope: 'network', evaluations: 2000, seconds: 300, rank: 5, valSamples: 12 } },
  },
  // Odd channel counts defeat the CPU convolution kernels' blocking: on the fixtures a Half-UNet
  // pruned at 36 % without round-to ran 0.66× the original's speed, with round-to 8 1.12×
  // (docs/BENCHMARKS.md, "Latency and round-to").
  speed: {
    description: 'Balanced, with kept channel counts in multiples of 8 so the pruned model actually runs faster on CPUs.',
    settings: { roundTo: 8 },
  },
};

export const DEFAULT_PRESET = 'balanced';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Record<string, unknown>, key: string, path: string, lo: number, hi: number, opts: { integer?: boolean; openHi?: boolean } = {}): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const where = path ? `${path}.${key}` : key;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PresetError(where, `must be a number, got ${JSON.stringify(v)}`);
  if (opts.integer && !Number.isInteger(v)) throw new PresetError(where, `must be a whole number, got ${v}`);
  if (v < lo || (opts.openHi ? v >= hi : v > hi)) throw new PresetError(where, `must be in [${lo}, ${hi}${opts.openHi ? ')' : ']'}, got ${v}`);
  return v;
}

function oneOf<T extends string>(obj: Record<string, unknown>, key: string, path: string, allowed: readonly T[]): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const where = path ? `${path}.${key}` : key;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw new PresetError(where, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

const TOP_KEYS = new Set(['method', 'sparsity', 'alpha', 'beta', 'similarity', 'gamma', 'floor', 'roundTo', 'samples', 'patch', 'noise', 'searchTimeMs', 'refine', 'provider', 'seed', 'resize', 'normalize']);
const REFINE_KEYS = new Set(['scope', 'layers', 'evaluations', 'seconds', 'rank', 'valSamples', 'data', 'minGain']);

/** Checks untrusted overrides (from JSON or settings) and returns them typed; unknown keys are errors. */
export function validateOverrides(raw: unknown, path = ''): PresetOverrides {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new PresetError(path || 'preset', 'must be an object');
  for (const k of Object.keys(raw)) if (!TOP_KEYS.has(k)) throw new PresetError(path ? `${path}.${k}` : k, `unknown setting (known: ${[...TOP_KEYS].join(', ')})`);
  const out: PresetOverrides = {};
  const set = <K extends keyof PruneSettings>(k: K, v: PruneSettings[K] | undefined) => {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  };
  set('method', oneOf(raw, 'method', path, METHODS));
  set('sparsity', num(raw, 'sparsity', path, 0, 1, { openHi: true }));
  set('alpha', num(raw, 'alpha', path, 0, 1));
  set('beta', num(raw, 'beta', path, 0, 100));
  set('similarity', oneOf(raw, 'similarity', path, ['cosine', 'pearson'] as const));
  set('gamma', num(raw, 'gamma', path, 0, 10));
  set('floor', num(raw, 'floor', path, 0, 1));
  set('roundTo', num(raw, 'roundTo', path, 1, 256, { integer: true }));
  set('samples', num(raw, 'samples', path, 1, 100000, { integer: true }));
  set('patch', num(raw, 'patch', path, 8, 4096, { integer: true }));
  set('searchTimeMs', num(raw, 'searchTimeMs', path, 1, 3_600_000));
  set('provider', oneOf(raw, 'provider', path, PROVIDERS));
  set('seed', num(raw, 'seed', path, 0, 2 ** 31 - 1, { integer: true }));
  if (raw.noise !== undefined) {
    if (raw.noise !== null && (typeof raw.noise !== 'string' || !/^(gaussian:[0-9.]+|poisson-gaussian:[0-9.eE-]+,[0-9.eE-]+)$/.test(raw.noise))) {
      throw new PresetError(path ? `${path}.noise` : 'noise', `must be null, 'gaussian:σ' or 'poisson-gaussian:a,b', got ${JSON.stringify(raw.noise)}`);
    }
    out.noise = raw.noise as string | null;
  }
  if (raw.resize !== undefined) {
    if (raw.resize === null || raw.resize === 'auto') out.resize = raw.resize;
    else if (typeof raw.resize === 'number') out.resize = num(raw, 'resize', path, 8, 8192, { integer: true });
    else throw new PresetError(path ? `${path}.resize` : 'resize', `must be null, 'auto' or a whole number of pixels, got ${JSON.stringify(raw.resize)}`);
  }
  if (raw.normalize !== undefined) out.normalize = validateNormalize(raw.normalize, path ? `${path}.normalize` : 'normalize');
  if (raw.refine !== undefined) {
    const rp = path ? `${path}.refine` : 'refine';
    if (!isObject(raw.refine)) throw new PresetError(rp, 'must be an object');
    for (const k of Object.keys(raw.refine)) if (!REFINE_KEYS.has(k)) throw new PresetError(`${rp}.${k}`, `unknown setting (known: ${[...REFINE_KEYS].join(', ')})`);
    const r = raw.refine;
    const refine: DeepPartial<PruneSettings['refine']> = {};
    const scope = oneOf(r, 'scope', rp, REFINE_SCOPES);
    if (scope !== undefined) refine.scope = scope;
    const data = oneOf(r, 'data', rp, ['val', 'calib+val'] as const);
    if (data !== undefined) refine.data = data;
    const fields: [keyof PruneSettings['refine'], number, number, boolean][] = [
      ['layers', 1, 1000, true],
      ['evaluations', 1, 10_000_000, true],
      ['seconds', 0.1, 86400, false],
      ['rank', 1, 32, true],
      ['valSamples', 1, 10000, true],
      ['minGain', 0, 100, false],
    ];
    for (const [k, lo, hi, integer] of fields) {
      const v = num(r, k, rp, lo, hi, { integer });
      if (v !== undefined) (refine as Record<string, unknown>)[k] = v;
    }
    out.refine = refine;
  }
  return out;
}

function validateNormalize(v: unknown, at: string): InputNormalization {
  if (v === 'none' || v === 'imagenet') return v;
  if (!isObject(v)) throw new PresetError(at, `must be 'none', 'imagenet' or { "mean": [...], "std": [...] }, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v)) if (k !== 'mean' && k !== 'std') throw new PresetError(`${at}.${k}`, 'unknown setting (known: mean, std)');
  const list = (k: 'mean' | 'std', lo: number, hi: number, openLo: boolean): number[] => {
    const a = v[k];
    if (!Array.isArray(a) || (a.length !== 1 && a.length !== 3)) throw new PresetError(`${at}.${k}`, `must be a list of 1 or 3 numbers, got ${JSON.stringify(a)}`);
    a.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x) || (openLo ? x <= lo : x < lo) || x > hi) {
        throw new PresetError(`${at}.${k}[${i}]`, `must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(x)}`);
      }
    });
    return a as number[];
  };
  return { mean: list('mean', -10, 10, false), std: list('std', 0, 10, true) };
}

export function mergeSettings(base: PruneSettings, ...layers: PresetOverrides[]): PruneSettings {
  let s: PruneSettings = { ...base, refine: { ...base.refine } };
  for (const o of layers) {
    const { refine, ...rest } = o;
    s = { ...s, ...(rest as Partial<PruneSettings>), refine: { ...s.refine, ...(refine ?? {}) } as PruneSettings['refine'] };
  }
  return s;
}

/**
 * Resolves a preset name against the built-ins and user presets (user presets may shadow
 * built-ins), then applies explicit overrides on top.
 */
export function resolvePreset(
  name: string,
  userPresets: Record<string, unknown> = {},
  overrides: unknown = {},
): { name: string; settings: PruneSettings } {
  const layers: PresetOverrides[] = [];
  // Own keys only: 'constructor' or 'toString' must be unknown presets, not Object.prototype's.
  const builtin = Object.prototype.hasOwnProperty.call(BUILTIN_PRESETS, name) ? BUILTIN_PRESETS[name] : undefined;
  if (builtin) layers.push(builtin.settings);
  if (Object.prototype.hasOwnProperty.call(userPresets, name)) layers.push(validateOverrides(userPresets[name], `presets.${name}`));
  else if (!builtin) {
    const known = [...new Set([...Object.keys(BUILTIN_PRESETS), ...Object.keys(userPresets)])];
    throw new PresetError('preset', `unknown preset '${name}' (available: ${known.join(', ')})`);
  }
  layers.push(validateOverrides(overrides));
  return { name, settings: mergeSettings(DEFAULT_SETTINGS, ...layers) };
}

/** Parses JSON with comments and trailing commas (VS Code's JSONC), for preset files. */
export function parseJsonc(text: string, file: string): unknown {
  let out = '';
  // Windows editors save UTF-8 with a byte-order mark, which JSON.parse rejects as a token.
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  out = out.replace(/,(\s*[}\]])/g, '$1');
  try {
    return JSON.parse(out);
  } catch (err) {
    throw new PresetError(file, `not valid JSON: ${(err as Error).message}`);
  }
}

// Preset cases: settings objects (workspace settings, `quboPrune.presets`) and --config file texts
// with wrong types, unknown keys, negative budgets, NaN-ish strings, huge numbers, damaged JSONC,
// odd preset names and flag values.
import type { Rng } from '../../src/core/util/rng';
import { pick, type CaseMaker } from './cases';

const TOP = ['method', 'sparsity', 'alpha', 'beta', 'similarity', 'gamma', 'floor', 'roundTo', 'samples', 'patch', 'noise', 'searchTimeMs', 'provider', 'seed'];
const REFINE = ['scope', 'layers', 'evaluations', 'seconds', 'rank', 'valSamples', 'data', 'minGain'];
const UNKNOWN = ['sparsty', 'Sparsity', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', 'refine.scope', 'budget', '💥'];

const GOOD: Record<string, unknown[]> = {
  method: ['hybrid', 'taylor', 'l1-qubo', 'l1', 'random'],
  sparsity: [0, 0.36, 0.5, 0.99],
  alpha: [0, 0.5, 1],
  beta: [0, 1, 100],
  similarity: ['cosine', 'pearson'],
  gamma: [0, 0.35, 10],
  floor: [0, 0.1, 1],
  roundTo: [1, 8, 256],
  samples: [1, 16, 100000],
  patch: [8, 64, 4096],
  noise: [null, 'gaussian:25', 'poisson-gaussian:0.01,0.0002'],
  searchTimeMs: [1, 1000, 3_600_000],
  provider: ['auto', 'cpu', 'webgpu', 'cuda'],
  seed: [0, 7, 2 ** 31 - 1],
  scope: ['off', 'layers', 'network'],
  layers: [1, 8, 1000],
  evaluations: [1, 600],
  seconds: [0.1, 60],
  rank: [1, 4, 32],
  valSamples: [1, 12],
  data: ['val', 'calib+val'],
  minGain: [0, 0.1, 100],
};

/** Values that must be refused wherever a setting is expected, plus boundary values. */
const HOSTILE: unknown[] = [
  -1, -0.5, -1e9, -0, 1, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 5e-324, NaN, Infinity, -Infinity,
  'NaN', 'Infinity', '-1', '0.5', '1e999', '', ' ', '0x10', 'hybrid ', 'HYBRID', 'gaussian:', 'gaussian:-5', 'gaussian:1e999', 'poisson-gaussian:1,', 'gaussian:25\n',
  true, false, null, [], [1], {}, { scope: 'off' }, '__proto__', 'x'.repeat(10000),
];

function value(rng: Rng, key: string): unknown {
  const good = GOOD[key];
  if (good && rng.next() < 0.7) return pick(rng, good);
  return pick(rng, HOSTILE);
}

function randomOverrides(rng: Rng, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.nextInt(5);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.7) {
      const k = pick(rng, TOP);
      o[k] = value(rng, k);
    } else if (r < 0.85 && depth === 0) {
      const refine: Record<string, unknown> = {};
      for (let j = rng.nextInt(4); j > 0; j--) {
        const k = rng.next() < 0.9 ? pick(rng, REFINE) : pick(rng, UNKNOWN);
        refine[k] = value(rng, k);
      }
      o.refine = rng.next() < 0.9 ? refine : pick(rng, HOSTILE);
    } else {
      const k = pick(rng, UNKNOWN);
      // JSON.parse makes '__proto__' an own key; an object literal would set the prototype instead.
      Object.defineProperty(o, k, { value: value(rng, k), enumerable: true, writable: true, configurable: true });
    }
  }
  return o;
}

/** Serialises like a user would write it: JSON, sometimes with comments, trailing commas, a BOM, or literal NaN. */
function toText(rng: Rng, o: unknown): string {
  let text = JSON.stringify(o, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? `@@${v}@@` : v), rng.next() < 0.5 ? 2 : undefined) ?? 'undefined';
  text = text.replace(/"@@(NaN|Infinity|-Infinity)@@"/g, (_m, v: string) => (rng.next() < 0.5 ? v : '1e999'));
  if (rng.next() < 0.2) text = '// preset\n' + text.replace(/,/g, ', /* c */');
  if (rng.next() < 0.2) text = text.replace(/}$/, ',}');
  if (rng.next() < 0.1) text = '\ufeff' + text;
  return text;
}

function damageText(rng: Rng, text: string): string {
  const n = 1 + rng.nextInt(3);
  let t = text;
  for (let i = 0; i < n; i++) {
    const p = rng.nextInt(t.length + 1);
    const what = rng.nextInt(4);
    if (what === 0) t = t.slice(0, p) + t.slice(p + 1 + rng.nextInt(8));
    else if (what === 1) t = t.slice(0, p) + pick(rng, ['"', '/*', '//', ',', '}', '{', '\u0000', '\\', '\n', '1e999', 'NaN', ']']) + t.slice(p);
    else if (what === 2) t = t.slice(0, p);
    else t = t.slice(0, p) + t.slice(p).replace(/[0-9]/, () => String(rng.nextInt(10)));
  }
  return t;
}

const PRESET_NAMES = ['fast', 'balanced', 'thorough', 'speed', 'FAST', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'mine', 'nope'];
const FLAG_VALUES = ['0.3', '-0.2', '', 'NaN', '1e999', '1', '0', '2', 'abc', '0x1', ' 0.5 ', '-0'];

export const preset: CaseMaker = (rng) => {
  const kind = rng.nextInt(6);
  if (kind === 0) {
    // The extension's path: user presets from workspace settings, one of them chosen by name.
    const userPresets: Record<string, unknown> = {};
    for (let i = rng.nextInt(3); i >= 0; i--) {
      const name = pick(rng, PRESET_NAMES);
      Object.defineProperty(userPresets, name, { value: rng.next() < 0.8 ? randomOverrides(rng) : pick(rng, HOSTILE), enumerable: true, writable: true, configurable: true });
    }
    const presetName = pick(rng, [...Object.keys(userPresets), ...PRESET_NAMES]);
    const overrides = rng.next() < 0.5 ? randomOverrides(rng) : {};
    return { name: `settings: presets ${JSON.stringify(userPresets).slice(0, 120)}, preset '${presetName}'`, build: () => ({ kind: 'preset', userPresets, presetName, overrides }) };
  }
  if (kind === 1) {
    const top = pick(rng, [null, [], [{}], 'fast', 42, true, '', { refine: null }, { refine: [] }, { refine: 'off' }]);
    const text = JSON.stringify(top);
    return { name: `--config holding ${text}`, build: () => ({ kind: 'preset', configText: text }) };
  }
  const o = randomOverrides(rng);
  let text = toText(rng, o);
  const damaged = kind === 2;
  if (damaged) text = damageText(rng, text);
  const flags: Record<string, string> = {};
  if (rng.next() < 0.3) flags.sparsity = pick(rng, FLAG_VALUES);
  if (rng.next() < 0.2) flags.seed = pick(rng, FLAG_VALUES);
  if (rng.next() < 0.2) flags.refine = pick(rng, ['off', 'network', 'NETWORK', '']);
  if (rng.next() < 0.1) flags.noise = pick(rng, ['gaussian:25', 'gaussian:-1', 'poisson-gaussian:1e999,0', '']);
  const presetName = rng.next() < 0.3 ? pick(rng, PRESET_NAMES) : undefined;
  return {
    name: `--config ${damaged ? '(damaged) ' : ''}${JSON.stringify(text.slice(0, 140))}${Object.keys(flags).length ? ` flags ${JSON.stringify(flags)}` : ''}${presetName !== undefined ? ` --preset '${presetName}'` : ''}`,
    build: () => ({ kind: 'preset', configText: text, flags, presetName }),
  };
};

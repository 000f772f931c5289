// Presets for the CLI (flags or a JSON/JSONC file) and the extension (workspace settings): the
// defaults, the built-in presets, checking overrides against the one settings schema
// (settings/schema.ts) and merging them. Errors name the exact setting at fault, so both front
// ends can show them as they are.
import { parse as parseJsoncText, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { QuboPruneError } from './errors';
import { firstSettingProblem, joinPath } from './settings/check';
import { PresetOverridesSchema, type PresetOverrides, type PruneSettings, type RecoverSettings } from './settings/schema';

export { METHODS, PROVIDERS, REFINE_SCOPES } from './settings/schema';
export type { PresetOverrides } from './settings/schema';

export class PresetError extends QuboPruneError<'invalid-preset'> {
  constructor(
    /** Dotted path of the offending setting, e.g. 'refine.rank'. */
    readonly setting: string,
    message: string,
  ) {
    super('invalid-preset', `${setting}: ${message}`, 'input');
    this.name = 'PresetError';
  }
}

/** Fine-tuning of the balanced preset; also what a partial `recover` fills in when a preset had none. */
export const RECOVER_DEFAULTS: RecoverSettings = { steps: 300, lr: 1e-3, batch: 4, distill: 'output', timeBudget: 60, patience: 5 };

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
  budget: null,
  recover: RECOVER_DEFAULTS,
  allowLayerNormPruning: false,
  task: 'auto',
};

/** Named presets; their defaults come from the benchmark (docs/BENCHMARKS.md). */
export const BUILTIN_PRESETS: Record<string, { description: string; settings: PresetOverrides }> = {
  fast: {
    description: 'Hybrid QUBO without refinement: seconds on a laptop CPU.',
    settings: { samples: 8, patch: 48, searchTimeMs: 300, refine: { scope: 'off' }, recover: false },
  },
  balanced: {
    description: 'Hybrid QUBO plus a short whole-network Tensor-Train refinement.',
    settings: {},
  },
  thorough: {
    description: 'More calibration data, a longer search and a longer refinement.',
    settings: { samples: 32, patch: 96, searchTimeMs: 3000, refine: { scope: 'network', evaluations: 2000, seconds: 300, rank: 5, valSamples: 12 }, recover: { steps: 2000, timeBudget: 300 } },
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

/** Checks untrusted overrides (from JSON or settings) against the schema and returns them typed; unknown keys are errors. */
export function validateOverrides(raw: unknown, path = ''): PresetOverrides {
  if (raw === undefined || raw === null) return {};
  const problem = firstSettingProblem(PresetOverridesSchema, raw);
  if (problem) throw new PresetError(joinPath(path, problem.path) || 'preset', problem.message);
  return raw as PresetOverrides;
}

/** Layers overrides onto settings: `refine` and `recover` key by key, everything else replaced. */
export function mergeSettings(base: PruneSettings, ...layers: PresetOverrides[]): PruneSettings {
  let s: PruneSettings = { ...base, refine: { ...base.refine } };
  for (const o of layers) {
    const { refine, recover, ...rest } = o;
    s = { ...s, ...rest, refine: { ...s.refine, ...(refine ?? {}) } };
    if (recover !== undefined) s.recover = recover === false || recover === null ? recover : { ...(s.recover ? s.recover : RECOVER_DEFAULTS), ...recover };
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

const PARSE_ERRORS: Partial<Record<ReturnType<typeof printParseErrorCode>, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'a property name in double quotes is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: "a ':' is expected",
  CommaExpected: "a ',' is expected",
  CloseBraceExpected: "a '}' is expected",
  CloseBracketExpected: "a ']' is expected",
  EndOfFileExpected: 'nothing may follow the value',
  InvalidCommentToken: 'malformed comment',
  UnexpectedEndOfComment: 'the comment is not closed',
  UnexpectedEndOfString: 'the string is not closed',
  UnexpectedEndOfNumber: 'the number is cut short',
  InvalidUnicode: 'malformed \\u escape',
  InvalidEscapeCharacter: 'unknown escape in a string',
  InvalidCharacter: 'a control character inside a string',
};

/**
 * Parses JSON with comments and trailing commas (VS Code's JSONC, with VS Code's own parser) for
 * preset files. A syntax error is reported at its line:column in the file as the user sees it.
 */
export function parseJsonc(text: string, file: string): unknown {
  // Windows editors save UTF-8 with a byte-order mark; editors do not count it as a column.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const value: unknown = parseJsoncText(body, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) {
    const { line, column } = lineColumn(body, first.offset);
    const near = body.slice(first.offset, first.offset + Math.max(1, Math.min(first.length, 20)));
    throw new PresetError(`${file}:${line}:${column}`, `not valid JSON: ${PARSE_ERRORS[printParseErrorCode(first.error)] ?? 'syntax error'}${near.trim() ? ` at ${JSON.stringify(near)}` : ''}`);
  }
  return value;
}

/** 1-based line and column of a character offset; a CRLF counts as one line break. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

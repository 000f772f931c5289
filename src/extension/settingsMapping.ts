// Workspace settings (quboPrune.*) → pruning settings. Kept free of the vscode API so the mapping
// and its error messages are unit-tested in plain node; config.ts feeds it what VS Code returns.
import * as path from 'node:path';
import { QuboPruneError } from '../core/errors';
import { BUILTIN_PRESETS, DEFAULT_PRESET, PresetError, resolvePreset, type PresetOverrides } from '../core/presets';
import { firstSettingProblem, joinPath } from '../core/settings/check';
import { DEFAULT_ANALYSIS_SIZE, DEFAULT_OUTPUT_NAMING, PRESET_NAME_PATTERN, SECTION, WorkspaceSettingsSchema } from '../core/settings/workspace';
import type { ProviderChoice, PruneRequest, PruneSettings } from '../protocol';

export { DEFAULT_OUTPUT_NAMING, SECTION };

/** A bad value in the user's settings; `setting` is the full key as shown in the settings UI. */
export class SettingsError extends QuboPruneError<'invalid-setting'> {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super('invalid-setting', `Invalid setting ${setting}: ${message}`, 'input');
    this.name = 'SettingsError';
  }
}

/** What `workspace.getConfiguration('quboPrune')` returns, untrusted. */
export interface RawSettings {
  defaultPreset?: unknown;
  presets?: unknown;
  dataFolder?: unknown;
  provider?: unknown;
  outputNaming?: unknown;
  analysisSize?: unknown;
}

export interface ExtensionSettings {
  defaultPreset: string;
  /** User presets by name, already validated. */
  presets: Record<string, PresetOverrides>;
  /** As written in settings ('' when not configured). */
  dataFolder: string;
  provider: ProviderChoice;
  outputNaming: string;
  /** Height and width for analysing models with symbolic input sizes. */
  analysisSize: number;
}

const PRESET_NAME = new RegExp(PRESET_NAME_PATTERN);
const NAMING_VARS = new Set(['name', 'preset', 'sparsity', 'method']);

function fromPresetError(err: unknown): never {
  if (err instanceof PresetError) {
    const setting = err.setting === 'preset' ? `${SECTION}.defaultPreset` : `${SECTION}.${err.setting}`;
    throw new SettingsError(setting, err.message.slice(err.setting.length + 2));
  }
  throw err;
}

/**
 * Validates every quboPrune.* value against the workspace settings schema (preset entries against
 * the preset schema), then what a schema cannot say (known preset names, naming variables); the
 * first problem is thrown as a SettingsError. Unset, null and '' mean the default.
 */
export function readSettings(raw: RawSettings): ExtensionSettings {
  const given: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && v !== null && v !== '') given[k] = v;
  // Names first: the schema would only call a bad name an unknown key.
  if (typeof given.presets === 'object' && !Array.isArray(given.presets)) {
    for (const name of Object.keys(given.presets as object)) {
      if (!PRESET_NAME.test(name)) throw new SettingsError(`${SECTION}.presets`, `preset name ${JSON.stringify(name)} must start with a letter or digit and use only letters, digits, '.', '_' and '-'`);
    }
  }
  const problem = firstSettingProblem(WorkspaceSettingsSchema, given);
  if (problem) throw new SettingsError(joinPath(SECTION, problem.path), problem.message);
  const presets = (given.presets ?? {}) as Record<string, PresetOverrides>;

  let defaultPreset = DEFAULT_PRESET;
  if (typeof given.defaultPreset === 'string') {
    if (!Object.prototype.hasOwnProperty.call(BUILTIN_PRESETS, given.defaultPreset) && !Object.prototype.hasOwnProperty.call(presets, given.defaultPreset)) {
      throw new SettingsError(`${SECTION}.defaultPreset`, `unknown preset '${given.defaultPreset}' (available: ${presetNames(presets).join(', ')})`);
    }
    defaultPreset = given.defaultPreset;
  }
  return {
    defaultPreset,
    presets,
    dataFolder: typeof given.dataFolder === 'string' ? given.dataFolder.trim() : '',
    provider: (given.provider ?? 'auto') as ProviderChoice,
    outputNaming: typeof given.outputNaming === 'string' ? checkNaming(given.outputNaming) : DEFAULT_OUTPUT_NAMING,
    analysisSize: typeof given.analysisSize === 'number' ? given.analysisSize : DEFAULT_ANALYSIS_SIZE,
  };
}

function checkNaming(pattern: string): string {
  const setting = `${SECTION}.outputNaming`;
  for (const m of pattern.matchAll(/\$\{([^}]*)\}/g)) {
    if (!NAMING_VARS.has(m[1]!)) throw new SettingsError(setting, `unknown variable \${${m[1]}} (known: ${[...NAMING_VARS].map((v) => `\${${v}}`).join(', ')})`);
  }
  if (!pattern.toLowerCase().endsWith('.onnx')) throw new SettingsError(setting, `must end in .onnx, got '${pattern}'`);
  if (!pattern.includes('${name}')) throw new SettingsError(setting, `must contain \${name} so different models do not overwrite each other, got '${pattern}'`);
  if (path.isAbsolute(pattern)) throw new SettingsError(setting, `must be relative to the model's folder, got '${pattern}'`);
  if (pattern.split(/[\\/]/).includes('..')) throw new SettingsError(setting, `must stay inside the model's folder (no '..'), got '${pattern}'`);
  return pattern;
}

export function presetNames(userPresets: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(BUILTIN_PRESETS), ...Object.keys(userPresets)])];
}

export interface PresetChoice {
  name: string;
  /** Where it comes from: 'built-in', 'workspace settings' or both ('settings, overrides built-in'). */
  source: string;
  description: string;
  isDefault: boolean;
  settings: PruneSettings;
}

/** Every preset the user can pick, the default first, each with its resolved settings. */
export function presetChoices(s: ExtensionSettings): PresetChoice[] {
  const out: PresetChoice[] = presetNames(s.presets).map((name) => {
    const builtin = BUILTIN_PRESETS[name];
    const user = Object.prototype.hasOwnProperty.call(s.presets, name);
    const settings = resolveRunSettings(s, name).settings;
    return {
      name,
      source: builtin && user ? 'workspace settings (overrides built-in)' : user ? 'workspace settings' : 'built-in',
      description: user || !builtin ? describeSettings(settings) : builtin.description,
      isDefault: name === s.defaultPreset,
      settings,
    };
  });
  out.sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
  return out;
}

/**
 * The settings of one run: preset resolved, then the provider setting when it is not 'auto', then
 * what the user changed in the confirm step (`extra`, e.g. the sparsity).
 */
export function resolveRunSettings(s: ExtensionSettings, presetName: string, extra: PresetOverrides = {}): { name: string; settings: PruneSettings } {
  try {
    const overrides = { ...(s.provider !== 'auto' ? { provider: s.provider } : {}), ...extra };
    return resolvePreset(presetName, s.presets, overrides);
  } catch (err) {
    return fromPresetError(err);
  }
}

/** One line for QuickPick details and logs. */
export function describeSettings(p: PruneSettings): string {
  const parts = [`${p.method}`, `${Math.round(p.sparsity * 1000) / 10}% sparsity`, `${p.samples} samples`];
  parts.push(p.refine.scope === 'off' ? 'no refinement' : `refine ${p.refine.scope} (${p.refine.evaluations} evals, ${p.refine.seconds} s)`);
  if (p.provider !== 'auto') parts.push(p.provider);
  return parts.join(' · ');
}

/** Output model path for a model: the pattern's variables filled in, relative to the model's folder. */
export function outputPathFor(modelPath: string, pattern: string, vars: { preset: string; settings: PruneSettings }): string {
  const base = path.basename(modelPath).replace(/\.onnx$/i, '');
  const values: Record<string, string> = {
    name: base,
    preset: vars.preset,
    sparsity: String(Math.round(vars.settings.sparsity * 100)),
    method: vars.settings.method,
  };
  const file = pattern.replace(/\$\{([^}]*)\}/g, (_, k: string) => values[k] ?? '');
  const out = path.resolve(path.dirname(modelPath), file);
  if (path.resolve(out) === path.resolve(modelPath)) throw new SettingsError(`${SECTION}.outputNaming`, `'${pattern}' would overwrite the model itself`);
  return out;
}

/** The data folder as an absolute path ('' setting → undefined, the caller asks the user). */
export function resolveDataFolder(dataFolder: string, workspaceRoot: string | undefined): string | undefined {
  if (!dataFolder) return undefined;
  const expanded = dataFolder.replace(/^\$\{workspaceFolder\}/, workspaceRoot ?? '');
  if (path.isAbsolute(expanded)) return path.normalize(expanded);
  if (!workspaceRoot) throw new SettingsError(`${SECTION}.dataFolder`, `'${dataFolder}' is relative but no workspace folder is open`);
  return path.resolve(workspaceRoot, expanded);
}

/** How a chosen data folder is remembered: relative to the workspace when it lies inside it. */
export function dataFolderSettingValue(folder: string, workspaceRoot: string | undefined): string {
  if (workspaceRoot) {
    const rel = path.relative(workspaceRoot, folder);
    if (rel === '') return '.';
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return folder;
}

export function buildPruneRequest(args: {
  model: string;
  data: string;
  settings: ExtensionSettings;
  preset: string;
  compare: boolean;
  timeBudgetSeconds?: number;
  overrides?: PresetOverrides;
}): PruneRequest {
  const { name, settings } = resolveRunSettings(args.settings, args.preset, args.overrides);
  return {
    model: args.model,
    data: args.data,
    out: outputPathFor(args.model, args.settings.outputNaming, { preset: name, settings }),
    presetName: name,
    settings,
    compare: args.compare,
    timeBudgetSeconds: args.timeBudgetSeconds ?? 0,
  };
}

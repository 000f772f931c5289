// What is generated from the settings schemas: package.json's contributes.configuration (VS Code's
// settings UI and settings.json checking) and docs/SETTINGS.md. tools/gen-config.ts writes both;
// test/unit/settingsGenerated.test.ts fails when either is out of date.
import type { TSchema } from '@sinclair/typebox';
import { BUILTIN_PRESETS, DEFAULT_PRESET, DEFAULT_SETTINGS } from '../presets';
import { expects, isChoice, range } from './check';
import { PresetOverridesSchema } from './schema';
import { SECTION, WorkspaceSettingsSchema } from './workspace';

type Json = Record<string, unknown>;

/** A TypeBox schema as plain JSON Schema in the form VS Code reads best. */
export function toVsCodeSchema(schema: TSchema): Json {
  return convert(JSON.parse(JSON.stringify(schema)) as Json);
}

function convert(node: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    // `expects` only words error messages; VS Code would flag it as an unknown keyword.
    if (k === 'expects') continue;
    if (Array.isArray(v)) out[k] = v.map((x) => (isJson(x) ? convert(x) : x));
    else if (isJson(v)) out[k] = k === 'properties' || k === 'patternProperties' ? mapValues(v, convert) : convert(v);
    else out[k] = v;
  }
  // A union of string literals becomes an enum, which the settings UI shows as a drop-down.
  if (isChoice(node as TSchema)) {
    const { anyOf, ...rest } = out;
    return { type: 'string', enum: (anyOf as Json[]).map((b) => b.const), ...rest };
  }
  // A record keyed by a pattern is written as VS Code's own settings are: names checked by
  // propertyNames, values by additionalProperties.
  if (isJson(out.patternProperties)) {
    const [[pattern, value]] = Object.entries(out.patternProperties) as [[string, Json]];
    const { patternProperties: _, additionalProperties: __, ...rest } = out;
    return typeFirst({ ...rest, propertyNames: { pattern }, additionalProperties: value });
  }
  // The settings UI picks its editor by the top-level type, so a union of strings states it.
  const branches = out.anyOf as Json[] | undefined;
  if (branches && out.type === undefined && branches.every((b) => b.type === branches[0]!.type && typeof b.type === 'string')) out.type = branches[0]!.type;
  return typeFirst(out);
}

/** `type` first, as people write JSON Schema, so the generated file reads naturally. */
function typeFirst(o: Json): Json {
  return 'type' in o ? { type: o.type, ...o } : o;
}

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const mapValues = (o: Json, f: (v: Json) => Json): Json => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, isJson(v) ? f(v) : v]));

/** package.json's contributes.configuration. */
export function configurationContribution(): Json {
  const props = WorkspaceSettingsSchema.properties as Record<string, TSchema>;
  return {
    title: WorkspaceSettingsSchema.title,
    properties: Object.fromEntries(Object.entries(props).map(([k, s]) => [`${SECTION}.${k}`, toVsCodeSchema(s)])),
  };
}

type Schema = TSchema & { description?: string; markdownDescription?: string; properties?: Record<string, Schema>; anyOf?: Schema[]; default?: unknown; type?: string };

/** A schema's type in a few words for the tables. */
function typeText(s: Schema): string {
  if (isChoice(s)) return s.anyOf!.map((b) => `\`${JSON.stringify(b.const)}\``).join(' \\| ');
  if (s.type === 'number') return `number in ${range(s)}`;
  if (s.type === 'integer') return `integer in ${range(s)}`;
  if (s.type === 'string') return 'string';
  if (s.type === 'object') return 'object';
  return expects(s).replace(/\|/g, '\\|');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const shown = (v: unknown) => (v === undefined ? '' : `\`${JSON.stringify(v)}\``);

/** The keys under a setting that get rows of their own: an object's, or those of a union's object branches. */
function subKeys(s: Schema): [string, Schema][] {
  const objects = s.type === 'object' ? [s] : (s.anyOf ?? []).flatMap((b) => b.anyOf ?? [b]).filter((b) => b.type === 'object');
  return objects.flatMap((o) => Object.entries(o.properties ?? {}));
}

function presetRows(): string[] {
  const rows: string[] = [];
  const defaults = DEFAULT_SETTINGS as unknown as Record<string, unknown>;
  for (const [key, schema] of Object.entries(PresetOverridesSchema.properties as Record<string, Schema>)) {
    const subs = subKeys(schema);
    const value = defaults[key];
    // An object default is shown key by key in the rows below it.
    const def = subs.length > 0 && typeof value === 'object' && value !== null ? '' : shown(value);
    rows.push(`| \`${key}\` | ${typeText(schema)} | ${def} | ${cell(schema.markdownDescription ?? schema.description ?? '')} |`);
    const inner = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    for (const [k, s] of subs) rows.push(`| \`${key}.${k}\` | ${typeText(s)} | ${shown(inner[k])} | ${cell(s.markdownDescription ?? s.description ?? '')} |`);
  }
  return rows;
}

/** docs/SETTINGS.md. */
export function settingsMarkdown(): string {
  const ws = WorkspaceSettingsSchema.properties as Record<string, Schema>;
  const lines = [
    '# Settings and preset keys',
    '',
    '<!-- Generated by `npm run gen:config` from src/core/settings/schema.ts and workspace.ts; do not edit by hand. -->',
    '',
    'One schema (`src/core/settings/schema.ts`, TypeBox) defines every setting of a pruning run. It checks',
    'CLI preset files (`--config`, JSON or JSONC), CLI flags, workspace presets (`quboPrune.presets`) and the',
    '`settings` of a run report, and package.json\'s `contributes.configuration` and this page are generated',
    'from it. A bad value is reported with its dotted path, e.g. `refine.rank: must be in [1, 32], got 99`',
    '(in VS Code: `Invalid setting quboPrune.presets.NAME.refine.rank: ...`); unknown keys are errors.',
    'A syntax error in a preset file is reported at its `file:line:column`.',
    '',
    '## Preset keys',
    '',
    `Every key is optional in a preset; missing keys come from the preset named (default \`${DEFAULT_PRESET}\`), then from the defaults below. \`refine\` and \`recover\` may name some of their keys only. \`budget\` takes exactly one of its keys.`,
    '',
    '| Key | Type | Default | Meaning |',
    '|---|---|---|---|',
    ...presetRows(),
    '',
    '## Built-in presets',
    '',
    '| Preset | What it changes from the defaults | |',
    '|---|---|---|',
    ...Object.entries(BUILTIN_PRESETS).map(([name, p]) => `| \`${name}\` | ${Object.keys(p.settings).length ? `\`${JSON.stringify(p.settings)}\`` : '(nothing)'} | ${cell(p.description)} |`),
    '',
    '## Workspace settings (VS Code)',
    '',
    '| Setting | Type | Default | Meaning |',
    '|---|---|---|---|',
    ...Object.entries(ws).map(([k, s]) => `| \`${SECTION}.${k}\` | ${k === 'presets' ? 'object of presets' : typeText(s)} | ${shown(s.default)} | ${cell(s.markdownDescription ?? s.description ?? '')} |`),
    '',
  ];
  return lines.join('\n');
}

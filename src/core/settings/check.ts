// Checks a value against a settings schema with TypeBox and words each problem for a person:
// the dotted path of the setting ('refine.rank', 'normalize.std[0]') and what it must be, in the
// schema's own terms (ranges, choices, the `expects` text of a union).
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';

export interface SettingProblem {
  /** Dotted path below the checked value ('' = the value itself). */
  path: string;
  message: string;
}

/** Every problem of `value` against `schema`, one per setting, in the order TypeBox finds them. */
export function settingProblems(schema: TSchema, value: unknown): SettingProblem[] {
  const out: SettingProblem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const p = fromError(e, [], value);
    // A value that breaks several constraints (type and range) is reported once.
    if (seen.has(p.path)) continue;
    seen.add(p.path);
    out.push(p);
  }
  return out;
}

/** The first problem, or undefined when the value is valid. */
export function firstSettingProblem(schema: TSchema, value: unknown): SettingProblem | undefined {
  const first = Value.Errors(schema, value).First();
  return first ? fromError(first, [], value) : undefined;
}

/** Joins a base path and a problem's path ('presets.x' + 'refine.rank'; 'a' + '[0]' has no dot). */
export function joinPath(base: string, sub: string): string {
  if (!base) return sub;
  if (!sub) return base;
  return sub.startsWith('[') ? base + sub : `${base}.${sub}`;
}

type Schema = TSchema & {
  type?: string;
  anyOf?: Schema[];
  const?: unknown;
  properties?: Record<string, Schema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  expects?: string;
};

function fromError(e: ValueError, base: string[], root: unknown): SettingProblem {
  const segments = [...base, ...e.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))];
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys((e.schema as Schema).properties ?? {});
    return { path: dotted(segments, root), message: `unknown setting (known: ${known.join(', ')})` };
  }
  if (e.type === ValueErrorType.ObjectRequiredProperty) return { path: dotted(segments, root), message: 'is missing' };
  return problemAt(e.schema as Schema, e.value, segments, root);
}

function problemAt(schema: Schema, value: unknown, segments: string[], root: unknown): SettingProblem {
  const path = dotted(segments, root);
  if (schema.anyOf && !isChoice(schema)) {
    // A union is explained by the branch the value was evidently meant for, when there is one
    // (an object with that branch's keys, a number for the one numeric branch), else as a whole.
    const branch = pickBranch(schema.anyOf, value);
    const inner = branch ? Value.Errors(branch, value).First() : undefined;
    if (inner) return fromError(inner, segments, root);
    return { path, message: `must be ${expects(schema)}, got ${show(value)}` };
  }
  const parent = segments.length > 0 ? walk(segments.slice(0, -1), root) : undefined;
  return { path, message: leafMessage(schema, value, Array.isArray(parent)) };
}

function leafMessage(schema: Schema, value: unknown, inList: boolean): string {
  if (schema.type === 'number' || schema.type === 'integer') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${show(value)}`;
    if (schema.type === 'integer' && !Number.isInteger(value)) return `must be a whole number, got ${value}`;
    return `must be ${inList ? 'a number in ' : 'in '}${range(schema)}, got ${value}`;
  }
  if (schema.type === 'string' && typeof value === 'string' && schema.pattern && !schema.expects) return `must match ${schema.pattern}, got ${show(value)}`;
  return `must be ${expects(schema)}, got ${show(value)}`;
}

/** What a value of `schema` looks like, in words. */
export function expects(schema: Schema): string {
  if (schema.expects) return schema.expects;
  if (isChoice(schema)) return `one of ${schema.anyOf!.map((v) => `'${String(v.const)}'`).join(', ')}`;
  if (schema.const !== undefined) return show(schema.const);
  if (schema.type === 'number') return `a number in ${range(schema)}`;
  if (schema.type === 'integer') return `a whole number in ${range(schema)}`;
  if (schema.type === 'object') return 'an object';
  if (schema.type === 'array') return 'a list';
  if (schema.type === 'string') return 'a string';
  if (schema.type === 'boolean') return 'true or false';
  if (schema.type === 'null') return 'null';
  if (schema.anyOf) return schema.anyOf.map(expects).join(' or ');
  return 'valid';
}

/** '[0, 1)', '(0, 10]', '≥ 1'. */
export function range(s: Schema): string {
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  const open = s.minimum === undefined ? '(' : '[';
  const close = s.maximum === undefined ? ')' : ']';
  if (lo !== undefined && hi !== undefined) return `${open}${lo}, ${hi}${close}`;
  if (lo !== undefined) return `${open === '[' ? '≥' : '>'} ${lo}`;
  if (hi !== undefined) return `${close === ']' ? '≤' : '<'} ${hi}`;
  return '(−∞, ∞)';
}

/** A union of string literals: checked as such, shown as a list of choices. */
export function isChoice(s: Schema): boolean {
  return !!s.anyOf && s.anyOf.length > 0 && s.anyOf.every((v) => typeof v.const === 'string');
}

function flatten(branches: Schema[]): Schema[] {
  return branches.flatMap((b) => (b.anyOf && !isChoice(b) ? flatten(b.anyOf) : [b]));
}

function pickBranch(branches: Schema[], value: unknown): Schema | undefined {
  const all = flatten(branches);
  const one = (list: Schema[]) => (list.length === 1 ? list[0] : undefined);
  if (typeof value === 'number') return one(all.filter((b) => b.type === 'number' || b.type === 'integer'));
  if (Array.isArray(value)) return one(all.filter((b) => b.type === 'array' && value.length >= (b.minItems ?? 0) && value.length <= (b.maxItems ?? Infinity)));
  if (typeof value === 'object' && value !== null) {
    const objects = all.filter((b) => b.type === 'object');
    const keys = Object.keys(value);
    const fitting = objects.filter((b) => keys.length > 0 && keys.every((k) => b.properties !== undefined && k in b.properties));
    return one(fitting) ?? one(objects);
  }
  // Strings, booleans and null only ever fail a union by not being one of its values.
  return undefined;
}

function walk(segments: string[], root: unknown): unknown {
  let cur = root;
  for (const s of segments) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[s] : undefined;
  return cur;
}

/** JSON pointer segments as a setting path: 'normalize', 'std', '0' → 'normalize.std[0]'. */
function dotted(segments: string[], root: unknown): string {
  let out = '';
  let cur = root;
  for (const s of segments) {
    out = Array.isArray(cur) ? `${out}[${s}]` : out ? `${out}.${s}` : s;
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[s] : undefined;
  }
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

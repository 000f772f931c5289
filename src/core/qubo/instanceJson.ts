import { QuboError } from './errors';
import type { QuboBuildOptions, QuboGroupInput, QuboObjective } from './types';

/** A QUBO instance file (schema in docs/SOLVER.md), parsed into builder inputs. */
export interface QuboJsonInstance {
  groups: QuboGroupInput[];
  options: QuboBuildOptions;
  search: { seed?: number; iterations?: number; timeMs?: number };
}

const TOP_KEYS = new Set(['objective', 'alpha', 'beta', 'rho', 'roundTo', 'sparsity', 'keep', 'groups', 'search', 'comment']);
const GROUP_KEYS = new Set(['id', 'size', 'taylor', 'fisher', 'l1', 'h', 'similarity', 'weightSimilarity', 'floor', 'roundTo', 'locked']);
const SEARCH_KEYS = new Set(['seed', 'iterations', 'timeMs']);
const VECTOR_KEYS = ['taylor', 'fisher', 'l1', 'h'] as const;
const MATRIX_KEYS = ['similarity', 'weightSimilarity'] as const;

/** Parses JSON text (or an already parsed value); structural problems raise QuboError 'bad-json'. */
export function parseQuboJson(input: string | unknown): QuboJsonInstance {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (err) {
      throw new QuboError('bad-json', `instance is not valid JSON: ${(err as Error).message}`);
    }
  }
  const top = asObject(doc, 'instance');
  checkKeys(top, TOP_KEYS, 'instance');
  if (!Array.isArray(top.groups) || top.groups.length === 0) throw new QuboError('bad-json', "'groups' must be a non-empty array");

  const options: QuboBuildOptions = {};
  if (top.objective !== undefined) options.objective = top.objective as QuboObjective;
  for (const key of ['alpha', 'beta', 'rho', 'roundTo', 'sparsity', 'keep'] as const) {
    if (top[key] !== undefined) options[key] = asNumber(top[key], key);
  }

  const groups = top.groups.map((raw, index) => {
    const g = asObject(raw, `groups[${index}]`);
    checkKeys(g, GROUP_KEYS, `groups[${index}]`);
    if (typeof g.id !== 'string') throw new QuboError('bad-json', `groups[${index}].id must be a string`);
    const where = `group '${g.id}'`;
    const out: Partial<QuboGroupInput> & { id: string } = { id: g.id };
    for (const key of VECTOR_KEYS) if (g[key] !== undefined) out[key] = asVector(g[key], `${where}.${key}`);
    let size: number | undefined = g.size === undefined ? undefined : asNumber(g.size, `${where}.size`);
    if (size === undefined) {
      for (const key of VECTOR_KEYS) if (out[key]) size = out[key]!.length;
    }
    if (size === undefined) throw new QuboError('bad-group', `${where}: give 'size' or a score vector`);
    out.size = size;
    for (const key of MATRIX_KEYS) if (g[key] !== undefined) out[key] = asMatrix(g[key], size, `${where}.${key}`);
    if (g.floor !== undefined) out.floor = asNumber(g.floor, `${where}.floor`);
    if (g.roundTo !== undefined) out.roundTo = asNumber(g.roundTo, `${where}.roundTo`);
    if (g.locked !== undefined) {
      if (typeof g.locked !== 'boolean') throw new QuboError('bad-json', `${where}.locked must be true or false`);
      out.locked = g.locked;
    }
    return out as QuboGroupInput;
  });

  const search: QuboJsonInstance['search'] = {};
  if (top.search !== undefined) {
    const s = asObject(top.search, 'search');
    checkKeys(s, SEARCH_KEYS, 'search');
    for (const key of SEARCH_KEYS) if (s[key] !== undefined) (search as Record<string, number>)[key] = asNumber(s[key], `search.${key}`);
  }
  return { groups, options, search };
}

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new QuboError('bad-json', `${where} must be an object`);
  return v as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw new QuboError('bad-json', `${where}: unknown field '${k}' (allowed: ${[...allowed].join(', ')})`);
  }
}

function asNumber(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new QuboError('bad-json', `${where} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function asVector(v: unknown, where: string, code: 'bad-score' | 'bad-similarity' = 'bad-score'): Float64Array {
  if (!Array.isArray(v)) throw new QuboError('bad-json', `${where} must be an array of numbers`);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') throw new QuboError(code, `${where}[${i}] must be a number, got ${JSON.stringify(v[i])}`);
    out[i] = v[i] as number;
  }
  return out;
}

/** Accepts size rows of size numbers, or one flat row-major array of size² numbers. */
function asMatrix(v: unknown, size: number, where: string): Float64Array {
  if (!Array.isArray(v)) throw new QuboError('bad-json', `${where} must be an array`);
  if (v.length > 0 && Array.isArray(v[0])) {
    if (v.length !== size) throw new QuboError('similarity-size', `${where} has ${v.length} rows, expected ${size}`);
    const out = new Float64Array(size * size);
    for (let r = 0; r < size; r++) {
      const row = v[r];
      if (!Array.isArray(row) || row.length !== size) throw new QuboError('similarity-size', `${where}[${r}] must have ${size} values`);
      for (let c = 0; c < size; c++) {
        if (typeof row[c] !== 'number') throw new QuboError('bad-similarity', `${where}[${r}][${c}] must be a number, got ${JSON.stringify(row[c])}`);
        out[r * size + c] = row[c] as number;
      }
    }
    return out;
  }
  return asVector(v, where, 'bad-similarity');
}

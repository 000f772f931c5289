// Reads the worker's analysis document (docs/ANALYSIS.md) into the rows the layer tree and the
// model editor show. The document crosses a process boundary, so every field is checked and a
// missing one degrades to "unknown" rather than breaking the views. No vscode import: the webview
// bundles this file too, and tests run it in node.
import { QuboPruneError } from '../core/errors';

export interface LayerRow {
  node: string;
  op: string;
  inChannels?: number;
  outChannels?: number;
  kernel?: number[];
  params?: number;
  macs?: number;
  /** Id of the channel group whose output channels this layer produces. */
  group?: string;
  /** Why (some of) its output channels cannot be pruned. */
  locked?: { reason: string; detail: string };
  /** prunable | locked | partial | not-analysed (docs/ANALYSIS.md). */
  status?: string;
}

export interface GroupRow {
  id: string;
  channels: number;
  producers: string[];
  consumers: string[];
  params?: number;
  macs?: number;
}

export interface LockedRow {
  source: string;
  tensor: string;
  channels: number;
  reason: string;
  detail: string;
}

export interface AnalysisView {
  model?: string;
  inputShape?: number[];
  task?: string;
  totals: {
    params?: number;
    macs?: number;
    layers: number;
    groups: number;
    prunableChannels: number;
    lockedChannels: number;
  };
  layers: LayerRow[];
  groups: GroupRow[];
  locked: LockedRow[];
  unknownOps: string[];
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const nums = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
function first<T>(o: Obj, keys: string[], read: (v: unknown) => T | undefined): T | undefined {
  for (const k of keys) {
    const v = read(o[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The worker's analysis document lacks what the views need: our own bug, not the user's. */
export class AnalysisFormatError extends QuboPruneError<'bad-analysis'> {
  constructor(message: string) {
    super('bad-analysis', message, 'internal');
    this.name = 'AnalysisFormatError';
  }
}

export function normalizeAnalysis(doc: unknown): AnalysisView {
  if (!isObj(doc)) throw new AnalysisFormatError('the worker returned no analysis document');
  const groups: GroupRow[] = arr(doc.groups).map((g, i) => ({
    id: first(g, ['id', 'name'], str) ?? `group ${i}`,
    channels: first(g, ['size', 'channels', 'prunable'], num) ?? 0,
    producers: strs(g.producers),
    consumers: strs(g.consumers),
    params: first(g, ['params'], num),
    macs: first(g, ['macs'], num),
  }));
  const locked: LockedRow[] = arr(doc.locked).map((l) => ({
    source: first(l, ['source', 'node'], str) ?? '?',
    tensor: str(l.tensor) ?? '',
    channels: num(l.channels) ?? 0,
    reason: str(l.reason) ?? 'unknown',
    detail: str(l.detail) ?? '',
  }));
  const groupOf = new Map<string, string>();
  for (const g of groups) for (const p of g.producers) groupOf.set(p, g.id);
  const lockOf = new Map<string, { reason: string; detail: string }>();
  for (const l of locked) if (!lockOf.has(l.source)) lockOf.set(l.source, { reason: l.reason, detail: l.detail });

  const layers: LayerRow[] = arr(doc.layers).map((l, i) => {
    const node = first(l, ['node', 'name'], str) ?? `layer ${i}`;
    const explicitGroup = str(l.group);
    const status = str(l.status);
    const row: LayerRow = {
      node,
      op: str(l.op) ?? '?',
      inChannels: first(l, ['inChannels', 'in'], num),
      outChannels: first(l, ['outChannels', 'out'], num),
      kernel: nums(l.kernel),
      params: num(l.params),
      macs: num(l.macs),
    };
    const group = explicitGroup ?? groupOf.get(node);
    if (group !== undefined) row.group = group;
    const lockReason = str(l.lockReason);
    const lock = lockReason !== undefined ? { reason: lockReason, detail: str(l.lockDetail) ?? '' } : lockOf.get(node);
    // 'partial' layers produce a group and also have locked channels: show both.
    if (lock && (group === undefined || status === 'locked' || status === 'partial')) row.locked = lock;
    if (status !== undefined) row.status = status;
    return row;
  });

  const totalsIn = isObj(doc.totals) ? doc.totals : {};
  const sum = (xs: (number | undefined)[]) => (xs.every((x) => x === undefined) ? undefined : xs.reduce<number>((a, b) => a + (b ?? 0), 0));
  const view: AnalysisView = {
    totals: {
      params: num(totalsIn.params) ?? sum(layers.map((l) => l.params)),
      macs: num(totalsIn.macs) ?? sum(layers.map((l) => l.macs)),
      layers: num(totalsIn.layers) ?? layers.length,
      groups: groups.length,
      prunableChannels: num(totalsIn.variables) ?? num(totalsIn.prunableChannels) ?? groups.reduce((a, g) => a + g.channels, 0),
      lockedChannels: num(totalsIn.lockedChannels) ?? locked.reduce((a, l) => a + l.channels, 0),
    },
    layers,
    groups,
    locked,
    unknownOps: strs(doc.unknownOps),
    warnings: strs(doc.warnings),
  };
  if (doc.dependenciesAnalysed === false) view.warnings.unshift('No dependency analysis ran: channel groups and locks are unknown.');
  const model = isObj(doc.model) ? str(doc.model.path) : first(doc, ['model', 'file'], str);
  if (model !== undefined) view.model = model;
  const shape = nums(doc.inputShape);
  if (shape) view.inputShape = shape;
  const task = str(doc.task);
  if (task !== undefined) view.task = task;
  return view;
}

/** '6 in 2 sets' (one set per source node): the one way every view counts locked channels. */
export function lockedSummary(channels: number, sets: number): string {
  return sets ? `${channels} in ${sets} set${sets === 1 ? '' : 's'}` : String(channels);
}

/** A tree label without the path noise of exporter node names: '/body/body.11/Conv' → 'body.11/Conv'. */
export function shortLabel(id: string): string {
  const parts = id.split('/').filter(Boolean);
  return parts.length > 2 ? parts.slice(-2).join('/') : parts.join('/') || id;
}

/** 12345678 → '12.3M'; used by both the tree and the webviews. */
export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(a >= 1e10 ? 1 : 2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(a >= 1e4 ? 1 : 2)}k`;
  return String(Math.round(n));
}

export const LOCK_REASONS: Record<string, string> = {
  'graph-output': 'feeds a graph output',
  'graph-input': 'is a graph input',
  'unknown-op': 'passes through an op the analysis does not understand',
  'channel-mixing': 'is mixed with other channels (reshape/flatten)',
  'grouped-conv': 'feeds a grouped or depthwise convolution',
  unresolved: 'coupling could not be resolved',
};

export function describeLock(reason: string, detail: string): string {
  const text = LOCK_REASONS[reason] ?? reason;
  return detail ? `${text} (${detail})` : text;
}

/**
 * For a 'symbolic-input' analysis error, the concrete shape to retry with: the error suggests one
 * such as `--input-shape 1,3,<height>,<width>`; each symbolic dim gets `size`. Undefined when the
 * message carries no usable suggestion (several inputs, no declared shape).
 */
export function fillSymbolicShape(message: string, size: number): number[] | undefined {
  const m = /--input-shape ((?:\d+|<[^<>,]+>)(?:,(?:\d+|<[^<>,]+>))*)/.exec(message);
  if (!m) return undefined;
  const dims = m[1]!.split(',').map((d) => (/^\d+$/.test(d) ? Number(d) : size));
  return dims.every((d) => Number.isInteger(d) && d > 0) ? dims : undefined;
}

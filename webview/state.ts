// State of a webview (report panel or model editor). The extension always sends whole snapshots,
// so the reducer replaces rather than merges; the same state is stored with setState and comes
// back through getState (panel hidden and shown again) or the panel serializer (VS Code
// restarted). What the user chose in the page (tab, sort order, preset) lives here too, so it
// survives the same way. Pure: no DOM, tested in node.
import type { PanelMessage } from '../src/view/panelMessages';
import { isModelViewState, isRunViewState, type ModelViewState, type RunViewState } from '../src/view/panelState';

export type ViewKind = 'report' | 'model';

export type ReportTab = 'live' | 'results' | 'layers' | 'compare';
export const REPORT_TABS: readonly ReportTab[] = ['live', 'results', 'layers', 'compare'];

export interface SortSpec {
  key: string;
  dir: 'asc' | 'desc';
}

export interface WebviewState {
  view: ViewKind;
  snapshot?: RunViewState;
  model?: ModelViewState;
  /** Id of the channel group or layer row to mark. */
  highlight?: string;
  /** The report tab the user picked for this run; unset = the one that fits the run's status. */
  tab?: ReportTab;
  /** Sort order per data grid (by grid id). */
  sort?: Record<string, SortSpec>;
  /** The preset picked in the model editor's dropdown; unset = the default preset. */
  preset?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const isTab = (v: unknown): v is ReportTab => typeof v === 'string' && (REPORT_TABS as readonly string[]).includes(v);

function restoreSort(v: unknown): Record<string, SortSpec> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, SortSpec> = {};
  for (const [grid, spec] of Object.entries(v)) {
    if (isObj(spec) && typeof spec.key === 'string' && (spec.dir === 'asc' || spec.dir === 'desc')) out[grid] = { key: spec.key, dir: spec.dir };
  }
  return Object.keys(out).length ? out : undefined;
}

/** State from getState() (or the serializer), checked: a stale or foreign shape starts empty. */
export function restoreState(saved: unknown, view: ViewKind): WebviewState {
  const out: WebviewState = { view };
  if (!isObj(saved) || saved.view !== view) return out;
  if (view === 'report' && isRunViewState(saved.snapshot)) out.snapshot = saved.snapshot;
  if (view === 'model' && isModelViewState(saved.model)) out.model = saved.model;
  if (typeof saved.highlight === 'string') out.highlight = saved.highlight;
  if (view === 'report' && isTab(saved.tab)) out.tab = saved.tab;
  const sort = restoreSort(saved.sort);
  if (sort) out.sort = sort;
  if (view === 'model' && typeof saved.preset === 'string') out.preset = saved.preset;
  return out;
}

/** What survives a new snapshot or model: the user's sort orders, and the rest only for the same run or model. */
function carry(state: WebviewState, same: boolean): Partial<WebviewState> {
  const out: Partial<WebviewState> = {};
  if (state.sort) out.sort = state.sort;
  if (!same) return out;
  if (state.highlight !== undefined) out.highlight = state.highlight;
  if (state.tab !== undefined) out.tab = state.tab;
  return out;
}

export function reduce(state: WebviewState, msg: unknown): WebviewState {
  if (!isObj(msg)) return state;
  const m = msg as PanelMessage;
  switch (m.type) {
    case 'snapshot': {
      if (state.view !== 'report' || !isRunViewState(m.state)) return state;
      // A different run clears the mark and the tab choice of the previous one.
      return { view: 'report', snapshot: m.state, ...carry(state, state.snapshot?.runId === m.state.runId) };
    }
    case 'model': {
      if (state.view !== 'model' || !isModelViewState(m.state)) return state;
      const next: WebviewState = { view: 'model', model: m.state, ...carry(state, state.model?.model === m.state.model) };
      // A preset that left the settings is not offered any more.
      if (state.preset !== undefined && (m.state.presets ?? []).some((p) => p.name === state.preset)) next.preset = state.preset;
      return next;
    }
    case 'highlight':
      return typeof m.id === 'string' ? { ...state, highlight: m.id } : state;
    default:
      return state;
  }
}

/** The tab to show: the user's pick, else Live while running, Compare for a comparison, Results when done. */
export function shownTab(state: WebviewState): ReportTab {
  if (state.tab) return state.tab;
  const s = state.snapshot;
  if (!s) return 'live';
  if (s.compareOnly && s.status !== 'running') return 'compare';
  return s.status === 'running' || !s.summary ? 'live' : 'results';
}

export function selectTab(state: WebviewState, tab: string): WebviewState {
  if (!isTab(tab) || tab === shownTab(state)) return state;
  return { ...state, tab };
}

/** A header click: a new column sorts descending (largest first, what one looks for), the same one flips. */
export function toggleSort(state: WebviewState, grid: string, key: string): WebviewState {
  const cur = state.sort?.[grid];
  const dir: SortSpec['dir'] = cur?.key === key && cur.dir === 'desc' ? 'asc' : 'desc';
  return { ...state, sort: { ...state.sort, [grid]: { key, dir } } };
}

export function choosePreset(state: WebviewState, name: string | undefined): WebviewState {
  if (state.view !== 'model' || !name || !(state.model?.presets ?? []).some((p) => p.name === name) || name === state.preset) return state;
  return { ...state, preset: name };
}

/** The preset the dropdown shows: the user's pick, else the default one, else the first. */
export function shownPreset(state: WebviewState): string | undefined {
  const presets = state.model?.presets ?? [];
  return state.preset ?? presets.find((p) => p.isDefault)?.name ?? presets[0]?.name;
}

/**
 * Rows ordered by a sort spec through `value` (numbers compare as numbers, missing values last
 * either way); stable, so equal rows keep the graph's order. Without a spec, the input order.
 */
export function sortRows<T>(rows: readonly T[], spec: SortSpec | undefined, value: (row: T, key: string) => number | string | undefined): T[] {
  const indexed = rows.map((row, i) => ({ row, i }));
  if (!spec) return indexed.map((x) => x.row);
  const sign = spec.dir === 'asc' ? 1 : -1;
  indexed.sort((a, b) => {
    const va = value(a.row, spec.key);
    const vb = value(b.row, spec.key);
    const ma = va === undefined || (typeof va === 'number' && !Number.isFinite(va));
    const mb = vb === undefined || (typeof vb === 'number' && !Number.isFinite(vb));
    if (ma || mb) return ma === mb ? a.i - b.i : ma ? 1 : -1;
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return c ? sign * c : a.i - b.i;
  });
  return indexed.map((x) => x.row);
}

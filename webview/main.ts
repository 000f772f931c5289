// Entry of both webviews (report panel and model editor); <body data-view> says which. State
// logic lives in state.ts, HTML in render.ts and the controls' library in toolkit.ts; this file
// only wires them to the DOM, the charts and the VS Code webview API.
import type { PanelRequest } from '../src/view/panelMessages';
import { ReportCharts } from './charts';
import { renderClock, renderEmptyReport, renderModel, renderModelActions, renderReportSections, reportSkeleton } from './render';
import { alternativeFromButton, showsRecoverChart } from './results';
import { choosePreset, reduce, restoreState, selectTab, shownPreset, shownTab, toggleSort, type ViewKind, type WebviewState } from './state';
import { activeTab, dropdownValue, registerToolkit, showTab } from './toolkit';

interface VsCodeApi {
  postMessage(msg: PanelRequest): void;
  getState(): unknown;
  setState(state: WebviewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const view: ViewKind = document.body.dataset.view === 'model' ? 'model' : 'report';
let state = restoreState(vscode.getState(), view);

// A blocked style or script would break a control silently; record it where a test (and a
// curious user with the webview dev tools) can read it, with the blocked element's id and the
// script position that inserted it (how the toolkit's :focus-visible probe was found).
document.addEventListener('securitypolicyviolation', (e) => {
  const seen = document.body.dataset.cspViolations ? `${document.body.dataset.cspViolations}; ` : '';
  const id = (e.target as Element | null)?.id;
  const at = e.sourceFile ? ` at ${e.sourceFile.slice(e.sourceFile.lastIndexOf('/') + 1)}:${e.lineNumber}:${e.columnNumber}` : '';
  document.body.dataset.cspViolations = `${seen}${e.violatedDirective} ${e.blockedURI || 'inline'}${id ? ` #${id}` : ''}${at}`;
});

function $(id: string): HTMLElement {
  return document.getElementById(id)!;
}

function applyBars(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-fraction]').forEach((el) => {
    el.style.width = `${Number(el.dataset.fraction) * 100}%`;
  });
}

function setHtml(id: string, html: string): void {
  const el = $(id);
  if (el.innerHTML !== html) el.innerHTML = html;
  applyBars(el);
}

let charts: ReportCharts | undefined;

function renderReport(): void {
  if (!document.getElementById('report')) document.body.innerHTML = reportSkeleton(shownTab(state));
  const s = state.snapshot;
  $('tabs-box').hidden = !s;
  // A comparison has no search trace of its own and no refinement: empty axes would only puzzle.
  $('charts').hidden = !!s?.compareOnly;
  $('recover-chart-box').hidden = !showsRecoverChart(s);
  $('kept-chart-box').hidden = !s?.summary || !!s.summary.compareOnly;
  $('pareto-charts').hidden = !s?.summary?.comparison?.length;
  $('log-section').hidden = !s;
  setHtml('empty', s ? '' : renderEmptyReport());
  if (!s) return;
  showTab(document.getElementById('report-tabs') as (HTMLElement & { activeid?: string }) | null, shownTab(state));
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  const sections = renderReportSections(s, state.highlight, state.sort);
  for (const [id, html] of Object.entries(sections)) setHtml(id, html);
  if (atBottom) log.scrollTop = log.scrollHeight;
  document.body.dataset.status = s.status;
  document.body.dataset.tab = shownTab(state);
  charts ??= new ReportCharts((id) => $(id) as HTMLCanvasElement);
  charts.update(s);
}

function renderModelView(): void {
  const html = renderModel(state.model, state.highlight, { ...(state.sort ? { sort: state.sort } : {}), preset: shownPreset(state) });
  if (document.body.innerHTML !== html) document.body.innerHTML = html;
  document.body.dataset.status = state.model?.status ?? 'loading';
}

let scrolledTo: string | undefined;

function render(): void {
  if (view === 'report') renderReport();
  else renderModelView();
  // Scroll only when the mark moves, not on every snapshot.
  if (state.highlight && state.highlight !== scrolledTo) {
    const row = document.querySelector(`[data-id="${CSS.escape(state.highlight)}"]`);
    if (row) {
      row.scrollIntoView({ block: 'center' });
      scrolledTo = state.highlight;
    }
  }
}

function commit(next: WebviewState): void {
  if (next === state) return;
  state = next;
  vscode.setState(state);
  render();
}

window.addEventListener('message', (e: MessageEvent<unknown>) => commit(reduce(state, e.data)));

/** Each button action's request; `el` is the button, for actions that carry data (which alternative). */
const ACTIONS: Record<string, (el: HTMLElement) => PanelRequest | undefined> = {
  cancel: () => ({ type: 'cancel' }),
  'reveal-output': () => ({ type: 'reveal-output' }),
  'open-markdown': () => ({ type: 'open-markdown' }),
  'model-prune': () => ({ type: 'model-command', command: 'prune' }),
  'model-prune-preset': () => {
    const preset = shownPreset(state);
    return preset ? { type: 'model-command', command: 'prune-with-preset', preset } : { type: 'model-command', command: 'prune-with-preset' };
  },
  'model-analyze': () => ({ type: 'model-command', command: 'analyze' }),
  'flag-alternative': (el) => {
    const alt = alternativeFromButton({ ...(el.dataset.preset !== undefined ? { preset: el.dataset.preset } : {}), ...(el.dataset.sparsity !== undefined ? { sparsity: el.dataset.sparsity } : {}) });
    return alt ? { type: 'flag-alternative', ...alt } : undefined;
  },
};

document.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const button = target.closest<HTMLElement>('[data-action]');
  if (button) {
    const req = ACTIONS[button.dataset.action ?? '']?.(button);
    if (req) vscode.postMessage(req);
    return;
  }
  const header = target.closest<HTMLElement>('[data-sort-key]');
  if (header) {
    const grid = header.closest('vscode-data-grid')?.id;
    if (grid) commit(toggleSort(state, grid, header.dataset.sortKey!));
    return;
  }
  const row = target.closest<HTMLElement>('[data-id]');
  if (row) vscode.postMessage({ type: 'reveal-layer', group: row.dataset.group ?? row.dataset.id! });
});

// Tabs and the preset dropdown both say 'change'; the element's id tells which.
document.addEventListener('change', (e) => {
  const el = e.target as HTMLElement | null;
  if (el?.id === 'report-tabs') {
    const tab = activeTab(el);
    if (tab) commit(selectTab(state, tab));
  } else if (el?.id === 'preset-select') {
    const next = choosePreset(state, dropdownValue(el));
    if (next === state || !state.model) return;
    state = next;
    vscode.setState(state);
    // Only the line beside the dropdown changes; re-rendering the dropdown would close it under the user.
    const detail = new DOMParser().parseFromString(renderModelActions(state.model!, shownPreset(state)), 'text/html').getElementById('preset-detail');
    if (detail) $('preset-detail').textContent = detail.textContent;
  }
});

// The theme changes the body's class; charts read colours once, so rebuild them.
new MutationObserver(() => charts?.retheme(state.snapshot)).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// Snapshots arrive with progress, which can pause for seconds (a long evaluation); the clock must not.
if (view === 'report') {
  setInterval(() => {
    const s = state.snapshot;
    const el = document.getElementById('clock');
    if (s?.status === 'running' && el) el.textContent = renderClock(s, Date.now());
  }, 1000);
}

registerToolkit().then(
  () => (document.body.dataset.toolkit = 'ready'),
  (err: unknown) => (document.body.dataset.toolkit = `failed: ${(err as Error).message}`),
);
render();
vscode.postMessage({ type: 'ready' });

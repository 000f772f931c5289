// Entry of both webviews (report panel and model editor); <body data-view> says which. State
// logic lives in state.ts and HTML in render.ts; this file only wires them to the DOM, the
// charts and the VS Code webview API.
import type { PanelRequest } from '../src/protocol';
import { ReportCharts } from './charts';
import { renderClock, renderEmptyReport, renderModel, renderReportSections } from './render';
import { reduce, restoreState, type ViewKind, type WebviewState } from './state';

interface VsCodeApi {
  postMessage(msg: PanelRequest): void;
  getState(): unknown;
  setState(state: WebviewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const view: ViewKind = document.body.dataset.view === 'model' ? 'model' : 'report';
let state = restoreState(vscode.getState(), view);

const REPORT_SKELETON = `<main id="report">
<header id="header"></header>
<div id="actions" class="actions"></div>
<div id="empty"></div>
<section id="live">
<h2>Stages</h2><div id="stages"></div>
<div class="charts" id="charts">
<div class="chart"><h2>Solver energy</h2><div class="canvas-box"><canvas id="energy-chart" aria-label="QUBO energy per iteration"></canvas></div></div>
<div class="chart"><h2>Refinement (best and elite mean)</h2><div class="canvas-box"><canvas id="refine-chart" aria-label="refinement metric per evaluation"></canvas></div></div>
</div>
<h2>Per-layer capacity (kept / total)</h2><div id="capacities"></div>
</section>
<section id="results"></section>
<section id="log-section"><h2>Log</h2><div id="log" class="log" tabindex="0"></div></section>
</main>`;

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
  if (!document.getElementById('report')) document.body.innerHTML = REPORT_SKELETON;
  const s = state.snapshot;
  $('live').hidden = !s;
  // A comparison has no search trace of its own and no refinement: empty axes would only puzzle.
  $('charts').hidden = !!s?.compareOnly;
  $('log-section').hidden = !s;
  setHtml('empty', s ? '' : renderEmptyReport());
  if (!s) return;
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  const sections = renderReportSections(s, state.highlight);
  for (const [id, html] of Object.entries(sections)) setHtml(id, html);
  if (atBottom) log.scrollTop = log.scrollHeight;
  document.body.dataset.status = s.status;
  charts ??= new ReportCharts($('energy-chart') as HTMLCanvasElement, $('refine-chart') as HTMLCanvasElement);
  charts.update(s);
}

function renderModelView(): void {
  const html = renderModel(state.model, state.highlight);
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

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const next = reduce(state, e.data);
  if (next === state) return;
  state = next;
  vscode.setState(state);
  render();
});

const ACTIONS: Record<string, PanelRequest> = {
  cancel: { type: 'cancel' },
  'reveal-output': { type: 'reveal-output' },
  'open-markdown': { type: 'open-markdown' },
  'model-prune': { type: 'model-command', command: 'prune' },
  'model-prune-preset': { type: 'model-command', command: 'prune-with-preset' },
  'model-analyze': { type: 'model-command', command: 'analyze' },
};

document.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const button = target.closest<HTMLElement>('[data-action]');
  if (button) {
    const req = ACTIONS[button.dataset.action ?? ''];
    if (req) vscode.postMessage(req);
    return;
  }
  const row = target.closest<HTMLElement>('tr[data-id]');
  if (row) vscode.postMessage({ type: 'reveal-layer', group: row.dataset.group ?? row.dataset.id! });
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

render();
vscode.postMessage({ type: 'ready' });

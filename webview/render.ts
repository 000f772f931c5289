// HTML of each section of the report panel and the model editor, as strings from state. Pure, so
// restoring from a snapshot is tested in node. Every text from outside is escaped; widths of bars
// travel in data-fraction attributes and are applied through CSSOM by main.ts, because the CSP
// forbids inline style attributes. Controls (buttons, dropdown, grids, tabs) come from toolkit.ts.
import type { GroupCapacity, MetricSet, RunSummary } from '../src/core/pipeline/events';
import { describeLock, formatCount, lockedSummary, normalizeAnalysis, type AnalysisView } from '../src/view/analysisModel';
import type { ModelViewState, RunViewState } from '../src/view/panelState';
import { describeClock, formatShape, runClock } from '../src/view/runClock';
import { esc } from './html';
import { renderBudget, renderFlagBanner, renderLatency, renderRecovery } from './results';
import { sortRows, type SortSpec } from './state';
import { button, dataGrid, dropdown, panels, progressRing, type GridColumn } from './toolkit';

export { esc };

export function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

function bar(fraction: number, cls = ''): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  return `<span class="bar ${cls}"><span class="fill" data-fraction="${f.toFixed(4)}"></span></span>`;
}

const STATUS_LABEL: Record<RunViewState['status'], string> = { running: 'Running', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' };
const STAGE_ICON: Record<string, string> = { pending: '○', running: '◐', done: '●', skipped: '–', failed: '✕' };

/** Elapsed time and the running stage's time left; main.ts refreshes it every second. */
export function renderClock(s: RunViewState, nowMs: number): string {
  const c = runClock(s, nowMs);
  return esc(describeClock(c));
}

export function renderHeader(s: RunViewState, nowMs = Date.now()): string {
  const provider = s.provider ? ` · ${esc(s.provider)}` : '';
  const err = s.error ? `<div class="error" role="alert">${esc(s.error)}</div>` : '';
  const f = s.summary?.sparsity ?? s.sparsity;
  const sparsity = f !== undefined ? ` · ${Math.round(f * 1000) / 10}% filter sparsity` : '';
  const what = s.compareOnly ? 'compare methods · ' : '';
  const running = s.stages.find((st) => st.status === 'running');
  const ring = s.status === 'running' ? progressRing(running ? `${running.name} running` : 'starting') : '';
  return `<h1>${esc(basename(s.model))}</h1>
<div class="sub">${ring}<span class="badge status-${s.status}" data-status="${s.status}">${STATUS_LABEL[s.status]}</span> ${what}preset <b>${esc(s.preset)}</b>${sparsity}${provider} · <span id="clock" class="clock">${renderClock(s, nowMs)}</span></div>${err}`;
}

export function renderStages(s: RunViewState): string {
  const items = s.stages
    .map((st) => {
      const secs = st.seconds !== undefined ? `${st.seconds.toFixed(1)} s` : st.status === 'running' ? `${Math.round(st.fraction * 100)}%` : '';
      const note = st.status === 'running' && st.message ? ` <span class="muted stage-note">${esc(st.message)}</span>` : '';
      return `<li class="stage stage-${st.status}" data-stage="${esc(st.name)}"><span class="icon">${STAGE_ICON[st.status] ?? '?'}</span><span class="name">${esc(st.name)}${note}</span>${bar(st.fraction)}<span class="secs">${secs}</span></li>`;
    })
    .join('');
  return `<ol class="stages">${items}</ol>`;
}

export function renderCapacities(groups: GroupCapacity[], highlight?: string): string {
  if (!groups.length) return '<p class="muted">Per-layer capacities appear when the search starts.</p>';
  const rows = groups
    .map((g) => {
      const cls = g.id === highlight ? ' class="highlight"' : '';
      return `<tr data-id="${esc(g.id)}"${cls}><td class="id" title="${esc(g.id)}">${esc(g.id)}</td><td class="barcell">${bar(g.total ? g.kept / g.total : 0, 'cap')}</td><td class="num">${g.kept}/${g.total}</td></tr>`;
    })
    .join('');
  const kept = groups.reduce((a, g) => a + g.kept, 0);
  const total = groups.reduce((a, g) => a + g.total, 0);
  return `<table class="caps"><tbody>${rows}</tbody><tfoot><tr><td>all groups</td><td class="barcell">${bar(total ? kept / total : 0, 'cap')}</td><td class="num">${kept}/${total}</td></tr></tfoot></table>`;
}

interface MetricRow {
  label: string;
  key: keyof MetricSet;
  fmt: (v: number) => string;
  /** Whether a larger value is better (for the sign colour of the change). */
  higherBetter: boolean;
}

const METRIC_ROWS: MetricRow[] = [
  { label: 'PSNR (dB)', key: 'psnr', fmt: (v) => v.toFixed(2), higherBetter: true },
  { label: 'SSIM', key: 'ssim', fmt: (v) => v.toFixed(4), higherBetter: true },
  { label: 'Accuracy', key: 'accuracy', fmt: (v) => `${(v * 100).toFixed(1)}%`, higherBetter: true },
  { label: 'Cross-entropy', key: 'crossEntropy', fmt: (v) => v.toFixed(4), higherBetter: false },
  // Segmentation is scored against the unpruned model's own class maps, not ground truth.
  { label: 'Pixel agreement with the original', key: 'pixelAgreement', fmt: (v) => `${(v * 100).toFixed(2)}%`, higherBetter: true },
  { label: 'Mean IoU vs the original', key: 'meanIoU', fmt: (v) => v.toFixed(4), higherBetter: true },
  { label: 'Parameters', key: 'params', fmt: formatCount, higherBetter: false },
  { label: 'MACs', key: 'macs', fmt: formatCount, higherBetter: false },
  { label: 'Latency (ms)', key: 'latencyMs', fmt: (v) => v.toFixed(2), higherBetter: false },
];

function change(before: number, after: number, row: MetricRow): string {
  const d = after - before;
  const good = row.higherBetter ? d >= 0 : d <= 0;
  const text = row.key === 'params' || row.key === 'macs' || row.key === 'latencyMs' ? (before ? `${((d / before) * 100).toFixed(1)}%` : '–') : `${d >= 0 ? '+' : ''}${row.fmt(d)}`;
  return `<span class="${good ? 'good' : 'bad'}">${esc(text)}</span>`;
}

/** Where the metrics were measured: 'test split, 12 images, 48×48 centre crops; MACs and latency at input 1×3×48×48'. */
export function describeEvaluation(sum: RunSummary): string {
  const e = sum.evaluation;
  if (!e) return 'Measured on the test split (this report predates the note of its size).';
  // Newer runs say how the test images were measured (whole, tiled) and what calibration scored.
  const what = e.test ?? (e.patch ? `${e.samples} crop${e.samples === 1 ? '' : 's'} of ${e.patch[0]}×${e.patch[1]}` : 'whole images');
  const calib = e.calibration ? ` Calibration and refinement on ${e.calibration}.` : '';
  // Latency is timed at the model's real input size, which may differ from the analysed one.
  const timedAt = sum.before.latency?.inputShape;
  const shapes = timedAt && formatShape(timedAt) !== formatShape(e.inputShape) ? `MACs at input ${formatShape(e.inputShape)}, latency at ${formatShape(timedAt)}` : `MACs and latency at input ${formatShape(e.inputShape)}`;
  return `Measured on the ${e.split} split: ${e.images} image${e.images === 1 ? '' : 's'}, ${what}.${calib} ${shapes}.`;
}

function macsLabel(sum: RunSummary): string {
  return sum.evaluation ? `MACs at ${formatShape(sum.evaluation.inputShape)}` : 'MACs';
}

export function renderMetrics(sum: RunSummary): string {
  const refined = sum.beforeRefine !== undefined;
  const head = `<tr><th>Metric</th><th>Before</th>${refined ? '<th>QUBO only</th>' : ''}<th>After</th><th>Change</th></tr>`;
  // The latency table below has the batch-1 median with its spread; one row here would repeat it.
  const timed = sum.before.latency !== undefined && sum.after.latency !== undefined;
  const rows = METRIC_ROWS.filter((r) => sum.before[r.key] !== undefined && sum.after[r.key] !== undefined && !(timed && r.key === 'latencyMs'))
    .map((r) => {
      const b = sum.before[r.key] as number;
      const a = sum.after[r.key] as number;
      const q = sum.beforeRefine?.[r.key] as number | undefined;
      return `<tr data-metric="${r.key}"><td>${r.key === 'macs' ? esc(macsLabel(sum)) : r.label}</td><td class="num">${esc(r.fmt(b))}</td>${refined ? `<td class="num">${q === undefined ? '–' : esc(r.fmt(q))}</td>` : ''}<td class="num after">${esc(r.fmt(a))}</td><td class="num">${change(b, a, r)}</td></tr>`;
    })
    .join('');
  const stageSecs = Object.entries(sum.stageSeconds)
    .map(([k, v]) => `${esc(k)} ${(v as number).toFixed(1)} s`)
    .join(' · ');
  return `<p class="muted evaluation-note">${esc(describeEvaluation(sum))}</p><table class="metrics"><thead>${head}</thead><tbody>${rows}</tbody></table>
<p class="muted">${esc(sum.method)} at ${(sum.sparsity * 100).toFixed(1)}% filter sparsity on ${esc(sum.provider)} in ${sum.seconds.toFixed(1)} s${stageSecs ? ` (${stageSecs})` : ''}.<br>Output: <code>${esc(sum.output)}</code></p>`;
}

export function renderComparison(sum: RunSummary): string {
  const listed = sum.comparison ?? [];
  if (!listed.length) return '';
  // A compare-only run has no "after" table, so the original model is its first row.
  const original = { method: 'original', ...sum.before, seconds: NaN };
  const rows = sum.compareOnly ? [original, ...listed] : listed;
  const hasPsnr = rows.some((r) => r.psnr !== undefined);
  const hasSsim = rows.some((r) => r.ssim !== undefined);
  const hasAcc = rows.some((r) => r.accuracy !== undefined);
  const hasLat = rows.some((r) => r.latencyMs !== undefined);
  const head = `<tr><th>Method</th>${hasPsnr ? '<th>PSNR (dB)</th>' : ''}${hasSsim ? '<th>SSIM</th>' : ''}${hasAcc ? '<th>Accuracy</th>' : ''}<th>Params</th><th>${esc(macsLabel(sum))}</th>${hasLat ? '<th>Latency (ms)</th>' : ''}<th title="time the method took to choose its channels">Selection (s)</th></tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr data-method="${esc(r.method)}"><td>${esc(r.method)}</td>${hasPsnr ? `<td class="num">${r.psnr?.toFixed(2) ?? '–'}</td>` : ''}${hasSsim ? `<td class="num">${r.ssim?.toFixed(4) ?? '–'}</td>` : ''}${hasAcc ? `<td class="num">${r.accuracy !== undefined ? (r.accuracy * 100).toFixed(1) + '%' : '–'}</td>` : ''}<td class="num">${formatCount(r.params)}</td><td class="num">${formatCount(r.macs)}</td>${hasLat ? `<td class="num">${r.latencyMs?.toFixed(2) ?? '–'}</td>` : ''}<td class="num">${Number.isFinite(r.seconds) ? r.seconds.toFixed(2) : '–'}</td></tr>`,
    )
    .join('');
  const title = sum.compareOnly
    ? `<h2>Methods at ${Math.round(sum.sparsity * 1000) / 10}% filter sparsity</h2><p class="muted compare-note">Same settings, data and importance as the run of <code>${esc(basename(sum.output))}</code>; no refinement, nothing written. ${esc(describeEvaluation(sum))}</p>`
    : '<h2>Baselines at the same sparsity</h2>';
  return `${title}<table class="comparison"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

const LAYER_COLUMNS: GridColumn[] = [
  { title: 'Channel group', width: '3fr' },
  { title: 'Channels', sortKey: 'channels', numeric: true, width: '1fr' },
  { title: 'Kept', sortKey: 'kept', numeric: true, width: '1fr' },
  { title: 'Pruned', numeric: true, width: '1fr' },
  { title: 'Kept %', sortKey: 'keptPct', numeric: true, width: '1fr' },
];

const keptFraction = (g: GroupCapacity) => (g.total ? g.kept / g.total : 0);

/** The run's channel groups as a grid, sortable by size, kept channels and kept %. */
export function renderLayerTable(groups: GroupCapacity[], highlight?: string, sort?: SortSpec): string {
  if (!groups.length) return '<p class="muted">Kept channels per layer appear when the run has a result.</p>';
  const value = (g: GroupCapacity, key: string) => (key === 'channels' ? g.total : key === 'kept' ? g.kept : key === 'keptPct' ? keptFraction(g) : undefined);
  const rows = sortRows(groups, sort, value).map((g) => ({
    id: g.id,
    highlight: g.id === highlight,
    cells: [esc(g.id), String(g.total), String(g.kept), String(g.total - g.kept), `${(keptFraction(g) * 100).toFixed(1)}%`],
  }));
  return dataGrid({ id: 'report-layers', label: 'Kept channels per channel group', columns: LAYER_COLUMNS, rows, ...(sort ? { sort } : {}) });
}

export function renderLog(lines: string[]): string {
  return lines
    .slice(-200)
    .map((l) => `<div class="logline${l.startsWith('[error]') ? ' log-error' : l.startsWith('[warn]') ? ' log-warn' : ''}">${esc(l)}</div>`)
    .join('');
}

export function renderActions(s: RunViewState): string {
  const b: string[] = [];
  if (s.status === 'running') b.push(button('Cancel', 'cancel', true));
  if (s.summary && !s.summary.compareOnly) {
    b.push(button('Reveal pruned model', 'reveal-output'));
    b.push(button('Open Markdown report', 'open-markdown', true));
  }
  return b.join('');
}

/** The report panel's frame: header and actions, the four tabs, the log. main.ts fills the sections by id. */
export function reportSkeleton(activeTab: string): string {
  const chart = (id: string, title: string, label: string, cls = '') => `<div class="chart"><h2>${title}</h2><div class="canvas-box${cls}"><canvas id="${id}" aria-label="${label}"></canvas></div></div>`;
  const tabs = panels(
    'report-tabs',
    [
      {
        id: 'live',
        label: 'Live',
        body: `<div class="tab-body"><h2>Stages</h2><div id="stages"></div>
<div class="charts" id="charts">${chart('energy-chart', 'Solver energy', 'QUBO energy per iteration')}${chart('refine-chart', 'Refinement (best and elite mean)', 'refinement metric per evaluation')}</div>
<div id="recover-chart-box">${chart('recover-chart', 'Recovery fine-tuning (training loss and validation metric)', 'training loss and validation metric per recovery step', ' wide')}</div>
<h2>Per-layer capacity (kept / total)</h2><div id="capacities"></div></div>`,
      },
      { id: 'results', label: 'Results', body: '<section class="tab-body" id="results"></section>' },
      { id: 'layers', label: 'Layers', body: `<div class="tab-body"><div id="kept-chart-box">${chart('kept-chart', 'Kept channels per layer, before and after', 'channels per channel group before and after pruning', ' wide')}</div><div id="layers"></div></div>` },
      {
        id: 'compare',
        label: 'Compare',
        body: `<div class="tab-body"><div id="compare"></div><div class="charts" id="pareto-charts">${chart('pareto-params', 'Metric vs parameters', 'metric against parameters per method')}${chart('pareto-macs', 'Metric vs MACs', 'metric against MACs per method')}</div></div>`,
      },
    ],
    activeTab,
  );
  return `<main id="report">
<header id="header"></header>
<div id="actions" class="actions"></div>
<div id="flags"></div>
<div id="empty"></div>
<div id="tabs-box">${tabs}</div>
<section id="log-section"><h2>Log</h2><div id="log" class="log" tabindex="0"></div></section>
</main>`;
}

/** What the Compare tab says above its charts: the comparison table, or why there is none. */
export function renderCompareTab(s: RunViewState): string {
  if (s.summary?.comparison?.length) return renderComparison(s.summary);
  return `<p class="muted">${s.status === 'running' ? 'The comparison appears when the run ends.' : 'This run compared no methods. Run <b>Compare methods</b> on the model (or the CLI with <code>--compare</code>) to see every method here.'}</p>`;
}

/** Everything of the report panel except the charts, by section id. */
export function renderReportSections(s: RunViewState, highlight?: string, sort?: Record<string, SortSpec>): Record<string, string> {
  const sum = s.summary;
  return {
    header: renderHeader(s),
    stages: renderStages(s),
    capacities: renderCapacities(s.capacities, highlight),
    flags: renderFlagBanner(sum),
    results: !sum
      ? '<p class="muted">Results appear when the run ends.</p>'
      : sum.compareOnly
        ? '<p class="muted">A comparison of methods writes no model: its results are in the Compare tab.</p>'
        : `<h2>Results</h2>${renderMetrics(sum)}${renderLatency(sum)}${renderBudget(sum)}${renderRecovery(sum)}`,
    layers: renderLayerTable(sum && !sum.compareOnly ? sum.groups : [], highlight, sort?.['report-layers']),
    compare: renderCompareTab(s),
    log: renderLog(s.log),
    actions: renderActions(s),
  };
}

export function renderEmptyReport(): string {
  return '<p class="muted">No run yet. Right-click an .onnx file and choose <b>Prune model</b>.</p>';
}

// ---- model editor ----

function modelTotals(v: AnalysisView): string {
  const t = v.totals;
  const shape = v.inputShape ? ` at input ${esc(v.inputShape.join('×'))}` : '';
  return `<div class="totals">
<div><span class="k">Parameters</span><span class="v" data-total="params">${formatCount(t.params)}</span></div>
<div><span class="k">MACs${shape}</span><span class="v" data-total="macs">${formatCount(t.macs)}</span></div>
<div><span class="k">Layers</span><span class="v" data-total="layers">${t.layers}</span></div>
<div><span class="k">Channel groups</span><span class="v" data-total="groups">${t.groups}</span></div>
<div><span class="k">Prunable channels</span><span class="v" data-total="prunable">${t.prunableChannels}</span></div>
<div><span class="k">Locked channels</span><span class="v" data-total="locked">${esc(lockedSummary(t.lockedChannels, v.locked.length))}</span></div>
</div>`;
}

const ANALYSIS_LAYER_COLUMNS: GridColumn[] = [
  { title: 'Node', sortKey: 'node', width: '3fr' },
  { title: 'Op', width: '1fr' },
  { title: 'Channels in → out', numeric: true, width: '1.3fr' },
  { title: 'Kernel', numeric: true, width: '0.8fr' },
  { title: 'Params', sortKey: 'params', numeric: true, width: '1fr' },
  { title: 'MACs', sortKey: 'macs', numeric: true, width: '1fr' },
  { title: 'Pruning', width: '3fr' },
];

const GROUP_COLUMNS: GridColumn[] = [
  { title: 'Group', sortKey: 'id', width: '2fr' },
  { title: 'Channels', sortKey: 'channels', numeric: true, width: '1fr' },
  { title: 'Producers', width: '3fr' },
  { title: 'Consumers', width: '3fr' },
];

export function renderAnalysis(v: AnalysisView, highlight?: string, sort?: Record<string, SortSpec>): string {
  const layerValue = (l: AnalysisView['layers'][number], key: string) => (key === 'params' ? l.params : key === 'macs' ? l.macs : key === 'node' ? l.node : undefined);
  const layerRows = sortRows(v.layers, sort?.['analysis-layers'], layerValue).map((l) => {
    const lockSpan = l.locked ? `<span class="locked" title="${esc(describeLock(l.locked.reason, l.locked.detail))}">${l.group !== undefined ? 'partly ' : ''}locked: ${esc(l.locked.reason)}</span>` : '';
    const status = l.group !== undefined ? `<span class="ok">prunable</span> · ${esc(l.group)}${lockSpan ? ` · ${lockSpan}` : ''}` : lockSpan || `<span class="muted">${esc(l.status ?? '–')}</span>`;
    return {
      id: l.node,
      ...(l.group !== undefined ? { group: l.group } : {}),
      highlight: l.node === highlight || (l.group !== undefined && l.group === highlight),
      cells: [esc(l.node), esc(l.op), `${l.inChannels ?? '–'} → ${l.outChannels ?? '–'}`, l.kernel ? esc(l.kernel.join('×')) : '', formatCount(l.params), formatCount(l.macs), status],
    };
  });
  const groupValue = (g: AnalysisView['groups'][number], key: string) => (key === 'channels' ? g.channels : key === 'id' ? g.id : undefined);
  const groupRows = sortRows(v.groups, sort?.['analysis-groups'], groupValue).map((g) => ({
    id: g.id,
    highlight: g.id === highlight,
    cells: [esc(g.id), String(g.channels), esc(g.producers.join(', ')), esc(g.consumers.join(', '))],
  }));
  const layersGrid = dataGrid({ id: 'analysis-layers', label: 'Layers', columns: ANALYSIS_LAYER_COLUMNS, rows: layerRows, ...(sort?.['analysis-layers'] ? { sort: sort['analysis-layers'] } : {}) });
  const groupsGrid = dataGrid({ id: 'analysis-groups', label: 'Channel groups', columns: GROUP_COLUMNS, rows: groupRows, ...(sort?.['analysis-groups'] ? { sort: sort['analysis-groups'] } : {}) });
  const lockedRows = v.locked
    .map((l) => `<tr data-id="${esc(l.source)}"><td>${esc(l.source)}</td><td class="num">${l.channels}</td><td>${esc(l.reason)}</td><td>${esc(describeLock(l.reason, l.detail))}</td></tr>`)
    .join('');
  const unknown =
    (v.unknownOps.length ? `<p class="warn">Ops the analysis does not understand (their channels are locked): ${esc(v.unknownOps.join(', '))}</p>` : '') +
    v.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('');
  return `${modelTotals(v)}${unknown}
<h2>Layers</h2>${layersGrid}
${v.groups.length ? `<h2>Channel groups</h2>${groupsGrid}` : ''}
${v.locked.length ? `<h2>Locked channels</h2><table class="locked-table"><thead><tr><th>Source</th><th>Channels</th><th>Reason</th><th>Why</th></tr></thead><tbody>${lockedRows}</tbody></table>` : ''}`;
}

/** Prune, the preset dropdown with what the chosen preset does, Prune with preset, Analyze again. */
export function renderModelActions(m: ModelViewState, preset: string | undefined): string {
  const presets = m.presets ?? [];
  const chosen = presets.find((p) => p.name === preset);
  const picker = presets.length
    ? `<span class="preset-picker">${dropdown('preset-select', 'Preset', presets.map((p) => ({ value: p.name, label: p.isDefault ? `${p.name} (default)` : p.name })), preset)}<span class="muted preset-detail" id="preset-detail">${esc(chosen?.detail ?? '')}</span></span>${button('Prune with preset', 'model-prune-preset', true)}`
    : button('Prune with preset…', 'model-prune-preset', true);
  return `<div class="actions">${button('Prune model', 'model-prune')}${picker}${button('Analyze again', 'model-analyze', true)}</div>`;
}

export function renderModel(m: ModelViewState | undefined, highlight?: string, ui: { sort?: Record<string, SortSpec>; preset?: string } = {}): string {
  if (!m) return '<p class="muted">Loading…</p>';
  const title = `<h1>${esc(basename(m.model))}</h1>`;
  const actions = renderModelActions(m, ui.preset);
  switch (m.status) {
    case 'loading':
      return `${title}<p class="muted" data-status="loading">${progressRing('analyzing')} Analyzing the model in a background process…</p>`;
    case 'untrusted':
      return `${title}<p class="warn" data-status="untrusted">This workspace is not trusted. QUBO Prune reads and runs models only in trusted workspaces; trust the workspace to see the analysis.</p>`;
    case 'failed':
      return `${title}<div class="error" role="alert" data-status="failed"><b>Could not analyze this model</b> [${esc(m.error?.code ?? 'error')}]<br>${esc(m.error?.message ?? 'unknown error')}</div><div class="actions">${button('Analyze again', 'model-analyze', true)}</div>`;
    case 'ready': {
      let body: string;
      try {
        body = renderAnalysis(normalizeAnalysis(m.document), highlight, ui.sort);
      } catch (err) {
        body = `<div class="error" role="alert">${esc((err as Error).message)}</div>`;
      }
      return `${title}${actions}<div data-status="ready">${body}</div>`;
    }
  }
}

/**
 * The energy trace to draw: the last run of strictly increasing iterations. A new solve (restart,
 * baseline) or the final full trace starts again at a lower iteration; drawing all of it as one
 * line would zig-zag back across the chart.
 */
export function energySeries(points: readonly { iteration: number; energy: number }[]): { iteration: number; energy: number }[] {
  let start = 0;
  for (let i = 1; i < points.length; i++) if (points[i]!.iteration <= points[i - 1]!.iteration) start = i;
  return points.slice(start);
}

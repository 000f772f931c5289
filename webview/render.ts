// HTML of each section of the report panel and the model editor, as strings from state. Pure, so
// restoring from a snapshot is tested in node. Every text from outside is escaped; widths of bars
// travel in data-fraction attributes and are applied through CSSOM by main.ts, because the CSP
// forbids inline style attributes.
import type { GroupCapacity, MetricSet, ModelViewState, RunSummary, RunViewState } from '../src/protocol';
import { describeLock, formatCount, lockedSummary, normalizeAnalysis, type AnalysisView } from '../src/extension/analysisModel';
import { describeClock, formatShape, runClock } from '../src/extension/runPlan';

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

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
  return `<h1>${esc(basename(s.model))}</h1>
<div class="sub"><span class="badge status-${s.status}" data-status="${s.status}">${STATUS_LABEL[s.status]}</span> ${what}preset <b>${esc(s.preset)}</b>${sparsity}${provider} · <span id="clock" class="clock">${renderClock(s, nowMs)}</span></div>${err}`;
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
  const what = e.patch ? `${e.samples} crop${e.samples === 1 ? '' : 's'} of ${e.patch[0]}×${e.patch[1]}` : 'whole images';
  return `Measured on the ${e.split} split: ${e.images} image${e.images === 1 ? '' : 's'}, ${what}. MACs and latency at input ${formatShape(e.inputShape)}.`;
}

function macsLabel(sum: RunSummary): string {
  return sum.evaluation ? `MACs at ${formatShape(sum.evaluation.inputShape)}` : 'MACs';
}

export function renderMetrics(sum: RunSummary): string {
  const refined = sum.beforeRefine !== undefined;
  const head = `<tr><th>Metric</th><th>Before</th>${refined ? '<th>QUBO only</th>' : ''}<th>After</th><th>Change</th></tr>`;
  const rows = METRIC_ROWS.filter((r) => sum.before[r.key] !== undefined && sum.after[r.key] !== undefined)
    .map((r) => {
      const b = sum.before[r.key] as number;
      const a = sum.after[r.key] as number;
      const q = sum.beforeRefine?.[r.key];
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

export function renderLayerTable(groups: GroupCapacity[], highlight?: string): string {
  if (!groups.length) return '';
  const body = groups
    .map((g) => {
      const pruned = g.total - g.kept;
      return `<tr data-id="${esc(g.id)}"${g.id === highlight ? ' class="highlight"' : ''}><td>${esc(g.id)}</td><td class="num">${g.total}</td><td class="num">${g.kept}</td><td class="num">${pruned}</td><td class="num">${g.total ? ((pruned / g.total) * 100).toFixed(1) : '0.0'}%</td></tr>`;
    })
    .join('');
  return `<h2>Per layer</h2><table class="layers"><thead><tr><th>Channel group</th><th>Channels</th><th>Kept</th><th>Pruned</th><th>Pruned %</th></tr></thead><tbody>${body}</tbody></table>`;
}

export function renderLog(lines: string[]): string {
  return lines
    .slice(-200)
    .map((l) => `<div class="logline${l.startsWith('[error]') ? ' log-error' : l.startsWith('[warn]') ? ' log-warn' : ''}">${esc(l)}</div>`)
    .join('');
}

export function renderActions(s: RunViewState): string {
  const b: string[] = [];
  if (s.status === 'running') b.push('<button data-action="cancel" class="secondary">Cancel run</button>');
  if (s.summary && !s.summary.compareOnly) {
    b.push('<button data-action="reveal-output">Reveal pruned model</button>');
    b.push('<button data-action="open-markdown" class="secondary">Open Markdown report</button>');
  }
  return b.join('');
}

/** Everything of the report panel except the two charts, by section id. */
export function renderReportSections(s: RunViewState, highlight?: string): Record<string, string> {
  return {
    header: renderHeader(s),
    stages: renderStages(s),
    capacities: renderCapacities(s.capacities, highlight),
    results: !s.summary ? '' : s.summary.compareOnly ? `<h2>Results</h2>${renderComparison(s.summary)}` : `<h2>Results</h2>${renderMetrics(s.summary)}${renderComparison(s.summary)}${renderLayerTable(s.summary.groups, highlight)}`,
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

export function renderAnalysis(v: AnalysisView, highlight?: string): string {
  const layerRows = v.layers
    .map((l) => {
      const lockSpan = l.locked ? `<span class="locked" title="${esc(describeLock(l.locked.reason, l.locked.detail))}">${l.group !== undefined ? 'partly ' : ''}locked: ${esc(l.locked.reason)}</span>` : '';
      const status = l.group !== undefined ? `<span class="ok">prunable</span> · ${esc(l.group)}${lockSpan ? ` · ${lockSpan}` : ''}` : lockSpan || `<span class="muted">${esc(l.status ?? '–')}</span>`;
      const hl = l.node === highlight || (l.group !== undefined && l.group === highlight) ? ' class="highlight"' : '';
      return `<tr data-id="${esc(l.node)}"${l.group !== undefined ? ` data-group="${esc(l.group)}"` : ''}${hl}><td>${esc(l.node)}</td><td>${esc(l.op)}</td><td class="num">${l.inChannels ?? '–'} → ${l.outChannels ?? '–'}</td><td class="num">${l.kernel ? esc(l.kernel.join('×')) : ''}</td><td class="num">${formatCount(l.params)}</td><td class="num">${formatCount(l.macs)}</td><td>${status}</td></tr>`;
    })
    .join('');
  const groupRows = v.groups
    .map((g) => `<tr data-id="${esc(g.id)}"${g.id === highlight ? ' class="highlight"' : ''}><td>${esc(g.id)}</td><td class="num">${g.channels}</td><td>${esc(g.producers.join(', '))}</td><td>${esc(g.consumers.join(', '))}</td></tr>`)
    .join('');
  const lockedRows = v.locked
    .map((l) => `<tr data-id="${esc(l.source)}"><td>${esc(l.source)}</td><td class="num">${l.channels}</td><td>${esc(l.reason)}</td><td>${esc(describeLock(l.reason, l.detail))}</td></tr>`)
    .join('');
  const unknown =
    (v.unknownOps.length ? `<p class="warn">Ops the analysis does not understand (their channels are locked): ${esc(v.unknownOps.join(', '))}</p>` : '') +
    v.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('');
  return `${modelTotals(v)}${unknown}
<h2>Layers</h2><table class="analysis"><thead><tr><th>Node</th><th>Op</th><th>Channels in → out</th><th>Kernel</th><th>Params</th><th>MACs</th><th>Pruning</th></tr></thead><tbody>${layerRows}</tbody></table>
${v.groups.length ? `<h2>Channel groups</h2><table class="groups"><thead><tr><th>Group</th><th>Channels</th><th>Producers</th><th>Consumers</th></tr></thead><tbody>${groupRows}</tbody></table>` : ''}
${v.locked.length ? `<h2>Locked channels</h2><table class="locked-table"><thead><tr><th>Source</th><th>Channels</th><th>Reason</th><th>Why</th></tr></thead><tbody>${lockedRows}</tbody></table>` : ''}`;
}

export function renderModel(m: ModelViewState | undefined, highlight?: string): string {
  if (!m) return '<p class="muted">Loading…</p>';
  const title = `<h1>${esc(basename(m.model))}</h1>`;
  const actions = '<div class="actions"><button data-action="model-prune">Prune model</button><button data-action="model-prune-preset" class="secondary">Prune with preset…</button><button data-action="model-analyze" class="secondary">Analyze again</button></div>';
  switch (m.status) {
    case 'loading':
      return `${title}<p class="muted" data-status="loading">Analyzing the model in a background process…</p>`;
    case 'untrusted':
      return `${title}<p class="warn" data-status="untrusted">This workspace is not trusted. QUBO Prune reads and runs models only in trusted workspaces; trust the workspace to see the analysis.</p>`;
    case 'failed':
      return `${title}<div class="error" role="alert" data-status="failed"><b>Could not analyze this model</b> [${esc(m.error?.code ?? 'error')}]<br>${esc(m.error?.message ?? 'unknown error')}</div><div class="actions"><button data-action="model-analyze" class="secondary">Analyze again</button></div>`;
    case 'ready': {
      let body: string;
      try {
        body = renderAnalysis(normalizeAnalysis(m.document), highlight);
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

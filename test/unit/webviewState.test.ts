// The webview's state logic and HTML, run in node: restoring from getState()/the serializer,
// folding snapshots, and rendering a finished run from a snapshot alone.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { helloMismatch, isPanelRequest, PROTOCOL_VERSION, type RunSummary } from '../../src/protocol';
import { applyEvent, initialViewState, presetOption, type ModelViewState, type RunViewState } from '../../src/view/panelState';
import { choosePreset, reduce, restoreState, selectTab, shownPreset, shownTab, sortRows, toggleSort } from '../../webview/state';
import { esc, renderCompareTab, renderModel, renderReportSections, reportSkeleton } from '../../webview/render';
import { dataGrid, panels } from '../../webview/toolkit';
import { comparePoints, keptBars, paretoFront } from '../../webview/chartData';
import { resolvePreset } from '../../src/core/presets';
import { normalizeAnalysis } from '../../src/view/analysisModel';
import { parseReportText, snapshotFromReport, runListEntry, ReportFileError } from '../../src/extension/reportFile';
import { pipelineReport } from '../helpers/runReport';

const SUMMARY: RunSummary = {
  model: '/ws/net.onnx',
  output: '/ws/net.pruned.onnx',
  reportJson: '/ws/net.pruned.report.json',
  reportMarkdown: '/ws/net.pruned.report.md',
  preset: 'fast',
  method: 'hybrid',
  sparsity: 0.36,
  provider: 'cpu',
  before: { psnr: 30.12, ssim: 0.91, params: 57443, macs: 940_000_000, latencyMs: 12 },
  after: { psnr: 29.87, ssim: 0.9, params: 36000, macs: 600_000_000, latencyMs: 8 },
  beforeRefine: { psnr: 29.7, params: 36000, macs: 600_000_000 },
  groups: [
    { id: 'conv1', kept: 40, total: 64 },
    { id: 'conv2+conv4', kept: 20, total: 64 },
  ],
  comparison: [{ method: 'taylor', psnr: 29.5, params: 36000, macs: 600_000_000, seconds: 2 }],
  seconds: 12.5,
  stageSeconds: { analyze: 0.2, search: 1.1 },
};

function finished(): RunViewState {
  let s = initialViewState('run-1', '/ws/net.onnx', 'fast');
  s = applyEvent(s, { type: 'stage-start', stage: 'analyze' });
  s = applyEvent(s, { type: 'stage-end', stage: 'analyze', seconds: 0.2 });
  s = applyEvent(s, { type: 'capacities', groups: SUMMARY.groups });
  s = applyEvent(s, { type: 'log', level: 'warn', message: 'watch <this>' });
  return applyEvent(s, { type: 'result', summary: SUMMARY });
}

describe('restoreState', () => {
  test('a saved report state comes back whole', () => {
    const saved = JSON.parse(JSON.stringify({ view: 'report', snapshot: finished(), highlight: 'conv1' }));
    const st = restoreState(saved, 'report');
    assert.equal(st.snapshot?.runId, 'run-1');
    assert.equal(st.snapshot?.summary?.after.psnr, 29.87);
    assert.equal(st.highlight, 'conv1');
  });

  test('missing, foreign or corrupt state starts empty', () => {
    assert.deepEqual(restoreState(undefined, 'report'), { view: 'report' });
    assert.deepEqual(restoreState({ view: 'model', model: { model: 'x', status: 'ready' } }, 'report'), { view: 'report' });
    const broken = { view: 'report', snapshot: { ...finished(), stages: 'nope' } };
    assert.deepEqual(restoreState(broken, 'report'), { view: 'report' });
    assert.deepEqual(restoreState({ view: 'report', snapshot: { ...finished(), status: 'exploded' } }, 'report'), { view: 'report' });
  });
});

describe('reduce', () => {
  test('snapshots replace the state; the mark survives only within the same run', () => {
    let st = restoreState(undefined, 'report');
    const a = finished();
    st = reduce(st, { type: 'snapshot', state: a });
    st = reduce(st, { type: 'highlight', id: 'conv1' });
    assert.equal(st.highlight, 'conv1');
    st = reduce(st, { type: 'snapshot', state: { ...a, log: [] } });
    assert.equal(st.highlight, 'conv1');
    assert.deepEqual(st.snapshot?.log, []);
    st = reduce(st, { type: 'snapshot', state: initialViewState('run-2', '/ws/other.onnx', 'balanced') });
    assert.equal(st.highlight, undefined);
    assert.equal(st.snapshot?.runId, 'run-2');
  });

  test('malformed or misdirected messages leave the state unchanged', () => {
    const st = reduce(restoreState(undefined, 'report'), { type: 'snapshot', state: finished() });
    for (const m of [null, 'x', { type: 'snapshot', state: { runId: 1 } }, { type: 'model', state: { model: 'm', status: 'ready' } }, { type: 'highlight', id: 5 }, { type: 'other' }]) {
      assert.equal(reduce(st, m), st, JSON.stringify(m));
    }
  });

  test('the model view takes model states only', () => {
    const m: ModelViewState = { model: '/ws/net.onnx', status: 'failed', error: { code: 'bad-model', message: 'truncated' } };
    const st = reduce(restoreState(undefined, 'model'), { type: 'model', state: m });
    assert.deepEqual(st.model, m);
    assert.equal(reduce(st, { type: 'snapshot', state: finished() }), st);
  });
});

describe('render from a snapshot', () => {
  test('a finished run shows metrics before → after, baselines, the per-layer grid and the buttons', () => {
    const st = restoreState(JSON.parse(JSON.stringify({ view: 'report', snapshot: finished(), highlight: 'conv2+conv4' })), 'report');
    const html = renderReportSections(st.snapshot!, st.highlight);
    assert.match(html.header, /data-status="done"/);
    assert.match(html.results, /<tr data-metric="psnr"><td>PSNR \(dB\)<\/td><td class="num">30\.12<\/td><td class="num">29\.70<\/td><td class="num after">29\.87<\/td>/);
    assert.match(html.results, /data-metric="params".*57\.4k.*36\.0k.*-37\.3%/s);
    assert.match(html.results, /data-metric="latencyMs"/);
    assert.match(html.compare, /data-method="taylor"/);
    assert.match(html.layers, /<vscode-data-grid-row data-id="conv2\+conv4" class="highlight"><vscode-data-grid-cell grid-column="1">conv2\+conv4<\/vscode-data-grid-cell><vscode-data-grid-cell grid-column="2" class="num">64<\/vscode-data-grid-cell><vscode-data-grid-cell grid-column="3" class="num">20<\/vscode-data-grid-cell><vscode-data-grid-cell grid-column="4" class="num">44<\/vscode-data-grid-cell><vscode-data-grid-cell grid-column="5" class="num">31\.3%</);
    assert.match(html.capacities, /data-fraction="0\.6250"/);
    assert.match(html.actions, /<vscode-button data-action="reveal-output">Reveal pruned model<\/vscode-button>/);
    assert.match(html.actions, /data-action="open-markdown"/);
    assert.doesNotMatch(html.actions, /data-action="cancel"/);
    assert.match(html.log, /watch &lt;this&gt;/);
    assert.match(html.stages, /data-stage="analyze"[^>]*>.*0\.2 s/);
  });

  test('a running snapshot offers Cancel and no results', () => {
    const s = applyEvent(initialViewState('r', '/ws/a<b>.onnx', 'p'), { type: 'stage-start', stage: 'search' });
    const html = renderReportSections(applyEvent(s, { type: 'stage-progress', stage: 'search', fraction: 0.42 }));
    assert.match(html.actions, /<vscode-button data-action="cancel" appearance="secondary">Cancel<\/vscode-button>/);
    assert.match(html.results, /Results appear when the run ends/);
    assert.match(html.header, /<vscode-progress-ring class="ring" aria-label="search running">/);
    assert.doesNotMatch(renderReportSections(finished()).header, /progress-ring/);
    assert.match(html.stages, /stage-running" data-stage="search">.*42%/);
    assert.match(html.header, /a&lt;b&gt;\.onnx/);
  });

  test('escaping', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('model editor', () => {
  const doc = {
    model: '/ws/net.onnx',
    inputShape: [1, 3, 64, 64],
    layers: [
      { node: 'conv1', op: 'Conv', inChannels: 3, outChannels: 64, kernel: [3, 3], params: 1792, macs: 7_000_000 },
      { node: 'conv_out', op: 'Conv', inChannels: 64, outChannels: 3, kernel: [3, 3], params: 1731, macs: 7_000_000 },
    ],
    groups: [{ id: 'conv1', size: 64, producers: ['conv1'], consumers: ['conv_out'] }],
    locked: [{ source: 'conv_out', tensor: 'out', channels: 3, reason: 'graph-output', detail: '' }],
    totals: { params: 3523, macs: 14_000_000 },
  };

  test('analysis rows link layers to groups and locks', () => {
    const v = normalizeAnalysis(doc);
    assert.equal(v.layers[0]!.group, 'conv1');
    assert.deepEqual(v.layers[1]!.locked, { reason: 'graph-output', detail: '' });
    assert.equal(v.totals.prunableChannels, 64);
    assert.equal(v.totals.lockedChannels, 3);
    assert.throws(() => normalizeAnalysis('nope'));
  });

  test('ready, failed and untrusted states render', () => {
    const ready = renderModel({ model: '/ws/net.onnx', status: 'ready', document: doc }, 'conv1');
    assert.match(ready, /data-total="params">3\.52k/);
    assert.match(ready, /<vscode-data-grid-row data-id="conv1" data-group="conv1" class="highlight">/);
    assert.match(ready, /<vscode-button data-action="model-prune">Prune model<\/vscode-button>/);
    assert.match(ready, /locked: graph-output/);
    const failed = renderModel({ model: '/ws/bad.onnx', status: 'failed', error: { code: 'onnx-parse', message: 'invalid wire type <7>' } });
    assert.match(failed, /role="alert"/);
    assert.match(failed, /\[onnx-parse\]/);
    assert.match(failed, /invalid wire type &lt;7&gt;/);
    assert.match(renderModel({ model: '/ws/x.onnx', status: 'untrusted' }), /not trusted/);
  });
});

describe('report files', () => {
  const file = '/ws/net.pruned.report.json';

  test('a pipeline report becomes a runs-tree row and a finished snapshot', () => {
    const doc = pipelineReport({ refined: true });
    const row = runListEntry(doc, file);
    assert.equal(row.metricLine, 'PSNR 33.50 → 30.10 dB');
    assert.equal(row.preset, 'balanced');
    assert.equal(row.finishedAt, doc.createdAt);
    assert.equal(row.output, '/ws/net.pruned.onnx');
    assert.deepEqual(row.summary.groups, [{ id: 'conv1', kept: 3, total: 4 }, { id: 'conv2', kept: 1, total: 2 }]);
    assert.equal(row.summary.reportMarkdown, '/ws/net.pruned.report.md');
    const snap = snapshotFromReport(doc, file);
    assert.equal(snap.status, 'done');
    assert.equal(snap.stages.find((s) => s.name === 'search')?.status, 'done');
    assert.equal(snap.stages.find((s) => s.name === 'export')?.status, 'skipped');
    assert.deepEqual(snap.refine, [{ evaluations: 5, best: 29.9, eliteMean: 29.6 }, { evaluations: 10, best: 30.1, eliteMean: 29.9 }]);
    assert.deepEqual(snap.summary?.beforeRefine?.psnr, 29.8);
    assert.deepEqual(restoreState({ view: 'report', snapshot: snap }, 'report').snapshot, snap);
  });

  test('accuracy tasks get an accuracy line', () => {
    assert.equal(runListEntry(pipelineReport({ task: 'classify' }), file).metricLine, 'accuracy 83.8 → 75.3%');
  });

  test('files that are not reports, or of a newer version, or damaged, are refused saying which', () => {
    const refused = (doc: unknown, message: RegExp) => assert.throws(() => runListEntry(doc, file), (err: unknown) => err instanceof ReportFileError && err.kind === 'input' && message.test(err.message));
    refused([], /not a QUBO Prune report \(not a JSON object\)/);
    // The shapes of earlier drafts: a `{summary}` wrapper, or a bare summary at the top level.
    refused({ summary: SUMMARY, finishedAt: '2026-01-01T00:00:00Z', traces: { energy: [] } }, /not a QUBO Prune report \(missing kind/);
    refused({ ...SUMMARY }, /not a QUBO Prune report \(missing kind/);
    refused({ kind: 'other-tool.report' }, /kind is "other-tool.report", expected 'qubo-prune.report'/);
    refused({ ...pipelineReport(), schemaVersion: undefined }, /missing schemaVersion/);
    refused({ ...pipelineReport(), schemaVersion: 9 }, /report version 9 is newer than this extension \(it reads version 1\)/);
    const damaged = pipelineReport();
    (damaged.groups[0] as { size: unknown }).size = 'four';
    refused(damaged, /damaged QUBO Prune report: \$\.groups\[0\]\.size: must be a finite number/);
    assert.throws(() => parseReportText('{"kind":', file), /net\.pruned\.report\.json: not a QUBO Prune report \(not JSON/);
  });
});

describe('symbolic input shapes', () => {
  test('the analysis error suggestion is filled with the configured size', async () => {
    const { fillSymbolicShape } = await import('../../src/view/analysisModel');
    const msg = "input 'input' has symbolic dims [batch,3,height,width] (height, width); give a concrete input shape (CLI: --input-shape 1,3,<height>,<width>)";
    assert.deepEqual(fillSymbolicShape(msg, 256), [1, 3, 256, 256]);
    assert.equal(fillSymbolicShape("input 'x' declares no shape; give an input shape (CLI: --input-shape)", 256), undefined);
  });
});

describe('energy chart series', () => {
  test('only the last increasing run of iterations is drawn', async () => {
    const { energySeries } = await import('../../webview/render');
    const live = [
      { iteration: 0, energy: 300 },
      { iteration: 7936, energy: -120 },
      { iteration: 23296, energy: -121 },
    ];
    assert.deepEqual(energySeries(live), live);
    const full = [0, 1, 2].map((i) => ({ iteration: i, energy: 300 - i }));
    assert.deepEqual(energySeries([...live, ...full]), full);
    assert.deepEqual(energySeries([]), []);
  });

  test('live solver-trace points append; the final trace replaces them', () => {
    let s = initialViewState('run-1', '/ws/net.onnx', 'fast');
    s = applyEvent(s, { type: 'solver-trace', points: [{ iteration: 0, energy: 10 }] });
    s = applyEvent(s, { type: 'solver-trace', points: [{ iteration: 4096, energy: 7 }] });
    assert.deepEqual(s.energy.map((p) => p.iteration), [0, 4096]);
    const full = [
      { iteration: 0, energy: 10 },
      { iteration: 12, energy: 8 },
      { iteration: 900, energy: 6 },
      { iteration: 5000, energy: 6 },
    ];
    s = applyEvent(s, { type: 'solver-trace', points: full, final: true });
    assert.deepEqual(s.energy, full);
  });
});

describe('restoring a panel saved mid-run', () => {
  test('a report written after the run started finishes the restored run; an older one does not', async () => {
    const { recoverFromReport, reportJsonFor } = await import('../../src/extension/reportFile');
    assert.equal(reportJsonFor('/ws/net.pruned.onnx'), '/ws/net.pruned.report.json');
    let saved = applyEvent(initialViewState('run-9', '/ws/net.onnx', 'fast'), { type: 'log', level: 'info', message: 'hello' });
    saved = { ...saved, output: '/ws/net.pruned.onnx', startedAt: '2026-01-01T10:00:00.000Z' };
    const report = (createdAt: string, model = '/ws/net.onnx') => ({ ...pipelineReport({ model, output: '/ws/net.pruned.onnx' }), createdAt });
    const file = '/ws/net.pruned.report.json';
    const done = recoverFromReport(saved, report('2026-01-01T10:00:05.000Z'), file);
    assert.equal(done?.status, 'done');
    assert.equal(done?.runId, 'run-9');
    assert.deepEqual(done?.log, ['[info] hello']);
    assert.deepEqual(done?.capacities, [{ id: 'conv1', kept: 3, total: 4 }, { id: 'conv2', kept: 1, total: 2 }]);
    assert.equal(done?.summary?.after.psnr, 30.1);
    assert.equal(recoverFromReport(saved, report('2026-01-01T09:59:00.000Z'), file), undefined, 'report of an earlier run');
    assert.equal(recoverFromReport(saved, report('2026-01-01T10:00:05.000Z', '/ws/other.onnx'), file), undefined, 'other model');
    assert.equal(recoverFromReport({ ...saved, startedAt: undefined }, report('2026-01-01T10:00:05.000Z'), file), undefined);
    assert.equal(recoverFromReport(saved, { nonsense: true }, file), undefined);
  });
});

describe('report tabs, sorting and presets', () => {
  test('the shown tab follows the run until the user picks one; a new run forgets the pick', () => {
    const running = applyEvent(initialViewState('r1', '/m.onnx', 'fast'), { type: 'stage-start', stage: 'search' });
    let st = reduce({ view: 'report' }, { type: 'snapshot', state: running });
    assert.equal(shownTab(st), 'live');
    st = reduce(st, { type: 'snapshot', state: { ...finished(), runId: 'r1' } });
    assert.equal(shownTab(st), 'results');
    assert.equal(shownTab(reduce({ view: 'report' }, { type: 'snapshot', state: { ...finished(), compareOnly: true, summary: { ...SUMMARY, compareOnly: true } } })), 'compare');
    st = selectTab(st, 'layers');
    assert.equal(shownTab(st), 'layers');
    assert.equal(selectTab(st, 'nonsense'), st);
    assert.equal(selectTab(st, 'layers'), st, 'the shown tab again changes nothing');
    st = reduce(st, { type: 'snapshot', state: { ...finished(), runId: 'r1' } });
    assert.equal(shownTab(st), 'layers', 'same run keeps the pick');
    st = reduce(st, { type: 'snapshot', state: { ...running, runId: 'r2' } });
    assert.equal(shownTab(st), 'live', 'a new run forgets it');
    const restored = restoreState(JSON.parse(JSON.stringify({ view: 'report', snapshot: finished(), tab: 'compare', sort: { 'report-layers': { key: 'kept', dir: 'asc' }, bad: { key: 1 } } })), 'report');
    assert.equal(restored.tab, 'compare');
    assert.deepEqual(restored.sort, { 'report-layers': { key: 'kept', dir: 'asc' } });
  });

  test('a header click sorts descending, a second click ascending; missing values go last; ties keep the graph order', () => {
    let st = toggleSort({ view: 'report' }, 'report-layers', 'kept');
    assert.deepEqual(st.sort, { 'report-layers': { key: 'kept', dir: 'desc' } });
    st = toggleSort(st, 'report-layers', 'kept');
    assert.deepEqual(st.sort!['report-layers'], { key: 'kept', dir: 'asc' });
    assert.deepEqual(toggleSort(st, 'report-layers', 'channels').sort!['report-layers'], { key: 'channels', dir: 'desc' });
    const rows = [
      { n: 'a', v: 2 },
      { n: 'b', v: undefined },
      { n: 'c', v: 5 },
      { n: 'd', v: 2 },
    ];
    const by = (r: { v: number | undefined }) => r.v;
    assert.deepEqual(sortRows(rows, { key: 'v', dir: 'desc' }, by).map((r) => r.n), ['c', 'a', 'd', 'b']);
    assert.deepEqual(sortRows(rows, { key: 'v', dir: 'asc' }, by).map((r) => r.n), ['a', 'd', 'c', 'b']);
    assert.deepEqual(sortRows(rows, undefined, by).map((r) => r.n), ['a', 'b', 'c', 'd']);
  });

  test('the per-layer grid is rendered in the chosen order with the sorted header marked', () => {
    const html = renderReportSections(finished(), undefined, { 'report-layers': { key: 'keptPct', dir: 'desc' } }).layers;
    assert.ok(html.indexOf('data-id="conv1"') < html.indexOf('data-id="conv2+conv4"'), 'conv1 keeps 62.5%, conv2+conv4 31.3%');
    assert.match(html, /data-sort-key="keptPct" aria-sort="descending">Kept % ▼/);
    assert.match(html, /data-sort-key="kept" aria-sort="none">Kept</);
    const asc = renderReportSections(finished(), undefined, { 'report-layers': { key: 'keptPct', dir: 'asc' } }).layers;
    assert.ok(asc.indexOf('data-id="conv2+conv4"') < asc.indexOf('data-id="conv1"'));
  });

  test('the inspector grids sort by params and MACs', () => {
    const doc = {
      layers: [
        { node: 'small', op: 'Conv', params: 10, macs: 900 },
        { node: 'big', op: 'Conv', params: 500, macs: 100 },
      ],
      groups: [],
      locked: [],
      totals: { params: 510, macs: 1000 },
    };
    const byParams = renderModel({ model: '/m.onnx', status: 'ready', document: doc }, undefined, { sort: { 'analysis-layers': { key: 'params', dir: 'desc' } } });
    assert.ok(byParams.indexOf('data-id="big"') < byParams.indexOf('data-id="small"'));
    const byMacs = renderModel({ model: '/m.onnx', status: 'ready', document: doc }, undefined, { sort: { 'analysis-layers': { key: 'macs', dir: 'desc' } } });
    assert.ok(byMacs.indexOf('data-id="small"') < byMacs.indexOf('data-id="big"'));
  });

  test('the preset dropdown lists the settings\' presets with what the chosen one does', () => {
    const fast = presetOption('fast', resolvePreset('fast', {}, {}).settings, false);
    assert.match(fast.detail, /^36% sparsity · search \d+(\.\d+)? s, no refinement$/);
    const balanced = presetOption('balanced', resolvePreset('balanced', {}, {}).settings, true);
    assert.match(balanced.detail, /^36% sparsity · search \d+(\.\d+)? s \+ refine ≤\d+ s$/);
    const model: ModelViewState = { model: '/m.onnx', status: 'ready', document: { layers: [], groups: [], locked: [], totals: {} }, presets: [balanced, fast, { name: 'e2e', detail: '40% sparsity · search 0.3 s + refine ≤20 s', isDefault: false }] };
    let st = reduce({ view: 'model' }, { type: 'model', state: model });
    assert.equal(shownPreset(st), 'balanced', 'the default first');
    const html = renderModel(model, undefined, { preset: shownPreset(st) });
    assert.match(html, /<vscode-dropdown id="preset-select" aria-label="Preset" position="below"><vscode-option value="balanced" selected>balanced \(default\)<\/vscode-option><vscode-option value="fast">fast<\/vscode-option>/);
    assert.match(html, /<span class="muted preset-detail" id="preset-detail">36% sparsity · search/);
    st = choosePreset(st, 'e2e');
    assert.equal(shownPreset(st), 'e2e');
    assert.match(renderModel(model, undefined, { preset: shownPreset(st) }), /<vscode-option value="e2e" selected>e2e<\/vscode-option><\/vscode-dropdown><span class="muted preset-detail" id="preset-detail">40% sparsity · search 0\.3 s \+ refine ≤20 s/);
    assert.equal(choosePreset(st, 'gone'), st, 'only listed presets');
    // A preset removed from the settings falls back to the default.
    st = reduce(st, { type: 'model', state: { ...model, presets: [balanced, fast] } });
    assert.equal(shownPreset(st), 'balanced');
  });

  test('toolkit markup: tabs name their views, grids their columns', () => {
    const html = panels('p', [{ id: 'a', label: 'A', body: '<i>x</i>' }, { id: 'b', label: 'B<', body: '' }], 'b');
    assert.equal(html, '<vscode-panels id="p" activeid="tab-b"><vscode-panel-tab id="tab-a" data-tab="a">A</vscode-panel-tab><vscode-panel-tab id="tab-b" data-tab="b">B&lt;</vscode-panel-tab><vscode-panel-view id="view-a"><i>x</i></vscode-panel-view><vscode-panel-view id="view-b"></vscode-panel-view></vscode-panels>');
    const grid = dataGrid({ id: 'g', label: 'G', columns: [{ title: 'Name', width: '2fr' }, { title: 'N', sortKey: 'n', numeric: true, width: '1fr' }], rows: [{ id: 'r"1', cells: ['x', '1'] }] });
    assert.match(grid, /grid-template-columns="2fr 1fr"/);
    assert.match(grid, /<vscode-data-grid-row data-id="r&quot;1">/);
    assert.match(grid, /cell-type="columnheader" grid-column="2" class="sortable num" data-sort-key="n" aria-sort="none">N</);
    assert.match(reportSkeleton('results'), /activeid="tab-results"/);
    for (const id of ['live', 'results', 'layers', 'compare']) assert.match(reportSkeleton('live'), new RegExp(`id="tab-${id}"`));
  });
});

describe('before/after and compare charts\' data', () => {
  test('kept channels per layer, labelled without the exporter path', () => {
    assert.deepEqual(keptBars([{ id: '/body/body.11/Conv', kept: 20, total: 32 }, { id: 'c1', kept: 3, total: 4 }]), { categories: ['body.11/Conv', 'c1'], before: [32, 4], after: [20, 3] });
  });

  test('every model of a comparison becomes a point, the run itself included', () => {
    const cmp = comparePoints(SUMMARY)!;
    assert.equal(cmp.metric, 'psnr');
    assert.deepEqual(cmp.points.map((p) => [p.method, p.metric]), [['original', 30.12], ['taylor', 29.5], ['hybrid (this run)', 29.87]]);
    const only = comparePoints({ ...SUMMARY, compareOnly: true })!;
    assert.deepEqual(only.points.map((p) => p.method), ['original', 'taylor']);
    const acc = comparePoints({ ...SUMMARY, before: { accuracy: 0.7, params: 10, macs: 10 }, comparison: [{ method: 'l1', accuracy: 0.6, params: 5, macs: 5, seconds: 1 }], compareOnly: true })!;
    assert.equal(acc.metric, 'accuracy');
    assert.equal(comparePoints({ ...SUMMARY, comparison: [] }), undefined);
  });

  test('the Pareto front keeps the points nothing beats on both cost and metric', () => {
    const pts = [
      { m: 'original', x: 100, y: 30 },
      { m: 'random', x: 60, y: 20 },
      { m: 'l1', x: 60, y: 27 },
      { m: 'hybrid', x: 58, y: 28 },
      { m: 'worse-and-bigger', x: 80, y: 25 },
    ];
    assert.deepEqual(paretoFront(pts, (p) => p.x, (p) => p.y).map((p) => p.m), ['hybrid', 'original']);
  });

  test('the Compare tab explains an empty comparison', () => {
    assert.match(renderCompareTab({ ...finished(), summary: { ...SUMMARY, comparison: [] } }), /compared no methods/);
    assert.match(renderCompareTab(finished()), /<table class="comparison">/);
  });
});

describe('protocol', () => {
  test('a worker of another protocol version is refused with a reason', () => {
    assert.equal(helloMismatch({ type: 'hello', version: PROTOCOL_VERSION, pid: 1 }), undefined);
    assert.match(helloMismatch({ type: 'hello', version: PROTOCOL_VERSION - 1, pid: 1 })!, new RegExp(`protocol version ${PROTOCOL_VERSION - 1}, this extension ${PROTOCOL_VERSION}; reinstall`));
  });

  test('model commands may carry the dropdown\'s preset, as a string only', () => {
    assert.ok(isPanelRequest({ type: 'model-command', command: 'prune-with-preset', preset: 'e2e' }));
    assert.ok(isPanelRequest({ type: 'model-command', command: 'prune-with-preset' }));
    assert.ok(!isPanelRequest({ type: 'model-command', command: 'prune-with-preset', preset: 3 }));
  });
});

// The webview's state logic and HTML, run in node: restoring from getState()/the serializer,
// folding snapshots, and rendering a finished run from a snapshot alone.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, initialViewState, type ModelViewState, type RunSummary, type RunViewState } from '../../src/protocol';
import { reduce, restoreState } from '../../webview/state';
import { esc, renderModel, renderReportSections } from '../../webview/render';
import { normalizeAnalysis } from '../../src/extension/analysisModel';
import { snapshotFromReport, runListEntry, ReportFileError } from '../../src/extension/reportFile';

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
  test('a finished run shows metrics before → after, baselines, the per-layer table and the buttons', () => {
    const st = restoreState(JSON.parse(JSON.stringify({ view: 'report', snapshot: finished(), highlight: 'conv2+conv4' })), 'report');
    const html = renderReportSections(st.snapshot!, st.highlight);
    assert.match(html.header, /data-status="done"/);
    assert.match(html.results, /<tr data-metric="psnr"><td>PSNR \(dB\)<\/td><td class="num">30\.12<\/td><td class="num">29\.70<\/td><td class="num after">29\.87<\/td>/);
    assert.match(html.results, /data-metric="params".*57\.4k.*36\.0k.*-37\.3%/s);
    assert.match(html.results, /data-metric="latencyMs"/);
    assert.match(html.results, /data-method="taylor"/);
    assert.match(html.results, /<tr data-id="conv2\+conv4" class="highlight"><td>conv2\+conv4<\/td><td class="num">64<\/td><td class="num">20<\/td><td class="num">44<\/td><td class="num">68\.8%<\/td>/);
    assert.match(html.capacities, /data-fraction="0\.6250"/);
    assert.match(html.actions, /data-action="reveal-output"/);
    assert.match(html.actions, /data-action="open-markdown"/);
    assert.doesNotMatch(html.actions, /data-action="cancel"/);
    assert.match(html.log, /watch &lt;this&gt;/);
    assert.match(html.stages, /data-stage="analyze"[^>]*>.*0\.2 s/);
  });

  test('a running snapshot offers Cancel and no results', () => {
    const s = applyEvent(initialViewState('r', '/ws/a<b>.onnx', 'p'), { type: 'stage-start', stage: 'search' });
    const html = renderReportSections(applyEvent(s, { type: 'stage-progress', stage: 'search', fraction: 0.42 }));
    assert.match(html.actions, /data-action="cancel"/);
    assert.equal(html.results, '');
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
    assert.match(ready, /<tr data-id="conv1" data-group="conv1" class="highlight">/);
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

  test('a report file becomes a runs-tree row and a finished snapshot', () => {
    const doc = { summary: SUMMARY, finishedAt: '2026-01-01T00:00:00Z', traces: { energy: [{ iteration: 1, energy: -2 }], refine: [{ evaluations: 5, best: 29.8, eliteMean: 29.6 }] } };
    const row = runListEntry(doc, file);
    assert.equal(row.metricLine, 'PSNR 30.12 → 29.87 dB');
    assert.equal(row.preset, 'fast');
    assert.equal(row.finishedAt, '2026-01-01T00:00:00Z');
    const snap = snapshotFromReport(doc, file);
    assert.equal(snap.status, 'done');
    assert.equal(snap.stages.find((s) => s.name === 'search')?.status, 'done');
    assert.equal(snap.stages.find((s) => s.name === 'refine')?.status, 'skipped');
    assert.deepEqual(snap.refine, [{ evaluations: 5, best: 29.8, eliteMean: 29.6 }]);
    assert.deepEqual(restoreState({ view: 'report', snapshot: snap }, 'report').snapshot, snap);
  });

  test('a summary at the top level is read too; accuracy tasks get an accuracy line', () => {
    const doc = { ...SUMMARY, before: { accuracy: 0.9, params: 10, macs: 10 }, after: { accuracy: 0.875, params: 6, macs: 6 } };
    assert.equal(runListEntry(doc, file).metricLine, 'accuracy 90.0 → 87.5%');
  });

  test('files that are not reports are refused with a specific error', () => {
    assert.throws(() => runListEntry([], file), ReportFileError);
    assert.throws(() => runListEntry({ summary: { before: 1 } }, file), ReportFileError);
  });
});

describe('symbolic input shapes', () => {
  test('the analysis error suggestion is filled with the configured size', async () => {
    const { fillSymbolicShape } = await import('../../src/extension/analysisModel');
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
    const report = (createdAt: string, model = '/ws/net.onnx') => ({ kind: 'qubo-prune.report', createdAt, model, output: '/ws/net.pruned.onnx', preset: 'fast', settings: { method: 'hybrid', sparsity: 0.36 }, metrics: { before: SUMMARY.before, after: SUMMARY.after, beforeRefine: null }, groups: [{ id: 'conv1', size: 64, kept: 40 }], stageSeconds: { analyze: 1 }, seconds: 3 });
    const file = '/ws/net.pruned.report.json';
    const done = recoverFromReport(saved, report('2026-01-01T10:00:05.000Z'), file);
    assert.equal(done?.status, 'done');
    assert.equal(done?.runId, 'run-9');
    assert.deepEqual(done?.log, ['[info] hello']);
    assert.deepEqual(done?.capacities, [{ id: 'conv1', kept: 40, total: 64 }]);
    assert.equal(done?.summary?.after.psnr, 29.87);
    assert.equal(recoverFromReport(saved, report('2026-01-01T09:59:00.000Z'), file), undefined, 'report of an earlier run');
    assert.equal(recoverFromReport(saved, report('2026-01-01T10:00:05.000Z', '/ws/other.onnx'), file), undefined, 'other model');
    assert.equal(recoverFromReport({ ...saved, startedAt: undefined }, report('2026-01-01T10:00:05.000Z'), file), undefined);
    assert.equal(recoverFromReport(saved, { nonsense: true }, file), undefined);
  });
});

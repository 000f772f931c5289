// The report panel's newer parts, run in node: recovery progress folded into the panel state and
// drawn as a curve, the flag banner and its alternatives (and what the extension starts for one),
// the budget, trusted latency and evaluation lines of the Results tab, and reports from disk.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { LatencyMeasurement, RunFlag, RunSummary } from '../../src/core/pipeline/events';
import { isPanelRequest } from '../../src/view/panelMessages';
import { addRecoverPoint, applyEvent, initialViewState, isRunViewState, MAX_RECOVER_POINTS, type RunViewState } from '../../src/view/panelState';
import { alternativeRun, offeredAlternative } from '../../src/view/flagAlternatives';
import { restoreState } from '../../webview/state';
import { describeEvaluation, renderReportSections, reportSkeleton } from '../../webview/render';
import { alternativeFromButton, describeBudgetOutcome, renderFlagBanner, renderLatency, renderRecovery, showsRecoverChart } from '../../webview/results';
import { recoverAxisTitle, recoverSeries } from '../../webview/chartData';
import { curveChart } from '../../webview/chartSpecs';
import { snapshotFromReport, summaryFromReport } from '../../src/extension/reportFile';
import { validateReport } from '../../src/core/pipeline/reportSchema';
import { pipelineReport } from '../helpers/runReport';

const timing = (medianMs: number, iqrMs: number, batch: number) => ({ batch, medianMs, q1Ms: medianMs - iqrMs / 2, q3Ms: medianMs + iqrMs / 2, iqrMs, runs: 20 });
const measured = (b1: number, b8: number | null): LatencyMeasurement => ({ provider: 'cpu', inputShape: [1, 3, 128, 128], batch1: timing(b1, 0.1, 1), batch8: b8 === null ? null : timing(b8, 0.4, 8), ...(b8 === null ? { batch8Skipped: 'out of memory' } : {}) });

const WORSE: RunFlag = {
  kind: 'much-worse',
  message: 'PSNR dropped 5.32 dB (33.50 → 28.18 dB), more than 1.5 dB; try a smaller sparsity (53%)',
  measured: 5.32,
  threshold: 1.5,
  alternatives: [{ sparsity: 0.53, label: 'Prune at 53%' }],
};
const SLOWER: RunFlag = {
  kind: 'slower',
  message: 'the pruned model is slower than the original: 0.87× speed-up (1.20 → 1.38 ms per input)',
  measured: 0.87,
  threshold: 1,
  alternatives: [{ preset: 'speed', sparsity: 0.8, label: "Prune with 'speed'" }, { sparsity: 0.53, label: 'Prune at 53%' }],
};

const SUMMARY: RunSummary = {
  model: '/ws/net.onnx',
  output: '/ws/net.pruned.onnx',
  reportJson: '/ws/net.pruned.report.json',
  reportMarkdown: '/ws/net.pruned.report.md',
  preset: 'worse',
  method: 'hybrid',
  sparsity: 0.8,
  provider: 'cpu',
  before: { psnr: 33.5, params: 57443, macs: 940_000_000, latencyMs: 1.2, latency: measured(1.2, 8.8) },
  after: { psnr: 28.18, params: 9000, macs: 200_000_000, latencyMs: 1.38, latency: measured(1.38, 6.2) },
  groups: [{ id: 'conv1', kept: 10, total: 64 }],
  flags: [WORSE, SLOWER],
  budget: { kind: 'macs', target: 0.5, macsBefore: 1000, macsAfter: 493, paramsBefore: 100, paramsAfter: 60, ratio: 0.493, met: true, refinementReverted: false },
  recovery: { metric: 'psnr', validationBefore: 27.9, validationAfter: 28.31, improved: true, steps: 120, seconds: 41.5 },
  evaluation: { split: 'test', images: 12, samples: 12, patch: null, inputShape: [1, 3, 128, 128], test: 'whole images 128×128', calibration: 'crops 64×64' },
  seconds: 60,
  stageSeconds: { analyze: 0.2, recover: 41.5 },
};

function recovering(): RunViewState {
  let s = initialViewState('run-1', '/ws/net.onnx', 'balanced');
  s = applyEvent(s, { type: 'stage-start', stage: 'recover' });
  s = applyEvent(s, { type: 'stage-progress', stage: 'recover', fraction: 0.1, message: 'step 1/10, loss 2.000e-3', recover: { step: 1, loss: 2e-3, metric: 'psnr' } });
  s = applyEvent(s, { type: 'stage-progress', stage: 'recover', fraction: 0.2, message: 'step 2/10', recover: { step: 2, loss: 1.5e-3, validation: 28.1, metric: 'psnr' } });
  // Progress without a step (an older worker, another stage's note) adds no point.
  return applyEvent(s, { type: 'stage-progress', stage: 'recover', fraction: 0.25, message: 'validating' });
}

describe('recovery progress in the panel state', () => {
  test('each step with loss and validation metric is kept, and survives getState/setState', () => {
    const s = recovering();
    assert.deepEqual(s.recover, [
      { step: 1, loss: 2e-3, metric: 'psnr' },
      { step: 2, loss: 1.5e-3, validation: 28.1, metric: 'psnr' },
    ]);
    assert.equal(s.stages.find((x) => x.name === 'recover')?.message, 'validating');
    const back = restoreState(JSON.parse(JSON.stringify({ view: 'report', snapshot: s })), 'report');
    assert.deepEqual(back.snapshot?.recover, s.recover);
    // States saved before recovery existed have no trace and still restore; a damaged trace does not.
    const { recover: _drop, ...old } = s;
    assert.ok(isRunViewState(old));
    assert.equal(isRunViewState({ ...s, recover: [{ step: 'x' }] }), false);
  });

  test('the trace stays bounded; validation steps and the newest steps survive thinning', () => {
    let pts: ReturnType<typeof addRecoverPoint> = [];
    for (let k = 1; k <= 5 * MAX_RECOVER_POINTS; k++) pts = addRecoverPoint(pts, { step: k, loss: 1 / k, ...(k % 50 === 0 ? { validation: 30 + k / 1e4 } : {}), metric: 'psnr' });
    assert.ok(pts.length <= MAX_RECOVER_POINTS, `${pts.length} points`);
    assert.equal(pts.filter((p) => p.validation !== undefined).length, (5 * MAX_RECOVER_POINTS) / 50);
    assert.equal(pts[0]!.step, 1);
    assert.equal(pts[pts.length - 1]!.step, 5 * MAX_RECOVER_POINTS);
    assert.ok(pts.every((p, i) => i === 0 || p.step > pts[i - 1]!.step));
    // Every step validated: still bounded.
    let all: typeof pts = [];
    for (let k = 1; k <= 3 * MAX_RECOVER_POINTS; k++) all = addRecoverPoint(all, { step: k, loss: 1, validation: 30, metric: 'psnr' });
    assert.ok(all.length <= MAX_RECOVER_POINTS);
  });

  test('the Live tab draws loss (log axis) and the validation metric on a second axis', () => {
    const s = recovering();
    assert.equal(showsRecoverChart(s), true);
    assert.equal(showsRecoverChart(initialViewState('r', '/m.onnx', 'fast')), false);
    const series = recoverSeries([...s.recover!, { step: 3, loss: 0, metric: 'psnr' }]);
    assert.deepEqual(series.loss, [{ x: 1, y: 2e-3 }, { x: 2, y: 1.5e-3 }]);
    assert.deepEqual(series.validation, [{ x: 2, y: 28.1 }]);
    assert.equal(recoverAxisTitle(s.recover!), 'validation PSNR (dB)');
    assert.equal(recoverAxisTitle([], { ...SUMMARY, recovery: { ...SUMMARY.recovery!, metric: 'accuracy' } }), 'validation accuracy');
    const cfg = curveChart({ xTitle: 'step', yTitle: 'loss', yLog: true, y2Title: 'PSNR', series: [{ label: 'loss', color: '#00f' }, { label: 'validation', color: '#f0f', axis: 'y2' }] }, { fg: '#000', grid: '#ccc' });
    assert.equal(cfg.options?.scales?.y?.type, 'logarithmic');
    assert.equal(cfg.options?.scales?.y2?.position, 'right');
    assert.deepEqual(cfg.data.datasets.map((d) => d.yAxisID), ['y', 'y2']);
    assert.equal(curveChart({ xTitle: 'x', yTitle: 'y', series: [{ label: 'a', color: '#000' }] }, { fg: '#000', grid: '#ccc' }).options?.scales?.y2, undefined);
    assert.match(reportSkeleton('live'), /id="recover-chart"/);
  });
});

describe('flag banner', () => {
  test('each flag with its figures, one button per distinct alternative, in the notification\'s order', () => {
    const html = renderFlagBanner(SUMMARY);
    assert.match(html, /data-flags="much-worse slower"/);
    assert.match(html, /Much worse than the original\.<\/b> PSNR dropped 5\.32 dB/);
    assert.match(html, /Slower than the original\.<\/b> The pruned model is slower/);
    const buttons = [...html.matchAll(/<vscode-button data-action="flag-alternative"([^>]*)>([^<]*)</g)].map((m) => [m[1]!.trim(), m[2]]);
    assert.deepEqual(buttons, [
      ['data-sparsity="0.53"', 'Prune at 53%'],
      ['data-preset="speed" data-sparsity="0.8"', 'Prune with &#39;speed&#39;'],
    ]);
    assert.equal(renderFlagBanner({ ...SUMMARY, flags: [] }), '');
    assert.equal(renderFlagBanner({ ...SUMMARY, compareOnly: true }), '');
    assert.equal(renderFlagBanner(undefined), '');
    assert.equal(renderReportSections({ ...initialViewState('r', '/ws/net.onnx', 'worse'), status: 'done', summary: SUMMARY }).flags, html);
  });

  test('a button becomes a request the protocol accepts and the extension matches against the run', () => {
    const req = alternativeFromButton({ sparsity: '0.53' });
    assert.deepEqual(req, { sparsity: 0.53 });
    assert.ok(isPanelRequest({ type: 'flag-alternative', ...req }));
    assert.equal(isPanelRequest({ type: 'flag-alternative' }), false);
    assert.equal(isPanelRequest({ type: 'flag-alternative', sparsity: '0.5' }), false);
    assert.equal(alternativeFromButton({ sparsity: 'abc' }), undefined);
    assert.equal(alternativeFromButton({}), undefined);
    assert.equal(offeredAlternative(SUMMARY, req!)?.label, 'Prune at 53%');
    assert.equal(offeredAlternative(SUMMARY, { preset: 'speed', sparsity: 0.8 })?.label, "Prune with 'speed'");
    // Not offered by this run: refused.
    assert.equal(offeredAlternative(SUMMARY, { sparsity: 0.1 }), undefined);
    assert.equal(offeredAlternative(SUMMARY, { preset: 'thorough', sparsity: 0.53 }), undefined);
  });

  test('a sparsity alone keeps the preset that ran; a preset alternative brings its own', () => {
    assert.deepEqual(alternativeRun(SUMMARY, WORSE.alternatives[0]!), { preset: 'worse', sparsity: 0.53 });
    assert.deepEqual(alternativeRun(SUMMARY, SLOWER.alternatives[0]!), { preset: 'speed', sparsity: 0.8 });
  });
});

describe('results: latency, budget, recovery, evaluation', () => {
  test('latency: median and IQR at batch 1 and 8, ratio in words; the metric table leaves its row to it', () => {
    const html = renderLatency(SUMMARY);
    assert.match(html, /<tr data-latency="1"><td>batch 1<\/td><td class="num">1\.20 ms \(IQR 0\.10\)<\/td><td class="num after">1\.38 ms \(IQR 0\.10\)<\/td><td class="num"><span class="bad">1\.15× slower<\/span>/);
    assert.match(html, /<tr data-latency="8">.*8\.80 ms \(IQR 0\.40\).*6\.20 ms \(IQR 0\.40\).*1\.42× faster/);
    assert.match(html, /20 timed runs after warm-up, at input 1×3×128×128 on cpu/);
    const skipped = renderLatency({ ...SUMMARY, before: { ...SUMMARY.before, latency: measured(1.2, null) }, after: { ...SUMMARY.after, latency: measured(1.38, null) } });
    assert.match(skipped, /batch 8<\/td><td colspan="3" class="muted">not measured: out of memory/);
    // Older reports: the batch-1 median only.
    const old = renderLatency({ ...SUMMARY, before: { psnr: 33.5, params: 1, macs: 1, latencyMs: 2 }, after: { psnr: 30, params: 1, macs: 1, latencyMs: 1.5 } });
    assert.match(old, /2\.00 ms.*1\.50 ms.*1\.33× faster/);
    assert.equal(renderLatency({ ...SUMMARY, before: { params: 1, macs: 1 }, after: { params: 1, macs: 1 } }), '');
    const results = renderReportSections({ ...initialViewState('r', '/ws/net.onnx', 'worse'), status: 'done', summary: SUMMARY }).results;
    assert.doesNotMatch(results, /data-metric="latencyMs"/);
    assert.match(results, /data-latency="1"/);
  });

  test('budget: target, ratio reached and whether it was met', () => {
    assert.equal(describeBudgetOutcome(SUMMARY.budget!), 'MACs budget 50.0% of the original: reached 49.30% (met)');
    assert.equal(describeBudgetOutcome({ ...SUMMARY.budget!, kind: 'params', ratio: 0.52, met: false, refinementReverted: true }), 'Parameters budget 50.0% of the original: reached 52.00% (not met); the refined mask exceeded it, so the search mask was exported');
    assert.equal(
      describeBudgetOutcome({ ...SUMMARY.budget!, kind: 'latencyMs', target: 0.62, latencyLimitMs: 8, predictedLatencyBeforeMs: 12.9, predictedLatencyAfterMs: 7.95, ratio: 0.616 }),
      "Latency budget 8.00 ms (62.0% of the original's predicted 12.90 ms): predicted 7.95 ms (met)",
    );
    const results = renderReportSections({ ...initialViewState('r', '/ws/net.onnx', 'worse'), status: 'done', summary: SUMMARY }).results;
    assert.match(results, /data-budget-met="true">MACs budget 50\.0% of the original: reached 49\.30% \(met\)\./);
  });

  test('recovery: validation metric before and after, steps and time', () => {
    const html = renderRecovery(SUMMARY);
    assert.match(html, /<tr data-recovery="psnr"><td>PSNR<\/td><td class="num">27\.90 dB<\/td><td class="num after">28\.31 dB<\/td><td class="num"><span class="good">\+0\.41 dB<\/span>/);
    assert.match(html, /120 training steps in 41\.5 s; the best validation checkpoint was written/);
    const acc = renderRecovery({ ...SUMMARY, recovery: { metric: 'accuracy', validationBefore: 0.7, validationAfter: 0.7, improved: false, steps: 1, seconds: 2 } });
    assert.match(acc, /70\.0%.*70\.0%.*\+0\.0 points/);
    assert.match(acc, /1 training step in 2\.0 s; no step beat the exported model, which was written unchanged/);
    assert.equal(renderRecovery({ ...SUMMARY, recovery: undefined } as RunSummary), '');
  });

  test('evaluation sizes: how the test images were measured and what calibration scored', () => {
    assert.equal(describeEvaluation(SUMMARY), 'Measured on the test split: 12 images, whole images 128×128. Calibration and refinement on crops 64×64. MACs and latency at input 1×3×128×128.');
    const analysedSmaller = { ...SUMMARY, evaluation: { ...SUMMARY.evaluation!, inputShape: [1, 3, 64, 64] } };
    assert.equal(describeEvaluation(analysedSmaller), 'Measured on the test split: 12 images, whole images 128×128. Calibration and refinement on crops 64×64. MACs at input 1×3×64×64, latency at 1×3×128×128.');
  });
});

describe('a report opened from disk', () => {
  test('brings its recovery figures, curve, flags, budget and latency into the panel', () => {
    const doc = pipelineReport({ summary: { flags: [WORSE], budget: SUMMARY.budget!, before: SUMMARY.before, after: SUMMARY.after } }) as unknown as Record<string, unknown>;
    doc.recovery = {
      metric: 'psnr',
      validationBefore: 27.9,
      validationAfter: 28.31,
      improved: true,
      steps: 120,
      bestStep: 100,
      stoppedBy: 'steps',
      seconds: 41.5,
      stepsPerSecond: 2.9,
      recalibration: null,
      curve: [
        { step: 1, loss: 0.002 },
        { step: 50, loss: 0.0015, validation: 28.1 },
        { step: 100, loss: 0.0012, validation: 28.31 },
      ],
    };
    assert.deepEqual(validateReport(doc), []);
    const file = '/ws/net.pruned.report.json';
    const summary = summaryFromReport(doc, file);
    assert.deepEqual(summary.recovery, SUMMARY.recovery);
    const snap = snapshotFromReport(doc, file);
    assert.deepEqual(snap.recover, [
      { step: 1, loss: 0.002, metric: 'psnr' },
      { step: 50, loss: 0.0015, validation: 28.1, metric: 'psnr' },
      { step: 100, loss: 0.0012, validation: 28.31, metric: 'psnr' },
    ]);
    const sections = renderReportSections(snap);
    assert.match(sections.flags, /Prune at 53%/);
    assert.match(sections.results, /data-recovery="psnr"/);
    assert.match(sections.results, /data-budget-met="true"/);
    assert.match(sections.results, /1\.15× slower/);
    assert.equal(showsRecoverChart(snap), true);
  });
});

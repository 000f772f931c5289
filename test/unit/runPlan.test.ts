// What the extension says before and during a run (issue 21): the confirm step's cost estimate
// and sparsity input, the data-folder picker's hints, elapsed time and ETA, labelled figures
// (split, input size, locked channels, counts), the charts' data and the compare-only results.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { applyEvent, finalEnergyTrace, initialViewState, type RunSummary, type RunViewState } from '../../src/protocol';
import { formatCount, lockedSummary, normalizeAnalysis, shortLabel } from '../../src/view/analysisModel';
import { dataFolderHint, describeClock, describeEstimate, estimateCost, formatDuration, parseSparsityPercent, runClock } from '../../src/extension/runPlan';
import { compareBasisFromReport, describeComparison, describeOutcome, metricLine, snapshotFromReport, summaryFromReport } from '../../src/extension/reportFile';
import { buildPruneRequest, readSettings } from '../../src/extension/settingsMapping';
import { describeEvaluation, renderComparison, renderHeader, renderModel, renderReportSections } from '../../webview/render';
import { energyPoints, refineAxisTitle, yRange } from '../../webview/chartData';
import { resolvePreset } from '../../src/core/presets';
import { pipelineReport } from '../helpers/runReport';
import { analyzeModelFile } from '../../src/core/analysis/report';

const ROOT = path.resolve(__dirname, '..', '..');

/** A report as the pipeline writes it, of /ws/dncnn.onnx with its data folder at /ws/data. */
function reportDoc() {
  return pipelineReport({ model: '/ws/dncnn.onnx' });
}

/** A dncnn-like chain: conv0 → g0 → conv1 → g1 → conv2, with 2 channels of g1 locked elsewhere. */
const ANALYSIS = normalizeAnalysis({
  inputShape: [1, 3, 256, 256],
  totals: { params: 1000 + 4000 + 1000, macs: 6000 },
  layers: [
    { node: '/c0/Conv', op: 'Conv', inChannels: 3, outChannels: 10, params: 1000, macs: 1000 },
    { node: '/c1/Conv', op: 'Conv', inChannels: 10, outChannels: 10, params: 4000, macs: 4000 },
    { node: '/c2/Conv', op: 'Conv', inChannels: 10, outChannels: 3, params: 1000, macs: 1000 },
  ],
  groups: [
    { id: '/c0/Conv', size: 10, producers: ['/c0/Conv'], consumers: ['/c1/Conv'] },
    { id: '/c1/Conv', size: 10, producers: ['/c1/Conv'], consumers: ['/c2/Conv'] },
  ],
  locked: [
    { source: '/c2/Conv', tensor: 'y', channels: 3, reason: 'graph-output', detail: '' },
    { source: '/x/Conv', tensor: 'z', channels: 3, reason: 'graph-output', detail: '' },
  ],
});

const SUMMARY: RunSummary = {
  model: '/ws/net.onnx',
  output: '/ws/net.pruned.onnx',
  reportJson: '/ws/net.pruned.report.json',
  reportMarkdown: '/ws/net.pruned.report.md',
  preset: 'fast',
  method: 'hybrid',
  sparsity: 0.36,
  provider: 'cpu',
  before: { psnr: 33.53, ssim: 0.9, params: 57443, macs: 233_600_000, latencyMs: 2 },
  after: { psnr: 25.69, ssim: 0.57, params: 23709, macs: 100_000_000, latencyMs: 1.5 },
  groups: [{ id: 'g', kept: 20, total: 32 }],
  comparison: [
    { method: 'l1', psnr: 24.04, ssim: 0.43, params: 25421, macs: 57_977_856, latencyMs: 1.7, seconds: 0.002 },
    { method: 'hybrid', psnr: 25.69, ssim: 0.57, params: 24617, macs: 56_090_880, latencyMs: 1.9, seconds: 0.3 },
  ],
  evaluation: { split: 'test', images: 12, samples: 12, patch: [64, 64], inputShape: [1, 3, 64, 64] },
  seconds: 74,
  stageSeconds: {},
};

describe('confirm step', () => {
  test('the estimate prunes every group by the sparsity, inputs and outputs alike, and names the input size', () => {
    const e = estimateCost(ANALYSIS, 0.5)!;
    // c0: out 10 → 5 (½); c1: in ½ × out ½ (¼); c2: in ½.
    assert.equal(e.params.after, 500 + 1000 + 500);
    assert.equal(e.macs.after, 2000);
    assert.deepEqual(e.inputShape, [1, 3, 256, 256]);
    assert.equal(describeEstimate(e), 'params 6.00k → 2.00k · MACs 6.00k → 2.00k at 1×3×256×256');
    assert.equal(estimateCost(ANALYSIS, 0)!.params.after, 6000);
  });

  test('the estimate lands near a real run on the dncnn fixture (57.4k → 24.6k params at 36%, preset fast)', async () => {
    const doc = await analyzeModelFile(path.join(ROOT, 'test/fixtures/dncnn.onnx'), [1, 3, 48, 48]);
    const e = estimateCost(normalizeAnalysis(doc), 0.36)!;
    assert.ok(Math.abs(e.params.after - 24617) / 24617 < 0.1, `estimate ${e.params.after}`);
  });

  test('a typed sparsity is a percentage between 1 and 95', () => {
    assert.equal(parseSparsityPercent('40'), 0.4);
    assert.equal(parseSparsityPercent(' 37.5 % '), 0.375);
    assert.match(String(parseSparsityPercent('0.4x')), /percentage/);
    assert.match(String(parseSparsityPercent('99')), /between 1% and 95%/);
  });

  test('a changed sparsity overrides the preset, and the output name follows it', () => {
    const settings = readSettings({ outputNaming: '${name}.${sparsity}.onnx' });
    const r = buildPruneRequest({ model: '/ws/m.onnx', data: '/ws/data', settings, preset: 'fast', compare: false, overrides: { sparsity: 0.5 } });
    assert.equal(r.settings.sparsity, 0.5);
    assert.equal(r.presetName, 'fast');
    assert.equal(r.out, '/ws/m.50.onnx');
  });
});

describe('package.json', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

  test('the setting the extension writes to folder settings is resource-scoped (else VS Code refuses the write)', () => {
    assert.equal(pkg.contributes.configuration.properties['quboPrune.dataFolder'].scope, 'resource');
  });

  test('Compare methods is in the Explorer context menu of .onnx files', () => {
    const item = pkg.contributes.menus['explorer/context'].find((m: { command: string }) => m.command === 'quboPrune.compareMethods');
    assert.equal(item?.when, 'resourceExtname == .onnx');
  });
});

describe('data folder picker', () => {
  test('splits, pairs and images are recognised; anything else is not offered', () => {
    assert.equal(dataFolderHint(['calib/', 'val/', 'test/', 'manifest.json']), 'splits: calib, test, val');
    assert.equal(dataFolderHint(['noisy/', 'clean/']), 'pairs: clean + noisy');
    assert.equal(dataFolderHint(['a.png', 'b.JPG', 'notes.txt']), '2 images');
    assert.equal(dataFolderHint(['src/', 'package.json']), undefined);
  });
});

describe('elapsed time and ETA', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const running = (): RunViewState => {
    let s = initialViewState('r', '/m.onnx', 'e2e');
    s.startedAt = new Date(t0).toISOString();
    s = applyEvent(s, { type: 'run-start', model: '/m.onnx', preset: 'e2e', settings: resolvePreset('balanced').settings, startedAt: s.startedAt }, t0);
    return applyEvent(s, { type: 'stage-start', stage: 'refine' }, t0 + 5000);
  };

  test('refinement: the budget bounds the time left before any progress', () => {
    const c = runClock(running(), t0 + 15_000)!;
    assert.equal(c.elapsedSeconds, 15);
    assert.equal(c.stageEtaSeconds, 50);
    assert.equal(describeClock(c), 'elapsed 0:15 · refine ≈0:50 left');
  });

  test('refinement: progress that runs ahead of the budget shortens it', () => {
    const s = applyEvent(running(), { type: 'stage-progress', stage: 'refine', fraction: 0.5 }, t0 + 15_000);
    assert.equal(runClock(s, t0 + 15_000)!.stageEtaSeconds, 10);
  });

  test('a finished run shows its total time; no start time, no clock', () => {
    const s = { ...running(), status: 'done' as const, summary: SUMMARY };
    assert.equal(describeClock(runClock(s, t0 + 999_000)), 'elapsed 1:14');
    assert.equal(runClock(initialViewState('r', '/m', 'p'), t0), undefined);
    assert.equal(formatDuration(3725), '1:02:05');
  });

  test('the report header carries the sparsity and the clock while the run goes', () => {
    const html = renderHeader(running(), t0 + 15_000);
    assert.match(html, /preset <b>e2e<\/b> · 36% filter sparsity/);
    assert.match(html, /<span id="clock" class="clock">elapsed 0:15 · refine ≈0:50 left<\/span>/);
    assert.match(renderHeader({ ...running(), compareOnly: true }, t0), /compare methods · preset/);
  });
});

describe('figures that say what they measure', () => {
  test('results name the split, the crops and the input size of MACs', () => {
    assert.equal(describeEvaluation(SUMMARY), 'Measured on the test split: 12 images, 12 crops of 64×64. MACs and latency at input 1×3×64×64.');
    const s = applyEvent(initialViewState('r', SUMMARY.model, 'fast'), { type: 'result', summary: SUMMARY });
    const html = renderReportSections(s).results;
    assert.match(html, /Measured on the test split: 12 images/);
    assert.match(html, /<td>MACs at 1×3×64×64<\/td>/);
    const whole = { ...SUMMARY, evaluation: { ...SUMMARY.evaluation!, patch: null } };
    assert.match(describeEvaluation(whole), /12 images, whole images/);
  });

  test('counts are formatted in the done notification', () => {
    assert.equal(describeOutcome(SUMMARY), 'PSNR 33.53 → 25.69 dB, params 57.4k → 23.7k');
    assert.equal(metricLine({ params: 57443, macs: 1 }, { params: 23709, macs: 1 }), 'params 57.4k → 23.7k');
    assert.equal(formatCount(57443), '57.4k');
  });

  test('locked channels are counted in channels everywhere, with their sets beside them', () => {
    assert.equal(lockedSummary(6, 2), '6 in 2 sets');
    assert.equal(lockedSummary(0, 0), '0');
    const html = renderModel({ model: '/m.onnx', status: 'ready', document: { totals: { params: 1, macs: 1 }, layers: [], groups: [], locked: [{ source: 'a', channels: 3 }, { source: 'b', channels: 3 }] } });
    assert.match(html, /data-total="locked">6 in 2 sets</);
  });

  test('tree labels drop exporter path noise', () => {
    assert.equal(shortLabel('/body/body.11/Conv'), 'body.11/Conv');
    assert.equal(shortLabel('conv1'), 'conv1');
  });

  test('reports without the evaluation note get it from their data summary', () => {
    const ev = summaryFromReport(reportDoc(), '/ws/dncnn.pruned.report.json').evaluation!;
    assert.deepEqual(ev, { split: 'test', images: 12, samples: 12, patch: [48, 48], inputShape: [1, 3, 48, 48] });
    const noted = { ...reportDoc(), evaluation: { split: 'test' as const, images: 3, samples: 3, patch: null, inputShape: [1, 1, 96, 96] } };
    assert.deepEqual(summaryFromReport(noted, '/ws/x.report.json').evaluation, noted.evaluation);
  });
});

describe('charts', () => {
  test('energy on a log x axis: iteration 0 is drawn at 1', () => {
    assert.deepEqual(energyPoints([{ iteration: 0, energy: -1 }, { iteration: 10, energy: -2 }]), [{ x: 1, y: -1 }, { x: 10, y: -2 }]);
  });

  test('a report reopened from JSON draws the live final series (ending at the last iteration)', () => {
    const trace = [{ iteration: 0, energy: -1, timeMs: 1 }, { iteration: 5, energy: -3, timeMs: 2 }];
    const doc = reportDoc();
    doc.search = { ...doc.search, trace, iterations: 200_000 };
    const snap = snapshotFromReport(doc, '/ws/dncnn.pruned.report.json');
    let live = initialViewState('r', '/m', 'p');
    live = applyEvent(live, { type: 'solver-trace', points: [{ iteration: 3, energy: -2 }] });
    live = applyEvent(live, { type: 'solver-trace', points: finalEnergyTrace(trace, 200_000), final: true });
    assert.deepEqual(snap.energy, live.energy);
    assert.deepEqual(snap.energy.at(-1), { iteration: 200_000, energy: -3 });
  });

  test('the refinement axis names its metric', () => {
    let s = initialViewState('r', '/m', 'p');
    assert.equal(refineAxisTitle(s), 'metric');
    s = applyEvent(s, { type: 'refine-progress', iteration: 1, evaluations: 8, best: 30, eliteMean: 29, metric: 'psnr' });
    assert.equal(refineAxisTitle(s), 'PSNR (dB)');
    assert.equal(refineAxisTitle({ ...initialViewState('r', '/m', 'p'), summary: { ...SUMMARY, before: { accuracy: 0.9, params: 1, macs: 1 } } }), 'accuracy');
  });

  test('one refinement point gets a range of the metric, not ±5% of it', () => {
    assert.deepEqual(yRange([30, 30], 'psnr'), { min: 29.75, max: 30.25 });
    assert.deepEqual(yRange([0.9], 'accuracy'), { min: 0.89, max: 0.91 });
    assert.equal(yRange([29, 31], 'psnr'), undefined);
    assert.equal(yRange([], 'psnr'), undefined);
  });
});

describe('compare methods', () => {
  const compared: RunSummary = { ...SUMMARY, compareOnly: true };

  test('compare-only results: the original first, SSIM, latency and selection time, and no buttons that would touch files', () => {
    const html = renderComparison(compared);
    assert.match(html, /Methods at 36% filter sparsity/);
    assert.match(html, /nothing written/);
    assert.match(html, /<th>SSIM<\/th>/);
    assert.match(html, /<th>Latency \(ms\)<\/th>/);
    assert.match(html, /<tr data-method="original"><td>original<\/td><td class="num">33.53<\/td>/);
    assert.match(html, /<tr data-method="hybrid">.*<td class="num">0.30<\/td><\/tr>/);
    const s = applyEvent(initialViewState('r', SUMMARY.model, 'fast'), { type: 'result', summary: compared });
    const sections = renderReportSections(s);
    assert.doesNotMatch(sections.actions, /reveal-output|open-markdown/);
    assert.doesNotMatch(sections.results, /table class="metrics"/);
    assert.equal(describeComparison(compared), '2 methods at 36% sparsity, best hybrid (PSNR 25.69 dB)');
  });

  test('the basis of a comparison is the report\'s settings, data and output', () => {
    const doc = reportDoc();
    const b = compareBasisFromReport(doc, '/ws/dncnn.pruned.report.json');
    assert.equal(b.settings.sparsity, doc.settings.sparsity);
    assert.equal(b.settings.refine.scope, doc.settings.refine.scope);
    assert.equal(b.data, path.resolve('/ws', doc.data.root));
    assert.equal(b.preset, doc.preset);
    assert.throws(() => compareBasisFromReport({ ...doc, settings: { ...doc.settings, sparsity: 2 } }, '/ws/x.report.json'), /damaged QUBO Prune report: \$\.settings\.sparsity/);
    assert.throws(() => compareBasisFromReport({ ...doc, data: {} }, '/ws/x.report.json'), /damaged QUBO Prune report: \$\.data\.root: is missing/);
  });
});

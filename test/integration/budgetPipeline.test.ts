import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import type { PipelineEvent, PruneRequest } from '../../src/protocol';
import type { LatencyMeasurement, MeasureOptions } from '../../src/core/latency/measure';
import { parseModel } from '../../src/core/onnx';
import { inferShapes } from '../../src/core/analysis/shapes';
import { countCost } from '../../src/core/prune/cost';

const FIX = path.resolve(__dirname, '../fixtures');

const request = (out: string, budget: PruneRequest['settings']['budget'], extra: Partial<PruneRequest> = {}): PruneRequest => ({
  model: path.join(FIX, 'halfunet.onnx'),
  data: path.join(FIX, 'data'),
  out,
  presetName: 'test',
  settings: mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 150, refine: { scope: 'network', evaluations: 30, seconds: 10, valSamples: 2 }, recover: null, budget }),
  compare: false,
  timeBudgetSeconds: 0,
  ...extra,
});

test('a MAC budget: the exported model meets it within 2% and the report says so', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-budget-'));
  const events: PipelineEvent[] = [];
  const summary = await runPipeline(request(path.join(dir, 'halfunet.pruned.onnx'), { macs: 0.5 }), { onEvent: (e) => events.push(e) });
  const b = summary.budget!;
  assert.ok(b, 'summary carries the budget');
  assert.equal(b.kind, 'macs');
  assert.equal(b.target, 0.5);
  // Counted on the exported model (the evaluation's layer analysis), not on the cost polynomial.
  assert.equal(b.macsAfter, summary.after.macs);
  assert.equal(b.macsBefore, summary.before.macs);
  const ratio = summary.after.macs / summary.before.macs;
  assert.ok(ratio <= 0.5 && ratio >= 0.49, `MAC ratio ${ratio}`);
  assert.equal(b.met, true);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  // Only the budget's part of the schema is this test's concern (test/integration/pipeline.test.ts checks the rest).
  assert.deepEqual(validateReport(report).filter((e) => e.startsWith('$.budget') || e.startsWith('$.groups') || e.startsWith('$:')), []);
  assert.deepEqual(validateReportMarkdown(readFileSync(summary.reportMarkdown, 'utf8'), report), []);
  assert.deepEqual(report.budget, b);
  assert.deepEqual(validateReport({ ...report, budget: { ...b, ratio: b.ratio + 0.1 } }).filter((e) => e.startsWith('$.budget')).length, 1, 'a ratio that disagrees with the counts is caught');
  assert.ok(readFileSync(summary.reportMarkdown, 'utf8').includes('MACs budget 50.0% of the original: reached'));
  assert.ok(events.some((e) => e.type === 'log' && /MACs budget 50\.0% .* \(met\)/.test(e.message)));
});

test('a budget applies to every method of a comparison: equal MACs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-budget-cmp-'));
  const summary = await runPipeline(request(path.join(dir, 'halfunet.pruned.onnx'), { params: 0.4 }, { mode: 'compare-only' }));
  assert.equal(summary.budget!.kind, 'params');
  for (const row of summary.comparison!) {
    const r = row.params / summary.before.params;
    assert.ok(r <= 0.4 && r >= 0.4 * 0.98, `${row.method}: parameter ratio ${r}`);
  }
});

test('a latency budget: the latency model is the constraint, cached, and the report gives predicted and measured latency', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-budget-lat-'));
  const cache = path.join(dir, 'cache');
  const logs: string[] = [];
  // A deterministic clock (a fixed cost plus time per MAC, counted on the timed file): the latency
  // model is fitted to it like to real timings, and nothing here depends on this machine's load.
  let timings = 0;
  const measure = async (bytes: Uint8Array, o: MeasureOptions): Promise<LatencyMeasurement> => {
    timings++;
    const m = parseModel(bytes);
    const ms = 0.3 + 4e-8 * countCost(m, await inferShapes(m, o.inputShape)).macs;
    return { provider: o.provider, inputShape: o.inputShape, batch1: { batch: 1, medianMs: ms, q1Ms: ms, q3Ms: ms, iqrMs: 0, runs: 20 }, batch8: null, batch8Skipped: 'batch 1 only was asked for' };
  };
  const opts = { latency: { runs: 3, largeBatch: false, measure }, onEvent: (e: PipelineEvent) => e.type === 'log' && logs.push(e.message) };
  const settings = mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 150, refine: { scope: 'off' }, recover: null, budget: { latencyRatio: 0.6 } });
  const summary = await runPipeline(request(path.join(dir, 'a.onnx'), { latencyRatio: 0.6 }, { latencyCacheDir: cache, settings }), opts);
  const b = summary.budget!;
  assert.equal(b.kind, 'latencyRatio');
  assert.ok(b.met, JSON.stringify(b));
  assert.ok(Math.abs(b.latencyLimitMs! - 0.6 * b.predictedLatencyBeforeMs!) < 1e-9);
  assert.equal(summary.after.predictedLatencyMs, b.predictedLatencyAfterMs);
  // The clock is one the model's form can follow exactly, so the measured ratio is the predicted one.
  const measuredRatio = summary.after.latencyMs! / summary.before.latencyMs!;
  assert.ok(Math.abs(measuredRatio / b.ratio - 1) < 1e-3, `measured ${measuredRatio} vs predicted ${b.ratio}`);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.deepEqual(validateReport(report), []);
  assert.match(readFileSync(summary.reportMarkdown, 'utf8'), /latency budget .* ms .* predicted .* ms/);
  assert.ok(logs.some((l) => /^latency model at 128×128 on cpu: 10 whole-model timings in .* s, (shared|per-class) fit: /.test(l)), logs.join('\n'));
  assert.equal(readdirSync(cache).length, 1, 'the fit is cached');
  const before = timings;
  const second = await runPipeline(request(path.join(dir, 'b.onnx'), { latencyRatio: 0.6 }, { latencyCacheDir: cache, settings }), opts);
  assert.ok(second.budget!.met, JSON.stringify(second.budget));
  assert.equal(second.budget!.predictedLatencyBeforeMs, b.predictedLatencyBeforeMs);
  assert.ok(logs.some((l) => /^latency model at .* \(cached\)/.test(l)), 'the second run reads the cached fit');
  assert.ok(timings - before < 10, `the second run times only the original and the export, not the calibration masks (${timings - before} timings)`);
});

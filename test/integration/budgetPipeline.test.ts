import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import type { PipelineEvent, PruneRequest } from '../../src/protocol';

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
  const opts = { latency: { runs: 3, largeBatch: false }, onEvent: (e: PipelineEvent) => e.type === 'log' && logs.push(e.message) };
  const summary = await runPipeline(request(path.join(dir, 'a.onnx'), { latencyRatio: 0.6 }, { latencyCacheDir: cache, settings: mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 150, refine: { scope: 'off' }, recover: null, budget: { latencyRatio: 0.6 } }) }), opts);
  const b = summary.budget!;
  assert.equal(b.kind, 'latencyRatio');
  assert.ok(b.met, JSON.stringify(b));
  assert.ok(Math.abs(b.latencyLimitMs! - 0.6 * b.predictedLatencyBeforeMs!) < 1e-9);
  assert.equal(summary.after.predictedLatencyMs, b.predictedLatencyAfterMs);
  assert.ok(summary.after.latencyMs! > 0);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.deepEqual(validateReport(report), []);
  assert.match(readFileSync(summary.reportMarkdown, 'utf8'), /latency budget .* ms .* predicted .* ms/);
  assert.ok(logs.some((l) => /^latency model at 128×128 on cpu: /.test(l)), logs.join('\n'));
  await runPipeline(request(path.join(dir, 'b.onnx'), { latencyRatio: 0.6 }, { latencyCacheDir: cache, settings: mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 150, refine: { scope: 'off' }, recover: null, budget: { latencyRatio: 0.6 } }) }), opts);
  assert.ok(logs.some((l) => /^latency model at .* \(cached\)/.test(l)), 'the second run reads the cached tables');
});

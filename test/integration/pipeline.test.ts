import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline, CancelledError } from '../../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import { loadDataset } from '../../src/core/data';
import { evaluateModel } from '../../src/core/pipeline/evaluateModel';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import type { PipelineEvent, PruneRequest, StageName } from '../../src/protocol';

const FIX = path.resolve(__dirname, '../fixtures');
const settings = mergeSettings(DEFAULT_SETTINGS, {
  provider: 'cpu',
  samples: 4,
  patch: 32,
  searchTimeMs: 100,
  refine: { scope: 'network', evaluations: 40, seconds: 20, valSamples: 2 },
  // The real recover stage end to end, with a step budget small enough for a test.
  recover: { steps: 8, batch: 2, timeBudget: 60, patience: 100 },
});
const request = (out: string): PruneRequest => ({
  model: path.join(FIX, 'dncnn.onnx'),
  data: path.join(FIX, 'data'),
  out,
  presetName: 'test',
  settings,
  compare: true,
  timeBudgetSeconds: 0,
});

/** Batch 1 only, 5 timed runs: for runs that do not test latency. */
const FAST_LATENCY = { runs: 5, largeBatch: false };

test('the whole pipeline writes a model and reports whose numbers can be recomputed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-pipe-'));
  const events: PipelineEvent[] = [];
  // Latency is tested in latencyEval.test.ts: here batch 1 with few runs keeps the run short.
  const summary = await runPipeline(request(path.join(dir, 'dncnn.pruned.onnx')), { onEvent: (e) => events.push(e), latency: FAST_LATENCY });
  for (const f of [summary.output, summary.reportJson, summary.reportMarkdown]) assert.ok(existsSync(f), f);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.deepEqual(validateReport(report), []);
  assert.deepEqual(validateReportMarkdown(readFileSync(summary.reportMarkdown, 'utf8'), report), []);
  assert.equal(report.kind, 'qubo-prune.report');
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.provider, 'cpu');
  const kept = report.groups.reduce((a: number, g: { kept: number; keep: number[] }) => a + g.keep.reduce((x, y) => x + y, 0), 0);
  assert.equal(kept, report.search.K, 'exactly K channels kept');
  assert.ok(report.export.maxAbsDiffVsMasked <= 1e-4);
  assert.ok(report.comparison.some((c: { method: string }) => c.method === 'taylor'));
  assert.ok(summary.after.params < summary.before.params);
  // The printed PSNR equals a fresh evaluation of the written file.
  const data = await loadDataset(path.join(FIX, 'data'), { patch: 32, seed: settings.seed, maxPerSplit: { calib: 4, val: 2 } });
  const again = await evaluateModel(new Uint8Array(readFileSync(summary.output)), data.test.wholeImages(), 'denoise', 'cpu');
  assert.ok(Math.abs(again.psnr! - summary.after.psnr!) < 1e-9, `${again.psnr} vs ${summary.after.psnr}`);
  const stages = events.filter((e) => e.type === 'stage-end').map((e) => (e as { stage: StageName }).stage);
  assert.deepEqual(stages, ['analyze', 'calibrate', 'importance', 'search', 'refine', 'export', 'recover', 'evaluate']);
  // The recover stage ran and the report carries it (validated above, section in the Markdown).
  assert.equal(report.recovery.steps, 8);
  assert.ok(report.recovery.validationAfter >= report.recovery.validationBefore);
  assert.ok(report.recovery.curve.length === 8 && report.recovery.curve.some((c: { validation?: number }) => c.validation !== undefined));
  assert.equal(summary.recovery?.steps, 8);
  assert.ok(events.some((e) => e.type === 'refine-progress'));
  // Network-scope blocks of the DnCNN late in the net run through a split model (blockSplit.ts).
  assert.ok(events.some((e) => e.type === 'log' && /candidates ran only the part of the model after their block/.test(e.message)), 'some block was split');
  const ev = report.refinement.evaluator;
  assert.ok(ev.splitBlocks > 0 && ev.suffixEvaluations > 0 && ev.suffixEvaluations < report.refinement.evaluations, JSON.stringify(ev));
  assert.ok(readFileSync(summary.reportMarkdown, 'utf8').includes('ran only the part of the model after their gates'));
  // Baselines are measured as the run's own result is: SSIM and latency too, and the run's
  // method reports its search time rather than the 0.0 s of a reused selection.
  for (const c of summary.comparison!) assert.ok(c.ssim !== undefined && c.latencyMs !== undefined, JSON.stringify(c));
  assert.equal(summary.comparison!.find((c) => c.method === 'hybrid')!.seconds, summary.stageSeconds.search);
  assert.equal(summary.comparison!.find((c) => c.method === 'hybrid+tt+recover')!.psnr, summary.after.psnr);
  assert.deepEqual(report.evaluation, { split: 'test', images: 12, samples: 12, patch: null, inputShape: [1, 3, 32, 32], test: 'whole images 128×128', calibration: 'crops 32×32' });
});

test('compare-only: every baseline selected and evaluated with progress, nothing written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-cmp-'));
  const events: PipelineEvent[] = [];
  const summary = await runPipeline({ ...request(path.join(dir, 'dncnn.pruned.onnx')), mode: 'compare-only' }, { onEvent: (e) => events.push(e), latency: FAST_LATENCY });
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
  assert.equal(summary.compareOnly, true);
  assert.deepEqual(summary.comparison!.map((c) => c.method), ['random', 'l1', 'taylor', 'l1-qubo', 'hybrid']);
  for (const c of summary.comparison!) assert.ok(c.psnr !== undefined && c.ssim !== undefined && c.latencyMs !== undefined && c.seconds > 0, JSON.stringify(c));
  const notes = events.flatMap((e) => (e.type === 'stage-progress' && e.message ? [`${e.stage} ${e.message}`] : []));
  assert.ok(notes.includes('search l1 (2/5)') && notes.includes('evaluate hybrid (6/6)'), notes.join(', '));
  const ends = events.flatMap((e) => (e.type === 'stage-end' ? [`${e.stage}${e.skipped ? '-' : ''}`] : []));
  assert.deepEqual(ends, ['analyze', 'calibrate', 'importance', 'search', 'refine-', 'export-', 'evaluate']);
  // The same evaluation as a prune run's "after": the hybrid row is the QUBO-only pruned model.
  assert.equal(summary.after.psnr, summary.comparison!.find((c) => c.method === 'hybrid')!.psnr);
});

for (const stage of ['calibrate', 'search', 'refine', 'evaluate'] as StageName[]) {
  test(`cancelling during ${stage} leaves no output`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qp-cancel-'));
    const controller = new AbortController();
    const run = runPipeline(request(path.join(dir, 'out.onnx')), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'stage-start' && e.stage === stage) controller.abort();
      },
    });
    await assert.rejects(run, (err) => err instanceof CancelledError || (err as Error).name === 'AbortError' || controller.signal.aborted);
    assert.deepEqual(readdirSync(dir), []);
  });
}

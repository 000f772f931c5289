import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import { loadDataset } from '../../src/core/data';
import { DenoiseMetrics } from '../../src/core/metrics';
import { openSession, ort } from '../../src/core/runtime/session';
import { validateReport } from '../../src/core/pipeline/reportSchema';
import { runTiled } from '../../src/core/pipeline/tiledRun';
import { TIMED_RUNS } from '../../src/core/latency/stats';

const FIX = path.resolve(__dirname, '../fixtures');

/** PSNR of a model file over whole images, image by image: independent of the pipeline's batching. */
async function wholeImagePsnr(modelFile: string, seed: number): Promise<{ psnr: number; images: number }> {
  const data = await loadDataset(path.join(FIX, 'data'), { seed });
  const { session } = await openSession(new Uint8Array(readFileSync(modelFile)), { provider: 'cpu' });
  try {
    const m = new DenoiseMetrics();
    for (let i = 0; i < data.test.count; i++) {
      const b = await data.test.get([i]);
      const y = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', b.input, b.shape) }))[session.outputNames[0]!]!;
      m.add(y.data as Float32Array, b.target!, b.shape);
    }
    return { psnr: m.summary().psnr, images: data.test.count };
  } finally {
    await session.release();
  }
}

test('a run reports whole-image test metrics and latency at batch 1 and 8 with median and IQR', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-lat-'));
  const settings = mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'off' }, recover: false });
  const summary = await runPipeline({ model: path.join(FIX, 'dncnn.onnx'), data: path.join(FIX, 'data'), out: path.join(dir, 'dncnn.pruned.onnx'), presetName: 'test', settings, compare: false, timeBudgetSeconds: 0 });
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.deepEqual(validateReport(report), []);
  // Calibration ran on 32×32 crops; the test metrics are on the whole 128×128 images.
  assert.equal(report.evaluation.test, 'whole images 128×128');
  assert.equal(report.evaluation.calibration, 'crops 32×32');
  assert.equal(report.evaluation.patch, null);
  const again = await wholeImagePsnr(summary.output, settings.seed);
  assert.equal(report.evaluation.samples, again.images);
  assert.ok(Math.abs(again.psnr - summary.after.psnr!) < 1e-9, `${again.psnr} vs ${summary.after.psnr}`);
  const orig = await wholeImagePsnr(path.join(FIX, 'dncnn.onnx'), settings.seed);
  assert.ok(Math.abs(orig.psnr - summary.before.psnr!) < 1e-9, `${orig.psnr} vs ${summary.before.psnr}`);
  for (const side of [summary.before, summary.after]) {
    const l = side.latency!;
    assert.deepEqual(l.inputShape, [1, 3, 128, 128], 'timed at the whole-image size, not the 32×32 crops');
    assert.equal(l.provider, 'cpu');
    assert.equal(l.batch1.runs, TIMED_RUNS);
    assert.ok(l.batch1.q1Ms <= l.batch1.medianMs && l.batch1.medianMs <= l.batch1.q3Ms && l.batch1.iqrMs >= 0);
    assert.equal(side.latencyMs, l.batch1.medianMs);
    assert.ok(l.batch8 && l.batch8.batch === 8 && l.batch8.medianMs > l.batch1.medianMs, JSON.stringify(l.batch8));
  }
  const md = readFileSync(summary.reportMarkdown, 'utf8');
  assert.match(md, /Test metrics on whole images 128×128; calibration and refinement on crops 32×32/);
  assert.match(md, /\| Latency \(median, batch 1, 128×128, cpu\) \| [\d.]+ ms \(IQR [\d.]+\) \| – \| [\d.]+ ms \(IQR [\d.]+\) \| (\d\.\d\d× (faster|slower)|same speed \(1\.00×\)) \|/);
  assert.match(md, /\| Latency \(median, batch 8, 128×128, cpu\) \|/);
  assert.doesNotMatch(md, /0\.\d\d× faster/);
});

test('tiles with an overlap past the receptive field reproduce the whole-image output', async () => {
  const data = await loadDataset(path.join(FIX, 'data'), { seed: 0 });
  const b = await data.test.get([0]);
  const { session } = await openSession(path.join(FIX, 'dncnn.onnx'), { provider: 'cpu' });
  try {
    const whole = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', b.input, b.shape) }))[session.outputNames[0]!]!.data as Float32Array;
    // 128 = tiles at 0, 32 (stride 96 − 2·32) … 32: every kept pixel is ≥ 32 px from a cut edge.
    const tiled = await runTiled(session, b.input, b.shape, { size: 96, overlap: 32 });
    assert.deepEqual(tiled.dims, b.shape);
    let diff = 0;
    for (let i = 0; i < whole.length; i++) diff = Math.max(diff, Math.abs(whole[i]! - tiled.data[i]!));
    assert.ok(diff < 1e-4, `max difference ${diff}`);
  } finally {
    await session.release();
  }
});

test('the latency model times whole pruned fixtures, fits non-negative coefficients and is served from the cache', async () => {
  const { loadModel, normalizeGraph } = await import('../../src/core/onnx');
  const { inferShapes } = await import('../../src/core/analysis/shapes');
  const { analyzeDependencies } = await import('../../src/core/analysis/dependencyGroups');
  const { buildLatencyModel, describeLatencyModel } = await import('../../src/core/latency/latencyModel');
  const { calibrationMasks } = await import('../../src/core/latency/wholeModelFit');
  const { evaluateCountCost } = await import('../../src/core/prune/cost');
  const model = await loadModel(path.join(FIX, 'dncnn.onnx'));
  normalizeGraph(model);
  const inputShape = [1, 3, 32, 32];
  const shapes = await inferShapes(model, inputShape);
  const deps = analyzeDependencies(model, shapes);
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'qp-latmodel-'));
  const lm = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu', cacheDir, runs: 5 });
  assert.equal(lm.fromCache, false);
  assert.equal(lm.samples.length, calibrationMasks(deps).length);
  assert.ok(lm.samples.every((s) => s.ms > 0));
  // Real timings on a shared machine: only what holds whatever they are is asserted.
  assert.ok(Object.values(lm.fit.coefficients).every((c) => c >= 0), JSON.stringify(lm.fit));
  console.log(describeLatencyModel(lm));
  const full = deps.groups.map((g) => g.size);
  assert.ok(evaluateCountCost(lm.cost, full.map((n) => Math.ceil(n / 2))) <= lm.predictedOriginalMs, 'half the channels never predicts more time');
  const again = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu', cacheDir });
  assert.equal(again.fromCache, true);
  assert.deepEqual(again.fit, lm.fit);
});

// Segmentation end to end on test/fixtures/tinyseg.onnx (tools/make_seg_fixture.py: 5 classes, a
// second 'aux' output): the self-distillation loss and its gradients, and a whole pruning run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../../src/core/pipeline';
import { prepareImportance } from '../../src/core/pipeline/prepare';
import { DEFAULT_SETTINGS, RECOVER_DEFAULTS, mergeSettings } from '../../src/core/presets';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import { openSession, ort } from '../../src/core/runtime/session';
import type { PipelineEvent, PruneRequest, PruneSettings } from '../../src/protocol';

const FIX = path.resolve(__dirname, '../fixtures');
const MODEL = path.join(FIX, 'tinyseg.onnx');
const settings = (extra: Partial<PruneSettings> = {}): PruneSettings =>
  mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 150, refine: { scope: 'off' }, recover: null, ...extra });
const quiet = { emit: () => {}, log: () => {}, stage: <T>(_: string, fn: () => Promise<T>) => fn() };

/** Σ over samples of the mean over pixels of −log softmax(z)[target], in float64. */
function selfCe(z: Float32Array, target: Int32Array, [B, K, H, W]: readonly number[]): number {
  const P = H! * W!;
  let total = 0;
  for (let b = 0; b < B!; b++) {
    for (let p = 0; p < P; p++) {
      let m = -Infinity;
      for (let k = 0; k < K!; k++) m = Math.max(m, z[(b * K! + k) * P + p]!);
      let s = 0;
      for (let k = 0; k < K!; k++) s += Math.exp(z[(b * K! + k) * P + p]! - m);
      total += (m + Math.log(s) - z[(b * K! + target[b * P + p]!) * P + p]!) / P;
    }
  }
  return total;
}

test('segmentation importance: per-pixel cross-entropy against the own argmax, gate gradients match finite differences', async () => {
  const logs: string[] = [];
  const prep = await prepareImportance({ model: MODEL, data: path.join(FIX, 'data'), settings: settings(), segmentation: true }, { ...quiet, log: (m) => logs.push(m) });
  assert.equal(prep.task, 'segment');
  assert.ok(logs.some((l) => /first, 'out', is the segmentation map/.test(l)), 'the aux output is named as ignored');
  const cal = prep.calibration;
  assert.equal(cal.samples, 4);
  const batch = await prep.data.calib.get([0, 1, 2, 3]);
  const { session } = await openSession(prep.gatedPerSample.model.toBytes(), { provider: 'cpu' });
  try {
    const B = batch.shape[0];
    const run = async (gate: string, channel: number, value: number) => {
      const feeds: Record<string, ort.Tensor> = { [prep.a.inputName]: new ort.Tensor('float32', batch.input, batch.shape) };
      for (const g of prep.gates) {
        const v = new Float32Array(B * g.size).fill(1);
        if (g.name === gate) for (let b = 0; b < B; b++) v[b * g.size + channel] = value;
        feeds[g.name] = new ort.Tensor('float32', v, [B, g.size, ...new Array<number>(g.trailing).fill(1)]);
      }
      const y = (await session.run(feeds, [prep.a.outputName]))[prep.a.outputName]!;
      return { z: y.data as Float32Array, dims: y.dims };
    };
    const base = await run('', 0, 1);
    const [, K, H, W] = base.dims as number[];
    const target = new Int32Array(B * H! * W!);
    for (let b = 0; b < B; b++) for (let p = 0; p < H! * W!; p++) {
      let best = 0;
      for (let k = 1; k < K!; k++) if (base.z[(b * K! + k) * H! * W! + p]! > base.z[(b * K! + best) * H! * W! + p]!) best = k;
      target[b * H! * W! + p] = best;
    }
    // The calibration's mean loss is this loss at gates 1.
    assert.ok(Math.abs(cal.meanLoss - selfCe(base.z, target, base.dims) / B) < 1e-4, `mean loss ${cal.meanLoss}`);
    // Σ_n ∂L_n/∂m_i (the accumulator's sum) against a central difference, on the largest gradient of two groups.
    for (const g of prep.gates.slice(0, 2)) {
      const vars = prep.a.deps.groups[g.group]!.variables;
      let i = 0;
      for (let c = 1; c < g.size; c++) if (Math.abs(cal.accumulator.sum[vars[c]!]!) > Math.abs(cal.accumulator.sum[vars[i]!]!)) i = c;
      const eps = 1e-2;
      const up = await run(g.name, i, 1 + eps);
      const down = await run(g.name, i, 1 - eps);
      const fd = (selfCe(up.z, target, up.dims) - selfCe(down.z, target, down.dims)) / (2 * eps);
      const an = cal.accumulator.sum[vars[i]!]!;
      assert.ok(Math.abs(an) > 1e-4, `${g.name}: a gradient worth checking (${an})`);
      assert.ok(Math.abs(fd - an) <= 2e-2 * Math.abs(an) + 1e-4, `${g.name}[${i}]: analytic ${an}, finite difference ${fd}`);
    }
  } finally {
    await session.release();
  }
});

test('segmentation pipeline (refine off, recover off): agreement metrics in [0, 1], pruned == masked, report valid', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-seg-'));
  const events: PipelineEvent[] = [];
  const req: PruneRequest = { model: MODEL, data: path.join(FIX, 'data'), out: path.join(dir, 'tinyseg.pruned.onnx'), presetName: 'test', settings: settings({ sparsity: 0.4 }), compare: false, timeBudgetSeconds: 0 };
  const summary = await runPipeline(req, { onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'log' && /task: segmentation \(detected/.test(e.message)));
  // The original is its own reference.
  assert.equal(summary.before.pixelAgreement, 1);
  assert.equal(summary.before.meanIoU, 1);
  for (const k of ['pixelAgreement', 'meanIoU'] as const) {
    const v = summary.after[k]!;
    assert.ok(v >= 0 && v <= 1, `${k} ${v}`);
  }
  assert.ok(summary.after.params < summary.before.params);
  assert.equal(summary.after.psnr, undefined);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.ok(report.export.maxAbsDiffVsMasked <= 1e-4, `pruned vs masked ${report.export.maxAbsDiffVsMasked}`);
  assert.equal(report.data.task, 'segment');
  assert.deepEqual(validateReport(report), []);
  const md = readFileSync(summary.reportMarkdown, 'utf8');
  assert.deepEqual(validateReportMarkdown(md, report), []);
  assert.match(md, /agreement with the unpruned model/);
  assert.match(md, /\| Mean IoU vs the unpruned model \(test\) \| 1\.0000 \|/);
});

test('segmentation: refinement and recovery (on in the default presets) are skipped with warnings', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-seg-rec-'));
  const base: PruneRequest = { model: MODEL, data: path.join(FIX, 'data'), out: path.join(dir, 'a.onnx'), presetName: 'test', settings: settings(), compare: false, timeBudgetSeconds: 0 };
  const events: PipelineEvent[] = [];
  const s = await runPipeline(
    { ...base, out: path.join(dir, 'b.onnx'), settings: settings({ refine: { ...DEFAULT_SETTINGS.refine, scope: 'network' }, recover: { ...RECOVER_DEFAULTS, steps: 10 } } as Partial<PruneSettings>) },
    { onEvent: (e) => events.push(e) },
  );
  const warned = (re: RegExp) => events.some((e) => e.type === 'log' && e.level === 'warn' && re.test(e.message));
  assert.ok(warned(/refinement is not available for segmentation/));
  assert.ok(warned(/recovery fine-tuning is not available for segmentation/));
  assert.equal(s.beforeRefine, undefined);
  assert.equal(s.recovery, undefined);
  assert.ok(events.some((e) => e.type === 'stage-end' && e.stage === 'recover' && e.skipped === true));
});

test('task setting: a segmentation model forced to denoise is refused with the reason', async () => {
  await assert.rejects(
    prepareImportance({ model: MODEL, data: path.join(FIX, 'data'), settings: settings({ task: 'denoise' }), segmentation: true }, quiet),
    /task = 'denoise' needs an output with the input's 3 channels/,
  );
  // Callers that do not score segmentation refuse it by name.
  await assert.rejects(prepareImportance({ model: MODEL, data: path.join(FIX, 'data'), settings: settings() }, quiet), /is a segmentation model/);
});

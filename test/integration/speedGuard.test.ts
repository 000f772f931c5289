// The default preset's speed promise, with the clock replaced: latencies are a function of the
// timed model's conv widths, so which variant is "faster" is fixed by the test, not the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline, type PipelineOptions } from '../../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import { parseModel } from '../../src/core/onnx';
import { validateReport } from '../../src/core/pipeline/reportSchema';
import type { LatencyMeasurement } from '../../src/core/latency/measure';

const FIX = path.resolve(__dirname, '../fixtures');
const MODEL = path.join(FIX, 'dncnn.onnx');

/** Sum of conv output channels: how much of the original a timed model keeps. */
function convOutputs(bytes: Uint8Array): number {
  const m = parseModel(bytes);
  const dims = new Map(m.graph.initializer.map((t) => [t.name, t.dims.map(Number)]));
  return m.nodes.filter((n) => n.opType === 'Conv').reduce((acc, n) => acc + (dims.get(n.input[1]!)?.[0] ?? 0), 0);
}

/** A clock where the original takes 1 ms and a pruned model `ms(keptFraction)`. */
function fakeClock(ms: (kept: number) => number): { measure: NonNullable<NonNullable<PipelineOptions['latency']>['measure']>; calls: number[] } {
  const full = convOutputs(new Uint8Array(readFileSync(MODEL)));
  const calls: number[] = [];
  const measure = async (bytes: Uint8Array, o: { provider: 'cpu' | 'cuda' | 'webgpu'; inputShape: number[] }): Promise<LatencyMeasurement> => {
    const kept = convOutputs(bytes) / full;
    const t = kept >= 0.999 ? 1 : ms(kept);
    calls.push(t);
    const at = { medianMs: t, q1Ms: t, q3Ms: t, iqrMs: 0, runs: 20 };
    return { provider: o.provider, inputShape: o.inputShape, batch1: { batch: 1, ...at }, batch8: null, batch8Skipped: 'batch 1 only was asked for' };
  };
  return { measure: measure as never, calls };
}

const run = (dir: string, latency: PipelineOptions['latency'], preset = 'balanced') =>
  runPipeline(
    {
      model: MODEL,
      data: path.join(FIX, 'data'),
      out: path.join(dir, 'dncnn.pruned.onnx'),
      presetName: preset,
      settings: mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'off' }, recover: false }),
      compare: false,
      timeBudgetSeconds: 0,
    },
    { latency },
  );

test('a default-preset run whose first export is slower ships the faster alternative and says so', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-guard-'));
  // Everything pruned at 36 % (≈ 64 % of the conv outputs kept) is slower; a smaller sparsity is faster.
  const clock = fakeClock((kept) => (kept < 0.7 ? 1.2 : 0.9));
  const summary = await run(dir, { measure: clock.measure });
  const g = summary.speedGuard!;
  assert.ok(g, 'a kernel-aware run records the guard');
  assert.equal(g.originalMs, 1);
  assert.equal(g.attempts[0]!.medianMs, 1.2);
  assert.ok(g.attempts.length >= 2, 'alternatives were tried');
  assert.ok(g.faster);
  assert.ok(g.shipped > 0);
  assert.ok(g.attempts[g.shipped]!.sparsity < 0.36, JSON.stringify(g.attempts));
  assert.ok(summary.after.latencyMs! < summary.before.latencyMs!, 'the shipped model is the faster one');
  assert.deepEqual(summary.flags?.filter((f) => f.kind === 'slower'), []);
  const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
  assert.deepEqual(validateReport(report), []);
  assert.equal(report.settings.sparsity, g.attempts[g.shipped]!.sparsity, 'the report names the settings the shipped model was searched with');
  assert.match(readFileSync(summary.reportMarkdown, 'utf8'), /ran slower than the original .* shipping round-to \d+ at 24%/);
});

test('when no variant is faster the first ships with the slower flag and the reason', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-guard-'));
  const clock = fakeClock(() => 1.3);
  const summary = await run(dir, { measure: clock.measure });
  const g = summary.speedGuard!;
  assert.equal(g.faster, false);
  assert.equal(g.shipped, 0);
  assert.ok(g.attempts.length >= 2);
  assert.ok(summary.flags?.some((f) => f.kind === 'slower'));
  assert.match(readFileSync(summary.reportMarkdown, 'utf8'), /no variant ran faster than the original/);
});

test('a preset that is not the default keeps its round-to and has no guard', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-guard-'));
  const clock = fakeClock(() => 1.3);
  const summary = await run(dir, { measure: clock.measure }, 'custom');
  assert.equal(summary.speedGuard, undefined);
  assert.equal(clock.calls.length, 2, 'only the evaluation timed the original and the pruned model');
});

// The CLI's progress bar and summary for what the pipeline now reports: recovery steps with loss and
// the validation metric, trusted latency in words, the budget and recovery outcomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, ProgressPrinter } from '../../src/cli/progress';
import type { RunSummary } from '../../src/core/pipeline/events';

test('the recover stage shows loss and keeps the last validation metric between validation steps', () => {
  const out: string[] = [];
  const p = new ProgressPrinter({ write: (s: string) => out.push(s), isTTY: true });
  p.handle({ type: 'stage-start', stage: 'recover' });
  p.handle({ type: 'stage-progress', stage: 'recover', fraction: 0.1, message: 'step 10/100, loss 2.000e-3, validation PSNR 28.10 dB (best 28.10 dB)', recover: { step: 10, loss: 2e-3, validation: 28.1, metric: 'psnr' } });
  // The printer redraws at most every 80 ms; a stage line forces the next draw.
  p.handle({ type: 'log', level: 'warn', message: 'x' });
  p.handle({ type: 'stage-progress', stage: 'recover', fraction: 0.11, message: 'step 11/100, loss 1.900e-3', recover: { step: 11, loss: 1.9e-3, metric: 'psnr' } });
  p.handle({ type: 'log', level: 'warn', message: 'y' });
  const drawn = out.filter((l) => l.includes('Recovery fine-tuning'));
  assert.match(drawn[drawn.length - 1]!, /Recovery fine-tuning\s+\[#+-+\]\s+11% step 11\/100, loss 1\.900e-3 \(last val PSNR 28\.10 dB\)/);
});

test('the summary gives latency in words, the budget and recovery', () => {
  const t = (medianMs: number, batch: number) => ({ batch, medianMs, q1Ms: medianMs, q3Ms: medianMs + 0.1, iqrMs: 0.1, runs: 20 });
  const lat = (b1: number, b8: number) => ({ provider: 'cpu' as const, inputShape: [1, 3, 64, 64], batch1: t(b1, 1), batch8: t(b8, 8) });
  const s: RunSummary = {
    model: '/m.onnx', output: '/m.pruned.onnx', reportJson: '/m.pruned.report.json', reportMarkdown: '/m.pruned.report.md', preset: 'balanced', method: 'hybrid', sparsity: 0.36, provider: 'cpu',
    before: { psnr: 30, params: 100, macs: 1000, latencyMs: 1.42, latency: lat(1.42, 10) },
    after: { psnr: 29.9, params: 60, macs: 500, latencyMs: 1, latency: lat(1, 10.6) },
    recovery: { metric: 'psnr', validationBefore: 29.5, validationAfter: 29.8, improved: true, steps: 40, seconds: 12.3 },
    budget: { kind: 'macs', target: 0.5, macsBefore: 1000, macsAfter: 500, paramsBefore: 100, paramsAfter: 60, ratio: 0.5, met: true, refinementReverted: false },
    groups: [], seconds: 20, stageSeconds: {},
  };
  const text = formatSummary(s);
  assert.match(text, /Latency \(batch 1, median\)\s+1\.42 ms \(IQR 0\.10\)\s+1\.00 ms \(IQR 0\.10\), 1\.42× faster/);
  assert.match(text, /Latency \(batch 8, median\)\s+10\.0 ms \(IQR 0\.1\)\s+10\.6 ms \(IQR 0\.1\), 1\.06× slower/);
  assert.match(text, /Recovery \(validation PSNR\)\s+29\.50 dB\s+29\.80 dB after 40 steps, 12\.3 s/);
  assert.match(text, /Budget \(MACs\)\s+50\.0%\s+50\.00% reached, met/);
});

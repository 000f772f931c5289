import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagAlternatives, MUCH_WORSE_ACCURACY_POINTS, MUCH_WORSE_PSNR_DB, runVerdict, SLOWER_BELOW_SPEEDUP, smallerSparsity } from '../../src/core/pipeline/verdict';
import { validateReport } from '../../src/core/pipeline/reportSchema';
import { summaryFromReport } from '../../src/extension/reportFile';
import { pipelineReport } from '../helpers/runReport';
import { flaggedNotice } from '../../src/extension/runState';
import type { RunSummary } from '../../src/protocol';

const cost = { params: 1000, macs: 1e6 };

test('the thresholds are the documented ones', () => {
  assert.equal(SLOWER_BELOW_SPEEDUP, 1.0);
  assert.equal(MUCH_WORSE_PSNR_DB, 1.5);
  assert.equal(MUCH_WORSE_ACCURACY_POINTS, 5);
});

test('a faster model that lost little is not flagged', () => {
  assert.deepEqual(runVerdict({ before: { ...cost, psnr: 30, latencyMs: 2 }, after: { ...cost, psnr: 29, latencyMs: 1.5 }, sparsity: 0.36, roundTo: 1 }), []);
  // Exactly at the limits is still fine: the limits are strict.
  assert.deepEqual(runVerdict({ before: { ...cost, psnr: 30, latencyMs: 2 }, after: { ...cost, psnr: 28.5, latencyMs: 2 }, sparsity: 0.36, roundTo: 1 }), []);
  assert.deepEqual(runVerdict({ before: { ...cost, accuracy: 0.9 }, after: { ...cost, accuracy: 0.85 }, sparsity: 0.36, roundTo: 1 }), []);
});

test('slower: measured speed-up below 1, with the speed preset at the same sparsity', () => {
  const [f, ...rest] = runVerdict({ before: { ...cost, psnr: 30, latencyMs: 1.2 }, after: { ...cost, psnr: 29.9, latencyMs: 1.38 }, sparsity: 0.36, roundTo: 1 });
  assert.equal(rest.length, 0);
  assert.equal(f!.kind, 'slower');
  assert.ok(Math.abs(f!.measured - 1.2 / 1.38) < 1e-12);
  assert.equal(f!.threshold, 1);
  assert.match(f!.message, /0\.87× speed-up \(1\.20 → 1\.38 ms per input\)/);
  assert.deepEqual(f!.alternatives, [{ preset: 'speed', sparsity: 0.36, label: "Prune with 'speed'" }]);
  // Already in multiples of 8: the speed preset would change nothing, a smaller sparsity is offered.
  const [g] = runVerdict({ before: { ...cost, latencyMs: 1 }, after: { ...cost, latencyMs: 1.1 }, sparsity: 0.36, roundTo: 8 });
  assert.deepEqual(g!.alternatives, [{ sparsity: 0.24, label: 'Prune at 24%' }]);
});

test('much worse: PSNR or accuracy past the limit, with a smaller sparsity', () => {
  const [p] = runVerdict({ before: { ...cost, psnr: 30, latencyMs: 2 }, after: { ...cost, psnr: 28.2, latencyMs: 1 }, sparsity: 0.5, roundTo: 1 });
  assert.equal(p!.kind, 'much-worse');
  assert.ok(Math.abs(p!.measured - 1.8) < 1e-9);
  assert.match(p!.message, /PSNR dropped 1\.80 dB \(30\.00 → 28\.20 dB\)/);
  assert.deepEqual(p!.alternatives, [{ sparsity: 0.33, label: 'Prune at 33%' }]);
  const [a] = runVerdict({ before: { ...cost, accuracy: 0.9 }, after: { ...cost, accuracy: 0.8 }, sparsity: 0.36, roundTo: 1 });
  assert.equal(a!.kind, 'much-worse');
  assert.ok(Math.abs(a!.measured - 10) < 1e-9);
  assert.match(a!.message, /accuracy dropped 10\.0 points \(90\.0 → 80\.0%\)/);
});

test('both flags: alternatives once each, the slower one first; tiny sparsities offer no smaller one', () => {
  const flags = runVerdict({ before: { ...cost, psnr: 30, latencyMs: 1 }, after: { ...cost, psnr: 25, latencyMs: 2 }, sparsity: 0.36, roundTo: 1 });
  assert.deepEqual(flags.map((f) => f.kind), ['slower', 'much-worse']);
  assert.deepEqual(flagAlternatives(flags).map((a) => a.label), ["Prune with 'speed'", 'Prune at 24%']);
  assert.equal(smallerSparsity(0.05), undefined);
  assert.equal(smallerSparsity(0.3), 0.2);
  const [f] = runVerdict({ before: { ...cost, psnr: 30 }, after: { ...cost, psnr: 20 }, sparsity: 0.05, roundTo: 1 });
  assert.deepEqual(f!.alternatives, []);
  assert.doesNotMatch(f!.message, /try/);
});

test('flags survive the report file and read as a warning, not a success', () => {
  const flags = runVerdict({ before: { ...cost, psnr: 30, latencyMs: 1 }, after: { ...cost, psnr: 27, latencyMs: 1.2 }, sparsity: 0.36, roundTo: 1 });
  const doc = { ...pipelineReport({ model: '/tmp/m.onnx', output: '/tmp/m.pruned.onnx' }), flags };
  const s = summaryFromReport(doc, '/tmp/m.pruned.report.json');
  assert.deepEqual(s.flags, flags);
  // A malformed flag makes the file a damaged report, refused rather than shown half-read.
  assert.throws(() => summaryFromReport({ ...doc, flags: [...flags, { kind: 'bogus', message: 'x', measured: 1, threshold: 1, alternatives: [] }] }, '/tmp/m.pruned.report.json'), /damaged QUBO Prune report: \$\.flags\[2\]\.kind/);
  const text = flaggedNotice('m.onnx', s as RunSummary);
  assert.match(text, /^QUBO Prune: pruned m\.onnx, but the result is slower and much worse: the pruned model is slower/);
  assert.match(text, /Written to m\.pruned\.onnx\.$/);
});

test('the report schema accepts flags and names a malformed one', () => {
  const errors = validateReport({ flags: [{ kind: 'worse', message: '', measured: 'x', threshold: 1, alternatives: [{ sparsity: 2 }] }] });
  for (const e of ['$.flags[0].kind', '$.flags[0].message', '$.flags[0].measured', '$.flags[0].alternatives[0].label', '$.flags[0].alternatives[0].sparsity']) {
    assert.ok(errors.some((x) => x.startsWith(e)), `${e} in\n${errors.join('\n')}`);
  }
  assert.ok(!errors.some((x) => x.startsWith('$.flags:')), 'flags is a known field');
});

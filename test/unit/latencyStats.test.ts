import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTiming, quantileSorted, speedWording, summariseTimings } from '../../src/core/latency/stats';
import { largeBatchObstacle } from '../../src/core/latency/measure';
import { commonSize } from '../../src/core/latency/plan';
import { planWholeImageEvaluation, sameSizeBatches } from '../../src/core/pipeline/evaluateModel';
import { tileStarts } from '../../src/core/pipeline/tiledRun';

test('median and quartiles interpolate between order statistics (numpy default)', () => {
  // numpy.percentile([1..10], [25, 50, 75]) = 3.25, 5.5, 7.75
  const s = summariseTimings([10, 2, 7, 1, 9, 3, 8, 4, 6, 5]);
  assert.equal(s.medianMs, 5.5);
  assert.equal(s.q1Ms, 3.25);
  assert.equal(s.q3Ms, 7.75);
  assert.equal(s.iqrMs, 4.5);
  assert.equal(s.runs, 10);
  // An outlier moves the mean, not the median or the quartiles by much.
  const o = summariseTimings([5, 5, 5, 5, 5, 5, 5, 500]);
  assert.equal(o.medianMs, 5);
  assert.equal(o.iqrMs, 0);
  assert.equal(quantileSorted([4], 0.75), 4);
  assert.throws(() => summariseTimings([]), /no timed runs/);
  assert.throws(() => summariseTimings([1, Number.NaN]), /took NaN/);
});

test('speed ratios read as faster or slower, never "0.94× faster"', () => {
  assert.equal(speedWording(14.2, 10), '1.42× faster');
  assert.equal(speedWording(10, 10.6), '1.06× slower');
  assert.equal(speedWording(27.0, 28.6), '1.06× slower');
  assert.equal(speedWording(10, 10.02), 'same speed (1.00×)');
  assert.equal(speedWording(10.02, 10), 'same speed (1.00×)');
  assert.doesNotMatch(speedWording(1, 1.5), /0\.\d+×/);
  assert.throws(() => speedWording(0, 1), /positive/);
  assert.equal(formatTiming({ medianMs: 12.345, iqrMs: 0.42 }), '12.3 ms (IQR 0.4)');
  assert.equal(formatTiming({ medianMs: 1.2345, iqrMs: 0.042 }), '1.23 ms (IQR 0.04)');
});

test('batch 8 is skipped, with the reason, for a batch-1 model or when memory would not allow', () => {
  assert.match(largeBatchObstacle({ fixedBatch: 1 })!, /batch dimension is fixed to 1/);
  assert.equal(largeBatchObstacle({ fixedBatch: 8 }), undefined);
  assert.equal(largeBatchObstacle({ activationBytes: 1e6 }, 1e9), undefined);
  assert.match(largeBatchObstacle({ activationBytes: 2e8 }, 1e9)!, /batch 8 would need about .* above the .* memory budget/);
});

test('whole images run whole when they fit, tiled when they do not; same sizes share batches', () => {
  const fits = planWholeImageEvaluation([[128, 128], [128, 128]], 1000, 1e9);
  assert.deepEqual(fits, { tile: null, test: 'whole images 128×128' });
  const mixed = planWholeImageEvaluation([[128, 128], [96, 160]], 1000, 1e9);
  assert.match(mixed.test, /whole images of 2 sizes \(128×128, 96×160\)/);
  // 4096² pixels × 1000 B ≫ 1 GB: tiles; 256² × 1000 B = 65 MB fits.
  const big = planWholeImageEvaluation([[4096, 4096]], 1000, 1e9);
  assert.deepEqual(big.tile, { size: 256, overlap: 16 });
  assert.match(big.test, /^tiles 256 with overlap 16 of whole images 4096×4096$/);
  assert.equal(planWholeImageEvaluation([[4096, 4096]], 1e5, 1e9).tile!.size, 64);
  assert.deepEqual(sameSizeBatches([[2, 2], [3, 3], [2, 2], [2, 2], [3, 3]], 2), [[0, 2], [3], [1, 4]]);
  assert.deepEqual(commonSize([[2, 2], [3, 3], [3, 3]]), [3, 3]);
  assert.deepEqual(commonSize([[2, 2], [3, 3]]), [3, 3], 'ties go to the larger size');
  assert.equal(commonSize([]), undefined);
});

test('tiles cover the axis, end at the edge and overlap by at least twice the margin', () => {
  assert.deepEqual(tileStarts(100, 256, 16), [0]);
  const s = tileStarts(600, 256, 16);
  assert.equal(s[0], 0);
  assert.equal(s[s.length - 1], 600 - 256);
  for (let i = 1; i < s.length; i++) assert.ok(s[i - 1]! + 256 - s[i]! >= 32, `${s}`);
  assert.throws(() => tileStarts(600, 32, 16), /no interior/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentationMetrics, argmaxClasses } from '../../src/core/metrics';
import { decideTask } from '../../src/core/pipeline/modelTask';

test('argmaxClasses: per pixel over the class axis, ties to the lower class, NaN never wins', () => {
  // [B=1, K=3, H=1, W=4]: pixel 0 → class 2, pixel 1 tie of 0 and 1 → 0, pixel 2 NaN in class 0 → 1, pixel 3 → 1.
  const logits = Float32Array.from([0, 5, NaN, 1, /* k1 */ 1, 5, 2, 3, /* k2 */ 3, 4, 1, 2]);
  assert.deepEqual(Array.from(argmaxClasses(logits, [1, 3, 1, 4])), [2, 0, 1, 1]);
  assert.throws(() => argmaxClasses(logits, [1, 3, 2, 4]), /needs 24 values/);
});

test('SegmentationMetrics: agreement and IoU pooled over batches, over classes either map has', () => {
  const m = new SegmentationMetrics(4);
  // Class 3 appears in neither map: it must not enter the mean.
  m.add(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 1, 1]), 1);
  m.add(Int32Array.from([2, 2]), Int32Array.from([2, 0]), 1);
  const s = m.summary();
  assert.equal(s.count, 2);
  assert.equal(s.pixels, 6);
  assert.equal(s.agreement, 4 / 6);
  // class 0: pred {0,1,5}? pred 0 at pixels 0,1; ref 0 at pixels 0,5 → inter 1, union 3.
  // class 1: pred {2,3}, ref {1,2,3} → 2/3. class 2: pred {4,5}, ref {4} → 1/2.
  assert.ok(Math.abs(s.meanIoU - (1 / 3 + 2 / 3 + 1 / 2) / 3) < 1e-12);
  assert.equal(s.classes, 3);
  const same = new SegmentationMetrics(2);
  same.add(Int32Array.from([0, 1, 1]), Int32Array.from([0, 1, 1]), 1);
  assert.deepEqual([same.summary().agreement, same.summary().meanIoU], [1, 1]);
  assert.throws(() => same.add(Int32Array.from([2]), Int32Array.from([0]), 1), /outside \[0, 2\)/);
  assert.throws(() => new SegmentationMetrics(3).summary(), /No pixels/);
});

test('decideTask: output shape decides; the setting overrides where the shape allows', () => {
  assert.equal(decideTask(3, [1, 1000], undefined, 'm').task, 'classify');
  assert.equal(decideTask(3, [1, 3, 64, 64], 'auto', 'm').task, 'denoise');
  const seg = decideTask(3, [1, 21, 64, 64], undefined, 'm');
  assert.equal(seg.task, 'segment');
  assert.match(seg.reason, /21 channels for 3-channel images/);
  // A 3-class segmentation of RGB images looks like a denoiser until told.
  assert.equal(decideTask(3, [1, 3, 64, 64], 'segment', 'm').task, 'segment');
  assert.throws(() => decideTask(3, [1, 1, 64, 64], undefined, 'm'), /task-mismatch|segmentation maps \[N, classes ≥ 2, H, W\]/);
  assert.throws(() => decideTask(3, [1, 21, 64, 64], 'denoise', 'm'), /needs an output with the input's 3 channels/);
  assert.throws(() => decideTask(3, [1, 10], 'segment', 'm'), /needs an output \[N, classes ≥ 2, H, W\]/);
});

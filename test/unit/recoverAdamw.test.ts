import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, warmupCosine } from '../../src/core/recover/adamw';

test('warm-up is linear to the peak, then cosine decays to the floor', () => {
  assert.equal(warmupCosine(0, 100, 1e-3, 10), 1e-4);
  assert.ok(Math.abs(warmupCosine(9, 100, 1e-3, 10) - 1e-3) < 1e-15);
  assert.ok(Math.abs(warmupCosine(10, 100, 1e-3, 10) - 1e-3) < 1e-15);
  const mid = warmupCosine(55, 100, 1e-3, 10);
  assert.ok(Math.abs(mid - 1e-3 * (0.05 + 0.95 * 0.5)) < 1e-12, `${mid}`);
  assert.ok(Math.abs(warmupCosine(100, 100, 1e-3, 10) - 5e-5) < 1e-15);
  for (let s = 11; s < 100; s++) assert.ok(warmupCosine(s, 100, 1e-3, 10) < warmupCosine(s - 1, 100, 1e-3, 10));
});

test('AdamW first step moves each weight by lr against the gradient sign (bias-corrected moments)', () => {
  const w = Float32Array.of(1, -2, 3);
  new AdamW([w]).step([Float32Array.of(0.5, -4, 1e-3)], 0.1);
  assert.deepEqual(Array.from(w, (v) => Math.round(v * 1e5) / 1e5), [0.9, -1.9, 2.9]);
});

test('AdamW minimises a quadratic, and decoupled decay shrinks weights without a gradient', () => {
  const target = Float32Array.of(0.3, -0.7, 2);
  const w = new Float32Array(3);
  const opt = new AdamW([w]);
  for (let s = 0; s < 2000; s++) opt.step([w.map((v, i) => 2 * (v - target[i]!))], warmupCosine(s, 2000, 0.05, 50));
  w.forEach((v, i) => assert.ok(Math.abs(v - target[i]!) < 1e-3, `w[${i}] = ${v}`));
  const d = Float32Array.of(1);
  const decay = new AdamW([d], { weightDecay: 0.1 });
  decay.step([new Float32Array(1)], 0.5);
  assert.ok(Math.abs(d[0]! - 0.95) < 1e-7, `${d[0]}`);
});

test('AdamW refuses mismatched gradients', () => {
  assert.throws(() => new AdamW([new Float32Array(2)]).step([new Float32Array(3)], 0.1), /gradient 0 has 3 elements/);
});

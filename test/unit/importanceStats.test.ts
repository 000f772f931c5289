import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientAccumulator, cosineFromGram, normaliseByGlobalMean, subMatrix } from '../../src/core/importance/gradientStats';

test('Taylor and Fisher from batched rows equal per-sample accumulation', () => {
  // 3 samples × 2 variables: t = [[1, -2], [3, 0], [-1, 4]]
  const batched = new GradientAccumulator(2);
  batched.addBatch(Float64Array.from([1, -2, 3, 0]), 2);
  batched.addBatch(Float64Array.from([-1, 4]), 1);
  const single = new GradientAccumulator(2);
  for (const row of [[1, -2], [3, 0], [-1, 4]]) single.addBatch(Float64Array.from(row), 1);
  assert.deepEqual(Array.from(batched.taylor()), Array.from(single.taylor()));
  assert.deepEqual(Array.from(batched.taylor()), [1, 2 / 3]);
  assert.deepEqual(Array.from(batched.fisher()), [(1 + 9 + 1) / 6, (4 + 0 + 16) / 6]);
  assert.throws(() => batched.addBatch(new Float64Array(3), 2));
});

test('|cos| from a Gram matrix and its sub-block', () => {
  // Activations a = [1, 0], b = [1, 1], c = [0, -2] → G = A·Aᵀ
  const A = [[1, 0], [1, 1], [0, -2]];
  const G = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) G[i * 3 + j] = A[i]![0]! * A[j]![0]! + A[i]![1]! * A[j]![1]!;
  const S = cosineFromGram(G, 3);
  assert.ok(Math.abs(S[1]! - 1 / Math.SQRT2) < 1e-12);
  assert.equal(S[2], 0);
  assert.ok(Math.abs(S[5]! - 1 / Math.SQRT2) < 1e-12, 'sign is dropped');
  const sub = subMatrix(G, 3, [2, 1]);
  assert.deepEqual(Array.from(sub), [4, -2, -2, 2]);
  assert.deepEqual(Array.from(normaliseByGlobalMean(Float64Array.from([1, 3]))), [0.5, 1.5]);
});

// The refinement objective's batch helpers and the acceptance rule shared by pipeline and benchmarks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBatches, firstSamples, DataError, type Batch, type DataSplit } from '../../src/core/data';
import { refinementAccepted } from '../../src/core/pipeline/refineObjective';

function batch(n: number, fill: number, opts: { h?: number; labels?: boolean } = {}): Batch {
  const h = opts.h ?? 2;
  const len = n * 3 * h * h;
  return {
    input: new Float32Array(len).fill(fill),
    ...(opts.labels ? { labels: new Int32Array(n).fill(fill) } : { target: new Float32Array(len).fill(fill + 0.5) }),
    shape: [n, 3, h, h],
    names: Array.from({ length: n }, (_, i) => `${fill}-${i}`),
  };
}

test('concatBatches keeps order, targets and names; refuses mismatched samples or tasks', () => {
  const j = concatBatches(batch(2, 1), batch(3, 2));
  assert.deepEqual(j.shape, [5, 3, 2, 2]);
  assert.equal(j.input[0], 1);
  assert.equal(j.input[2 * 12], 2);
  assert.equal(j.target![j.target!.length - 1], 2.5);
  assert.deepEqual(j.names, ['1-0', '1-1', '2-0', '2-1', '2-2']);
  assert.throws(() => concatBatches(batch(1, 1), batch(1, 1, { h: 4 })), (e: unknown) => e instanceof DataError && e.code === 'size-mismatch');
  assert.throws(() => concatBatches(batch(1, 1), batch(1, 1, { labels: true })), (e: unknown) => e instanceof DataError && e.code === 'layout-mismatch');
});

test('firstSamples asks for the first indices, capped at the split size', async () => {
  const asked: number[][] = [];
  const split = { count: 3, get: async (idx: number[]) => (asked.push(idx), batch(idx.length, 0)) } as unknown as DataSplit;
  assert.equal((await firstSamples(split, 2)).shape[0], 2);
  assert.equal((await firstSamples(split, 10)).shape[0], 3);
  assert.deepEqual(asked, [[0, 1], [0, 1, 2]]);
});

test('a refined mask is kept only for a positive gain of at least minGain', () => {
  assert.equal(refinementAccepted({ startValue: 30, bestValue: 30.1 }, 0.1), true);
  assert.equal(refinementAccepted({ startValue: 30, bestValue: 30.09 }, 0.1), false);
  assert.equal(refinementAccepted({ startValue: 30, bestValue: 30 }, 0), false, 'no gain is no reason to change the mask');
  assert.equal(refinementAccepted({ startValue: 30, bestValue: 30.001 }, 0), true);
});

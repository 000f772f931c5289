import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickRoundTo, roundedCount, roundToBySpeed, roundToCandidates, uniformKeep } from '../../src/core/latency/kernelCounts';
import { chooseShipped, guardAlternatives, MAX_ALTERNATIVES } from '../../src/core/latency/speedGuard';
import { budgetAfterRefinement, budgetOutcome, costBudgetOf, describeBudget, selectionBudget } from '../../src/core/pipeline/costBudget';
import type { DependencyAnalysis } from '../../src/core/analysis/types';

test('round-to: counts rounded to the nearest multiple within the group, the fastest chosen unless a finer one is within noise', () => {
  assert.equal(roundedCount(64, 41, 8), 40);
  assert.equal(roundedCount(64, 45, 8), 48);
  assert.equal(roundedCount(12, 3, 8), 8, 'at least one multiple');
  assert.equal(roundedCount(12, 11.6, 16), 12, 'never above the group');
  assert.equal(roundedCount(64, 40.6, 1), 41);
  const t = (roundTo: number, medianMs: number) => ({ roundTo, medianMs, iqrMs: 0.01 });
  assert.equal(pickRoundTo([t(1, 10), t(4, 9.5), t(8, 8), t(16, 8.1)]), 8);
  assert.equal(pickRoundTo([t(1, 10), t(4, 9.5), t(8, 8.1), t(16, 8)]), 8, 'round-to 8 is within 3% of 16, and finer');
  assert.equal(pickRoundTo([t(1, 8.1), t(8, 8)]), 1);
  assert.equal(pickRoundTo([t(1, 8.5), t(8, 8)]), 8);
  assert.deepEqual(roundToBySpeed([t(1, 10), t(4, 9.5), t(8, 8), t(16, 8)]), [8, 16, 4, 1]);
  assert.throws(() => pickRoundTo([]), /no round-to timings/);
});

test('uniform probe masks keep the rounded count in every group; candidates exclude round-to values no group exceeds', () => {
  const deps = {
    variables: new Array(24 + 6).fill(0),
    groups: [
      { size: 24, variables: Int32Array.from({ length: 24 }, (_, i) => i) },
      { size: 6, variables: Int32Array.from({ length: 6 }, (_, i) => 24 + i) },
    ],
  } as unknown as DependencyAnalysis;
  const keep = uniformKeep(deps, 0.36, 8);
  assert.equal(keep.slice(0, 24).reduce((a, b) => a + b, 0), 16);
  assert.equal(keep.slice(24).reduce((a, b) => a + b, 0), 6, 'a group smaller than the multiple stays whole');
  assert.deepEqual(roundToCandidates(deps), [1, 4, 8, 16]);
  assert.deepEqual(roundToCandidates({ ...deps, groups: [deps.groups[1]!] } as DependencyAnalysis), [1, 4]);
});

test('the speed guard tries other round-to values fastest first, then a smaller sparsity, at most a bounded number', () => {
  assert.deepEqual(guardAlternatives({ used: 8, sparsity: 0.36, bySpeed: [8, 16, 4, 1], smallerSparsity: 0.24 }), [
    { roundTo: 16, sparsity: 0.36 },
    { roundTo: 4, sparsity: 0.36 },
    { roundTo: 8, sparsity: 0.24 },
  ]);
  assert.deepEqual(guardAlternatives({ used: 1, sparsity: 0.5, bySpeed: [1, 8], smallerSparsity: undefined }), [{ roundTo: 8, sparsity: 0.5 }]);
  assert.ok(guardAlternatives({ used: 1, sparsity: 0.5, bySpeed: [1, 4, 8, 16], smallerSparsity: 0.33 }).length <= MAX_ALTERNATIVES);
});

test('the fastest attempt that beats the original ships; with none, the first ships and the message says why', () => {
  const a = (medianMs: number, label: string) => ({ roundTo: 8, sparsity: 0.36, medianMs, label });
  const first = chooseShipped(10, [a(9, 'first')]);
  assert.equal(first.shipped, 0);
  assert.ok(first.faster);
  const alt = chooseShipped(10, [a(11, 'first'), a(9.5, 'second'), a(8.9, 'third'), a(12, 'fourth')]);
  assert.equal(alt.shipped, 2);
  assert.match(alt.message, /first ran slower .* shipping third instead/);
  const none = chooseShipped(10, [a(11, 'first'), a(10, 'second')]);
  assert.equal(none.shipped, 0);
  assert.equal(none.faster, false);
  assert.match(none.message, /no variant ran faster than the original \(10\.00 ms/);
  assert.throws(() => chooseShipped(10, []), /no attempts/);
});

test('latency budgets are read, take the latency cost, survive refinement and report predicted figures', () => {
  assert.deepEqual(costBudgetOf({ latencyMs: 8 } as never), { kind: 'latencyMs', limit: 8 });
  assert.deepEqual(costBudgetOf({ latencyRatio: 0.6 } as never), { kind: 'latencyRatio', limit: 0.6 });
  assert.throws(() => costBudgetOf({ latencyMs: -1 } as never), /positive number of milliseconds/);
  assert.throws(() => costBudgetOf({ latencyRatio: 1.5 } as never), /in \(0, 1\]/);
  const lat = { constant: 1, linear: new Float64Array(1), pairA: new Int32Array(0), pairB: new Int32Array(0), pairWeight: new Float64Array(0) };
  const costs = { macs: { ...lat, constant: 2 }, params: { ...lat, constant: 3 } } as never;
  assert.equal(selectionBudget({ kind: 'latencyMs', limit: 5 }, costs, lat).cost, lat);
  assert.throws(() => selectionBudget({ kind: 'latencyRatio', limit: 0.5 }, costs), /needs the latency model/);
  assert.equal(budgetAfterRefinement({ kind: 'latencyMs', limit: 5 }, { macs: 10, params: 10 }, { macs: 5, params: 5 }, { macs: 9, params: 9 }).useRefined, true);
  const o = budgetOutcome({ kind: 'latencyMs', limit: 6 }, { macs: 100, params: 10, latencyMs: 10 }, { macs: 50, params: 5, latencyMs: 5.95 }, false);
  assert.equal(o.met, true);
  assert.equal(o.target, 0.6);
  assert.equal(o.ratio, 0.595);
  assert.match(describeBudget(o), /latency budget 6\.00 ms .* predicted 5\.95 ms \(met\)/);
  const r = budgetOutcome({ kind: 'latencyRatio', limit: 0.5 }, { macs: 100, params: 10, latencyMs: 10 }, { macs: 80, params: 8, latencyMs: 7 }, false);
  assert.equal(r.latencyLimitMs, 5);
  assert.equal(r.met, false);
});

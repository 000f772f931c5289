import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { countLevels, evalBilinear, fitBilinear } from '../../src/core/latency/bilinearFit';
import { defaultLatencyCacheDir, latencyCacheFile, readCached, writeCached, type LatencyCacheKey } from '../../src/core/latency/cache';
import { latencyCountCost, type LayerTable } from '../../src/core/latency/layerTable';
import { evaluateCountCost } from '../../src/core/prune/cost';

test('the bilinear fit recovers exact coefficients and reports its error on noisy data', () => {
  const truth = { a: 0.3, b: 0.002, c: 0.004, d: 0.0001 };
  const samples: { cin: number; cout: number; ms: number }[] = [];
  for (const cin of [16, 32, 48, 64]) for (const cout of [8, 24, 40, 64]) samples.push({ cin, cout, ms: evalBilinear(truth, cin, cout) });
  const f = fitBilinear(samples);
  for (const k of ['a', 'b', 'c', 'd'] as const) assert.ok(Math.abs(f[k] - truth[k]) < 1e-9 * Math.max(1, Math.abs(truth[k])) + 1e-12, `${k}: ${f[k]} vs ${truth[k]}`);
  assert.ok(f.maxRelError < 1e-9);
  // A step the form cannot follow (a kernel switching at 32 outputs) shows up as fit error.
  const stepped = samples.map((s) => ({ ...s, ms: s.ms * (s.cout > 32 ? 1.5 : 1) }));
  const g = fitBilinear(stepped);
  assert.ok(g.maxRelError > 0.05 && g.rmsRelError > 0.02, JSON.stringify(g));
  assert.throws(() => fitBilinear(samples.slice(0, 3)), /at least 4 samples/);
  assert.throws(() => fitBilinear([16, 16, 16, 16].map((cin, i) => ({ cin, cout: 8 * (i + 1), ms: 1 + i }))), /two distinct input/);
});

test('count levels run from about a quarter to the full width, on the step where possible', () => {
  assert.deepEqual(countLevels(64, 4), [16, 32, 48, 64]);
  assert.deepEqual(countLevels(64, 4, 8), [16, 32, 48, 64]);
  assert.deepEqual(countLevels(3, 4), [1, 2, 3]);
});

test('a latency table becomes a CountCost equal to summing the fits at any kept counts', () => {
  const tables: LayerTable[] = [
    { node: 'c1', samples: [], fit: { a: 0.1, b: 0.01, c: 0.02, d: 0.001, rmsRelError: 0, maxRelError: 0 } },
    { node: 'c2', samples: [], fit: { a: 0.2, b: 0.03, c: 0.01, d: 0.002, rmsRelError: 0, maxRelError: 0 } },
  ];
  // c1: 3 fixed inputs (the image) → group 0; c2: groups 0 and 1 concatenated → group 1 plus 4 fixed outputs.
  const wiring = [
    { node: 'c1', inGroups: [], inFixed: 3, outGroups: [0], outFixed: 0 },
    { node: 'c2', inGroups: [0, 1], inFixed: 0, outGroups: [1], outFixed: 4 },
  ];
  const cost = latencyCountCost(tables, wiring, 2, 1.5);
  for (const [c0, c1] of [[16, 8], [5, 30], [0, 0]] as const) {
    const direct = 1.5 + evalBilinear(tables[0]!.fit, 3, c0) + evalBilinear(tables[1]!.fit, c0 + c1, c1 + 4);
    assert.ok(Math.abs(evaluateCountCost(cost, [c0, c1]) - direct) < 1e-9, `${c0},${c1}`);
  }
  assert.throws(() => latencyCountCost(tables, wiring.slice(0, 1), 2, 0), /no group wiring for conv 'c2'/);
});

test('cached tables are keyed by model, provider and input size, written atomically, and a damaged file is ignored', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'qp-latcache-')), 'nested', 'latency');
  const key: LatencyCacheKey = { modelSha256: 'ab'.repeat(32), provider: 'cpu', inputShape: [1, 3, 128, 128] };
  const isNums = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
  assert.equal(readCached(dir, key, isNums), undefined, 'nothing cached yet');
  await writeCached(dir, key, [1, 2, 3]);
  assert.deepEqual(readCached(dir, key, isNums), [1, 2, 3]);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  for (const other of [{ ...key, provider: 'cuda' }, { ...key, inputShape: [1, 3, 64, 64] }, { ...key, modelSha256: 'cd'.repeat(32) }]) {
    assert.notEqual(latencyCacheFile(dir, other), latencyCacheFile(dir, key));
    assert.equal(readCached(dir, other, isNums), undefined);
  }
  assert.equal(readCached(dir, key, (v): v is string => typeof v === 'string'), undefined, 'a value of the wrong shape is not trusted');
  writeFileSync(latencyCacheFile(dir, key), '{ "version": 1, "key": ');
  assert.equal(readCached(dir, key, isNums), undefined, 'a truncated file is re-measured, not an error');
  assert.equal(defaultLatencyCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u'), '/x/cache/qubo-prune/latency');
  assert.equal(defaultLatencyCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/u'), '/home/u/.cache/qubo-prune/latency');
  assert.equal(defaultLatencyCacheDir({}, '/home/u'), '/home/u/.cache/qubo-prune/latency');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { nnls } from '../../src/core/latency/nnls';
import { calibrationMasks, combineCountCosts, fitLatency, keptCounts, latencyCost, latencyFeatures, randomKeep, type LatencyFeatures, type LatencySample } from '../../src/core/latency/wholeModelFit';
import { buildLatencyModel, predictLatencyMs } from '../../src/core/latency/latencyModel';
import { defaultLatencyCacheDir, latencyCacheFile, readCached, writeCached, type LatencyCacheKey } from '../../src/core/latency/cache';
import { countCost, evaluateCountCost, type CountCost } from '../../src/core/prune/cost';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { loadModel, normalizeGraph, parseModel } from '../../src/core/onnx';
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { Rng } from '../../src/core/util/rng';
import type { LatencyMeasurement, MeasureOptions } from '../../src/core/latency/measure';

const FIX = path.join(__dirname, '..', 'fixtures');

test('NNLS recovers non-negative coefficients exactly and never returns a negative one', () => {
  const rng = new Rng(3);
  const rows = 12;
  const cols = 4;
  // Columns on very different scales (a constant, MACs ~1e8, elements ~1e5), as the latency fit has.
  const scale = [1, 1e8, 1e5, 3e4];
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) a[i * cols + j] = j === 0 ? 1 : scale[j]! * (0.2 + rng.next());
  const truth = [0.5, 2e-8, 0, 1e-5];
  const b = Float64Array.from({ length: rows }, (_, i) => truth.reduce((s, t, j) => s + t * a[i * cols + j]!, 0));
  const r = nnls(a, b, rows, cols);
  truth.forEach((t, j) => assert.ok(Math.abs(r.x[j]! - t) <= 1e-6 * Math.max(t, 1e-12) + 1e-12, `x[${j}] = ${r.x[j]} vs ${t}`));
  assert.ok(r.residual < 1e-12);
  // With a truly negative coefficient, the constrained optimum holds it at 0 and satisfies KKT:
  // the residual's gradient is ≤ 0 on every zero coefficient and ~0 on every positive one.
  const neg = [0.5, 2e-8, -3e-6, 1e-5];
  const bn = Float64Array.from({ length: rows }, (_, i) => neg.reduce((s, t, j) => s + t * a[i * cols + j]!, 0));
  const rn = nnls(a, bn, rows, cols);
  assert.ok(rn.x.every((v) => v >= 0), Array.from(rn.x).join(', '));
  for (let j = 0; j < cols; j++) {
    let g = 0;
    for (let i = 0; i < rows; i++) {
      let res = bn[i]!;
      for (let k = 0; k < cols; k++) res -= a[i * cols + k]! * rn.x[k]!;
      g += (a[i * cols + j]! / scale[j]!) * res;
    }
    const tolerance = 1e-6 * Math.max(...bn);
    if (rn.x[j]! > 0) assert.ok(Math.abs(g) < tolerance, `gradient ${g} on positive x[${j}]`);
    else assert.ok(g < tolerance, `gradient ${g} on zero x[${j}] points into the feasible side`);
  }
  assert.ok(rn.residual > 1e-6, 'the negative truth cannot be fitted exactly');
  assert.throws(() => nnls(a, b, rows, cols + 1), /must be 12×5/);
  assert.throws(() => nnls(Float64Array.from(a, (v, i) => (i === 5 ? NaN : v)), b, rows, cols), /NaN/);
  // Duplicate columns: still a solution, no hang.
  const dup = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) dup[i * 2] = dup[i * 2 + 1] = i + 1;
  const rd = nnls(dup, Float64Array.from({ length: rows }, (_, i) => 2 * (i + 1)), rows, 2);
  assert.ok(Math.abs(rd.x[0]! + rd.x[1]! - 2) < 1e-9);
});

/** Two groups: 3×3 convs 3 → c0 and c0 → c1 at 32×32, then a 2× pool and a 1×1 conv c1 → c0 at 16×16. */
function syntheticFeatures(): LatencyFeatures {
  const G = 2;
  const poly = (constant: number, linear: number[], pairs: [number, number, number][] = []): CountCost => ({ constant, linear: Float64Array.from(linear), pairA: Int32Array.from(pairs, (p) => p[0]), pairB: Int32Array.from(pairs, (p) => p[1]), pairWeight: Float64Array.from(pairs, (p) => p[2]) });
  const hw = 1024;
  const kxk = poly(0, [27 * hw, 0], [[0, 1, 9 * hw]]);
  const one = poly(0, [0, 0], [[0, 1, hw / 4]]);
  const costs = new Map<string, CountCost>([
    ['macs:conv1x1', one],
    ['macs:convkxk', kxk],
    ['macs', combineCountCosts(G, [{ cost: kxk, weight: 1 }, { cost: one, weight: 1 }])],
    ['outElems', poly(0, [1.25 * hw, hw])],
    ['inElems', poly(3 * hw, [hw, hw / 4])],
  ]);
  return { groupCount: G, costs, classes: ['conv1x1', 'convkxk'] };
}

function samplesFrom(truth: (counts: number[]) => number, seed = 5): LatencySample[] {
  const rng = new Rng(seed);
  const out: LatencySample[] = [];
  for (const r of [1, 0.8, 0.6, 0.4, 0.25]) out.push({ label: `uniform ${r}`, counts: [Math.round(64 * r), Math.round(48 * r)], ms: 0, iqrMs: 0 });
  for (let i = 0; i < 6; i++) out.push({ label: `random ${i}`, counts: [1 + Math.floor(64 * rng.next()), 1 + Math.floor(48 * rng.next())], ms: 0, iqrMs: 0 });
  return out.map((s) => ({ ...s, ms: truth(s.counts) }));
}

test('the whole-model fit recovers known coefficients, and its cost is monotone in every kept count', () => {
  const f = syntheticFeatures();
  const ev = (n: string, c: number[]) => evaluateCountCost(f.costs.get(n)!, c);
  const truth = (c: number[]) => 0.8 + 3e-9 * ev('macs', c) + 2e-7 * ev('outElems', c) + 1e-7 * ev('inElems', c);
  const fit = fitLatency(f, samplesFrom(truth));
  assert.equal(fit.variant, 'shared', 'one time per MAC explains the data: the per-class variant is not kept');
  assert.ok(Math.abs(fit.coefficients.constant! - 0.8) < 1e-6, JSON.stringify(fit.coefficients));
  assert.ok(Math.abs(fit.coefficients.macs! / 3e-9 - 1) < 1e-6);
  assert.ok(fit.meanFitError < 1e-9 && fit.looError < 1e-6);
  // A 1×1 conv a thousand times slower per MAC than the 3×3 ones: one shared time per MAC cannot follow
  // it (the activation terms cannot take the difference, being non-negative), so the per-class fit
  // is kept because it predicts held-out samples better.
  const perClass = (c: number[]) => 0.05 + 1e-9 * ev('macs:convkxk', c) + 1e-6 * ev('macs:conv1x1', c) + 2e-7 * ev('outElems', c);
  const pc = fitLatency(f, samplesFrom(perClass));
  assert.equal(pc.variant, 'per-class');
  assert.ok(Math.abs(pc.coefficients['macs:conv1x1']! / 1e-6 - 1) < 1e-4, JSON.stringify(pc.coefficients));
  // Noisy timings (±15 %, what a loaded machine gives): coefficients stay ≥ 0 and the cost monotone.
  const rng = new Rng(11);
  const noisy = fitLatency(f, samplesFrom((c) => truth(c) * (0.85 + 0.3 * rng.next())));
  assert.ok(Object.values(noisy.coefficients).every((v) => v >= 0));
  const cost = latencyCost(f, noisy);
  for (const base of [[10, 10], [40, 5], [64, 48]]) {
    for (let g = 0; g < 2; g++) {
      const up = [...base];
      up[g]! += 1;
      assert.ok(evaluateCountCost(cost, up) >= evaluateCountCost(cost, base), `adding a channel to group ${g} at ${base} cannot predict less time`);
    }
  }
  assert.throws(() => fitLatency(f, samplesFrom(truth).slice(0, 5)), /at least 6 whole-model timings/);
  assert.throws(() => fitLatency(f, samplesFrom(() => 0)), /timings must be positive/);
});

test('on a fixture, the latency polynomials equal the features counted on the exported model for any mask', async () => {
  const model = await loadModel(path.join(FIX, 'halfunet.onnx'));
  normalizeGraph(model);
  const inputShape = [1, 3, 32, 32];
  const shapes = await inferShapes(model, inputShape);
  const deps = analyzeDependencies(model, shapes);
  const f = latencyFeatures(model, deps, shapes);
  assert.ok(f.classes.length >= 1);
  const coefficients = { constant: 0.7, macs: 2e-9, outElems: 3e-7, inElems: 1e-7 };
  const cost = latencyCost(f, { variant: 'shared', coefficients });
  const rng = new Rng(2);
  for (const keep of [randomKeep(deps, rng), randomKeep(deps, rng, 0.05), calibrationMasks(deps)[0]!.keep]) {
    const pruned = parseModel(exportPruned(model, deps, keep).toBytes());
    const ps = await inferShapes(pruned, inputShape);
    const counted = countCost(pruned, ps);
    // Activation elements of the exported model's weight ops, counted from its own tensor shapes.
    let outElems = 0;
    let inElems = 0;
    const weightOps = new Set(counted.layers.map((l) => l.node));
    for (const n of pruned.nodes) {
      if (!weightOps.has(n.name)) continue;
      outElems += ps.get(n.output[0]!)!.slice(1).reduce((p, q) => p * q, 1);
      inElems += ps.get(n.input[0]!)!.slice(1).reduce((p, q) => p * q, 1);
    }
    const counts = keptCounts(deps, keep);
    assert.equal(evaluateCountCost(f.costs.get('macs')!, counts), counted.macs);
    assert.equal(evaluateCountCost(f.costs.get('outElems')!, counts), outElems);
    assert.equal(evaluateCountCost(f.costs.get('inElems')!, counts), inElems);
    const direct = 0.7 + 2e-9 * counted.macs + 3e-7 * outElems + 1e-7 * inElems;
    assert.ok(Math.abs(predictLatencyMs({ cost }, deps, keep) - direct) < 1e-9 * direct);
  }
});

test('the latency model fits injected whole-model timings, is cached per model, and a foreign cache entry is refitted', async () => {
  const model = await loadModel(path.join(FIX, 'dncnn.onnx'));
  normalizeGraph(model);
  const inputShape = [1, 3, 32, 32];
  const shapes = await inferShapes(model, inputShape);
  const deps = analyzeDependencies(model, shapes);
  // A deterministic clock: a fixed cost plus time proportional to the file's size (its weights),
  // which for DnCNN's equal-resolution convs is MACs plus biases: the model's form fits it.
  let calls = 0;
  const clock = (b: Uint8Array) => 0.4 + 2e-5 * b.length;
  const measure = async (models: Uint8Array[], o: MeasureOptions): Promise<LatencyMeasurement[]> => {
    calls++;
    return models.map((b) => ({ provider: o.provider, inputShape: o.inputShape, batch1: { batch: 1, medianMs: clock(b), q1Ms: clock(b), q3Ms: clock(b), iqrMs: 0, runs: 20 }, batch8: null }));
  };
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'qp-latmodel-'));
  const lm = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu', cacheDir, measure });
  assert.equal(calls, 1, 'every calibration mask is timed in one round-robin measurement');
  assert.equal(lm.fromCache, false);
  assert.equal(lm.samples.length, calibrationMasks(deps).length);
  assert.ok(lm.fit.maxFitError < 0.02, JSON.stringify(lm.fit));
  assert.ok(Math.abs(lm.predictedOriginalMs / lm.measuredOriginalMs - 1) < 0.02);
  assert.equal(lm.measuredOriginalMs, clock(model.toBytes()));
  const rng = new Rng(9);
  for (let i = 0; i < 3; i++) {
    const keep = randomKeep(deps, rng);
    const held = clock(exportPruned(model, deps, keep).toBytes());
    assert.ok(Math.abs(predictLatencyMs(lm, deps, keep) / held - 1) < 0.03, 'a held-out mask is predicted within 3 %');
  }
  const again = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu', cacheDir, measure });
  assert.equal(calls, 1, 'the second build reads the cache');
  assert.equal(again.fromCache, true);
  assert.deepEqual(again.fit, lm.fit);
  const [file] = readdirSync(cacheDir);
  const doc = JSON.parse((await import('node:fs')).readFileSync(path.join(cacheDir, file!), 'utf8'));
  delete doc.value.fit.coefficients.outElems;
  writeFileSync(path.join(cacheDir, file!), JSON.stringify(doc));
  const refit = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu', cacheDir, measure });
  assert.equal(refit.fromCache, false, 'a fit missing a feature of this model is measured again');
  assert.equal(calls, 2);
});

test('cached fits are keyed by model, provider and input size, written atomically, and a damaged file is ignored', async () => {
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

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/util/rng';
import {
  CapacityTabuSearch,
  assembleQubo,
  feasibilityProblem,
  greedyStart,
  instanceLevels,
  quboEnergy,
  quboLowerBound,
  solveExact,
  solveQubo,
  solveQuboAsync,
  type QuboInstance,
} from '../../src/core/qubo';
import { instanceFromSpec, lowRankSimilarity, randomSpec } from './quboFixtures';
import { buildQubo } from '../../src/core/qubo';

function relGap(e: number, opt: number): number {
  return (e - opt) / Math.max(1, Math.abs(opt));
}

/** Harder family: one to three groups filling n = 22, flat h, strong redundancy (Maximum-Diversity-like). */
function hardInstance(rng: Rng): QuboInstance {
  const layouts = [[22], [11, 11], [8, 7, 7], [14, 8]];
  const sizes = layouts[rng.nextInt(layouts.length)]!;
  const groups = sizes.map((size, g) => ({
    id: `g${g}`,
    size,
    h: Float64Array.from({ length: size }, () => Math.exp(0.3 * rng.normal())),
    similarity: lowRankSimilarity(rng, size, 2 + rng.nextInt(3), 0.5),
  }));
  return buildQubo(groups, {
    objective: 'direct',
    beta: [0.2, 0.5, 1, 3][rng.nextInt(4)]!,
    roundTo: rng.next() < 0.3 ? 2 : 1,
    sparsity: 0.2 + 0.6 * rng.next(),
  });
}

describe('capacity-driven tabu search', () => {
  test('reaches the exact optimum on 260 random small instances, always with exactly K kept', () => {
    const rng = new Rng(20260401);
    let withRoundTo = 0;
    let tight = 0;
    let nonTrivial = 0;
    for (let k = 0; k < 260; k++) {
      const inst = k % 4 === 3 ? hardInstance(rng) : instanceFromSpec(rng, randomSpec(rng, 22)).inst;
      if (inst.roundTo.some((m) => m > 1)) withRoundTo++;
      const floorSum = inst.floors.reduce((a, b) => a + b, 0);
      if (inst.K - floorSum <= 1 || inst.n - inst.K <= 1) tight++;
      const exact = solveExact(inst);
      if (Math.abs(quboEnergy(inst, greedyStart(inst)) - exact.energy) > 1e-9 * Math.max(1, Math.abs(exact.energy))) nonTrivial++;
      // The target only ends the run early once the optimum is reached; the search is not told where it is.
      const r = solveQubo(inst, { seed: k, maxIterations: 5000, targetEnergy: exact.energy + 1e-9 * Math.max(1, Math.abs(exact.energy)) });
      assert.equal(feasibilityProblem(inst, r.mask), null, `instance ${k}`);
      assert.equal(r.mask.reduce((a, b) => a + b, 0), inst.K, `instance ${k}: count`);
      assert.ok(relGap(r.energy, exact.energy) <= 1e-9, `instance ${k}: search ${r.energy} vs exact ${exact.energy} (n=${inst.n}, K=${inst.K})`);
      assert.ok(Math.abs(r.energy - quboEnergy(inst, r.mask)) < 1e-9, 'reported energy is the mask energy');
      assert.ok(quboLowerBound(inst) <= exact.energy + 1e-9, 'lower bound below the optimum');
    }
    assert.ok(withRoundTo >= 30, `round-to instances: ${withRoundTo}`);
    assert.ok(tight >= 30, `tight-K instances: ${tight}`);
    assert.ok(nonTrivial >= 100, `instances where greedy is not optimal: ${nonTrivial}`);
  });

  test('medium instances (n ≈ 50–250, candidate lists shorter than groups, round-to across many groups) reach the optimum', () => {
    const rng = new Rng(3);
    let checked = 0;
    for (let k = 0; k < 40; k++) {
      const G = 5 + rng.nextInt(10);
      const sizes = Array.from({ length: G }, () => 4 + rng.nextInt(17));
      const groups = sizes.map((size, g) => ({
        id: `g${g}`,
        size,
        h: Float64Array.from({ length: size }, () => Math.exp([0.1, 0.5, 1][k % 3]! * rng.normal())),
        similarity: lowRankSimilarity(rng, size, 2 + rng.nextInt(3), 0.5),
      }));
      const opts = { objective: 'direct' as const, beta: [0.1, 0.3, 1][rng.nextInt(3)]!, rho: 0.1, roundTo: rng.next() < 0.3 ? 4 : 1, sparsity: 0.2 + 0.45 * rng.next() };
      let inst: QuboInstance;
      try {
        inst = buildQubo(groups, opts);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'k-below-floors');
        continue;
      }
      checked++;
      const exact = solveExact(inst);
      const r = solveQubo(inst, { seed: k, maxIterations: 20000, targetEnergy: exact.energy + 1e-9 * Math.max(1, Math.abs(exact.energy)) });
      assert.equal(feasibilityProblem(inst, r.mask), null);
      assert.ok(relGap(r.energy, exact.energy) <= 1e-9, `instance ${k}: ${r.energy} vs ${exact.energy} (n=${inst.n}, K=${inst.K}, roundTo=${inst.roundTo[0]})`);
    }
    assert.ok(checked >= 25, `checked ${checked}`);
  });

  test('full budget without a target also returns the optimum, and the same seed gives the same result', () => {
    const rng = new Rng(99);
    for (let k = 0; k < 12; k++) {
      const inst = hardInstance(rng);
      const exact = solveExact(inst);
      const a = solveQubo(inst, { seed: 7, maxIterations: 1500 });
      const b = solveQubo(inst, { seed: 7, maxIterations: 1500 });
      assert.ok(relGap(a.energy, exact.energy) <= 1e-9);
      assert.deepEqual(a.mask, b.mask);
      assert.equal(a.energy, b.energy);
      assert.equal(a.bestIteration, b.bestIteration);
      assert.deepEqual(
        a.trace.map((p) => [p.iteration, p.energy]),
        b.trace.map((p) => [p.iteration, p.energy]),
      );
      assert.equal(a.iterations, 1500);
      assert.equal(a.stopReason, 'iterations');
    }
  });

  test('capacities move between groups: the optimum may need counts far from the greedy start', () => {
    // Group a: one strong channel and nine copies of it (|cos| = 1); group b: ten independent channels.
    const C = 10;
    const simA = new Float64Array(C * C).fill(1);
    const simB = new Float64Array(C * C);
    for (let i = 0; i < C; i++) simB[i * C + i] = 1;
    const inst = buildQubo(
      [
        { id: 'a', size: C, h: Float64Array.from({ length: C }, (_, i) => 3 - 0.01 * i), similarity: simA },
        { id: 'b', size: C, h: Float64Array.from({ length: C }, (_, i) => 1 - 0.01 * i), similarity: simB },
      ],
      { objective: 'direct', beta: 1, rho: 0.1, keep: 10 },
    );
    const start = greedyStart(inst);
    assert.equal(start.subarray(0, C).reduce((a, b) => a + b, 0), 9, 'greedy keeps group a almost whole');
    const r = solveQubo(inst, { seed: 3, maxIterations: 2000 });
    assert.deepEqual(Array.from(r.capacities), [1, 9]);
    assert.ok(relGap(r.energy, solveExact(inst).energy) <= 1e-9);
  });

  test('round-to capacity moves keep every group at a multiple of m or its full size', () => {
    const rng = new Rng(5);
    const sizes = [16, 20, 20, 13];
    const groups = sizes.map((size, g) => ({
      id: `g${g}`,
      size,
      h: Float64Array.from({ length: size }, () => Math.exp(rng.normal())),
      similarity: lowRankSimilarity(rng, size, 3, 0.5),
    }));
    const inst = buildQubo(groups, { objective: 'direct', beta: 0.3, roundTo: 8, sparsity: 0.5 });
    assert.equal(inst.K % 1, 0);
    const exact = solveExact(inst);
    const r = solveQubo(inst, {
      seed: 1,
      maxIterations: 3000,
      onProgress: () => undefined,
    });
    for (let g = 0; g < sizes.length; g++) {
      const c = r.capacities[g]!;
      assert.ok(c % 8 === 0 || c === sizes[g], `group ${g} keeps ${c}`);
    }
    assert.ok(relGap(r.energy, exact.energy) <= 1e-9, `${r.energy} vs ${exact.energy}`);
  });

  test('starts from a given feasible mask and rejects an infeasible one', () => {
    const rng = new Rng(8);
    const { inst } = instanceFromSpec(rng, { sizes: [6, 6], beta: 0.5, rho: 0.1, roundTo: 1, kMode: 'loose' });
    const start = greedyStart(inst);
    const r = solveQubo(inst, { seed: 1, maxIterations: 1, initial: start });
    assert.ok(r.energy <= quboEnergy(inst, start) + 1e-12);
    const bad = start.slice();
    bad[bad.indexOf(0)] = 1;
    assert.throws(() => solveQubo(inst, { initial: bad }), (e: Error & { code?: string }) => e.code === 'bad-mask');
  });

  test('a single feasible point ends at once', () => {
    const inst = assembleQubo([{ id: 'a', size: 4, h: new Float64Array([1, 2, 3, 4]), floor: 1 }], { keep: 4 });
    const r = solveQubo(inst, { seed: 1 });
    assert.equal(r.stopReason, 'trivial');
    assert.deepEqual(Array.from(r.mask), [1, 1, 1, 1]);
    // Under round-to too: sizes 12 and 16 with m = 8 allow {8, 12} and {8, 16}; K = 28 leaves the
    // single vector (12, 16), both groups full, although capacity shifts exist in general.
    const rt = assembleQubo(
      [
        { id: 'a', size: 12, h: new Float64Array(12).fill(1), floor: 1, roundTo: 8 },
        { id: 'b', size: 16, h: new Float64Array(16).fill(1), floor: 1, roundTo: 8 },
      ],
      { keep: 28 },
    );
    assert.ok(instanceLevels(rt).bigSteps.length > 0);
    const r2 = solveQubo(rt, { seed: 1, maxIterations: 1000000 });
    assert.equal(r2.stopReason, 'trivial');
    assert.ok(r2.iterations <= 2);
  });

  test('abort signal and progress callback', async () => {
    const rng = new Rng(3);
    const { inst } = instanceFromSpec(rng, { sizes: [10, 10, 2], beta: 0.5, rho: 0.1, roundTo: 1, kMode: 'loose' });
    const ac = new AbortController();
    ac.abort();
    const r = solveQubo(inst, { signal: ac.signal, maxIterations: 100000 });
    assert.equal(r.stopReason, 'aborted');
    assert.equal(feasibilityProblem(inst, r.mask), null);

    const ac2 = new AbortController();
    let calls = 0;
    const r2 = await solveQuboAsync(
      inst,
      {
        seed: 2,
        timeMs: 60000,
        progressEveryMs: 0,
        signal: ac2.signal,
        onProgress: (p) => {
          calls++;
          assert.ok(p.bestEnergy <= p.currentEnergy + 1e-9);
          if (p.iteration >= 2048) ac2.abort();
        },
      },
      1,
    );
    assert.equal(r2.stopReason, 'aborted');
    assert.ok(calls >= 8);
    assert.ok(r2.iterations >= 2048 && r2.iterations < 60000);
  });

  test('trace is monotone and ends at the returned energy', () => {
    const rng = new Rng(12);
    const inst = hardInstance(rng);
    const s = new CapacityTabuSearch(inst, { seed: 4, maxIterations: 800, traceLimit: 16 });
    s.run();
    const r = s.result();
    assert.ok(r.trace.length >= 1 && r.trace.length <= 17);
    for (let k = 1; k < r.trace.length; k++) {
      assert.ok(r.trace[k]!.energy < r.trace[k - 1]!.energy);
      assert.ok(r.trace[k]!.iteration >= r.trace[k - 1]!.iteration);
    }
    assert.ok(Math.abs(r.trace[r.trace.length - 1]!.energy - r.energy) < 1e-9);
  });
});

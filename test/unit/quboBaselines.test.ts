import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/util/rng';
import {
  assembleQubo,
  bestLinearMask,
  feasibilityProblem,
  greedyMask,
  instanceLevels,
  lambdaBound,
  quboEnergy,
  randomMask,
  solveExact,
  solvePenaltySa,
  type QuboInstance,
} from '../../src/core/qubo';
import { instanceFromSpec, randomSpec } from './quboFixtures';

/** Every mask, checked for feasibility one by one: the slowest possible ground truth. */
function bruteForce(inst: QuboInstance): number {
  const levels = instanceLevels(inst);
  let best = Number.POSITIVE_INFINITY;
  const mask = new Uint8Array(inst.n);
  for (let bits = 0; bits < 2 ** inst.n; bits++) {
    for (let i = 0; i < inst.n; i++) mask[i] = (bits >> i) & 1;
    if (feasibilityProblem(inst, mask, levels) !== null) continue;
    best = Math.min(best, quboEnergy(inst, mask));
  }
  return best;
}

describe('exact solver', () => {
  test('matches brute force on 80 random instances with n ≤ 14', () => {
    const rng = new Rng(31);
    for (let k = 0; k < 80; k++) {
      const { inst } = instanceFromSpec(rng, randomSpec(rng, 14));
      const r = solveExact(inst);
      const bf = bruteForce(inst);
      assert.ok(Math.abs(r.energy - bf) <= 1e-9 * Math.max(1, Math.abs(bf)), `instance ${k}: ${r.energy} vs ${bf}`);
      assert.equal(feasibilityProblem(inst, r.mask), null);
      assert.ok(Math.abs(quboEnergy(inst, r.mask) - r.energy) < 1e-9);
    }
  });

  test('a single group of 24 is enumerated; larger groups are refused', () => {
    const rng = new Rng(2);
    const { inst } = instanceFromSpec(rng, { sizes: [24], beta: 0.5, rho: 0.1, roundTo: 1, kMode: 'loose' });
    const r = solveExact(inst);
    assert.equal(r.mask.reduce((a, b) => a + b, 0), inst.K);
    const big = assembleQubo([{ id: 'a', size: 25, h: new Float64Array(25), floor: 1 }], { keep: 5 });
    assert.throws(() => solveExact(big), (e: Error & { code?: string }) => e.code === 'too-large');
  });
});

describe('greedy and random baselines', () => {
  test('best linear mask is optimal for the linear objective under floors and round-to', () => {
    const rng = new Rng(4);
    for (let k = 0; k < 40; k++) {
      const { inst } = instanceFromSpec(rng, randomSpec(rng, 14));
      const score = Float64Array.from({ length: inst.n }, () => rng.next());
      const linear = { ...inst, h: score, Q: inst.Q.map((q) => new Float64Array(q.length)) };
      const mask = bestLinearMask(inst, score);
      assert.equal(feasibilityProblem(inst, mask), null);
      assert.ok(Math.abs(quboEnergy(linear, mask) - bruteForce(linear)) < 1e-9, `instance ${k}`);
    }
  });

  test('greedy by different scores gives different masks over the same layout, floors kept', () => {
    const inst = assembleQubo(
      [
        { id: 'a', size: 4, h: new Float64Array(4), floor: 1 },
        { id: 'b', size: 4, h: new Float64Array(4), floor: 1 },
      ],
      { keep: 3 },
    );
    const taylor = new Float64Array([9, 8, 7, 6, 1, 1, 1, 2]);
    const l1 = new Float64Array([1, 1, 1, 1, 5, 6, 7, 8]);
    assert.deepEqual(Array.from(greedyMask(inst, taylor)), [1, 1, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(Array.from(greedyMask(inst, l1)), [1, 0, 0, 0, 0, 0, 1, 1]);
  });

  test('random masks are feasible and reproducible per seed', () => {
    const rng = new Rng(6);
    for (let k = 0; k < 30; k++) {
      const { inst } = instanceFromSpec(rng, randomSpec(rng, 22));
      const a = randomMask(inst, new Rng(k));
      assert.equal(feasibilityProblem(inst, a), null);
      assert.deepEqual(a, randomMask(inst, new Rng(k)));
    }
  });
});

describe('penalty simulated annealing baseline', () => {
  test('λ above lambdaBound makes count K the penalised optimum (brute force)', () => {
    const rng = new Rng(9);
    for (let k = 0; k < 15; k++) {
      const { inst } = instanceFromSpec(rng, { ...randomSpec(rng, 11), roundTo: 1 });
      const lambda = lambdaBound(inst) * 1.01 + 1e-9;
      let best = Number.POSITIVE_INFINITY;
      let bestCount = -1;
      const mask = new Uint8Array(inst.n);
      for (let bits = 0; bits < 2 ** inst.n; bits++) {
        let c = 0;
        for (let i = 0; i < inst.n; i++) c += mask[i] = (bits >> i) & 1;
        const counts = new Int32Array(inst.groupCount);
        for (let i = 0; i < inst.n; i++) counts[inst.groupOf[i]!]! += mask[i]!;
        if (counts.some((v, g) => v < inst.floors[g]!)) continue;
        const e = quboEnergy(inst, mask) + lambda * (c - inst.K) ** 2;
        if (e < best) {
          best = e;
          bestCount = c;
        }
      }
      assert.equal(bestCount, inst.K, `instance ${k}`);
    }
  });

  test('reports true energy and violation, is deterministic per seed, and misses K when λ is too small', () => {
    const rng = new Rng(10);
    const { inst } = instanceFromSpec(rng, { sizes: [8, 8], beta: 0.3, rho: 0.1, roundTo: 1, kMode: 'loose' });
    const a = solvePenaltySa(inst, { seed: 3, maxIterations: 20000 });
    const b = solvePenaltySa(inst, { seed: 3, maxIterations: 20000 });
    assert.deepEqual(a.mask, b.mask);
    assert.ok(Math.abs(a.energy - quboEnergy(inst, a.mask)) < 1e-9);
    assert.equal(a.violation, Math.abs(a.count - inst.K));
    assert.ok(a.bestFeasibleEnergy >= solveExact(inst).energy - 1e-9);
    // No penalty and no couplings: every channel with h > 0 is worth keeping.
    const free = assembleQubo([{ id: 'a', size: 10, h: new Float64Array(10).fill(1), floor: 1 }], { keep: 4 });
    const r = solvePenaltySa(free, { seed: 1, lambda: 0, maxIterations: 5000 });
    assert.equal(r.count, 10);
    assert.equal(r.violation, 6);
  });
});

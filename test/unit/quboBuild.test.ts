import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/util/rng';
import { buildL1Qubo, buildQubo, assembleQubo, instanceLevels, layoutScores, QuboError, type QuboGroupInput } from '../../src/core/qubo';
import { isAchievable, sampleCapacities } from '../../src/core/qubo/levels';

function sym(size: number, value: (i: number, j: number) => number): Float64Array {
  const S = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) S[i * size + j] = i === j ? 1 : value(Math.min(i, j), Math.max(i, j));
  return S;
}

function twoGroups(): QuboGroupInput[] {
  return [
    { id: 'a', size: 3, taylor: new Float64Array([1, 2, 3]), fisher: new Float64Array([4, 0, 2]), l1: new Float64Array([1, 1, 4]), similarity: sym(3, (i, j) => 0.1 * (i + j + 1)), weightSimilarity: sym(3, () => 0.5) },
    { id: 'b', size: 2, taylor: new Float64Array([6, 3]), fisher: new Float64Array([1, 3]), l1: new Float64Array([2, 2]), similarity: sym(2, () => 0.8), weightSimilarity: sym(2, () => 0.25) },
  ];
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QuboError, `expected QuboError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('QUBO builder', () => {
  test('hybrid linear term mixes globally mean-normalised Taylor and Fisher', () => {
    const inst = buildQubo(twoGroups(), { alpha: 0.25, beta: 0, keep: 3 });
    const meanT = (1 + 2 + 3 + 6 + 3) / 5;
    const meanF = (4 + 0 + 2 + 1 + 3) / 5;
    const T = [1, 2, 3, 6, 3];
    const F = [4, 0, 2, 1, 3];
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(inst.h[i]! - (0.25 * T[i]! / meanT + 0.75 * F[i]! / meanF)) < 1e-12);
    assert.equal(inst.n, 5);
    assert.deepEqual(Array.from(inst.groupOf), [0, 0, 0, 1, 1]);
    assert.deepEqual(Array.from(inst.groupStart), [0, 3]);
  });

  test('quadratic term is β·S_ij·mean(h of the group), symmetric with zero diagonal', () => {
    const inst = buildQubo(twoGroups(), { alpha: 0.5, beta: 0.3, keep: 3 });
    const ha = (inst.h[0]! + inst.h[1]! + inst.h[2]!) / 3;
    const Qa = inst.Q[0]!;
    assert.ok(Math.abs(Qa[0 * 3 + 2]! - 0.3 * 0.3 * ha) < 1e-12);
    assert.equal(Qa[0 * 3 + 2], Qa[2 * 3 + 0]);
    assert.equal(Qa[1 * 3 + 1], 0);
    const hb = (inst.h[3]! + inst.h[4]!) / 2;
    assert.ok(Math.abs(inst.Q[1]![1]! - 0.3 * 0.8 * hb) < 1e-12);
  });

  test('the L1-QUBO uses normalised L1 and the weight similarity through the same path', () => {
    const inst = buildL1Qubo(twoGroups(), { beta: 1, keep: 3 });
    const mean = (1 + 1 + 4 + 2 + 2) / 5;
    assert.deepEqual(Array.from(inst.h), [1, 1, 4, 2, 2].map((v) => v / mean));
    const ha = (1 + 1 + 4) / 3 / mean;
    assert.ok(Math.abs(inst.Q[0]![1]! - 0.5 * ha) < 1e-12);
    assert.equal(inst.objective, 'l1');
  });

  test('floors: max(1, ceil(ρ·C)) without float drift, explicit floors, round-to raises them', () => {
    const g = (id: string, size: number, extra: Partial<QuboGroupInput> = {}): QuboGroupInput => ({ id, size, h: new Float64Array(size).fill(1), ...extra });
    const inst = buildQubo([g('a', 30), g('b', 5), g('c', 7, { floor: 0 }), g('d', 20, { roundTo: 8 }), g('e', 6, { roundTo: 8 })], { objective: 'direct', beta: 0, rho: 0.1, sparsity: 0.5 });
    assert.deepEqual(Array.from(inst.floors), [3, 1, 0, 8, 6]);
    assert.deepEqual(Array.from(inst.roundTo), [1, 1, 1, 8, 8]);
  });

  test('K from sparsity excludes locked groups; round-to moves K to the nearest achievable count', () => {
    const h = (size: number) => new Float64Array(size).fill(1);
    const a = buildQubo([{ id: 'a', size: 100, h: h(100) }], { objective: 'direct', beta: 0, sparsity: 0.36 });
    assert.equal(a.K, 64);
    const b = buildQubo(
      [
        { id: 'a', size: 100, h: h(100) },
        { id: 'out', size: 10, h: h(10), locked: true },
      ],
      { objective: 'direct', beta: 0, sparsity: 0.5 },
    );
    assert.equal(b.K, 60);
    assert.equal(b.floors[1], 10);
    // Round-to 8 on 32 + 32: K must be a multiple of 8; 0.36 → round(40.96) = 41 → 40.
    const c = buildQubo(
      [
        { id: 'a', size: 32, h: h(32) },
        { id: 'b', size: 32, h: h(32) },
      ],
      { objective: 'direct', beta: 0, roundTo: 8, sparsity: 0.36 },
    );
    assert.equal(c.kRequested, 41);
    assert.equal(c.K, 40);
    expectCode(() => buildQubo([{ id: 'a', size: 32, h: h(32) }, { id: 'b', size: 32, h: h(32) }], { objective: 'direct', beta: 0, roundTo: 8, keep: 41 }), 'k-unachievable');
  });

  test('achievable totals and sampled capacity vectors respect the levels', () => {
    const inst = assembleQubo(
      [
        { id: 'a', size: 20, h: new Float64Array(20), floor: 1, roundTo: 8 },
        { id: 'b', size: 13, h: new Float64Array(13), floor: 1, roundTo: 8 },
        { id: 'c', size: 5, h: new Float64Array(5), floor: 2 },
      ],
      { keep: 30 },
    );
    const lv = instanceLevels(inst);
    assert.deepEqual(Array.from(lv.list[0]!), [8, 16, 20]);
    assert.deepEqual(Array.from(lv.list[1]!), [8, 13]);
    assert.ok(isAchievable(lv, 30) && isAchievable(lv, 18) && !isAchievable(lv, 17) && !isAchievable(lv, 39));
    const rng = new Rng(1);
    const caps = new Int32Array(3);
    for (let k = 0; k < 50; k++) {
      sampleCapacities(lv, 30, () => rng.next(), caps);
      assert.equal(caps[0]! + caps[1]! + caps[2]!, 30);
      for (let g = 0; g < 3; g++) assert.ok(lv.isLevel[lv.offset[g]! + caps[g]!]);
    }
  });

  test('layoutScores concatenates a score in variable order', () => {
    assert.deepEqual(Array.from(layoutScores(twoGroups(), 'taylor')), [1, 2, 3, 6, 3]);
  });

  test('invalid inputs raise QuboError with specific codes', () => {
    const base = () => twoGroups();
    expectCode(() => buildQubo(base(), { keep: 1 }), 'k-below-floors');
    expectCode(() => buildQubo(base(), { keep: 6 }), 'k-above-n');
    expectCode(() => buildQubo(base(), { sparsity: 0.9, rho: 0.9 }), 'k-below-floors');
    expectCode(() => buildQubo(base(), {}), 'no-target');
    const nan = base();
    nan[0]!.taylor![1] = Number.NaN;
    expectCode(() => buildQubo(nan, { keep: 3 }), 'bad-score');
    const neg = base();
    neg[1]!.fisher![0] = -1;
    expectCode(() => buildQubo(neg, { keep: 3 }), 'bad-score');
    const short = base();
    short[0]!.taylor = new Float64Array(2);
    expectCode(() => buildQubo(short, { keep: 3 }), 'score-length');
    const missing = base();
    delete missing[1]!.fisher;
    expectCode(() => buildQubo(missing, { keep: 3 }), 'missing-score');
    assert.doesNotThrow(() => buildQubo(missing, { keep: 3, alpha: 1 }));
    const size = base();
    size[0]!.similarity = new Float64Array(8);
    expectCode(() => buildQubo(size, { keep: 3 }), 'similarity-size');
    const negSim = base();
    negSim[0]!.similarity = sym(3, () => -0.5);
    expectCode(() => buildQubo(negSim, { keep: 3 }), 'bad-similarity');
    const bigSim = base();
    bigSim[0]!.similarity = sym(3, () => 1.5);
    expectCode(() => buildQubo(bigSim, { keep: 3 }), 'bad-similarity');
    const nanSim = base();
    nanSim[0]!.similarity![1] = Number.NaN;
    expectCode(() => buildQubo(nanSim, { keep: 3 }), 'bad-similarity');
    const asym = base();
    asym[0]!.similarity![1] = 0.9;
    expectCode(() => buildQubo(asym, { keep: 3 }), 'asymmetric-similarity');
    const noSim = base();
    delete noSim[0]!.similarity;
    expectCode(() => buildQubo(noSim, { keep: 3 }), 'missing-similarity');
    assert.doesNotThrow(() => buildQubo(noSim, { keep: 3, beta: 0 }));
    expectCode(() => buildQubo(base(), { keep: 3, alpha: 2 }), 'bad-option');
    expectCode(() => buildQubo(base(), { keep: 3, beta: -1 }), 'bad-option');
    expectCode(() => buildQubo(base(), { keep: 3, roundTo: 0 }), 'bad-option');
    expectCode(() => buildQubo(base(), { sparsity: 1.5 }), 'bad-option');
    expectCode(() => buildQubo(base(), { keep: 3.5 }), 'bad-option');
    expectCode(() => buildQubo(base(), { keep: 3, objective: 'l2' as never }), 'bad-option');
    const dup = base();
    dup[1]!.id = 'a';
    expectCode(() => buildQubo(dup, { keep: 3 }), 'duplicate-group');
    const empty = base();
    empty[1]!.size = 0;
    expectCode(() => buildQubo(empty, { keep: 3 }), 'bad-group');
    expectCode(() => buildQubo([], { keep: 0 }), 'bad-group');
    const floor = base();
    floor[0]!.floor = 4;
    expectCode(() => buildQubo(floor, { keep: 3 }), 'bad-floor');
    expectCode(() => assembleQubo([{ id: 'a', size: 2, h: new Float64Array(2), Q: new Float64Array([0, 1, 2, 0]), floor: 1 }], { keep: 1 }), 'asymmetric-similarity');
  });
});

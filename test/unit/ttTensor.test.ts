import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/util/rng';
import {
  TtDistribution,
  TtError,
  exactOnesConstraint,
  logLikelihoods,
  meanLogLikelihoodGradient,
  sampleTt,
  satisfies,
  type SamplingConstraint,
} from '../../src/core/tt';

/** Every point of the product alphabet in lexicographic order (first position most significant). */
function enumerate(n: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const x = new Uint8Array(n.length);
  const rec = (k: number) => {
    if (k === n.length) {
      out.push(x.slice());
      return;
    }
    for (let v = 0; v < n[k]!; v++) {
      x[k] = v;
      rec(k + 1);
    }
  };
  rec(0);
  return out;
}

/** P(x) by multiplying the core slices directly: independent of the interface code under test. */
function bruteValue(dist: TtDistribution, x: Uint8Array): number {
  const G = dist.cores();
  let row = Float64Array.of(1);
  for (let k = 0; k < dist.d; k++) {
    const rk = dist.ranks[k]!;
    const nk = dist.n[k]!;
    const rk1 = dist.ranks[k + 1]!;
    const next = new Float64Array(rk1);
    for (let a = 0; a < rk; a++) for (let b = 0; b < rk1; b++) next[b] = next[b]! + row[a]! * G[k]![(a * nk + x[k]!) * rk1 + b]!;
    row = next;
  }
  return row[0]!;
}

function exactProbabilities(dist: TtDistribution, points: Uint8Array[]): Float64Array {
  const p = Float64Array.from(points, (x) => bruteValue(dist, x));
  const z = p.reduce((s, v) => s + v, 0);
  return p.map((v) => v / z);
}

function empirical(samples: Uint8Array, d: number, points: Uint8Array[]): Float64Array {
  const index = new Map(points.map((x, i) => [x.join(','), i]));
  const freq = new Float64Array(points.length);
  const count = samples.length / d;
  for (let s = 0; s < count; s++) {
    const i = index.get(Array.from(samples.subarray(s * d, (s + 1) * d)).join(','));
    assert.ok(i !== undefined, 'sample outside the alphabet');
    freq[i] += 1 / count;
  }
  return freq;
}

const tv = (p: ArrayLike<number>, q: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i]! - q[i]!);
  return s / 2;
};

/** Product of the exact marginals: what a sampler that ignored the left context would produce. */
function productOfMarginals(p: Float64Array, points: Uint8Array[], n: number[]): Float64Array {
  const marg = n.map((nk) => new Float64Array(nk));
  points.forEach((x, i) => x.forEach((v, k) => (marg[k]![v] += p[i]!)));
  return Float64Array.from(points, (x) => Array.from(x).reduce((s, v, k) => s * marg[k]![v]!, 1));
}

function randomDist(n: number[], rank: number, seed: number, sigma = 1): TtDistribution {
  const dist = new TtDistribution(n, rank);
  dist.randomise(new Rng(seed), sigma);
  return dist;
}

/** Random cores plus a bias towards neighbours sharing a value, so the model is far from independent. */
function correlatedDist(n: number[], rank: number, seed: number): TtDistribution {
  const dist = randomDist(n, rank, seed, 0.5);
  for (let k = 0; k < dist.d; k++) {
    const rk = dist.ranks[k]!;
    const nk = dist.n[k]!;
    const rk1 = dist.ranks[k + 1]!;
    const w = dist.logCores[k]!;
    for (let a = 0; a < rk; a++) {
      for (let v = 0; v < nk; v++) {
        for (let b = 0; b < rk1; b++) {
          if ((k === 0 || a % nk === v) && b % nk === v) w[(a * nk + v) * rk1 + b] += 2;
        }
      }
    }
  }
  dist.markChanged();
  return dist;
}

// Bound for the sampler tests. With N samples over m outcomes, E[TV] ≤ ½ Σ_x sqrt(p(1−p)/N)·sqrt(2/π)
// ≤ ½·sqrt((m−1)/N)·sqrt(2/π) (Cauchy–Schwarz), i.e. 0.011 for m = 16 and 0.014 for m = 27 at
// N = 20 000; TV moves by at most 1/N per sample, so McDiarmid gives P(TV > E + 0.01) ≤ e^{−2N·1e−4}
// = e^{−4} ≈ 0.02. A bound of 0.025 therefore fails a correct sampler with probability under 2%
// (and the seeds are fixed), while the test also checks that the model is far (TV > 0.1) from the
// product of its marginals, so a sampler that loses the TT's correlations would fail it.
const N = 20_000;
const BOUND = 0.025;

describe('TT distribution', () => {
  test('interfaces give log Z of the enumerated tensor; likelihood telescopes to log p(x)', () => {
    const n = [3, 2, 4, 2];
    const dist = randomDist(n, 3, 11);
    const points = enumerate(n);
    const z = points.reduce((s, x) => s + bruteValue(dist, x), 0);
    assert.ok(Math.abs(dist.interfaces().logZ - Math.log(z)) < 1e-10);
    const p = exactProbabilities(dist, points);
    const rows = new Uint8Array(points.length * n.length);
    points.forEach((x, i) => rows.set(x, i * n.length));
    const ll = logLikelihoods(dist, rows, points.length);
    for (let i = 0; i < points.length; i++) assert.ok(Math.abs(ll[i]! - Math.log(p[i]!)) < 1e-10, `point ${i}`);
  });

  test('bond ranks are capped by the configurations on each side', () => {
    const dist = new TtDistribution([2, 2, 2, 2], 5);
    assert.deepEqual(Array.from(dist.ranks), [1, 2, 4, 2, 1]);
    assert.throws(() => new TtDistribution([2, 0], 2), (e: unknown) => e instanceof TtError && e.code === 'bad-shape');
  });

  test('long trains stay finite (interfaces are normalised)', () => {
    const dist = randomDist(new Array(400).fill(3), 5, 3, 2);
    const x = sampleTt(dist, 4, new Rng(1));
    const ll = logLikelihoods(dist, x, 4);
    for (const v of ll) assert.ok(Number.isFinite(v) && v < 0);
  });
});

describe('TT sampler', () => {
  for (const { n, seed } of [
    { n: [2, 2, 2, 2], seed: 5 },
    { n: [3, 3, 3], seed: 6 },
  ]) {
    test(`empirical frequencies match the exact distribution (n = [${n}])`, () => {
      const dist = correlatedDist(n, 3, seed);
      const points = enumerate(n);
      const p = exactProbabilities(dist, points);
      assert.ok(tv(p, productOfMarginals(p, points, n)) > 0.1, 'model too close to independent to test correlations');
      const samples = sampleTt(dist, N, new Rng(seed + 100));
      const distance = tv(p, empirical(samples, n.length, points));
      assert.ok(distance < BOUND, `TV ${distance.toFixed(4)} ≥ ${BOUND}`);
    });
  }

  test('is deterministic for a seed', () => {
    const dist = randomDist([2, 3, 2, 4, 2], 4, 9);
    assert.deepEqual(sampleTt(dist, 50, new Rng(3)), sampleTt(dist, 50, new Rng(3)));
  });
});

describe('likelihood gradient', () => {
  const cases: { name: string; n: number[]; constraint?: SamplingConstraint }[] = [
    { name: 'mixed alphabets', n: [2, 3, 2, 4, 3] },
    { name: 'binary, exactly 3 ones', n: [2, 2, 2, 2, 2, 2], constraint: exactOnesConstraint(6, 3) },
  ];
  for (const { name, n, constraint } of cases) {
    test(`matches central finite differences (${name})`, () => {
      const dist = randomDist(n, 3, 21);
      const count = 7;
      const samples = sampleTt(dist, count, new Rng(4), constraint);
      // Move away from the sampling distribution so the gradient is not special.
      dist.randomise(new Rng(22), 0.8);
      const grad = dist.logCores.map((w) => new Float64Array(w.length));
      const f0 = meanLogLikelihoodGradient(dist, samples, count, grad, constraint);
      const mean = () => logLikelihoods(dist, samples, count, constraint).reduce((s, v) => s + v, 0) / count;
      assert.ok(Math.abs(f0 - mean()) < 1e-12);
      const h = 1e-5;
      let maxErr = 0;
      let maxAbs = 0;
      for (let k = 0; k < dist.d; k++) {
        const w = dist.logCores[k]!;
        for (let i = 0; i < w.length; i++) {
          const keep = w[i]!;
          w[i] = keep + h;
          dist.markChanged();
          const up = mean();
          w[i] = keep - h;
          dist.markChanged();
          const down = mean();
          w[i] = keep;
          dist.markChanged();
          const fd = (up - down) / (2 * h);
          maxErr = Math.max(maxErr, Math.abs(fd - grad[k]![i]!));
          maxAbs = Math.max(maxAbs, Math.abs(fd));
        }
      }
      assert.ok(maxAbs > 0.05, 'gradient unexpectedly tiny');
      assert.ok(maxErr < 1e-7, `max |analytic − finite difference| = ${maxErr}`);
    });
  }
});

describe('exactly-K constraint', () => {
  const d = 7;
  const K = 3;
  const constraint = exactOnesConstraint(d, K);
  const n = new Array(d).fill(2);
  const points = enumerate(n);
  const feasible = points.filter((x) => x.reduce((s, v) => s + v, 0) === K);

  test('every sample has exactly K ones and frequencies match the masked likelihood', () => {
    const dist = correlatedDist(n, 4, 31);
    const samples = sampleTt(dist, N, new Rng(32), constraint);
    for (let s = 0; s < N; s++) {
      let ones = 0;
      for (let k = 0; k < d; k++) ones += samples[s * d + k]!;
      assert.equal(ones, K, `sample ${s}`);
    }
    const rows = new Uint8Array(feasible.length * d);
    feasible.forEach((x, i) => rows.set(x, i * d));
    const q = logLikelihoods(dist, rows, feasible.length, constraint).map(Math.exp);
    const total = q.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(total - 1) < 1e-12, `masked likelihood sums to ${total}`);
    // 35 feasible points: E[TV] ≤ ½·sqrt(34/N)·sqrt(2/π) ≈ 0.016, so the same 0.025 bound holds.
    const distance = tv(q, empirical(samples, d, feasible));
    assert.ok(distance < BOUND, `TV ${distance.toFixed(4)}`);
  });

  test('the likelihood refuses infeasible points; satisfies() agrees with the count', () => {
    const dist = randomDist(n, 2, 1);
    for (const x of points) assert.equal(satisfies(constraint, x), x.reduce((s, v) => s + v, 0) === K);
    const bad = Uint8Array.from([1, 1, 1, 1, 0, 0, 0]);
    assert.throws(() => logLikelihoods(dist, bad, 1, constraint), (e: unknown) => e instanceof TtError && e.code === 'infeasible');
  });

  test('K = 0 and K = d force the whole vector', () => {
    const dist = randomDist(n, 2, 2);
    assert.ok(sampleTt(dist, 5, new Rng(1), exactOnesConstraint(d, 0)).every((v) => v === 0));
    assert.ok(sampleTt(dist, 5, new Rng(1), exactOnesConstraint(d, d)).every((v) => v === 1));
    assert.throws(() => exactOnesConstraint(d, d + 1), (e: unknown) => e instanceof TtError && e.code === 'bad-option');
  });
});

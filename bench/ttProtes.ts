/**
 * Success rates and costs of the PROTES-style optimiser (src/core/tt) on planted problems.
 * Run: node --import tsx bench/ttProtes.ts [seeds=20] [published]
 * ('published' repeats the runs with distinctElites: false, i.e. duplicates may fill elite slots.)
 * Each run stops at the known optimum (stopAt) or after 10⁴ black-box evaluations; reported are
 * the share of seeds that reached the optimum, the median black-box evaluations (cache hits
 * excluded) and the median sampled candidates (cache hits included) of the successful runs, and
 * the mean wall time per run with an instantaneous black box (optimiser overhead only).
 */
import { Rng } from '../src/core/util/rng';
import { exactOnesConstraint, protes, type BlackBox, type ProtesOptions } from '../src/core/tt';

const SEEDS = Number(process.argv[2] ?? 20);
const BUDGET = 10_000;
const DISTINCT = process.argv[3] !== 'published';

function target(d: number, seed: number, alphabet = 2): Uint8Array {
  const rng = new Rng(1000 + seed);
  return Uint8Array.from({ length: d }, () => rng.nextInt(alphabet));
}

function negHamming(t: Uint8Array): BlackBox {
  return async (batch) =>
    Float64Array.from(batch, (x) => {
      let h = 0;
      for (let i = 0; i < x.length; i++) if (x[i] !== t[i]) h++;
      return -h;
    });
}

function negQuadratic(t: Uint8Array, seed: number): BlackBox {
  const d = t.length;
  const rng = new Rng(2000 + seed);
  const A = Array.from({ length: d }, () => Float64Array.from({ length: d }, () => rng.normal()));
  return async (batch) =>
    Float64Array.from(batch, (x) => {
      let f = 0;
      for (const row of A) {
        let s = 0;
        for (let i = 0; i < d; i++) s += row[i]! * (x[i]! - t[i]!);
        f += s * s;
      }
      return -f;
    });
}

/** Concatenated deceptive traps of order m on consecutive blocks: m if all match, else m − 1 − matches. */
function trap(t: Uint8Array, m: number): BlackBox {
  return async (batch) =>
    Float64Array.from(batch, (x) => {
      let f = 0;
      for (let i = 0; i + m <= x.length; i += m) {
        let u = 0;
        for (let j = i; j < i + m; j++) if (x[j] === t[j]) u++;
        f += u === m ? m : m - 1 - u;
      }
      return f;
    });
}

function flips(x: Uint8Array, count: number, seed: number): Uint8Array {
  const rng = new Rng(3000 + seed);
  const idx = Int32Array.from({ length: x.length }, (_, i) => i);
  rng.shuffle(idx);
  const y = x.slice();
  for (let i = 0; i < count; i++) y[idx[i]!] = 1 - y[idx[i]!]!;
  return y;
}

/** Feasible target with K ones and a start 2 swaps away from it. */
function kTarget(d: number, K: number, seed: number): { t: Uint8Array; start: Uint8Array } {
  const rng = new Rng(4000 + seed);
  const idx = Int32Array.from({ length: d }, (_, i) => i);
  rng.shuffle(idx);
  const t = new Uint8Array(d);
  for (let i = 0; i < K; i++) t[idx[i]!] = 1;
  const start = t.slice();
  for (let s = 0; s < 2; s++) {
    start[idx[s]!] = 0;
    start[idx[K + s]!] = 1;
  }
  return { t, start };
}

interface Case {
  name: string;
  make: (seed: number) => { f: BlackBox; optimum: number; options: Omit<ProtesOptions, 'seed'> };
}

const cases: Case[] = [];
for (const d of [20, 30, 40]) {
  cases.push({ name: `−Hamming, d=${d}`, make: (s) => ({ f: negHamming(target(d, s)), optimum: 0, options: { d } }) });
}
for (const d of [20, 30, 40]) {
  cases.push({ name: `quadratic −‖A(x−t)‖², d=${d}`, make: (s) => ({ f: negQuadratic(target(d, s), s), optimum: 0, options: { d } }) });
}
for (const d of [20, 32, 40]) {
  cases.push({ name: `trap-2, d=${d}`, make: (s) => ({ f: trap(target(d, s), 2), optimum: d, options: { d } }) });
}
cases.push({ name: 'trap-3, d=30', make: (s) => ({ f: trap(target(30, s), 3), optimum: 30, options: { d: 30 } }) });
cases.push({ name: 'trap-3, d=30, rank 10', make: (s) => ({ f: trap(target(30, s), 3), optimum: 30, options: { d: 30, rank: 10 } }) });
cases.push({ name: 'trap-4, d=32', make: (s) => ({ f: trap(target(32, s), 4), optimum: 32, options: { d: 32 } }) });
cases.push({ name: 'trap-4, d=32, restarts ∞', make: (s) => ({ f: trap(target(32, s), 4), optimum: 32, options: { d: 32, restarts: Infinity } }) });
for (const d of [20, 30]) {
  cases.push({
    name: `quadratic −‖A(x−t)‖², d=${d}, restarts ∞`,
    make: (s) => ({ f: negQuadratic(target(d, s), s), optimum: 0, options: { d, restarts: Infinity } }),
  });
}
cases.push({ name: '−Hamming, alphabet 3, d=20', make: (s) => ({ f: negHamming(target(20, s, 3)), optimum: 0, options: { d: 20, n: 3 } }) });
cases.push({ name: '−Hamming, alphabet 4, d=30', make: (s) => ({ f: negHamming(target(30, s, 4)), optimum: 0, options: { d: 30, n: 4 } }) });
for (const [d, K] of [[24, 8], [40, 13]] as const) {
  cases.push({
    name: `−Hamming, exactly ${K} ones, d=${d}`,
    make: (s) => ({ f: negHamming(kTarget(d, K, s).t), optimum: 0, options: { d, constraint: exactOnesConstraint(d, K) } }),
  });
}
// Refinement-like: start from a point a few moves from the optimum, evaluated first.
for (const mass of [0.5, 0.9]) {
  cases.push({
    name: `quadratic d=40, x0 = t with 3 flips, init near x0 (mass ${mass})`,
    make: (s) => {
      const t = target(40, s);
      const x0 = flips(t, 3, s);
      return { f: negQuadratic(t, s), optimum: 0, options: { d: 40, x0: [x0], init: { near: x0, mass } } };
    },
  });
}
cases.push({
  name: 'quadratic d=40, x0 = t with 3 flips, random init',
  make: (s) => {
    const t = target(40, s);
    return { f: negQuadratic(t, s), optimum: 0, options: { d: 40, x0: [flips(t, 3, s)] } };
  },
});
cases.push({
  name: 'exactly 13 ones d=40, x0 two swaps away, init near x0 (mass 0.5)',
  make: (s) => {
    const { t, start } = kTarget(40, 13, s);
    return {
      f: negHamming(t),
      optimum: 0,
      options: { d: 40, x0: [start], init: { near: start, mass: 0.5 }, constraint: exactOnesConstraint(40, 13) },
    };
  },
});

const median = (a: number[]) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  console.log(`seeds 0..${SEEDS - 1}, budget ${BUDGET} black-box evaluations, defaults k=100 kTop=10 kGd=1 lr=5e-2 rank=5, distinctElites=${DISTINCT}`);
  console.log('| problem | success | median evaluations (unique) | median sampled (incl. cache hits) | mean s/run |');
  console.log('|---|---|---|---|---|');
  for (const c of cases) {
    let hits = 0;
    let hitsFirst10 = 0;
    const uniq: number[] = [];
    const sampled: number[] = [];
    let secs = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const { f, optimum, options } = c.make(seed);
      const res = await protes(f, { ...options, seed, maxEvaluations: BUDGET, stopAt: optimum, distinctElites: DISTINCT });
      secs += res.seconds;
      if (Math.abs(res.bestValue - optimum) < 1e-9) {
        hits++;
        if (seed < 10) hitsFirst10++;
        uniq.push(res.uniqueEvaluations);
        sampled.push(res.evaluations);
      }
    }
    console.log(
      `| ${c.name} | ${hits}/${SEEDS} (seeds 0–9: ${hitsFirst10}/10) | ${median(uniq)} | ${median(sampled)} | ${(secs / SEEDS).toFixed(3)} |`,
    );
  }
}

void main();

// Benchmark of the capacity-driven tabu search against its baselines (docs/SOLVER.md):
//   node --import tsx bench/qubo-search.ts [--quick]
// For each size: best-known energy from a 10× budget run, time for other seeds to reach it, and
// the penalty λ(Σx−K)² simulated annealing at the same time budget (energy, how often K is missed).
import {
  feasibilityProblem,
  greedyStart,
  lambdaBound,
  quboEnergy,
  quboLowerBound,
  randomMask,
  solveExact,
  solvePenaltySa,
  solveQubo,
  type QuboInstance,
} from '../src/core/qubo';
import { Rng } from '../src/core/util/rng';
import { realisticInstance } from './quboInstances';

const quick = process.argv.includes('--quick');
const SEEDS = quick ? [1, 2] : [1, 2, 3, 4, 5];

interface Family {
  name: string;
  n: number;
  budgetMs: number;
  opts: Parameters<typeof realisticInstance>[2];
}

const families: Family[] = [
  { name: 'realistic', n: 64, budgetMs: 200, opts: {} },
  { name: 'realistic', n: 256, budgetMs: 500, opts: {} },
  { name: 'realistic', n: 1024, budgetMs: 1000, opts: {} },
  { name: 'realistic', n: 4096, budgetMs: 2000, opts: {} },
  { name: 'flat h, β=0.5', n: 1024, budgetMs: 1000, opts: { sigma: 0.1, beta: 0.5 } },
  { name: 'flat h, β=0.5', n: 4096, budgetMs: 2000, opts: { sigma: 0.1, beta: 0.5 } },
  { name: 'round-to 8', n: 1024, budgetMs: 1000, opts: { roundTo: 8 } },
  { name: 's=0.5, β=0.02', n: 1024, budgetMs: 1000, opts: { sparsity: 0.5, beta: 0.02 } },
];

function cpuMs(from: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1000;
}

function rel(e: number, ref: number): string {
  return `${((100 * (e - ref)) / Math.max(1e-12, Math.abs(ref))).toFixed(3)}%`;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
}

function runFamily(fam: Family) {
  const inst: QuboInstance = realisticInstance(fam.n, 1000 + fam.n, { beta: 0.1, sparsity: 0.36, sigma: 1, ...fam.opts });
  // Warm the JIT so the first timed seed is not penalised.
  solveQubo(inst, { seed: 99, maxIterations: 2000 });

  const long = solveQubo(inst, { seed: 1000, timeMs: (quick ? 3 : 10) * fam.budgetMs });
  let best = long.energy;
  let exactNote = '';
  if (inst.groupSize.every((c) => c <= 20)) {
    const ex = solveExact(inst);
    exactNote = ` exact ${ex.energy.toFixed(6)}`;
    best = Math.min(best, ex.energy);
  }
  const tol = 1e-9 * Math.max(1, Math.abs(best));

  const ttt: number[] = [];
  const tttCpu: number[] = [];
  const its: number[] = [];
  let reached = 0;
  let worstGap = 0;
  for (const seed of SEEDS) {
    const c0 = process.cpuUsage();
    const r = solveQubo(inst, { seed, timeMs: fam.budgetMs, targetEnergy: best + tol });
    const cpu = cpuMs(c0);
    if (r.energy <= best + tol) {
      reached++;
      ttt.push(r.timeMs);
      tttCpu.push(cpu);
      its.push(r.iterations);
    } else worstGap = Math.max(worstGap, (r.energy - best) / Math.abs(best));
  }

  const lb = lambdaBound(inst);
  const sa: { factor: number; energies: number[]; violations: number; feasible: number[] }[] = [];
  for (const factor of [1, 0.1, 0.01]) {
    const row = { factor, energies: [] as number[], violations: 0, feasible: [] as number[] };
    for (const seed of SEEDS) {
      const p = solvePenaltySa(inst, { seed, timeMs: fam.budgetMs, lambda: lb * factor });
      row.energies.push(p.energy);
      // Σx ≠ K, or (round-to family) a group count that is not a multiple of m.
      if (feasibilityProblem(inst, p.mask) !== null) row.violations++;
      row.feasible.push(p.bestFeasibleEnergy);
    }
    sa.push(row);
  }

  const greedyH = quboEnergy(inst, greedyStart(inst));
  const random = quboEnergy(inst, randomMask(inst, new Rng(1)));
  return { fam, inst, best, exactNote, long, ttt, tttCpu, its, reached, worstGap, sa, greedyH, random, lower: quboLowerBound(inst) };
}

const rows: ReturnType<typeof runFamily>[] = [];
for (const fam of families) {
  const r = runFamily(fam);
  rows.push(r);
  process.stderr.write(`done ${fam.name} n=${fam.n}\n`);
}

console.log('### Time to reach the best-known energy (capacity-driven tabu search)\n');
console.log('| instance | n | groups | K | best-known E | greedy-h E | lower bound | reached | time to best (median / max, wall ms) | CPU ms (median) | iterations (median) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const t = r.ttt.length ? `${median(r.ttt).toFixed(0)} / ${Math.max(...r.ttt).toFixed(0)}` : '–';
  const c = r.tttCpu.length ? median(r.tttCpu).toFixed(0) : '–';
  const it = r.its.length ? median(r.its).toFixed(0) : '–';
  const miss = r.reached < SEEDS.length ? ` (worst gap ${(100 * r.worstGap).toFixed(4)}%)` : '';
  console.log(
    `| ${r.fam.name}${r.exactNote ? ' (= exact optimum)' : ''} | ${r.fam.n} | ${r.inst.groupCount} | ${r.inst.K} | ${r.best.toFixed(4)} | ${r.greedyH.toFixed(2)} | ${r.lower.toFixed(2)} | ${r.reached}/${SEEDS.length} within ${r.fam.budgetMs} ms${miss} | ${t} | ${c} | ${it} |`,
  );
}
console.log('\n### Penalty λ(Σx−K)² simulated annealing at the same time budget\n');
console.log('| instance | n | λ / bound | SA energy vs best-known (median) | infeasible runs (Σx ≠ K or round-to broken) | best Σx = K state visited vs best-known (median) |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  for (const s of r.sa) {
    const feas = s.feasible.filter(Number.isFinite);
    console.log(
      `| ${r.fam.name} | ${r.fam.n} | ${s.factor} | ${rel(median(s.energies), r.best)} | ${s.violations}/${SEEDS.length} | ${feas.length ? rel(median(feas), r.best) : 'none'} |`,
    );
  }
}
console.log('\n(energies are minimised; a positive % is worse than the best-known; random mask energies for scale:', rows.map((r) => `${r.fam.n}: ${r.random.toFixed(1)}`).join(', '), ')');

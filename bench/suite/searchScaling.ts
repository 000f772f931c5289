// How the capacity tabu search scales with n on layer-shaped synthetic instances (β 0.3, so the
// quadratic term matters): the time at which it first reached the best energy it finds within a
// fixed budget, against the energy of the greedy top-K start.
import { quboEnergy, greedyStart, solveQubo } from '../../src/core/qubo';
import { realisticInstance } from '../quboInstances';
import type { ScalingRow } from './types';

export function searchScaling(sizes: number[], budgetMs: number, log: (s: string) => void): ScalingRow[] {
  const rows: ScalingRow[] = [];
  for (const n of sizes) {
    const inst = realisticInstance(n, 7, { beta: 0.3 });
    const r = solveQubo(inst, { seed: 0, timeMs: budgetMs });
    const firstBest = r.trace.find((t) => t.energy <= r.energy + 1e-9 * Math.max(1, Math.abs(r.energy)));
    const greedy = quboEnergy(inst, greedyStart(inst));
    rows.push({ kind: 'search', model: 'synthetic', x: n, seconds: (firstBest?.timeMs ?? r.timeMs) / 1000, value: r.energy, start: greedy });
    log(`  search n=${n}: best ${r.energy.toPrecision(6)} (greedy start ${greedy.toPrecision(6)}) at ${((firstBest?.timeMs ?? r.timeMs) / 1000).toFixed(3)} s of ${budgetMs / 1000} s, ${r.iterations} iterations`);
  }
  return rows;
}

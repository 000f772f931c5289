// How the capacity tabu search scales with n on layer-shaped synthetic instances: the time at
// which it first reached the best energy it finds within a fixed budget, and its gain over the
// greedy start.
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
    const gain = (greedy - r.energy) / Math.max(1e-12, Math.abs(r.energy));
    rows.push({ kind: 'search', model: 'synthetic', x: n, seconds: (firstBest?.timeMs ?? r.timeMs) / 1000, value: gain });
    log(`  search n=${n}: best at ${((firstBest?.timeMs ?? r.timeMs) / 1000).toFixed(3)} s of ${budgetMs / 1000} s, ${(gain * 100).toFixed(2)} % below the greedy start, ${r.iterations} iterations`);
  }
  return rows;
}

/**
 * Optimiser overhead per iteration (sampling k = 100 candidates, one likelihood-gradient + Adam
 * step on kTop = 10 elites) for several lengths d, ranks and with the exactly-K mask.
 * Run: node --import tsx bench/ttSpeed.ts
 */
import { Rng } from '../src/core/util/rng';
import { Adam, TtDistribution, exactOnesConstraint, meanLogLikelihoodGradient, sampleTt, type SamplingConstraint } from '../src/core/tt';

/**
 * CPU milliseconds per call (process.cpuUsage, best of 5 rounds of ~100 ms CPU): on a machine shared
 * with other jobs, wall time mostly measures the queue for the cores.
 */
function time(fn: () => void): number {
  fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let reps = 0;
    const c0 = process.cpuUsage();
    let used = 0;
    while (used < 100_000) {
      fn();
      reps++;
      const c = process.cpuUsage(c0);
      used = c.user + c.system;
    }
    best = Math.min(best, used / 1000 / reps);
  }
  return best;
}

console.log('| d | rank | constraint | sample 100 (CPU ms) | grad + Adam on 10 (CPU ms) |');
console.log('|---|---|---|---|---|');
for (const d of [40, 100, 300, 1000]) {
  for (const rank of [5, 10]) {
    for (const withK of [false, true]) {
      const constraint: SamplingConstraint | undefined = withK ? exactOnesConstraint(d, Math.floor(d / 3)) : undefined;
      const dist = new TtDistribution(new Array(d).fill(2), rank);
      const rng = new Rng(1);
      dist.randomise(rng, 1);
      const elites = sampleTt(dist, 10, rng, constraint);
      const grad = dist.logCores.map((w) => new Float64Array(w.length));
      const adam = new Adam(dist.logCores, 1e-3);
      const tSample = time(() => sampleTt(dist, 100, rng, constraint));
      const tGrad = time(() => {
        meanLogLikelihoodGradient(dist, elites, 10, grad, constraint);
        adam.ascend(grad);
        dist.markChanged();
      });
      console.log(`| ${d} | ${rank} | ${withK ? `exactly ${Math.floor(d / 3)} ones` : 'none'} | ${tSample.toFixed(2)} | ${tGrad.toFixed(2)} |`);
    }
  }
}

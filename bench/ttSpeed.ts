/**
 * Optimiser overhead per iteration (sampling k = 100 candidates, one likelihood-gradient + Adam
 * step on kTop = 10 elites) for several lengths d, ranks and with the exactly-K mask.
 * Run: node --import tsx bench/ttSpeed.ts
 */
import { Rng } from '../src/core/util/rng';
import { Adam, TtDistribution, exactOnesConstraint, meanLogLikelihoodGradient, sampleTt, type SamplingConstraint } from '../src/core/tt';

function time(fn: () => void, minMs = 300): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    reps++;
  }
  return (performance.now() - t0) / reps;
}

console.log('| d | rank | constraint | sample 100 (ms) | grad + Adam on 10 (ms) |');
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

// Refinement on synthetic black boxes (no model): planted success rates of one TT block, and the
// whole-network block scope against one global slot set, with the same evaluation budget.
//   node --import tsx bench/refineSynthetic.ts [seeds=10]
import { Rng } from '../src/core/util/rng';
import { refineMask, type MaskScore, type RefineOptions } from '../src/core/refine/refine';
import {
  applySwaps,
  bruteForceBest,
  chainMetric,
  firstSlots,
  makeProblem,
  negHamming,
  smoothMetric,
  type Problem,
} from '../test/unit/refineFixtures';

const seeds = Number(process.argv[2] ?? 10);

const run = (p: Problem, score: MaskScore, o: Partial<RefineOptions>) =>
  refineMask({ start: p.start, gain: p.gain, groups: p.groups, score, scope: 'network', evaluations: 300, seconds: 600, rank: 4, seed: 0, ...o });

/** Per-group optimum of the separable smooth metric with every group's count fixed (exhaustive per group). */
async function smoothOracle(p: Problem, score: MaskScore): Promise<number> {
  const best = p.start.slice();
  for (const g of p.groups) {
    const vars = g.variables;
    const c = vars.length;
    let kept = 0;
    for (const v of vars) kept += p.start[v]!;
    const masks: Uint8Array[] = [];
    const codes: number[] = [];
    for (let code = 0; code < 1 << c; code++) {
      let ones = 0;
      for (let i = 0; i < c; i++) ones += (code >> i) & 1;
      if (ones !== kept) continue;
      const m = best.slice();
      for (let i = 0; i < c; i++) m[vars[i]!] = (code >> i) & 1;
      masks.push(m);
      codes.push(code);
    }
    const values = await score(masks);
    let bi = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[bi]!) bi = i;
    for (let i = 0; i < c; i++) best[vars[i]!] = (codes[bi]! >> i) & 1;
  }
  const v = await score([p.start, best]);
  return v[1]! - v[0]!;
}

async function planted(): Promise<void> {
  console.log(`\n### One block (layers scope, pairs, one sweep), ${seeds} seeds, 8 groups × 8 channels\n`);
  console.log('| black box | slots | evaluations | optimum found | mean evaluations used |');
  console.log('|---|---|---|---|---|');
  for (const [d, evals] of [[12, 250], [16, 300], [24, 600]] as const) {
    let hitsH = 0;
    let hitsS = 0;
    let usedH = 0;
    let usedS = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const p = makeProblem(seed, 8, 8);
      const slots = firstSlots(p, d);
      const rng = new Rng(100 + seed);
      const hidden = applySwaps(p.start, slots, Uint8Array.from(slots, () => (rng.next() < 0.3 ? 1 : 0)));
      const o = { scope: 'layers' as const, layers: 8, slotsPerBlock: d, evaluations: evals, maxSweeps: 1, seed };
      const a = await run(p, negHamming(hidden), o);
      if (a.bestValue === 0) hitsH++;
      usedH += a.evaluations;
      if (d <= 16) {
        const score = smoothMetric(p, seed);
        const optimum = await bruteForceBest(p, slots, score);
        const b = await run(p, score, o);
        if (b.bestValue >= optimum - 1e-9) hitsS++;
        usedS += b.evaluations;
      }
    }
    console.log(`| −distance to planted mask | ${d} | ${evals} | ${hitsH}/${seeds} | ${(usedH / seeds).toFixed(0)} |`);
    if (d <= 16) console.log(`| smooth (brute-force optimum) | ${d} | ${evals} | ${hitsS}/${seeds} | ${(usedS / seeds).toFixed(0)} |`);
  }
}

async function network(): Promise<void> {
  const settings: [string, Partial<RefineOptions>][] = [
    ['one slot set over all groups (32 pairs, 1 sweep)', { scope: 'layers', layers: 1000, slotsPerBlock: 32, maxSweeps: 1 }],
    ['paper: 8 groups, 32 pairs (sweeps allowed)', { scope: 'layers', layers: 8 }],
    ['network default (boundary, 1 group, 4 slots)', {}],
    ['same, TT learning off (lr 1e-6)', { lr: 1e-6 }],
    ['network, boundary, 4 groups, 8 slots', { groupsPerBlock: 4, slotsPerBlock: 8 }],
    ['network, pairs, 4 groups, 24 slots', { form: 'pairs', groupsPerBlock: 4, slotsPerBlock: 24 }],
    ['network, pairs, 1 group, 6 slots', { form: 'pairs', slotsPerBlock: 6 }],
  ];
  for (const [G, C] of [[24, 16], [12, 32]] as const) {
    for (const metric of ['smooth', 'chain'] as const) {
      console.log(`\n### ${G} groups × ${C} channels, ${metric} metric, mean gain over ${seeds} seeds${metric === 'smooth' && C <= 16 ? ' (oracle = best mask with every group count fixed)' : ''}\n`);
      console.log('| setting | 600 evaluations | 2000 evaluations |');
      console.log('|---|---|---|');
      const sums = settings.map(() => [0, 0]);
      let oracle = 0;
      for (let seed = 0; seed < seeds; seed++) {
        const p = makeProblem(seed, G, C);
        const score = metric === 'smooth' ? smoothMetric(p, seed) : chainMetric(p, seed);
        if (metric === 'smooth' && C <= 16) oracle += await smoothOracle(p, score);
        for (let s = 0; s < settings.length; s++) {
          for (const [j, evals] of [600, 2000].entries()) {
            const r = await run(p, score, { ...settings[s]![1], evaluations: evals, seed });
            sums[s]![j]! += r.bestValue - r.startValue;
          }
        }
      }
      settings.forEach(([label], s) => console.log(`| ${label} | ${(sums[s]![0]! / seeds).toFixed(2)} | ${(sums[s]![1]! / seeds).toFixed(2)} |`));
      if (oracle > 0) console.log(`| oracle | ${(oracle / seeds).toFixed(2)} | ${(oracle / seeds).toFixed(2)} |`);
    }
  }
}

async function main(): Promise<void> {
  const t = performance.now();
  await planted();
  await network();
  console.log(`\n(${((performance.now() - t) / 1000).toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

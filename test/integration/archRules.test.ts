// Issue 14 §3: the blocks of real classifiers (SE, fire, grouped convs, channel shuffle,
// Flatten→Gemm over a spatial map) pruned physically must equal the gated model, their predicted
// cost must equal the exported model's, and gate gradients through the new ops must match finite
// differences.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { inferShapes } from '../../src/core/analysis/shapes';
import { buildGatedModel } from '../../src/core/prune/gatedModel';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { randomMask } from '../../src/core/prune/masks';
import { countCost, predictCost } from '../../src/core/prune/cost';
import { Rng } from '../../src/core/util/rng';
import { archGraphs } from '../helpers/archGraphs';
import type { Feed, GradCase } from '../helpers/autodiffGraphs';
import { toOrt, verifyCase, type WrtReport } from '../helpers/gradCheck';
import { buildGradientModel } from '../../src/core/autodiff';
import { openSession } from '../../src/core/runtime/session';
import { assertPrunedMatchesGated, inputTensor, maxAbsDiff, perSampleGateFeeds, runFirst, session, sharedGateFeeds } from '../helpers/pruneHarness';

const SPARSITIES = [0.3, 0.5];
const SEEDS = [1, 2, 3];
const TOL = 1e-4;

function randomInput(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

const graphs = archGraphs();

describe('architecture blocks: pruned ≡ gated', () => {
  for (const g of graphs) {
    test(g.name, async () => {
      const model = g.model;
      const shapes = await inferShapes(model, g.inputShape);
      const deps = analyzeDependencies(model, shapes);
      assert.ok(deps.groups.length > 0);
      await assertPrunedMatchesGated(g.name, model, deps, shapes, { inputShape: g.inputShape, input: randomInput(g.inputShape, 11), sparsities: SPARSITIES, seeds: SEEDS, tol: TOL, keepAll: true, fullCost: true });
    });
  }
});

describe('architecture blocks: per-sample gates', () => {
  for (const g of graphs) {
    test(`${g.name}: a batch with B masks equals B shared-mask runs`, async () => {
      const model = g.model;
      const deps = analyzeDependencies(model, await inferShapes(model, g.inputShape));
      const shared = buildGatedModel(model, deps, { layout: 'shared' });
      const perSample = buildGatedModel(model, deps, { layout: 'per-sample' });
      const B = 3;
      const item = [1, ...g.inputShape.slice(1)];
      const itemSize = item.reduce((a, b) => a * b, 1);
      const batch = [B, ...item.slice(1)];
      const x = randomInput(batch, 5);
      const keeps = [randomMask(deps, 0.3, 1), randomMask(deps, 0.5, 2), new Uint8Array(deps.variables.length).fill(1)];
      const batched = await runFirst(await session(perSample.model), { input: inputTensor(x, batch), ...perSampleGateFeeds(model, deps, perSample, keeps) });
      const ss = await session(shared.model);
      const outPer = batched.length / B;
      for (let b = 0; b < B; b++) {
        const one = await runFirst(ss, { input: inputTensor(x.slice(b * itemSize, (b + 1) * itemSize), item), ...sharedGateFeeds(deps, shared, keeps[b]) });
        assert.ok(maxAbsDiff(one, batched.subarray(b * outPer, (b + 1) * outPer)) <= 1e-5, `item ${b}`);
      }
    });
  }
});

/** The per-sample gated model of a test graph as a gradient case (MSE against a random target). */
async function gatedCase(name: string, batch = 2, allowLayerNormPruning = false): Promise<GradCase> {
  const g = archGraphs().find((x) => x.name === name)!;
  const shapes = await inferShapes(g.model, g.inputShape);
  const deps = analyzeDependencies(g.model, shapes, { allowLayerNormPruning });
  const gated = buildGatedModel(g.model, deps, { layout: 'per-sample' });
  const dims = [batch, ...g.inputShape.slice(1)];
  const rng = new Rng(3);
  const feeds: Record<string, Feed> = { input: { dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1) } };
  gated.gateInputs.forEach((gi, k) => {
    const rank = deps.tensors.get(g.model.node(deps.groups[k]!.producers[0]!)!.output[0]!)!.rank ?? 4;
    feeds[gi.name] = { dims: rank === 2 ? [batch, gi.size] : [batch, gi.size, 1, 1], data: new Float32Array(batch * gi.size).fill(1) };
  });
  const out = g.model.outputNames[0]!;
  const outDims = [batch, ...shapes.get(out)!.slice(1)];
  const target = Float32Array.from({ length: outDims.reduce((a, b) => a * b, 1) }, () => rng.next() * 2);
  return {
    name,
    model: gated.model,
    feeds,
    wrt: [...gated.gateInputs.map((x) => x.name), 'input'],
    loss: { kind: 'mse', output: out, target: 'target' },
    lossFeed: { dims: outDims, data: target },
  };
}

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}`).join('; ');

describe('architecture blocks: gate gradients', () => {
  const cases: [string, boolean][] = [
    ['se-sigmoid', false], ['se-hardsigmoid', false], ['fire', false], ['grouped-g4-widen', false], ['grouped-convtranspose', false],
    ['shuffle-g3', false], ['flatten-gemm-2x2', false],
    // The input's gradient crosses the LayerNorm (its backward rule); with the opt-in a gate sits right after it.
    ['convnext', false], ['convnext', true],
  ];
  for (const [name, ln] of cases) {
    test(`${name}${ln ? ' (allowLayerNormPruning)' : ''}: gate and input gradients match finite differences`, async () => {
      const c = await gatedCase(name, 2, ln);
      const v = await verifyCase(c, { maxElements: 8, elementwise: true });
      assert.ok(v.ok, `(ε=${v.eps}) ${fmt(v.reports)}`);
      // Not a vacuous pass: most compared gradients stand well above the rounding allowance.
      const clear = v.reports.filter((r) => r.fdNorm > 5 * r.floor * Math.sqrt(r.compared));
      assert.ok(clear.length >= v.reports.length / 2, fmt(v.reports));
    });
  }
});

describe('ConvNeXt LayerNorm over channels (opt-in)', () => {
  const g = archGraphs().find((x) => x.name === 'convnext')!;

  test('off by default: the LN channels lock with a reason naming the option; the MLP hidden channels are prunable', async () => {
    const deps = analyzeDependencies(g.model, await inferShapes(g.model, g.inputShape));
    assert.deepEqual(deps.groups.map((x) => `${x.id}:${x.size}`), ['pw1:32']);
    const l = deps.locked.find((x) => x.source === 'stem')!;
    assert.equal(l.reason, 'channel-mixing');
    assert.match(l.detail, /allowLayerNormPruning/);
    assert.equal(deps.notes, undefined);
  });

  test('on: the block channels are one group; hidden-only masks are exact, LN-channel masks differ from the gated model (stated in notes)', async () => {
    const shapes = await inferShapes(g.model, g.inputShape);
    const deps = analyzeDependencies(g.model, shapes, { allowLayerNormPruning: true });
    assert.deepEqual(deps.groups.map((x) => `${x.id}:${x.size}`), ['stem+pw2:8', 'pw1:32']);
    assert.equal(deps.notes?.length, 1);
    assert.match(deps.notes![0]!, /not equivalent to the gated model/);
    for (const init of ['ln.scale', 'ln.bias', 'gamma', 'pw2.b']) assert.ok(deps.params.some((p) => p.initializer === init && p.axis === 0), init);
    const x = randomInput(g.inputShape, 4);
    const gated = buildGatedModel(g.model, deps, { layout: 'shared' });
    const gs = await session(gated.model);
    const feed = () => ({ input: inputTensor(x, g.inputShape) });
    const block = deps.groups[0]!;
    let lnDiff = 0;
    for (const s of SPARSITIES) {
      for (const seed of SEEDS) {
        const keep = randomMask(deps, s, seed);
        const hiddenOnly = keep.slice();
        for (const v of block.variables) hiddenOnly[v] = 1;
        for (const [k, exact] of [[hiddenOnly, true], [keep, false]] as const) {
          const pruned = exportPruned(g.model, deps, k);
          const p = await runFirst(await session(pruned), feed());
          const q = await runFirst(gs, { ...feed(), ...sharedGateFeeds(deps, gated, k) });
          const prunedShapes = await inferShapes(pruned, g.inputShape);
          const predicted = predictCost(g.model, deps, shapes, k);
          const counted = countCost(pruned, prunedShapes);
          assert.deepEqual([predicted.params, predicted.macs], [counted.params, counted.macs], `cost s=${s}`);
          if (exact) assert.ok(maxAbsDiff(p, q) <= TOL, `hidden-only s=${s} seed=${seed}: ${maxAbsDiff(p, q)}`);
          else lnDiff = Math.max(lnDiff, maxAbsDiff(p, q));
        }
      }
    }
    // Not a tolerance that passes by accident: the renormalised channels visibly move the output.
    assert.ok(lnDiff > 1e-3, `pruning LN channels should change the statistics (max |pruned − gated| = ${lnDiff})`);
  });
});

describe('channels-last Gram matrices', () => {
  test('the Gram and channel sums of a channels-last tensor are taken over its last axis', async () => {
    const c = await gatedCase('convnext');
    const gm = buildGradientModel(c.model, { wrt: c.wrt.filter((w) => w.startsWith('gate/')), loss: c.loss, grams: [{ name: 'h', tensor: 'gelu', channelsLast: true }], extraOutputs: ['gelu'] });
    const { session: s } = await openSession(gm.model.toBytes(), { provider: 'cpu', threads: 1 });
    const out = await s.run(toOrt({ ...c.feeds, target: c.lossFeed }), [gm.gramOutputs.h!, gm.channelSumOutputs.h!, 'gelu']);
    const a = out.gelu!.data as Float32Array;
    const C = out.gelu!.dims[3]!;
    const rows = a.length / C;
    const gram = out[gm.gramOutputs.h!]!.data as Float32Array;
    const sums = out[gm.channelSumOutputs.h!]!.data as Float32Array;
    assert.equal(gram.length, C * C);
    for (const [i, j] of [[0, 0], [1, 5], [C - 1, 3]] as const) {
      let g = 0;
      let si = 0;
      for (let r = 0; r < rows; r++) {
        g += a[r * C + i]! * a[r * C + j]!;
        si += a[r * C + i]!;
      }
      assert.ok(Math.abs(gram[i * C + j]! - g) <= 1e-3 * Math.max(1, Math.abs(g)), `G[${i},${j}] ${gram[i * C + j]} vs ${g}`);
      assert.ok(Math.abs(sums[i]! - si) <= 1e-3 * Math.max(1, Math.abs(si)), `sum[${i}]`);
    }
    await s.release();
  });
});

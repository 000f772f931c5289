// Pearson similarity from Gram statistics, the empirical Fisher block, and the QUBO terms built
// from them (joint-Fisher interaction, per-group capacity) in selectMask.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cosineFromGram, GradientAccumulator, pearsonFromGram } from '../../src/core/importance/gradientStats';
import { selectMask, type ChannelScores, type GroupTerms } from '../../src/core/pipeline/selectMask';
import { quboEnergy } from '../../src/core/qubo';
import { Rng } from '../../src/core/util/rng';

/** Channels × positions activations: shared offset plus channel-specific signal. */
function activations(rng: Rng, c: number, m: number, offset: number): Float64Array[] {
  const base = Float64Array.from({ length: m }, () => rng.normal());
  return Array.from({ length: c }, (_, i) => Float64Array.from({ length: m }, (_, p) => offset + (i % 2 ? base[p]! : 0) + rng.normal()));
}

function gramStats(a: Float64Array[]): { gram: Float64Array; sums: Float64Array } {
  const c = a.length;
  const gram = new Float64Array(c * c);
  const sums = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    for (const v of a[i]!) sums[i] += v;
    for (let j = 0; j < c; j++) for (let p = 0; p < a[i]!.length; p++) gram[i * c + j] += a[i]![p]! * a[j]![p]!;
  }
  return { gram, sums };
}

function pearsonDirect(x: Float64Array, y: Float64Array): number {
  const m = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / m;
  const my = y.reduce((s, v) => s + v, 0) / m;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let p = 0; p < m; p++) {
    sxy += (x[p]! - mx) * (y[p]! - my);
    sxx += (x[p]! - mx) ** 2;
    syy += (y[p]! - my) ** 2;
  }
  return Math.abs(sxy) / Math.sqrt(sxx * syy);
}

describe('Pearson similarity from Gram statistics', () => {
  test('equals the direct |Pearson| and ignores a shared offset that inflates |cos|', () => {
    const rng = new Rng(3);
    const a = activations(rng, 6, 400, 5);
    const { gram, sums } = gramStats(a);
    const r = pearsonFromGram(gram, sums, 400, 6);
    for (let i = 0; i < 6; i++) {
      assert.equal(r[i * 6 + i], 1);
      for (let j = 0; j < 6; j++) if (i !== j) assert.ok(Math.abs(r[i * 6 + j]! - pearsonDirect(a[i]!, a[j]!)) < 1e-9, `${i},${j}`);
    }
    // Channels 0 and 2 share only the offset: |cos| is near 1, |Pearson| near 0.
    const cos = cosineFromGram(gram, 6);
    assert.ok(cos[0 * 6 + 2]! > 0.9, `cos ${cos[2]}`);
    assert.ok(r[0 * 6 + 2]! < 0.2, `pearson ${r[2]}`);
    // Channels 1 and 3 share a signal: correlated either way.
    assert.ok(r[1 * 6 + 3]! > 0.3);
  });

  test('a constant channel gets 0, not NaN', () => {
    const a = [Float64Array.from({ length: 10 }, () => 2), Float64Array.from({ length: 10 }, (_, i) => i)];
    const { gram, sums } = gramStats(a);
    const r = pearsonFromGram(gram, sums, 10, 2);
    assert.equal(r[1], 0);
    assert.equal(r[2], 0);
  });
});

describe('empirical Fisher block', () => {
  test('equals (1/N) Σ t tᵀ over the chosen variables, in their order', () => {
    const rng = new Rng(9);
    const n = 7;
    const acc = new GradientAccumulator(n);
    const rows: Float64Array[] = [];
    for (let b = 0; b < 3; b++) {
      const batch = Float64Array.from({ length: 2 * n }, () => rng.normal());
      acc.addBatch(batch, 2);
      rows.push(batch.slice(0, n), batch.slice(n));
    }
    const vars = [5, 1, 3];
    const phi = acc.fisherBlock(vars);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const ref = rows.reduce((s, r) => s + r[vars[i]!]! * r[vars[j]!]!, 0) / rows.length;
        assert.ok(Math.abs(phi[i * 3 + j]! - ref) < 1e-12);
      }
    }
    // Its diagonal is twice the Fisher score.
    const f = acc.fisher();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(phi[i * 3 + i]! - 2 * f[vars[i]!]!) < 1e-12);
  });
});

/** Two groups of per-sample gradients, with the scores and terms selectMask takes. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const sizes = [6, 5];
  const n = sizes[0]! + sizes[1]!;
  const acc = new GradientAccumulator(n);
  // Correlated gradients within a group, so Φ has real off-diagonal structure.
  for (let s = 0; s < 12; s++) {
    const shared = [rng.normal(), rng.normal()];
    const row = Float64Array.from({ length: n }, (_, i) => (i < sizes[0]! ? shared[0]! : shared[1]!) * (0.5 + (i % 3)) + 0.7 * rng.normal());
    acc.addBatch(row, 1);
  }
  let start = 0;
  const groups: GroupTerms[] = sizes.map((c, g) => {
    const variables = Int32Array.from({ length: c }, (_, i) => start + i);
    start += c;
    const eye = new Float64Array(c * c);
    for (let i = 0; i < c; i++) eye[i * c + i] = 1;
    return { id: `g${g}`, variables, activationSimilarity: eye, weightSimilarity: eye, fisherBlock: acc.fisherBlock(variables) };
  });
  const scores: ChannelScores = { taylor: acc.taylor(), fisher: acc.fisher(), l1: new Float64Array(n).fill(1), l2: new Float64Array(n).fill(1) };
  return { n, groups, scores, acc };
}

const baseOptions = { method: 'hybrid', sparsity: 0.4, alpha: 0, beta: 0, floor: 0, roundTo: 1, seed: 1, searchTimeMs: 50 } as const;

describe('joint-Fisher interaction in the QUBO', () => {
  test('at γ = 1 and α = 0 the energy is the second-order estimate ½·pᵀΦp/mean(F) of the pruned set, up to a constant', async () => {
    const { n, groups, scores } = problem(5);
    const sel = await selectMask(scores, groups, { ...baseOptions, jointFisher: 1 });
    const meanF = scores.fisher.reduce((a, b) => a + b, 0) / n;
    const cost = (x: Uint8Array) => {
      let c = 0;
      for (const g of groups) {
        const k = g.variables.length;
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) c += 0.5 * (1 - x[g.variables[i]!]!) * (1 - x[g.variables[j]!]!) * g.fisherBlock![i * k + j]!;
      }
      return c / meanF;
    };
    const rng = new Rng(2);
    const masks = Array.from({ length: 20 }, () => Uint8Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0)));
    // Instance variables are in group order, which here is the global order.
    const offsets = masks.map((m) => quboEnergy(sel.instance, m) - cost(m));
    for (const o of offsets) assert.ok(Math.abs(o - offsets[0]!) < 1e-9, `offset ${o} vs ${offsets[0]}`);
  });

  test('γ = 0 leaves the instance as the plain Fisher objective; γ > 0 adds within-group terms only', async () => {
    const { groups, scores } = problem(6);
    const plain = await selectMask(scores, groups, { ...baseOptions, jointFisher: 0 });
    const joint = await selectMask(scores, groups, { ...baseOptions, jointFisher: 0.5 });
    assert.ok(plain.instance.Q.every((q) => q.every((v) => v === 0)));
    assert.ok(joint.instance.Q.some((q) => q.some((v) => v !== 0)));
    assert.equal(joint.instance.Q[0]!.length, 36);
    assert.equal(joint.instance.Q[1]!.length, 25);
    assert.equal(joint.keep.reduce((a, b) => a + b, 0), plain.keep.reduce((a, b) => a + b, 0));
  });

  test('a group without a Fisher block is a clear error when the term is on', async () => {
    const { groups, scores } = problem(7);
    const stripped = groups.map((g) => ({ ...g, fisherBlock: undefined }));
    await assert.rejects(selectMask(scores, stripped, { ...baseOptions, jointFisher: 0.5 }), /no Fisher block/);
  });
});

describe('capacity modes', () => {
  test("'per-group' keeps round((1 − s)·C_g) in every group; 'global' lets capacities move", async () => {
    const { groups, scores } = problem(8);
    const per = await selectMask(scores, groups, { ...baseOptions, sparsity: 0.5, capacity: 'per-group' });
    const kept = (keep: Uint8Array, g: GroupTerms) => Array.from(g.variables).reduce((a, v) => a + keep[v]!, 0);
    assert.deepEqual(groups.map((g) => kept(per.keep, g)), [3, 3]);
    // Make group 0 far more important: the global search moves capacity into it.
    const skewed = { ...scores, fisher: Float64Array.from(scores.fisher, (f, i) => (i < 6 ? f * 50 : f)) };
    const global = await selectMask(skewed, groups, { ...baseOptions, sparsity: 0.5 });
    const K = global.instance.K;
    assert.ok(K >= 5 && K <= 6);
    assert.equal(global.keep.reduce((a, b) => a + b, 0), K);
    // Every group keeps at least one channel (floors are max(1, ⌈ρ·C⌉)); the rest goes to group 0.
    assert.equal(kept(global.keep, groups[0]!), K - 1);
    assert.equal(kept(global.keep, groups[1]!), 1);
  });
});

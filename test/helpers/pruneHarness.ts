// Runs gated and pruned models side by side in onnxruntime (CPU, one thread) for the pruning tests.
import assert from 'node:assert/strict';
import { analyzeLayers } from '../../src/core/analysis/layers';
import { inferShapes } from '../../src/core/analysis/shapes';
import type { DependencyAnalysis, ShapeMap } from '../../src/core/analysis/types';
import type { OnnxModel } from '../../src/core/onnx';
import { countCost, predictCost } from '../../src/core/prune/cost';
import { buildGatedModel, type GatedModel } from '../../src/core/prune/gatedModel';
import { randomMask } from '../../src/core/prune/masks';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { openSession, ort } from '../../src/core/runtime/session';

export async function session(model: OnnxModel): Promise<ort.InferenceSession> {
  return (await openSession(model.toBytes(), { provider: 'cpu', threads: 1 })).session;
}

export async function runFirst(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const out = await s.run(feeds);
  return out[s.outputNames[0]!]!.data as Float32Array;
}

export function inputTensor(x: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', x, dims);
}

/** Gate feeds of a shared-layout gated model for one keep mask (undefined = all ones). */
export function sharedGateFeeds(deps: DependencyAnalysis, gated: GatedModel, keep: Uint8Array | undefined): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  deps.groups.forEach((g, gi) => {
    const vals = Float32Array.from(g.variables, (v) => (keep ? keep[v]! : 1));
    feeds[gated.gateInputs[gi]!.name] = new ort.Tensor('float32', vals, [g.size]);
  });
  return feeds;
}

/** Gate feeds of a per-sample gated model: row b holds mask b, shaped [B, C, 1, 1] (or [B, C] for features). */
export function perSampleGateFeeds(model: OnnxModel, deps: DependencyAnalysis, gated: GatedModel, keeps: Uint8Array[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const B = keeps.length;
  deps.groups.forEach((g, gi) => {
    const vals = new Float32Array(B * g.size);
    keeps.forEach((k, b) => g.variables.forEach((v, c) => (vals[b * g.size + c] = k[v]!)));
    const producerOut = model.node(g.producers[0]!)!.output[0]!;
    const rank = deps.tensors.get(producerOut)!.rank ?? 4;
    const dims = rank === 2 ? [B, g.size] : [B, g.size, ...new Array<number>(rank - 2).fill(1)];
    feeds[gated.gateInputs[gi]!.name] = new ort.Tensor('float32', vals, dims);
  });
  return feeds;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface PrunedVsGatedOptions {
  inputShape: number[];
  input: Float32Array;
  sparsities: number[];
  seeds: number[];
  /** Largest |pruned − gated| allowed. */
  tol: number;
  /** Also check that keeping every channel exports the original model (within 1e-6). */
  keepAll?: boolean;
  /** Also compare float elements and the analysis module's per-layer totals, and require fewer params. */
  fullCost?: boolean;
  /** The seeded masks to try (default randomMask). */
  mask?: (deps: DependencyAnalysis, sparsity: number, seed: number) => Uint8Array;
}

/**
 * The pruning tests' central check: for every sparsity × seed mask, the physically pruned model
 * equals the shared-gated one on the same input, its predicted cost equals the exported model's
 * counted cost, and some mask changes the output (so the comparison is not vacuous).
 */
export async function assertPrunedMatchesGated(label: string, model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap, o: PrunedVsGatedOptions): Promise<void> {
  const feed = () => ({ input: inputTensor(o.input, o.inputShape) });
  const original = await runFirst(await session(model), feed());
  const gated = buildGatedModel(model, deps, { layout: 'shared' });
  const gs = await session(gated.model);
  if (o.keepAll) {
    assert.ok(maxAbsDiff(await runFirst(gs, { ...feed(), ...sharedGateFeeds(deps, gated, undefined) }), original) <= 1e-6, 'all gates 1 = original');
    const all = new Uint8Array(deps.variables.length).fill(1);
    assert.ok(maxAbsDiff(await runFirst(await session(exportPruned(model, deps, all)), feed()), original) <= 1e-6, 'keep-all export = original');
  }
  let changed = 0;
  for (const s of o.sparsities) {
    for (const seed of o.seeds) {
      const keep = (o.mask ?? randomMask)(deps, s, seed);
      const pruned = exportPruned(model, deps, keep);
      const p = await runFirst(await session(pruned), feed());
      const q = await runFirst(gs, { ...feed(), ...sharedGateFeeds(deps, gated, keep) });
      const diff = maxAbsDiff(p, q);
      assert.ok(diff <= o.tol, `${label} s=${s} seed=${seed}: |pruned − gated| = ${diff}`);
      if (maxAbsDiff(p, original) > 1e-3) changed++;
      const predicted = predictCost(model, deps, shapes, keep);
      const prunedShapes = await inferShapes(pruned, o.inputShape);
      const counted = countCost(pruned, prunedShapes);
      assert.deepEqual([predicted.params, predicted.macs], [counted.params, counted.macs], `cost s=${s}`);
      if (o.fullCost) {
        assert.equal(predicted.floatElements, counted.floatElements, `float elements s=${s}`);
        // Cross-check with the analysis module's own per-layer counting.
        const layers = analyzeLayers(pruned, prunedShapes).totals;
        assert.deepEqual([predicted.params, predicted.macs], [layers.params, layers.macs], `analyzeLayers s=${s}`);
        assert.ok(counted.params < countCost(model, shapes).params);
      }
    }
  }
  assert.ok(changed > 0, 'pruning must change the output somewhere (the comparison is not vacuous)');
}

// The latency model of one model on one provider at one input size: whole-model timings of a few
// pruned masks (calibrationMasks), timed round-robin so load drift hits them alike, fitted to the
// form in wholeModelFit.ts and cached; its CountCost is a latencyMs / latencyRatio budget's
// constraint. See docs/PIPELINE.md, "Latency".
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import type { OnnxModel } from '../onnx';
import { evaluateCountCost, type CountCost } from '../prune/cost';
import { exportPruned } from '../prune/physicalExport';
import type { ProviderName } from '../runtime/session';
import { modelDigest, readCached, writeCached } from './cache';
import { measureModelsLatency, type LatencyMeasurement, type MeasureOptions } from './measure';
import { calibrationMasks, featureNames, fitLatency, keptCounts, latencyCost, latencyFeatures, type LatencyFit, type LatencySample } from './wholeModelFit';

export { keptCounts };

export interface LatencyModel {
  /** Batch-1 median of the unpruned model, measured with the calibration masks. */
  measuredOriginalMs: number;
  /** The model's prediction for the unpruned model: what a latencyRatio budget is a fraction of. */
  predictedOriginalMs: number;
  fit: LatencyFit;
  /** The whole-model timings the fit was made from. */
  samples: LatencySample[];
  /** Predicted batch-1 latency in the groups' kept counts (deps.groups order). */
  cost: CountCost;
  /** Seconds the calibration timings took (when measured; the cached figure otherwise). */
  calibrationSeconds: number;
  fromCache: boolean;
}

/** The model's predicted batch-1 latency (ms) of the pruned model that keeps `keep`. */
export function predictLatencyMs(lm: Pick<LatencyModel, 'cost'>, deps: DependencyAnalysis, keep: Uint8Array): number {
  return evaluateCountCost(lm.cost, keptCounts(deps, keep));
}

/** Whole-model timings summed per calibration mask must reach this (ms): sub-millisecond models need many runs for a stable median. */
export const CALIBRATION_MIN_TOTAL_MS = 150;

/** Times several models round-robin at batch 1 (the pipeline passes its own, tests a clock of their choosing). */
export type MeasureModels = (models: Uint8Array[], o: MeasureOptions) => Promise<LatencyMeasurement[]>;

interface Cached {
  fit: LatencyFit;
  samples: LatencySample[];
  seconds: number;
}

function isCached(v: unknown): v is Cached {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Cached;
  const f = c.fit;
  return (
    typeof c.seconds === 'number' &&
    typeof f === 'object' && f !== null &&
    (f.variant === 'shared' || f.variant === 'per-class') &&
    typeof f.coefficients === 'object' && f.coefficients !== null &&
    Object.values(f.coefficients).every((x) => typeof x === 'number' && x >= 0) &&
    Array.isArray(c.samples) && c.samples.every((s) => typeof s?.ms === 'number' && Array.isArray(s?.counts))
  );
}

/** Timings of the unpruned model and of `keeps` exported, one round-robin measurement at batch 1. */
export async function timeKeeps(p: { model: OnnxModel; deps: DependencyAnalysis; keeps: readonly (Uint8Array | 'original')[]; inputShape: number[]; provider: ProviderName; runs?: number; minTotalMs?: number; measure?: MeasureModels; signal?: AbortSignal }): Promise<LatencyMeasurement[]> {
  const bytes = p.keeps.map((k) => (k === 'original' ? p.model.toBytes() : exportPruned(p.model, p.deps, k).toBytes()));
  return (p.measure ?? measureModelsLatency)(bytes, { provider: p.provider, inputShape: p.inputShape, largeBatch: false, minTotalMs: p.minTotalMs ?? CALIBRATION_MIN_TOTAL_MS, ...(p.runs ? { runs: p.runs } : {}), ...(p.signal ? { signal: p.signal } : {}) });
}

export async function buildLatencyModel(p: {
  model: OnnxModel;
  deps: DependencyAnalysis;
  /** Shapes at `inputShape` (the latency size, not the calibration crop). */
  shapes: ShapeMap;
  inputShape: number[];
  provider: ProviderName;
  /** Folder of cached fits; undefined = measure every time. */
  cacheDir?: string;
  /** Timed runs per mask (at least; see CALIBRATION_MIN_TOTAL_MS); TIMED_RUNS unless given. */
  runs?: number;
  /** Replaces the clock (tests); measureModelsLatency otherwise. */
  measure?: MeasureModels;
  signal?: AbortSignal;
}): Promise<LatencyModel> {
  const features = latencyFeatures(p.model, p.deps, p.shapes);
  const key = { modelSha256: modelDigest(p.model.toBytes()), provider: p.provider, inputShape: p.inputShape };
  let cached = p.cacheDir ? readCached(p.cacheDir, key, isCached) : undefined;
  // A fit naming features this model does not have (a foreign or hand-edited file) is refitted, not trusted.
  if (cached && !featureNames(features, cached.fit.variant).every((n) => cached!.fit.coefficients[n] !== undefined)) cached = undefined;
  const fromCache = cached !== undefined;
  if (!cached) {
    const masks = calibrationMasks(p.deps);
    const t0 = performance.now();
    // The full mask is the original file itself: the "before" a user compares against.
    const timed = await timeKeeps({ ...p, keeps: masks.map((m, i) => (i === 0 ? 'original' : m.keep)) });
    const seconds = (performance.now() - t0) / 1000;
    const samples: LatencySample[] = masks.map((m, i) => ({ label: m.label, counts: Array.from(keptCounts(p.deps, m.keep)), ms: timed[i]!.batch1.medianMs, iqrMs: timed[i]!.batch1.iqrMs }));
    cached = { fit: fitLatency(features, samples), samples, seconds };
    if (p.cacheDir) await writeCached(p.cacheDir, key, cached);
  }
  const cost = latencyCost(features, cached.fit);
  const full = p.deps.groups.map((g) => g.size);
  const original = cached.samples.find((s) => s.counts.every((c, g) => c === full[g])) ?? cached.samples[0]!;
  return { measuredOriginalMs: original.ms, predictedOriginalMs: evaluateCountCost(cost, full), fit: cached.fit, samples: cached.samples, cost, calibrationSeconds: cached.seconds, fromCache };
}

/** One line for logs: the fit's coefficients in readable units and its errors. */
export function describeLatencyModel(lm: LatencyModel): string {
  const c = lm.fit.coefficients;
  const parts = Object.entries(c).map(([n, v]) => (n === 'constant' ? `t0 ${v.toFixed(2)} ms` : n.startsWith('macs') ? `${n} ${(v * 1e9).toFixed(2)} ms/GMAC` : `${n} ${(v * 1e6).toFixed(2)} ms/M elements`));
  return `${lm.samples.length} whole-model timings${lm.fromCache ? ' (cached)' : ` in ${lm.calibrationSeconds.toFixed(1)} s`}, ${lm.fit.variant} fit: ${parts.join(', ')}; fit error mean ${(100 * lm.fit.meanFitError).toFixed(1)}% (max ${(100 * lm.fit.maxFitError).toFixed(1)}%), leave-one-out ${(100 * lm.fit.looError).toFixed(1)}%; original measured ${lm.measuredOriginalMs.toFixed(2)} ms, predicted ${lm.predictedOriginalMs.toFixed(2)} ms`;
}

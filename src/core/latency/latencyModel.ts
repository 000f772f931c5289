// The latency model of one model on one provider at one input size: per-conv tables (cached),
// the rest of the model as a measured constant, and the resulting per-group cost for a
// latencyMs / latencyRatio budget. See docs/PIPELINE.md, "Latency".
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import type { OnnxModel } from '../onnx';
import { evaluateCountCost, type CountCost } from '../prune/cost';
import type { ProviderName } from '../runtime/session';
import { modelDigest, readCached, writeCached } from './cache';
import { convGroupsOf, convSpecsOf, latencyCountCost, measureConvTable, tablesAtFullWidth, type LayerTable } from './layerTable';
import { measureModelLatency } from './measure';

export interface LatencyModel {
  /** Batch-1 median of the original model, measured. */
  originalMs: number;
  /** originalMs minus the tables at full width: what pruning does not change. */
  restMs: number;
  tables: LayerTable[];
  /** Predicted batch-1 latency in the groups' kept counts (deps.groups order). */
  cost: CountCost;
  /** Largest per-layer relative fit error (tables vs their own measurements). */
  maxFitError: number;
  fromCache: boolean;
}

/** Kept channels per group (deps.groups order) of a keep-mask over the global variables. */
export function keptCounts(deps: DependencyAnalysis, keep: Uint8Array): Float64Array {
  return Float64Array.from(deps.groups, (g) => Array.from(g.variables).reduce((acc, v) => acc + keep[v]!, 0));
}

/** The model's predicted batch-1 latency (ms) of the pruned model that keeps `keep`. */
export function predictLatencyMs(lm: Pick<LatencyModel, 'cost'>, deps: DependencyAnalysis, keep: Uint8Array): number {
  return evaluateCountCost(lm.cost, keptCounts(deps, keep));
}

interface Cached {
  originalMs: number;
  tables: LayerTable[];
}

function isCached(v: unknown): v is Cached {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Cached;
  return typeof c.originalMs === 'number' && Array.isArray(c.tables) && c.tables.every((t) => typeof t?.node === 'string' && typeof t?.fit?.a === 'number' && typeof t?.fit?.b === 'number' && typeof t?.fit?.c === 'number' && typeof t?.fit?.d === 'number' && typeof t?.fit?.maxRelError === 'number');
}

export async function buildLatencyModel(p: {
  model: OnnxModel;
  deps: DependencyAnalysis;
  /** Shapes at `inputShape` (the latency size, not the calibration crop). */
  shapes: ShapeMap;
  inputShape: number[];
  provider: ProviderName;
  /** Folder of cached tables; undefined = measure every time. */
  cacheDir?: string;
  /** Fewer timed runs (tests); the default is the probes' own (see measureConvTable). */
  runs?: number;
  signal?: AbortSignal;
}): Promise<LatencyModel> {
  const bytes = p.model.toBytes();
  const key = { modelSha256: modelDigest(bytes), provider: p.provider, inputShape: p.inputShape };
  const specs = convSpecsOf(p.model, p.shapes);
  let cached = p.cacheDir ? readCached(p.cacheDir, key, isCached) : undefined;
  const fromCache = cached !== undefined;
  if (!cached) {
    const tables: LayerTable[] = [];
    for (const s of specs) tables.push(await measureConvTable(s, p.provider, { ...(p.runs ? { runs: p.runs, minTotalMs: 0 } : {}), ...(p.signal ? { signal: p.signal } : {}) }));
    const whole = await measureModelLatency(bytes, { provider: p.provider, inputShape: p.inputShape, largeBatch: false, minTotalMs: 200, ...(p.runs ? { runs: p.runs, minTotalMs: 0 } : {}), ...(p.signal ? { signal: p.signal } : {}) });
    cached = { originalMs: whole.batch1.medianMs, tables };
    if (p.cacheDir) await writeCached(p.cacheDir, key, cached);
  }
  // With the session overhead subtracted the tables sum below the model; should fusion or cache
  // reuse still make them exceed it, the rest is 0, not negative.
  const restMs = Math.max(0, cached.originalMs - tablesAtFullWidth(cached.tables, specs));
  const cost = latencyCountCost(cached.tables, convGroupsOf(p.deps, specs), p.deps.groups.length, restMs);
  return { originalMs: cached.originalMs, restMs, tables: cached.tables, cost, maxFitError: Math.max(0, ...cached.tables.map((t) => t.fit.maxRelError)), fromCache };
}

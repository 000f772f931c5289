// Checks the latency model against the clock: for a few random masks per model, the predicted
// batch-1 latency (tables summed plus the measured rest) against the pruned model measured
// whole. Used by bench/latency.ts; the error it reports is what a latencyMs budget can promise.
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { loadModel, normalizeGraph } from '../../src/core/onnx';
import { buildLatencyModel, predictLatencyMs } from '../../src/core/latency/latencyModel';
import { measureModelLatency } from '../../src/core/latency/measure';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { Rng } from '../../src/core/util/rng';

export interface ValidationRow {
  model: string;
  inputShape: number[];
  keptFraction: number;
  predictedMs: number;
  measuredMs: number;
  iqrMs: number;
  /** (predicted − measured) / measured. */
  relError: number;
}

export async function validateLatencyModel(name: string, file: string, inputShape: number[], fractions: readonly number[], cacheDir?: string): Promise<{ rows: ValidationRow[]; tableSeconds: number; maxFitError: number; restMs: number; originalMs: number }> {
  const model = await loadModel(file);
  normalizeGraph(model);
  const shapes = await inferShapes(model, inputShape);
  const a = { model, deps: analyzeDependencies(model, shapes) };
  const t0 = performance.now();
  const lm = await buildLatencyModel({ model: a.model, deps: a.deps, shapes, inputShape, provider: 'cpu', ...(cacheDir ? { cacheDir } : {}) });
  const tableSeconds = (performance.now() - t0) / 1000;
  const rows: ValidationRow[] = [];
  const rng = new Rng(7);
  for (const f of fractions) {
    // Random kept counts around the fraction, so the check covers uneven widths, not one uniform cut.
    const keep = new Uint8Array(a.deps.variables.length);
    for (const g of a.deps.groups) {
      const k = Math.max(1, Math.min(g.size, Math.round(g.size * f * (0.8 + 0.4 * rng.next()))));
      for (let i = 0; i < k; i++) keep[g.variables[i]!] = 1;
    }
    const bytes = f >= 1 ? a.model.toBytes() : exportPruned(a.model, a.deps, keep).toBytes();
    const m = await measureModelLatency(bytes, { provider: 'cpu', inputShape, largeBatch: false, minTotalMs: 300 });
    const predictedMs = f >= 1 ? lm.originalMs : predictLatencyMs(lm, a.deps, keep);
    rows.push({ model: name, inputShape, keptFraction: f, predictedMs, measuredMs: m.batch1.medianMs, iqrMs: m.batch1.iqrMs, relError: (predictedMs - m.batch1.medianMs) / m.batch1.medianMs });
  }
  return { rows, tableSeconds, maxFitError: lm.maxFitError, restMs: lm.restMs, originalMs: lm.originalMs };
}

// Checks the latency model against the clock on masks it was not fitted to: the model is built as
// the pipeline builds it (whole-model timings of the calibration masks, no cache), then held-out
// masks (other uniform ratios and other random per-group ratios) are exported and timed together
// with the original, round-robin, and compared with the prediction. Two errors per mask: the
// absolute one (predicted vs measured ms; includes any drift of the machine's load between the two
// measurements) and the ratio one (predicted vs measured fraction of the original, which is what a
// latencyRatio budget relies on and what drift cancels out of). Used by bench/latency.ts.
import * as os from 'node:os';
import { inferShapes } from '../../src/core/analysis/shapes';
import { analyzeDependencies } from '../../src/core/analysis/dependencyGroups';
import { loadModel, normalizeGraph } from '../../src/core/onnx';
import { buildLatencyModel, predictLatencyMs, timeKeeps } from '../../src/core/latency/latencyModel';
import { keepAtRatios, randomKeep } from '../../src/core/latency/wholeModelFit';
import { Rng } from '../../src/core/util/rng';

export interface ValidationRow {
  model: string;
  inputShape: number[];
  mask: string;
  predictedMs: number;
  measuredMs: number;
  iqrMs: number;
  /** (predicted − measured) / measured. */
  relError: number;
  /** (predicted ratio − measured ratio) / measured ratio, ratios to the original of the same measurement. */
  ratioError: number;
}

export interface ValidationResult {
  rows: ValidationRow[];
  calibrationSeconds: number;
  validationSeconds: number;
  variant: string;
  coefficients: Record<string, number>;
  fitError: number;
  looError: number;
  measuredOriginalMs: number;
  predictedOriginalMs: number;
  /** IQR / median of the calibration timings, averaged: the noise the fit saw. */
  calibrationRelIqr: number;
  /** 1-minute load average before and after. */
  load: [number, number];
}

/** Uniform ratios not among the calibration's (1, 0.8, 0.6, 0.4, 0.25). */
export const HELD_OUT_UNIFORM = [0.9, 0.7, 0.5, 0.3] as const;
export const HELD_OUT_RANDOM = 4;

export async function validateLatencyModel(name: string, file: string, inputShape: number[]): Promise<ValidationResult> {
  const loadBefore = os.loadavg()[0]!;
  const model = await loadModel(file);
  normalizeGraph(model);
  const shapes = await inferShapes(model, inputShape);
  const deps = analyzeDependencies(model, shapes);
  const lm = await buildLatencyModel({ model, deps, shapes, inputShape, provider: 'cpu' });
  const masks: { label: string; keep: Uint8Array }[] = HELD_OUT_UNIFORM.map((r) => ({ label: `uniform ${r}`, keep: keepAtRatios(deps, new Float64Array(deps.groups.length).fill(r)) }));
  // A different seed and range from the calibration's random masks.
  const rng = new Rng(99);
  for (let i = 0; i < HELD_OUT_RANDOM; i++) masks.push({ label: `random ${i + 1}`, keep: randomKeep(deps, rng, 0.2) });
  const t0 = performance.now();
  const [orig, ...timed] = await timeKeeps({ model, deps, keeps: ['original', ...masks.map((m) => m.keep)], inputShape, provider: 'cpu' });
  const validationSeconds = (performance.now() - t0) / 1000;
  const rows = masks.map((m, i): ValidationRow => {
    const predictedMs = predictLatencyMs(lm, deps, m.keep);
    const measuredMs = timed[i]!.batch1.medianMs;
    const predictedRatio = predictedMs / lm.predictedOriginalMs;
    const measuredRatio = measuredMs / orig!.batch1.medianMs;
    return { model: name, inputShape, mask: m.label, predictedMs, measuredMs, iqrMs: timed[i]!.batch1.iqrMs, relError: (predictedMs - measuredMs) / measuredMs, ratioError: (predictedRatio - measuredRatio) / measuredRatio };
  });
  return {
    rows,
    calibrationSeconds: lm.calibrationSeconds,
    validationSeconds,
    variant: lm.fit.variant,
    coefficients: lm.fit.coefficients,
    fitError: lm.fit.meanFitError,
    looError: lm.fit.looError,
    measuredOriginalMs: lm.measuredOriginalMs,
    predictedOriginalMs: lm.predictedOriginalMs,
    calibrationRelIqr: lm.samples.reduce((acc, s) => acc + s.iqrMs / s.ms, 0) / lm.samples.length,
    load: [loadBefore, os.loadavg()[0]!],
  };
}

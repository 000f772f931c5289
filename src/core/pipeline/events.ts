// What the pipeline reports while it runs and when it ends: stage names, the events the worker
// forwards unchanged, and the run summary a report is built from. Core code emits these; the
// protocol (src/protocol.ts) only carries them.
import type { Method, PruneSettings } from '../settings/schema';
import type { TimingSummary } from '../latency/stats';

/** The execution provider a run used (the report names it). */
export type ProviderName = 'cpu' | 'webgpu' | 'cuda';

export type StageName = 'analyze' | 'calibrate' | 'importance' | 'search' | 'refine' | 'export' | 'recover' | 'evaluate';
export const STAGES: readonly StageName[] = ['analyze', 'calibrate', 'importance', 'search', 'refine', 'export', 'recover', 'evaluate'];

export interface GroupCapacity {
  id: string;
  kept: number;
  total: number;
}

/** Quality of a model on the test split; which fields exist depends on the task. */
export interface QualityMetrics {
  psnr?: number;
  ssim?: number;
  accuracy?: number;
  crossEntropy?: number;
  /** Segmentation: share of pixels whose class equals the unpruned model's (agreement, not ground-truth accuracy). */
  pixelAgreement?: number;
  /** Segmentation: mean IoU against the unpruned model's class map. */
  meanIoU?: number;
}

export interface MetricSet extends QualityMetrics {
  params: number;
  macs: number;
  /** Median latency in ms for one input (batch 1) at `latency.inputShape` (the analysed shape in older reports). */
  latencyMs?: number;
  /** The measurement behind latencyMs: median and IQR at batch 1 and 8 (src/core/latency/measure.ts). */
  latency?: LatencyMeasurement;
  /** Batch-1 latency the latency model predicted for this model (a latency budget's run only). */
  predictedLatencyMs?: number;
}

export interface ComparisonRow {
  method: string;
  psnr?: number;
  ssim?: number;
  accuracy?: number;
  pixelAgreement?: number;
  meanIoU?: number;
  params: number;
  macs: number;
  /** Median latency in ms of the pruned model at the analysed shape (absent in older reports). */
  latencyMs?: number;
  /** Time the method took to choose its channels (search, plus refinement for '+tt'). */
  seconds: number;
}

/** Where the metrics of a run were measured, so every figure can say it. */
export interface EvaluationInfo {
  split: 'test';
  images: number;
  samples: number;
  /** Crop size of each sample; null = whole images. */
  patch: [number, number] | null;
  /** The input shape the MACs were counted at (latency: MetricSet.latency.inputShape). */
  inputShape: number[];
  /** How the test metrics were measured, e.g. 'whole images 128×128' or 'tiles 256 with overlap 16 of …'. */
  test?: string;
  /** What calibration and refinement scored, e.g. 'crops 64×64'. */
  calibration?: string;
}

/**
 * A pruned model that should not be taken as a plain success (src/core/pipeline/verdict.ts):
 * `slower` = measured speed-up below 1, `much-worse` = the quality metric dropped past its limit.
 * `alternatives` are runs likely to do better: the `speed` preset and/or a smaller sparsity.
 */
export interface RunFlag {
  kind: 'slower' | 'much-worse';
  /** One sentence with the measured figures, e.g. 'the pruned model is slower: 0.87× speed-up (1.20 → 1.38 ms)'. */
  message: string;
  /** Speed-up (before/after latency), dB of PSNR lost or accuracy points lost. */
  measured: number;
  /** The limit `measured` crossed. */
  threshold: number;
  alternatives: { preset?: string; sparsity?: number; label: string }[];
}

export interface RunSummary {
  model: string;
  output: string;
  reportJson: string;
  reportMarkdown: string;
  preset: string;
  method: Method;
  sparsity: number;
  provider: ProviderName;
  before: MetricSet;
  after: MetricSet;
  /** QUBO-only metric before refinement, when refinement ran. */
  beforeRefine?: MetricSet;
  /** Recovery fine-tuning, when it ran: validation metric of the exported and of the written model (docs/RECOVERY.md). */
  recovery?: { metric: 'psnr' | 'accuracy'; validationBefore: number; validationAfter: number; improved: boolean; steps: number; seconds: number };
  groups: GroupCapacity[];
  /** The preset's cost budget and what the exported model reached, when the run had one. */
  budget?: BudgetOutcome;
  comparison?: ComparisonRow[];
  evaluation?: EvaluationInfo;
  /** A compare-only run: nothing was written; `output` is the run it was compared with. */
  compareOnly?: boolean;
  /** Verdict after evaluation; empty (or absent in older reports) when nothing is wrong. */
  flags?: RunFlag[];
  /** Kernel-aware runs (default preset): the round-to timings and what the speed guard tried and shipped. */
  speedGuard?: SpeedGuardInfo;
  seconds: number;
  stageSeconds: Partial<Record<StageName, number>>;
}

/** Events the pipeline emits; the worker forwards them unchanged. */
export type PipelineEvent =
  | { type: 'run-start'; model: string; preset: string; settings: PruneSettings; startedAt: string }
  | { type: 'provider'; provider: ProviderName; skipped: string[] }
  | { type: 'stage-start'; stage: StageName }
  /** `recover`: the recover stage's step (loss, and the validation metric on validation steps), for the live curve. */
  | { type: 'stage-progress'; stage: StageName; fraction: number; message?: string; recover?: RecoverPoint }
  | { type: 'stage-end'; stage: StageName; seconds: number; skipped?: boolean }
  | { type: 'capacities'; groups: GroupCapacity[] }
  /**
   * Best QUBO energy against the search's own iteration counter. Live points arrive during the
   * search; the one event with `final: true` carries the whole trace and replaces them.
   */
  | { type: 'solver-trace'; points: { iteration: number; energy: number }[]; final?: boolean }
  | { type: 'refine-progress'; iteration: number; evaluations: number; best: number; eliteMean: number; block?: string; metric?: RefineMetric }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'result'; summary: RunSummary };

/** One step of recovery fine-tuning as the panel draws it; `validation` only on validation steps. */
export interface RecoverPoint {
  step: number;
  loss: number;
  validation?: number;
  metric: 'psnr' | 'accuracy';
}

/** What the refinement curve measures. */
export type RefineMetric = 'psnr' | 'accuracy';

/**
 * The solver's energy trace as drawn: its points, ending at the last iteration so the chart's x
 * range is the search's. The pipeline's final live trace and a report reopened from its JSON both
 * go through here, so the two draw the same series.
 */
export function finalEnergyTrace(trace: readonly { iteration: number; energy: number }[], iterations: number | null | undefined): { iteration: number; energy: number }[] {
  const points = trace.map((t) => ({ iteration: t.iteration, energy: t.energy }));
  const last = points[points.length - 1];
  if (last && typeof iterations === 'number' && last.iteration < iterations) points.push({ iteration: iterations, energy: last.energy });
  return points;
}

// Kept here (not beside the code that computes them) so the webview can import them without
// reaching modules that use Node.
/** What the run summary and the report say about a budgeted run. */
export interface BudgetOutcome {
  kind: 'macs' | 'params' | 'latencyMs' | 'latencyRatio';
  /** The budget as a fraction of the original's cost (latencyMs: the limit over the original's predicted latency). */
  target: number;
  /** Latency budgets: the limit and the latency model's predictions (batch 1, ms) for the original and the exported model. */
  latencyLimitMs?: number;
  predictedLatencyBeforeMs?: number;
  predictedLatencyAfterMs?: number;
  macsBefore: number;
  macsAfter: number;
  paramsBefore: number;
  paramsAfter: number;
  /** after / before of the budgeted kind, counted on the exported model (latency: predicted). */
  ratio: number;
  /** ratio ≤ target and ≥ (1 − tolerance)·target. */
  met: boolean;
  /** Refinement's mask cost more than the budget allows, so the selection's mask was exported instead. */
  refinementReverted: boolean;
}

export interface LatencyAtBatch extends TimingSummary {
  batch: number;
}

export interface LatencyMeasurement {
  provider: ProviderName;
  /** Batch-1 input shape [1, C, H, W] the model was timed at. */
  inputShape: number[];
  batch1: LatencyAtBatch;
  /** Null when batch 8 was not measured; `batch8Skipped` says why. */
  batch8: LatencyAtBatch | null;
  batch8Skipped?: string;
}

/** What a kernel-aware run measured and decided (src/core/latency/kernelCounts.ts, speedGuard.ts). */
export interface SpeedGuardInfo {
  /** Batch-1 medians of the model pruned uniformly at the run's sparsity with counts rounded to each candidate. */
  roundToTimings: { roundTo: number; medianMs: number; iqrMs: number }[];
  originalMs: number;
  attempts: { roundTo: number; sparsity: number; medianMs: number; label: string }[];
  shipped: number;
  faster: boolean;
  message: string;
}

// The one message protocol of QUBO Prune, declared once and imported by the worker process, the
// extension host, the CLI and the webview. Only plain JSON-serialisable data crosses it. What the
// messages carry is defined where it is made: pipeline events and summaries in
// src/core/pipeline/events.ts, the panels' state in src/view/panelState.ts.
import type { AnalysisDocument, AnalysisStep } from './core/analysis/report';
import type { ErrorKind } from './core/errors';
import type { PipelineEvent, RunSummary } from './core/pipeline/events';

// Re-exported so the modules that still import them from here keep compiling; new code imports
// them from their own modules.
export { STAGES, finalEnergyTrace, type ProviderName, type ComparisonRow, type EvaluationInfo, type GroupCapacity, type MetricSet, type PipelineEvent, type RefineMetric, type RunFlag, type RunSummary, type StageName } from './core/pipeline/events';
export { applyEvent, initialViewState, type ModelViewState, type RunViewState, type StageStatus } from './view/panelState';
// The webview's half of the protocol lives beside the panel state, so browser code reaches it
// without the worker messages' Node-side types (AnalysisDocument, PruneRequest).
export { isPanelRequest, type PanelMessage, type PanelRequest } from './view/panelMessages';

/** Bumped whenever a message changes shape; the worker says its version in 'hello' and the extension refuses another. */
export const PROTOCOL_VERSION = 3;


// Settings are defined once, by their schema (src/core/settings/schema.ts); re-exported for the
// modules that import them from here.
import type { PruneSettings } from './core/settings/schema';
export type { Budget, InputNormalization, Method, ProviderChoice, PruneSettings, RecoverSettings, RefineScope } from './core/settings/schema';

export interface PruneRequest {
  model: string;
  data: string;
  /** Output model path; the report files sit beside it. */
  out: string;
  presetName: string;
  settings: PruneSettings;
  /** Also run the baselines at the same sparsity. */
  compare: boolean;
  /**
   * 'compare-only': analyse, calibrate and score importance as a run with these settings would,
   * then select and evaluate every baseline at the sparsity; no refinement, no export and nothing
   * written. `out` names the run being compared (its output model), for the panel only.
   */
  mode?: 'prune' | 'compare-only';
  /** Overall time budget in seconds (0 = none). */
  timeBudgetSeconds: number;
  inputShape?: number[];
  /**
   * Folder of cached latency-model fits (latency budgets): the CLI's is
   * defaultLatencyCacheDir(), the extension's under its globalStorage. Absent = measure every run.
   */
  latencyCacheDir?: string;
}

/** Extension → worker. */
export type WorkerRequest =
  | { type: 'start'; request: PruneRequest }
  /**
   * `size`: the side the model's open height/width take (quboPrune.analysisSize); unused when the
   * model fixes its input size or `inputShape` is given. The document's warnings name the size used.
   */
  | { type: 'analyze'; model: string; inputShape?: number[]; size?: number }
  | { type: 'cancel' };

/** Worker → extension. */
export type WorkerMessage =
  | { type: 'hello'; version: number; pid: number }
  | { type: 'event'; event: PipelineEvent }
  | { type: 'analysis'; document: AnalysisDocument }
  /** An analysis step started (sent for every analysis; the extension shows it for large files). */
  | { type: 'analysis-progress'; step: AnalysisStep }
  | { type: 'done'; summary: RunSummary }
  /** `kind` says whose fault it is (src/core/errors.ts), which decides how the extension shows it. */
  | { type: 'failed'; error: { code: string; message: string; kind: ErrorKind } }
  | { type: 'cancelled' };

/** Type guard for messages arriving from a worker process (untrusted shape). */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { type?: unknown }).type;
  return t === 'hello' || t === 'event' || t === 'analysis' || t === 'analysis-progress' || t === 'done' || t === 'failed' || t === 'cancelled';
}

/** Why a worker's 'hello' cannot be talked to (a worker built from another version of the extension), or undefined when it can. */
export function helloMismatch(msg: Extract<WorkerMessage, { type: 'hello' }>): string | undefined {
  return msg.version === PROTOCOL_VERSION ? undefined : `the worker speaks protocol version ${String(msg.version)}, this extension ${PROTOCOL_VERSION}; reinstall the extension so both come from one build`;
}



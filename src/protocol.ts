// The one message protocol of QUBO Prune, declared once and imported by the worker process, the
// extension host, the CLI and the webview. Only plain JSON-serialisable data crosses it.

export const PROTOCOL_VERSION = 1;

export type StageName = 'analyze' | 'calibrate' | 'importance' | 'search' | 'refine' | 'export' | 'evaluate';
export const STAGES: readonly StageName[] = ['analyze', 'calibrate', 'importance', 'search', 'refine', 'export', 'evaluate'];

export type Method = 'hybrid' | 'taylor' | 'l1-qubo' | 'l1' | 'random';
export type ProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export type ProviderName = 'cpu' | 'webgpu' | 'cuda';
export type RefineScope = 'off' | 'layers' | 'network';

/** Settings of one pruning run (validated by src/core/presets.ts). */
export interface PruneSettings {
  method: Method;
  /** Filter sparsity in [0, 1): fraction of prunable channels removed. */
  sparsity: number;
  /** Mix of normalised Taylor (α) and Fisher (1 − α) in the linear term. */
  alpha: number;
  /** Weight of the activation-redundancy term. */
  beta: number;
  /** Activation similarity of the redundancy term: |cos| (METHOD §4) or |Pearson|. */
  similarity: 'cosine' | 'pearson';
  /**
   * Weight of the joint-Fisher interaction: within a group, ½·pᵀΦp (Φ = empirical Fisher of the gate
   * gradients) replaces the sum of single-channel Fisher estimates for the pruned set p; 0 = off.
   */
  gamma: number;
  /** Per-group minimum kept fraction (keeps max(1, ⌈floor·C⌉)). */
  floor: number;
  /** Kept counts rounded to multiples of this (1 = off). */
  roundTo: number;
  /** Calibration samples for gradients and statistics. */
  samples: number;
  /** Square patch size for calibration/validation crops. */
  patch: number;
  /** Synthetic noise spec for clean-only data folders, e.g. 'gaussian:25'. */
  noise: string | null;
  searchTimeMs: number;
  refine: {
    scope: RefineScope;
    /** Number of layers for the 'layers' scope (the paper's setting is 8). */
    layers: number;
    evaluations: number;
    seconds: number;
    rank: number;
    /** Validation images per candidate evaluation. */
    valSamples: number;
    /**
     * What candidates are scored on: the validation crops alone, or the calibration crops too
     * ('calib+val', default: 7 photographs instead of 2 on the fixtures, which stops the gains on
     * validation from turning into losses on test; docs/BENCHMARKS.md).
     */
    data: 'val' | 'calib+val';
    /**
     * The refined mask replaces the QUBO mask only when it gains at least this much on the
     * objective (dB of PSNR, or accuracy); smaller gains were measured to be noise that costs on test.
     */
    minGain: number;
  };
  provider: ProviderChoice;
  seed: number;
  /**
   * Classifier data: resize each image's shorter side to this many pixels before the centre crop
   * at the model's size (torchvision's Resize + CenterCrop); 'auto' = crop / 0.875 (256 for 224);
   * null = crop the images as they are. Optional so settings written before it stay valid.
   */
  resize?: number | 'auto' | null;
  /** Model-input normalisation (x − mean) / std after scaling pixels to [0, 1]; 'imagenet' = torchvision's statistics. */
  normalize?: InputNormalization;
}

export type InputNormalization = 'none' | 'imagenet' | { mean: number[]; std: number[] };

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
}

export interface GroupCapacity {
  id: string;
  kept: number;
  total: number;
}

export interface MetricSet {
  psnr?: number;
  ssim?: number;
  accuracy?: number;
  crossEntropy?: number;
  params: number;
  macs: number;
  /** Median latency in ms for one input at the analysed shape. */
  latencyMs?: number;
}

export interface ComparisonRow {
  method: string;
  psnr?: number;
  ssim?: number;
  accuracy?: number;
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
  /** The input shape the MACs and the latency were counted at. */
  inputShape: number[];
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
  groups: GroupCapacity[];
  comparison?: ComparisonRow[];
  evaluation?: EvaluationInfo;
  /** A compare-only run: nothing was written; `output` is the run it was compared with. */
  compareOnly?: boolean;
  seconds: number;
  stageSeconds: Partial<Record<StageName, number>>;
}

/** Events the pipeline emits; the worker forwards them unchanged. */
export type PipelineEvent =
  | { type: 'run-start'; model: string; preset: string; settings: PruneSettings; startedAt: string }
  | { type: 'provider'; provider: ProviderName; skipped: string[] }
  | { type: 'stage-start'; stage: StageName }
  | { type: 'stage-progress'; stage: StageName; fraction: number; message?: string }
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

/** Extension → worker. */
export type WorkerRequest = { type: 'start'; request: PruneRequest } | { type: 'analyze'; model: string; inputShape?: number[] } | { type: 'cancel' };

/** Worker → extension. */
export type WorkerMessage =
  | { type: 'hello'; version: number; pid: number }
  | { type: 'event'; event: PipelineEvent }
  | { type: 'analysis'; document: unknown }
  | { type: 'done'; summary: RunSummary }
  | { type: 'failed'; error: { code: string; message: string } }
  | { type: 'cancelled' };

export type StageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** What the refinement curve measures. */
export type RefineMetric = 'psnr' | 'accuracy';

/** Everything the report panel shows; the extension always sends the whole of it. */
export interface RunViewState {
  runId: string;
  model: string;
  preset: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  provider?: ProviderName;
  /** `startedMs`: wall clock (epoch ms) when the stage started; `message`: its latest progress note. */
  stages: { name: StageName; status: StageStatus; fraction: number; seconds?: number; startedMs?: number; message?: string }[];
  capacities: GroupCapacity[];
  energy: { iteration: number; energy: number }[];
  refine: { evaluations: number; best: number; eliteMean: number }[];
  refineMetric?: RefineMetric;
  /** The run's filter sparsity (from its settings), shown while it runs. */
  sparsity?: number;
  /** A compare-only run (no search trace, no refinement): the panel shows no charts. */
  compareOnly?: boolean;
  /** Fixed lengths of time-boxed stages in seconds (from the run's settings), for the ETA. */
  budgets?: Partial<Record<StageName, number>>;
  /** Limit of the refinement's evaluations, for the ETA. */
  refineEvaluations?: number;
  log: string[];
  summary?: RunSummary;
  error?: string;
  /** Output model path of the run and when it started (ISO): a panel restored after a restart
   * finds the run's report file with them when the run finished after the panel's last save. */
  output?: string;
  startedAt?: string;
}

/** What the read-only model editor shows: the worker's analysis document (docs/ANALYSIS.md) or the error. */
export interface ModelViewState {
  model: string;
  status: 'loading' | 'ready' | 'failed' | 'untrusted';
  document?: unknown;
  error?: { code: string; message: string };
}

/** Extension → webview. */
export type PanelMessage =
  | { type: 'snapshot'; state: RunViewState }
  | { type: 'model'; state: ModelViewState }
  /** Scrolls to and marks the row of a channel group or layer. */
  | { type: 'highlight'; id: string };

/** Webview → extension. */
export type PanelRequest =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'reveal-output' }
  | { type: 'open-markdown' }
  | { type: 'reveal-layer'; group: string }
  /** From the model editor: run a command of the extension on the model shown. */
  | { type: 'model-command'; command: 'prune' | 'prune-with-preset' | 'analyze' };

/** Type guard for messages arriving from a worker process (untrusted shape). */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { type?: unknown }).type;
  return t === 'hello' || t === 'event' || t === 'analysis' || t === 'done' || t === 'failed' || t === 'cancelled';
}

export function isPanelRequest(value: unknown): value is PanelRequest {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { type?: unknown }).type;
  if (t === 'model-command') {
    const c = (value as { command?: unknown }).command;
    return c === 'prune' || c === 'prune-with-preset' || c === 'analyze';
  }
  return t === 'ready' || t === 'cancel' || t === 'reveal-output' || t === 'open-markdown' || (t === 'reveal-layer' && typeof (value as { group?: unknown }).group === 'string');
}

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

/** Folds one pipeline event into the panel state (pure, so both the extension and tests use it); `now` stamps stage starts. */
export function applyEvent(state: RunViewState, event: PipelineEvent, now = Date.now()): RunViewState {
  const s: RunViewState = { ...state, stages: state.stages.map((x) => ({ ...x })) };
  const stage = (name: StageName) => s.stages.find((x) => x.name === name)!;
  switch (event.type) {
    case 'run-start': {
      s.status = 'running';
      const budgets: Partial<Record<StageName, number>> = { search: event.settings.searchTimeMs / 1000 };
      if (event.settings.refine.scope !== 'off') {
        budgets.refine = event.settings.refine.seconds;
        s.refineEvaluations = event.settings.refine.evaluations;
      }
      s.budgets = budgets;
      s.sparsity = event.settings.sparsity;
      break;
    }
    case 'provider':
      s.provider = event.provider;
      break;
    case 'stage-start':
      stage(event.stage).status = 'running';
      stage(event.stage).fraction = 0;
      stage(event.stage).startedMs = now;
      delete stage(event.stage).message;
      break;
    case 'stage-progress':
      stage(event.stage).fraction = Math.max(0, Math.min(1, event.fraction));
      if (event.message !== undefined) stage(event.stage).message = event.message;
      break;
    case 'stage-end':
      stage(event.stage).status = event.skipped ? 'skipped' : 'done';
      stage(event.stage).fraction = 1;
      stage(event.stage).seconds = event.seconds;
      break;
    case 'capacities':
      s.capacities = event.groups;
      break;
    case 'solver-trace':
      // The final trace is already thinned by the solver; live points are capped here.
      s.energy = event.final ? event.points : [...s.energy, ...event.points].slice(-2000);
      break;
    case 'refine-progress':
      s.refine = [...s.refine, { evaluations: event.evaluations, best: event.best, eliteMean: event.eliteMean }];
      if (event.metric) s.refineMetric = event.metric;
      break;
    case 'log':
      s.log = [...s.log, `[${event.level}] ${event.message}`].slice(-500);
      break;
    case 'result':
      s.summary = event.summary;
      s.status = 'done';
      if (event.summary.compareOnly) s.compareOnly = true;
      break;
  }
  return s;
}

export function initialViewState(runId: string, model: string, preset: string): RunViewState {
  return {
    runId,
    model,
    preset,
    status: 'running',
    stages: STAGES.map((name) => ({ name, status: 'pending', fraction: 0 })),
    capacities: [],
    energy: [],
    refine: [],
    log: [],
  };
}

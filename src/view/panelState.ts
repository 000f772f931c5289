// What the report panel and the model editor show, shared by the extension (which builds it from
// pipeline events and sends whole snapshots) and the webview (which renders and saves it). Pure:
// no vscode, no DOM.
import { STAGES, type GroupCapacity, type PipelineEvent, type ProviderName, type RecoverPoint, type RefineMetric, type RunSummary, type StageName } from '../core/pipeline/events';
import type { PruneSettings } from '../core/settings/schema';

export type StageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

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
  /**
   * Recovery fine-tuning's steps (live from the recover stage, or the report's curve); absent in
   * states saved before recovery existed. Loss-only steps are thinned to keep it bounded.
   */
  recover?: RecoverPoint[];
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
  /**
   * The worker's AnalysisDocument as the analyzer passed it on (with its notes added); unknown
   * here because a restored webview state can hold anything, and normalizeAnalysis checks it.
   */
  document?: unknown;
  error?: { code: string; message: string };
  /** The presets the editor's dropdown offers (built-in and workspace settings), the default first. */
  presets?: PresetOption[];
}

/** One entry of the preset dropdown: its name and what it does in a few words (sparsity, budget). */
export interface PresetOption {
  name: string;
  /** e.g. '36% sparsity · refine 60 s'. */
  detail: string;
  isDefault: boolean;
}

/** The dropdown entry of a resolved preset: its sparsity, and its time budget (search plus refinement). */
export function presetOption(name: string, settings: PruneSettings, isDefault: boolean): PresetOption {
  const pct = `${Math.round(settings.sparsity * 1000) / 10}% sparsity`;
  const search = settings.searchTimeMs / 1000;
  const budget = settings.refine.scope === 'off' ? `search ${search} s, no refinement` : `search ${search} s + refine ≤${settings.refine.seconds} s`;
  return { name, detail: `${pct} · ${budget}`, isDefault };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Enough of a RunViewState to render without throwing; anything less is dropped. */
export function isRunViewState(v: unknown): v is RunViewState {
  if (!isObj(v)) return false;
  return (
    typeof v.runId === 'string' &&
    typeof v.model === 'string' &&
    typeof v.preset === 'string' &&
    (v.status === 'running' || v.status === 'done' || v.status === 'failed' || v.status === 'cancelled') &&
    Array.isArray(v.stages) &&
    v.stages.every((s) => isObj(s) && typeof s.name === 'string' && typeof s.status === 'string' && typeof s.fraction === 'number') &&
    Array.isArray(v.capacities) &&
    Array.isArray(v.energy) &&
    Array.isArray(v.refine) &&
    (v.recover === undefined || (Array.isArray(v.recover) && v.recover.every((p) => isObj(p) && typeof p.step === 'number' && typeof p.loss === 'number'))) &&
    Array.isArray(v.log)
  );
}

export function isModelViewState(v: unknown): v is ModelViewState {
  if (!isObj(v) || typeof v.model !== 'string') return false;
  if (v.presets !== undefined && !(Array.isArray(v.presets) && v.presets.every((p) => isObj(p) && typeof p.name === 'string' && typeof p.detail === 'string'))) return false;
  return v.status === 'loading' || v.status === 'ready' || v.status === 'failed' || v.status === 'untrusted';
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
      if (event.recover) s.recover = addRecoverPoint(s.recover ?? [], event.recover);
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

/** Most recovery steps a state keeps; a snapshot is posted whole on every event, so it must stay small. */
export const MAX_RECOVER_POINTS = 600;

/**
 * The recovery trace with one more step. Past the cap, every other loss-only step of the older
 * half is dropped: the curve keeps its shape and its start, and validation steps (few, and the
 * ones that decide which checkpoint is written) are kept unless every step validated.
 */
export function addRecoverPoint(points: readonly RecoverPoint[], p: RecoverPoint): RecoverPoint[] {
  const out = [...points, p];
  if (out.length <= MAX_RECOVER_POINTS) return out;
  const older = out.slice(0, Math.floor(out.length / 2));
  let thinned = older.filter((q, i) => q.validation !== undefined || i % 2 === 0);
  // Validation on every step would leave nothing to drop; then they thin like the rest.
  if (thinned.length === older.length) thinned = older.filter((_, i) => i % 2 === 0);
  return [...thinned, ...out.slice(older.length)];
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

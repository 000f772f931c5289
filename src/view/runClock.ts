// Elapsed time of a run and the time left in its running stage, as the report panel's clock, the
// status bar and the progress notification show them. Shared by the extension and the webview.
import type { StageName } from '../core/pipeline/events';
import type { RunViewState } from './panelState';

/** '1×3×256×256', or words when the shape is not known. */
export function formatShape(shape: readonly number[] | undefined): string {
  return shape && shape.length ? shape.join('×') : 'the analysed size';
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export interface RunClock {
  elapsedSeconds: number;
  /** Seconds left in the running stage; undefined when it cannot be told yet. */
  stageEtaSeconds?: number;
  stage?: StageName;
}

/**
 * Elapsed time of a run and the time left in its running stage. Time-boxed stages (search,
 * refinement) end at their budget or, for refinement, at the evaluation limit, whichever comes
 * first; other stages are extrapolated from their progress once it says something (≥ 5%).
 */
export function runClock(s: RunViewState, nowMs: number): RunClock | undefined {
  const start = s.startedAt ? Date.parse(s.startedAt) : NaN;
  if (!Number.isFinite(start)) return undefined;
  const clock: RunClock = { elapsedSeconds: Math.max(0, (nowMs - start) / 1000) };
  if (s.status !== 'running') {
    if (s.summary) clock.elapsedSeconds = s.summary.seconds;
    return clock;
  }
  const st = s.stages.find((x) => x.status === 'running');
  if (!st || st.startedMs === undefined) return clock;
  clock.stage = st.name;
  const inStage = Math.max(0, (nowMs - st.startedMs) / 1000);
  const byProgress = st.fraction >= 0.05 ? (inStage / st.fraction) * (1 - st.fraction) : undefined;
  const budget = s.budgets?.[st.name];
  const byBudget = budget !== undefined ? Math.max(0, budget - inStage) : undefined;
  const candidates = [byProgress, byBudget].filter((x): x is number => x !== undefined);
  if (candidates.length) clock.stageEtaSeconds = Math.min(...candidates);
  return clock;
}

/** 'elapsed 0:42 · refine ≈0:15 left' */
export function describeClock(c: RunClock | undefined): string {
  if (!c) return '';
  const eta = c.stage && c.stageEtaSeconds !== undefined ? ` · ${c.stage} ≈${formatDuration(c.stageEtaSeconds)} left` : '';
  return `elapsed ${formatDuration(c.elapsedSeconds)}${eta}`;
}

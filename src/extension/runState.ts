// The extension's view of one run: folds worker events and the final outcome into the panel
// snapshot, and derives the progress figures for the status bar and the notification. Pure.
import * as path from 'node:path';
import { applyEvent, initialViewState, type PipelineEvent, type RunSummary, type RunViewState } from '../protocol';
import type { WorkerOutcome } from '../worker/client';
import { formatDuration, runClock } from './runPlan';

export class RunTracker {
  private s: RunViewState;

  constructor(runId: string, model: string, preset: string, output?: string, startedAt = new Date(), compareOnly = false) {
    this.s = initialViewState(runId, model, preset);
    if (compareOnly) this.s.compareOnly = true;
    if (output !== undefined) this.s.output = output;
    this.s.startedAt = startedAt.toISOString();
  }

  get state(): RunViewState {
    return this.s;
  }

  get finished(): boolean {
    return this.s.status !== 'running';
  }

  onEvent(event: PipelineEvent, nowMs = Date.now()): void {
    // Events that arrive after the end (a late log line) must not reopen a finished run.
    if (this.finished && event.type !== 'log') return;
    this.s = applyEvent(this.s, event, nowMs);
  }

  finish(outcome: WorkerOutcome): void {
    const s: RunViewState = { ...this.s, stages: this.s.stages.map((x) => ({ ...x })) };
    switch (outcome.kind) {
      case 'done':
        s.status = 'done';
        s.summary = outcome.summary;
        if (outcome.summary.groups.length) s.capacities = outcome.summary.groups;
        if (outcome.summary.provider) s.provider = outcome.summary.provider;
        break;
      case 'failed':
        s.status = 'failed';
        s.error = `${outcome.message} [${outcome.code}]`;
        for (const st of s.stages) if (st.status === 'running') st.status = 'failed';
        break;
      case 'cancelled':
        s.status = 'cancelled';
        for (const st of s.stages) if (st.status === 'running') st.status = 'failed';
        break;
      case 'analysis':
        s.status = 'failed';
        s.error = 'the worker answered a pruning request with an analysis [protocol]';
        break;
    }
    this.s = s;
  }

  /** Marks a run whose process is gone without an outcome (VS Code restarted mid-run). */
  static interrupted(state: RunViewState): RunViewState {
    if (state.status !== 'running') return state;
    return {
      ...state,
      status: 'cancelled',
      error: 'interrupted: VS Code was closed or reloaded while this run was going',
      stages: state.stages.map((x) => (x.status === 'running' ? { ...x, status: 'failed' } : { ...x })),
    };
  }

  /** Overall progress in [0, 1]: each stage counts the same. */
  overallFraction(): number {
    const st = this.s.stages;
    let sum = 0;
    for (const x of st) sum += x.status === 'done' || x.status === 'skipped' ? 1 : x.status === 'running' ? x.fraction : 0;
    return st.length ? sum / st.length : 0;
  }

  /** Short text such as 'refine 45% · 0:42 · ≈0:15 left' for the status bar and the notification. */
  statusText(nowMs = Date.now()): string {
    if (this.s.status !== 'running') return this.s.status;
    const running = this.s.stages.find((x) => x.status === 'running');
    if (!running) return 'starting';
    const clock = runClock(this.s, nowMs);
    const time = clock ? ` · ${formatDuration(clock.elapsedSeconds)}${clock.stageEtaSeconds !== undefined ? ` · ≈${formatDuration(clock.stageEtaSeconds)} left` : ''}` : '';
    return `${running.name} ${running.message ? `${running.message} ` : ''}${Math.round(running.fraction * 100)}%${time}`;
  }
}

/**
 * What a prune command says while a run is going. The controller runs one at a time: the outputs
 * of two runs of one model would collide, and two runs of different models would share two cores
 * and one memory budget. Runs in other windows or the CLI are kept apart by the output lock.
 */
export function secondRunMessage(active: { model: string; status: string }, requested: string): string {
  const name = path.basename(active.model);
  return path.resolve(active.model) === path.resolve(requested)
    ? `QUBO Prune: ${name} is already being pruned (${active.status}); wait for that run or cancel it.`
    : `QUBO Prune: a run on ${name} is still going (${active.status}); one run at a time.`;
}

/** The notification for a run that ended without a result: every failure names its cause. */
export function endNotice(state: RunViewState): { level: 'info' | 'error'; text: string } | undefined {
  const name = path.basename(state.model);
  if (state.status === 'cancelled') return { level: 'info', text: `QUBO Prune: pruning ${name} was cancelled; nothing was written.` };
  if (state.status === 'failed') return { level: 'error', text: `QUBO Prune: pruning ${name} failed: ${state.error ?? 'no reason was given [unknown]'}` };
  return undefined;
}

/**
 * The warning for a run that finished but was flagged (src/core/pipeline/verdict.ts): what was
 * written, then each flag's measured figures, so the notification never reads as a plain success.
 */
export function flaggedNotice(name: string, summary: RunSummary): string {
  const flags = summary.flags ?? [];
  const what = flags.map((f) => (f.kind === 'slower' ? 'slower' : 'much worse')).join(' and ');
  return `QUBO Prune: pruned ${name}, but the result is ${what}: ${flags.map((f) => f.message).join('; ')}. Written to ${path.basename(summary.output)}.`;
}

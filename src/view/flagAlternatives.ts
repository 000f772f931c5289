// A flagged run's alternatives (docs/EXTENSION.md, "After a run: flagged results") as both the
// report panel's banner and the extension offer and start them. Pure: the webview imports it.
import type { RunFlag, RunSummary } from '../core/pipeline/events';
import { flagAlternatives } from '../core/pipeline/verdict';

export type FlagAlternative = RunFlag['alternatives'][number];

/** The alternative a request names, if the run offered it; a request for anything else is refused by the caller. */
export function offeredAlternative(summary: Pick<RunSummary, 'flags'>, requested: { preset?: string; sparsity?: number }): FlagAlternative | undefined {
  return flagAlternatives(summary.flags ?? []).find((a) => a.preset === requested.preset && a.sparsity === requested.sparsity);
}

/**
 * What to start for an alternative: its preset, else the preset that ran (a sparsity alone must not
 * fall back to the default preset: a run of a workspace preset is retried with that preset).
 */
export function alternativeRun(summary: Pick<RunSummary, 'preset'>, alt: FlagAlternative): { preset: string; sparsity?: number } {
  return { preset: alt.preset ?? summary.preset, ...(alt.sparsity !== undefined ? { sparsity: alt.sparsity } : {}) };
}

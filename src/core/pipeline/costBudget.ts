// A preset's `budget` (MACs or parameters as a fraction of the original) as the pipeline uses it:
// read from the settings, turned into the selector's constraint, checked again after refinement,
// and summarised for the run summary and the report (docs/SOLVER.md §9, docs/PIPELINE.md).
import type { Budget } from '../settings/schema';
import type { CostBudget } from '../qubo/budget';
import { BUDGET_TOLERANCE } from '../qubo/budget';
import type { CountCost, GroupCostModel } from '../prune/cost';
import { PipelineError } from './cancel';
import type { BudgetOutcome } from './events';

export type { BudgetOutcome } from './events';

/**
 * The cost budget a preset asks for, or null for none (sparsity then applies). Read defensively:
 * `budget` may be absent from older settings objects. Latency budgets take their cost from the
 * latency model (src/core/latency/latencyModel.ts), which the pipeline builds for them.
 */
export function costBudgetOf(budget: Budget | null | undefined): CostBudget | null {
  if (budget === null || budget === undefined) return null;
  const b = budget as Record<string, unknown>;
  const keys = Object.keys(b);
  if (keys.length !== 1) throw new PipelineError('bad-budget', `budget must name exactly one of macs, params, latencyMs, latencyRatio; got ${keys.length ? keys.join(', ') : 'none'}`);
  const kind = keys[0]!;
  const value = b[kind];
  if (kind === 'latencyMs') {
    if (typeof value !== 'number' || !(value > 0 && Number.isFinite(value))) throw new PipelineError('bad-budget', `budget latencyMs must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
    return { kind, limit: value };
  }
  if (kind !== 'macs' && kind !== 'params' && kind !== 'latencyRatio') throw new PipelineError('bad-budget', `unknown budget '${kind}'; expected macs, params, latencyMs or latencyRatio`);
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new PipelineError('bad-budget', `budget ${kind} must be a fraction of the original's in (0, 1], got ${JSON.stringify(value)}`);
  return { kind, limit: value };
}

export const isLatencyBudget = (spec: CostBudget): boolean => spec.kind === 'latencyMs' || spec.kind === 'latencyRatio';

/** The polynomial of the budgeted kind, as selectMask's `budget` option takes it (latency budgets: the latency model's). */
export function selectionBudget(spec: CostBudget, costs: GroupCostModel, latency?: CountCost): { spec: CostBudget; cost: CountCost } {
  if (isLatencyBudget(spec)) {
    if (!latency) throw new PipelineError('bad-budget', `a ${spec.kind} budget needs the latency model's cost`);
    return { spec, cost: latency };
  }
  return { spec, cost: spec.kind === 'params' ? costs.params : costs.macs };
}

/** Counted costs; latencyMs is the latency model's prediction (latency budgets only). */
type Cost = { macs: number; params: number; latencyMs?: number };

/**
 * Refinement swaps channels inside a group, which keeps every group's count; the cost changes
 * only where a group's channels size axes unevenly (Split/Slice parts). Returns the mask to
 * export: the refined one unless it costs more than both the limit and the selection's own mask
 * (whose exact cost can itself sit a little above the limit when the model averaged such groups).
 */
export function budgetAfterRefinement(spec: CostBudget, original: Cost, selected: Cost, refined: Cost): { useRefined: boolean; message?: string } {
  // The latency model is a function of the groups' counts only, which refinement keeps.
  if (isLatencyBudget(spec)) return { useRefined: true };
  const limit = spec.limit * original[spec.kind as 'macs' | 'params'];
  const r = refined[spec.kind as 'macs' | 'params'];
  const allowed = Math.max(limit, selected[spec.kind as 'macs' | 'params']);
  if (r <= allowed) return { useRefined: true };
  return {
    useRefined: false,
    message: `the refined mask costs ${r} ${spec.kind} (${((100 * r) / original[spec.kind as 'macs' | 'params']).toFixed(1)}% of the original), above the budget of ${(100 * spec.limit).toFixed(1)}%: refinement moved channels between unevenly split parts of a group; the mask from the search is exported instead`,
  };
}

export function budgetOutcome(spec: CostBudget, before: Cost, after: Cost, refinementReverted: boolean): BudgetOutcome {
  if (isLatencyBudget(spec)) {
    const lb = before.latencyMs;
    const la = after.latencyMs;
    if (lb === undefined || la === undefined || !(lb > 0)) throw new PipelineError('bad-budget', `a ${spec.kind} budget's outcome needs the predicted latency before and after`);
    const limitMs = spec.kind === 'latencyMs' ? spec.limit : spec.limit * lb;
    const ratio = la / lb;
    const met = la <= limitMs * (1 + 1e-9) && la >= limitMs * (1 - BUDGET_TOLERANCE) * (1 - 1e-9);
    return { kind: spec.kind as 'latencyMs' | 'latencyRatio', target: limitMs / lb, latencyLimitMs: limitMs, predictedLatencyBeforeMs: lb, predictedLatencyAfterMs: la, macsBefore: before.macs, macsAfter: after.macs, paramsBefore: before.params, paramsAfter: after.params, ratio, met, refinementReverted };
  }
  const kind = spec.kind as 'macs' | 'params';
  const ratio = before[kind] > 0 ? after[kind] / before[kind] : 1;
  // A hair of slack for the counts' integer rounding against a target given as a decimal.
  const met = ratio <= spec.limit * (1 + 1e-9) && ratio >= spec.limit * (1 - BUDGET_TOLERANCE) * (1 - 1e-9);
  return { kind, target: spec.limit, macsBefore: before.macs, macsAfter: after.macs, paramsBefore: before.params, paramsAfter: after.params, ratio, met, refinementReverted };
}

/** One line for logs and the Markdown report. */
export function describeBudget(o: BudgetOutcome): string {
  if (o.kind === 'latencyMs' || o.kind === 'latencyRatio') {
    const inside = `${((1 - BUDGET_TOLERANCE) * o.latencyLimitMs!).toFixed(2)}–${o.latencyLimitMs!.toFixed(2)} ms`;
    return `latency budget ${o.latencyLimitMs!.toFixed(2)} ms (${(100 * o.target).toFixed(1)}% of the original's predicted ${o.predictedLatencyBeforeMs!.toFixed(2)} ms): predicted ${o.predictedLatencyAfterMs!.toFixed(2)} ms (${o.met ? 'met' : `not met: outside ${inside}`})`;
  }
  const name = o.kind === 'macs' ? 'MACs' : 'parameters';
  return `${name} budget ${(100 * o.target).toFixed(1)}% of the original: reached ${(100 * o.ratio).toFixed(2)}% (${o.met ? 'met' : `not met: outside ${(100 * (1 - BUDGET_TOLERANCE) * o.target).toFixed(1)}–${(100 * o.target).toFixed(1)}%`})${o.refinementReverted ? '; the refined mask exceeded it, so the search mask was exported' : ''}`;
}

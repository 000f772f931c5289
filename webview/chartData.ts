// Data of the report's charts, apart from chart.js so it is tested in node.
import type { GroupCapacity, RecoverPoint, RefineMetric, RunSummary } from '../src/core/pipeline/events';
import { shortLabel } from '../src/view/analysisModel';
import type { RunViewState } from '../src/view/panelState';
import { energySeries } from './render';

/**
 * The energy series for a logarithmic x axis: iteration 0 (the start) is drawn at 1, since a log
 * axis has no 0; the rest keeps its iteration.
 */
export function energyPoints(points: readonly { iteration: number; energy: number }[]): { x: number; y: number }[] {
  return energySeries(points).map((p) => ({ x: Math.max(1, p.iteration), y: p.energy }));
}

/** What the refinement curve's y axis measures, from the run's events or its result. */
export function refineAxisTitle(s: RunViewState | undefined): string {
  const metric: RefineMetric | undefined = s?.refineMetric ?? (s?.summary ? (s.summary.before.psnr !== undefined ? 'psnr' : s.summary.before.accuracy !== undefined ? 'accuracy' : undefined) : undefined);
  return metric === 'psnr' ? 'PSNR (dB)' : metric === 'accuracy' ? 'accuracy' : 'metric';
}

/**
 * y range of the refinement chart: undefined (chart.js decides) unless the values span next to
 * nothing, as with a single point, where a range of the metric's natural scale is centred on them.
 */
export function yRange(values: readonly number[], metric: RefineMetric | undefined): { min: number; max: number } | undefined {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return undefined;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const minSpan = metric === 'accuracy' ? 0.02 : 0.5;
  if (hi - lo >= minSpan) return undefined;
  const mid = (lo + hi) / 2;
  return { min: mid - minSpan / 2, max: mid + minSpan / 2 };
}

/** Kept channels per channel group against its size, for the before/after bar chart (labels without the exporter's path). */
export function keptBars(groups: readonly GroupCapacity[]): { categories: string[]; before: number[]; after: number[] } {
  return { categories: groups.map((g) => shortLabel(g.id)), before: groups.map((g) => g.total), after: groups.map((g) => g.kept) };
}

export interface ComparePoint {
  method: string;
  params: number;
  macs: number;
  /** The quality metric of the comparison (PSNR in dB, or accuracy as a fraction). */
  metric: number;
}

/**
 * Every model of a comparison as a point: the original, each method at the run's sparsity, and
 * (for a normal run) the run's own result, refinement included. The metric is PSNR when the rows
 * have it, else accuracy; rows without it are left out.
 */
export function comparePoints(sum: RunSummary): { metric: 'psnr' | 'accuracy'; points: ComparePoint[] } | undefined {
  const rows = sum.comparison ?? [];
  if (!rows.length) return undefined;
  const metric: 'psnr' | 'accuracy' = rows.some((r) => r.psnr !== undefined) ? 'psnr' : 'accuracy';
  const all: { method: string; params: number; macs: number; psnr?: number; accuracy?: number }[] = [{ method: 'original', ...sum.before }, ...rows];
  if (!sum.compareOnly) all.push({ method: `${sum.method} (this run)`, ...sum.after });
  const points = all.flatMap((r) => {
    const m = r[metric];
    return typeof m === 'number' && Number.isFinite(m) ? [{ method: r.method, params: r.params, macs: r.macs, metric: m }] : [];
  });
  return points.length ? { metric, points } : undefined;
}

/**
 * The points no other point beats on both cost (`x`, lower is better) and metric (higher is
 * better), by increasing cost: the trade-off curve a user picks from.
 */
export function paretoFront<T>(points: readonly T[], x: (p: T) => number, y: (p: T) => number): T[] {
  const sorted = [...points].sort((a, b) => x(a) - x(b) || y(b) - y(a));
  const front: T[] = [];
  for (const p of sorted) if (!front.length || y(p) > y(front[front.length - 1]!)) front.push(p);
  return front;
}

/** The recovery curve: training loss per step, and the validation metric where it was measured. */
export function recoverSeries(points: readonly RecoverPoint[]): { loss: { x: number; y: number }[]; validation: { x: number; y: number }[] } {
  return {
    // A log axis cannot show a zero loss (a model that already matches its teacher): such steps are left out.
    loss: points.filter((p) => Number.isFinite(p.loss) && p.loss > 0).map((p) => ({ x: p.step, y: p.loss })),
    validation: points.flatMap((p) => (p.validation !== undefined && Number.isFinite(p.validation) ? [{ x: p.step, y: p.validation }] : [])),
  };
}

/** The recovery chart's right axis: the validation metric recovery keeps its best checkpoint by. */
export function recoverAxisTitle(points: readonly RecoverPoint[], summary?: RunSummary): string {
  const metric = points[0]?.metric ?? summary?.recovery?.metric;
  return metric === 'psnr' ? 'validation PSNR (dB)' : metric === 'accuracy' ? 'validation accuracy' : 'validation metric';
}

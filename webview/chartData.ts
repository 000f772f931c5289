// Data of the report's two charts, apart from chart.js so it is tested in node.
import type { RefineMetric, RunViewState } from '../src/protocol';
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

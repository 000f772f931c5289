// The report panel's charts: the solver's energy trace, the refinement curve and the recovery
// curve (Live tab), kept channels per layer before and after (Layers tab), and the metric against
// params and MACs for every method of a comparison (Compare tab). Configurations come from chartSpecs.ts, shared with
// the benchmark PNGs; colours from VS Code's theme variables, read when a chart is made and again
// when the theme changes (the body's class changes).
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Title, Tooltip } from 'chart.js';
import type { RunViewState } from '../src/view/panelState';
import { formatCount } from '../src/view/analysisModel';
import { comparePoints, energyPoints, keptBars, paretoFront, recoverAxisTitle, recoverSeries, refineAxisTitle, yRange, type ComparePoint } from './chartData';
import { curveChart, groupedBarChart, sweepChart, type ChartTheme, type SweepSeries } from './chartSpecs';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Title, Tooltip);

function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

interface Palette extends ChartTheme {
  a: string;
  b: string;
  /** One colour per method of a comparison. */
  series: string[];
  muted: string;
}

function palette(): Palette {
  const blue = themeColor('--vscode-charts-blue', '#3794ff');
  // Orange read as brown and faint on dark themes; purple stays visible on light and dark.
  const purple = themeColor('--vscode-charts-purple', '#b180d7');
  return {
    fg: themeColor('--vscode-foreground', '#cccccc'),
    grid: themeColor('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)'),
    a: blue,
    b: purple,
    muted: themeColor('--vscode-disabledForeground', '#888888'),
    series: [
      themeColor('--vscode-disabledForeground', '#888888'),
      themeColor('--vscode-charts-red', '#f14c4c'),
      themeColor('--vscode-charts-yellow', '#cca700'),
      themeColor('--vscode-charts-orange', '#d18616'),
      themeColor('--vscode-charts-green', '#89d185'),
      blue,
      purple,
    ],
  };
}

type AnyChart = Chart<'line' | 'bar', unknown[]>;

/** Fits a shared configuration into the panel's fixed-height boxes. */
function fill<T extends { options?: object }>(cfg: T): T {
  Object.assign(cfg.options ?? {}, { responsive: true, maintainAspectRatio: false });
  return cfg;
}

/** The comparison as series: one point per model (so each has its legend entry), then the Pareto front as a dashed line. */
function paretoSeries(points: readonly ComparePoint[], x: (p: ComparePoint) => number, p: Palette): SweepSeries[] {
  const series: SweepSeries[] = points.map((pt, i) => ({ label: pt.method, color: p.series[i % p.series.length]!, points: [{ x: x(pt), y: pt.metric }] }));
  const front = paretoFront(points, x, (pt) => pt.metric);
  if (front.length > 1) series.push({ label: 'Pareto front', color: p.muted, dashed: true, points: front.map((pt) => ({ x: x(pt), y: pt.metric })) });
  return series;
}

export class ReportCharts {
  private energy?: Chart<'line', { x: number; y: number }[]>;
  private refine?: Chart<'line', { x: number; y: number }[]>;
  private recover?: Chart<'line', { x: number; y: number }[]>;
  private kept?: AnyChart;
  private keptKey = '';
  private pareto: AnyChart[] = [];
  private paretoKey = '';

  constructor(private readonly canvas: (id: string) => HTMLCanvasElement) {}

  private live(s: RunViewState | undefined, p: Palette): void {
    // Most of the energy drop happens in the first iterations of hundreds of thousands: log x.
    this.energy ??= new Chart(this.canvas('energy-chart'), curveChart({ xTitle: 'iteration (log scale)', yTitle: 'best QUBO energy', series: [{ label: 'energy', color: p.a }], xLog: true }, p));
    this.refine ??= new Chart(this.canvas('refine-chart'), curveChart({ xTitle: 'evaluations', yTitle: 'metric', series: [{ label: 'best', color: p.a }, { label: 'elite mean', color: p.b, dashed: true }] }, p));
    const energy = energyPoints(s?.energy ?? []);
    const refine = s?.refine ?? [];
    this.energy.data.datasets[0]!.data = energy;
    const best = refine.map((pt) => ({ x: pt.evaluations, y: pt.best }));
    const elite = refine.map((pt) => ({ x: pt.evaluations, y: pt.eliteMean }));
    this.refine.data.datasets[0]!.data = best;
    this.refine.data.datasets[1]!.data = elite;
    // With a point or two there is no line to see, and chart.js spreads one value over ±5%.
    const few = refine.length <= 2 ? 3 : 0;
    for (const d of this.refine.data.datasets) d.pointRadius = few;
    this.energy.data.datasets[0]!.pointRadius = energy.length <= 2 ? 3 : 0;
    const scales = this.refine.options.scales!;
    const range = yRange([...best, ...elite].map((pt) => pt.y), s?.refineMetric);
    scales.y!.min = range?.min;
    scales.y!.max = range?.max;
    scales.x!.min = refine.length ? 0 : undefined;
    (scales.y as { title: { text: string } }).title.text = refineAxisTitle(s);
    this.energy.update('none');
    this.refine.update('none');
    this.recoverChart(s, p);
  }

  /** Recovery fine-tuning: training loss (log scale, left) and the validation metric (right) per step. */
  private recoverChart(s: RunViewState | undefined, p: Palette): void {
    this.recover ??= new Chart(
      this.canvas('recover-chart'),
      curveChart({ xTitle: 'training step', yTitle: 'training loss (log scale)', yLog: true, y2Title: 'validation metric', series: [{ label: 'training loss', color: p.a }, { label: 'validation', color: p.b, axis: 'y2' }] }, p),
    );
    const points = s?.recover ?? [];
    const { loss, validation } = recoverSeries(points);
    const [lossSet, valSet] = this.recover.data.datasets;
    lossSet!.data = loss;
    valSet!.data = validation;
    lossSet!.pointRadius = loss.length <= 2 ? 3 : 0;
    // Validation runs every few steps: markers show where it was measured.
    valSet!.pointRadius = 3;
    const scales = this.recover.options.scales!;
    (scales.y2 as { title: { text: string } }).title.text = recoverAxisTitle(points, s?.summary);
    const range = yRange(validation.map((pt) => pt.y), points[0]?.metric ?? s?.summary?.recovery?.metric);
    scales.y2!.min = range?.min;
    scales.y2!.max = range?.max;
    (scales.y as { ticks: { callback?: (v: number | string) => string } }).ticks.callback = (v) => Number(v).toExponential(0);
    this.recover.update('none');
  }

  /** Kept channels per layer: rebuilt only when the run's groups change (they arrive once, with the result). */
  private keptChart(s: RunViewState | undefined, p: Palette): void {
    const groups = s?.summary && !s.summary.compareOnly ? s.summary.groups : [];
    const key = JSON.stringify(groups);
    if (key === this.keptKey) return;
    this.keptKey = key;
    this.kept?.destroy();
    this.kept = undefined;
    if (!groups.length) return;
    const bars = keptBars(groups);
    const cfg = groupedBarChart(
      {
        xTitle: 'channel group',
        yTitle: 'channels',
        categories: bars.categories,
        series: [
          { label: 'before', color: p.muted, values: bars.before },
          { label: 'after (kept)', color: p.a, values: bars.after },
        ],
      },
      p,
    );
    this.kept = new Chart(this.canvas('kept-chart'), fill(cfg)) as unknown as AnyChart;
  }

  private paretoCharts(s: RunViewState | undefined, p: Palette): void {
    const cmp = s?.summary ? comparePoints(s.summary) : undefined;
    const key = JSON.stringify(cmp ?? null);
    if (key === this.paretoKey) return;
    this.paretoKey = key;
    for (const c of this.pareto) c.destroy();
    this.pareto = [];
    if (!cmp) return;
    const yTitle = cmp.metric === 'psnr' ? 'PSNR (dB)' : 'accuracy';
    const axes: [string, string, (pt: ComparePoint) => number][] = [
      ['pareto-params', 'parameters', (pt) => pt.params],
      ['pareto-macs', 'MACs', (pt) => pt.macs],
    ];
    for (const [id, xTitle, x] of axes) {
      const cfg = fill(sweepChart({ xTitle, yTitle, series: paretoSeries(cmp.points, x, p) }, p));
      const xScale = cfg.options!.scales!.x as { ticks: { callback?: (v: number | string) => string } };
      xScale.ticks.callback = (v) => formatCount(Number(v));
      this.pareto.push(new Chart(this.canvas(id), cfg) as unknown as AnyChart);
    }
  }

  update(s: RunViewState | undefined): void {
    const p = palette();
    this.live(s, p);
    this.keptChart(s, p);
    this.paretoCharts(s, p);
  }

  /** Rebuilds every chart with the current theme's colours. */
  retheme(s: RunViewState | undefined): void {
    for (const c of [this.energy, this.refine, this.recover, this.kept, ...this.pareto]) c?.destroy();
    this.energy = this.refine = this.recover = undefined;
    this.kept = undefined;
    this.pareto = [];
    this.keptKey = this.paretoKey = '';
    this.update(s);
  }
}

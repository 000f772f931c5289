// The two live charts of the report panel: the solver's energy trace and the refinement curve.
// Colours come from VS Code's theme variables, read when a chart is made and again when the
// theme changes (the body's class changes).
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import type { RunViewState } from '../src/protocol';
import { energyPoints, refineAxisTitle, yRange } from './chartData';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Tooltip);

function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

interface Palette {
  fg: string;
  grid: string;
  a: string;
  b: string;
}

function palette(): Palette {
  return {
    fg: themeColor('--vscode-foreground', '#cccccc'),
    grid: themeColor('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)'),
    a: themeColor('--vscode-charts-blue', '#3794ff'),
    // Orange read as brown and faint on dark themes; purple stays visible on light and dark.
    b: themeColor('--vscode-charts-purple', '#b180d7'),
  };
}

function config(xTitle: string, yTitle: string, labels: string[], p: Palette, xLog = false): ChartConfiguration<'line', { x: number; y: number }[]> {
  const colors = [p.a, p.b];
  return {
    type: 'line',
    data: { datasets: labels.map((label, i) => ({ label, data: [], borderColor: colors[i], backgroundColor: colors[i], pointRadius: 0, borderWidth: i ? 2 : 1.5, borderDash: i ? [5, 3] : [], tension: 0 })) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      plugins: { legend: { display: labels.length > 1, labels: { color: p.fg, boxWidth: 12 } }, tooltip: { enabled: true } },
      scales: {
        x: { type: xLog ? 'logarithmic' : 'linear', title: { display: true, text: xTitle, color: p.fg }, ticks: { color: p.fg, maxTicksLimit: 6 }, grid: { color: p.grid } },
        y: { type: 'linear', title: { display: true, text: yTitle, color: p.fg }, ticks: { color: p.fg, maxTicksLimit: 6 }, grid: { color: p.grid } },
      },
    },
  };
}

export class ReportCharts {
  private energy?: Chart<'line', { x: number; y: number }[]>;
  private refine?: Chart<'line', { x: number; y: number }[]>;

  constructor(
    private readonly energyCanvas: HTMLCanvasElement,
    private readonly refineCanvas: HTMLCanvasElement,
  ) {}

  private ensure(): void {
    const p = palette();
    // Most of the energy drop happens in the first iterations of hundreds of thousands: log x.
    this.energy ??= new Chart(this.energyCanvas, config('iteration (log scale)', 'best QUBO energy', ['energy'], p, true));
    this.refine ??= new Chart(this.refineCanvas, config('evaluations', 'metric', ['best', 'elite mean'], p));
  }

  update(s: RunViewState | undefined): void {
    this.ensure();
    const energy = energyPoints(s?.energy ?? []);
    const refine = s?.refine ?? [];
    this.energy!.data.datasets[0]!.data = energy;
    const best = refine.map((pt) => ({ x: pt.evaluations, y: pt.best }));
    const elite = refine.map((pt) => ({ x: pt.evaluations, y: pt.eliteMean }));
    this.refine!.data.datasets[0]!.data = best;
    this.refine!.data.datasets[1]!.data = elite;
    // With a point or two there is no line to see, and chart.js spreads one value over ±5%.
    const few = refine.length <= 2 ? 3 : 0;
    for (const d of this.refine!.data.datasets) d.pointRadius = few;
    this.energy!.data.datasets[0]!.pointRadius = energy.length <= 2 ? 3 : 0;
    const scales = this.refine!.options.scales!;
    const range = yRange([...best, ...elite].map((pt) => pt.y), s?.refineMetric);
    scales.y!.min = range?.min;
    scales.y!.max = range?.max;
    scales.x!.min = refine.length ? 0 : undefined;
    (scales.y as { title: { text: string } }).title.text = refineAxisTitle(s);
    this.energy!.update('none');
    this.refine!.update('none');
  }

  /** Rebuilds both charts with the current theme's colours. */
  retheme(s: RunViewState | undefined): void {
    this.energy?.destroy();
    this.refine?.destroy();
    this.energy = undefined;
    this.refine = undefined;
    this.update(s);
  }
}

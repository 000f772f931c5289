// The two live charts of the report panel: the solver's energy trace and the refinement curve.
// Colours come from VS Code's theme variables, read when a chart is made and again when the
// theme changes (the body's class changes).
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import type { RunViewState } from '../src/protocol';
import { energySeries } from './render';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

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
    b: themeColor('--vscode-charts-orange', '#d18616'),
  };
}

function config(xTitle: string, yTitle: string, labels: string[], p: Palette): ChartConfiguration<'line', { x: number; y: number }[]> {
  const colors = [p.a, p.b];
  return {
    type: 'line',
    data: { datasets: labels.map((label, i) => ({ label, data: [], borderColor: colors[i], backgroundColor: colors[i], pointRadius: 0, borderWidth: 1.5, tension: 0 })) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      plugins: { legend: { display: labels.length > 1, labels: { color: p.fg, boxWidth: 12 } }, tooltip: { enabled: true } },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle, color: p.fg }, ticks: { color: p.fg, maxTicksLimit: 6 }, grid: { color: p.grid } },
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
    this.energy ??= new Chart(this.energyCanvas, config('iteration', 'QUBO energy', ['energy'], p));
    this.refine ??= new Chart(this.refineCanvas, config('evaluations', 'metric', ['best', 'elite mean'], p));
  }

  update(s: RunViewState | undefined): void {
    this.ensure();
    const energy = energySeries(s?.energy ?? []);
    const refine = s?.refine ?? [];
    this.energy!.data.datasets[0]!.data = energy.map((pt) => ({ x: pt.iteration, y: pt.energy }));
    this.refine!.data.datasets[0]!.data = refine.map((pt) => ({ x: pt.evaluations, y: pt.best }));
    this.refine!.data.datasets[1]!.data = refine.map((pt) => ({ x: pt.evaluations, y: pt.eliteMean }));
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

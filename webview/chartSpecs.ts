// chart.js configurations shared by the report panel and the benchmark PNGs. Nothing here touches
// the DOM or node: callers pass colours (VS Code's theme in the panel, PRINT_THEME for the docs) and
// hand the configuration to a Chart on whatever canvas they have.
import type { ChartConfiguration, Plugin } from 'chart.js';

export interface ChartTheme {
  /** Text, ticks and titles. */
  fg: string;
  grid: string;
}

/** Dark text on white, for PNGs in the docs. */
export const PRINT_THEME: ChartTheme = { fg: '#222222', grid: '#e4e4e4' };

/** A point of a sweep; yErr (e.g. one standard deviation over seeds) is drawn as an error bar. */
export interface SweepPoint {
  x: number;
  y: number;
  yErr?: number;
}

export interface SweepSeries {
  label: string;
  color: string;
  points: SweepPoint[];
  dashed?: boolean;
}

export interface SweepChartInput {
  title?: string;
  xTitle: string;
  yTitle: string;
  series: SweepSeries[];
  /** Ticks exactly at these x values (the measured sparsities), instead of round numbers. */
  xTicks?: number[];
  /** Fixed y range; what lies outside is clipped. */
  yRange?: [number, number];
}

export interface BarSeries {
  label: string;
  color: string;
  values: number[];
}

export interface GroupedBarInput {
  title?: string;
  xTitle: string;
  yTitle: string;
  categories: string[];
  series: BarSeries[];
}

export interface CurveInput {
  xTitle: string;
  yTitle: string;
  /** `axis: 'y2'` draws a series against a second y axis on the right (`y2Title`). */
  series: { label: string; color: string; dashed?: boolean; axis?: 'y' | 'y2' }[];
  xLog?: boolean;
  yLog?: boolean;
  /** Title of the right-hand axis; it exists only when a series uses it. */
  y2Title?: string;
}

export type SweepConfig = ChartConfiguration<'line', SweepPoint[]>;
export type BarConfig = ChartConfiguration<'bar', number[]>;
export type CurveConfig = ChartConfiguration<'line', { x: number; y: number }[]>;

// Overlapping lines (methods that pick the same mask) stay distinguishable by their markers.
const POINT_STYLES = ['circle', 'rect', 'triangle', 'rectRot', 'crossRot', 'star', 'rectRounded'] as const;
const DASH = [6, 4];
// chart.js draws the plot up to the canvas edge; the last x tick label and bar need air on the right.
const FRAME_PADDING = { left: 4, right: 16, top: 4, bottom: 4 };

function checkValues(values: readonly number[], what: string): void {
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${what}[${i}] is ${String(v)}; chart values must be finite numbers`);
  });
}

function checkSweep(input: SweepChartInput): void {
  if (!input.series.length) throw new RangeError('sweep chart: no series to draw');
  for (const s of input.series) {
    if (!s.points.length) throw new RangeError(`sweep chart: series '${s.label}' has no points`);
    checkValues(s.points.map((p) => p.x), `series '${s.label}' x`);
    checkValues(s.points.map((p) => p.y), `series '${s.label}' y`);
    s.points.forEach((p, i) => {
      if (p.yErr !== undefined && !(Number.isFinite(p.yErr) && p.yErr >= 0)) {
        throw new RangeError(`series '${s.label}' yErr[${i}] is ${String(p.yErr)}; error bars must be finite and ≥ 0`);
      }
    });
  }
  if (input.xTicks) checkValues(input.xTicks, 'xTicks');
  const r = input.yRange;
  if (r && !(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] < r[1])) throw new RangeError(`yRange [${r.join(', ')}] must be finite with min < max`);
}

function checkBars(input: GroupedBarInput): void {
  if (!input.categories.length) throw new RangeError('bar chart: no categories');
  if (!input.series.length) throw new RangeError('bar chart: no series to draw');
  for (const s of input.series) {
    if (s.values.length !== input.categories.length) {
      throw new RangeError(`bar chart: series '${s.label}' has ${s.values.length} values for ${input.categories.length} categories`);
    }
    checkValues(s.values, `series '${s.label}'`);
  }
}

function axisTitle(text: string, theme: ChartTheme) {
  return { display: true, text, color: theme.fg, font: { size: 14 } };
}

function titlePlugin(title: string | undefined, theme: ChartTheme) {
  return { display: !!title, text: title ?? '', color: theme.fg, font: { size: 15, weight: 'bold' as const }, padding: { top: 4, bottom: 10 } };
}

/**
 * Vertical error bars with caps at ±yErr of each point of visible line datasets, clipped to the
 * plot area like the lines (chart.js has no error bars of its own).
 */
export const errorBarsPlugin: Plugin<'line'> = {
  id: 'qpErrorBars',
  afterDatasetsDraw(chart) {
    const { ctx, chartArea: area, scales } = chart;
    const y = scales.y;
    if (!y) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    chart.data.datasets.forEach((ds, i) => {
      if (!chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      ctx.strokeStyle = String(ds.borderColor ?? '#000');
      ctx.lineWidth = 1.5;
      ctx.setLineDash([]);
      (ds.data as unknown as SweepPoint[]).forEach((p, j) => {
        const el = meta.data[j];
        if (!p || !p.yErr || !el) return;
        const top = y.getPixelForValue(p.y + p.yErr);
        const bottom = y.getPixelForValue(p.y - p.yErr);
        const cap = 5;
        ctx.beginPath();
        ctx.moveTo(el.x, top);
        ctx.lineTo(el.x, bottom);
        ctx.moveTo(el.x - cap, top);
        ctx.lineTo(el.x + cap, top);
        ctx.moveTo(el.x - cap, bottom);
        ctx.lineTo(el.x + cap, bottom);
        ctx.stroke();
      });
    });
    ctx.restore();
  },
};

/**
 * A metric against a swept setting, one line per method (the benchmark's PSNR vs sparsity; the
 * panel's comparison of methods when it runs several sparsities). Markers differ per series.
 */
export function sweepChart(input: SweepChartInput, theme: ChartTheme): SweepConfig {
  checkSweep(input);
  const xs = input.series.flatMap((s) => s.points.map((p) => p.x));
  const xMin = Math.min(...xs, ...(input.xTicks ?? []));
  const xMax = Math.max(...xs, ...(input.xTicks ?? []));
  // Room on both sides so the end markers and their error bars are not cut by the frame.
  const pad = (xMax - xMin || 1) * 0.06;
  const ticks = input.xTicks;
  return {
    type: 'line',
    data: {
      datasets: input.series.map((s, i) => ({
        label: s.label,
        data: s.points,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: 2,
        borderDash: s.dashed ? DASH : [],
        pointStyle: POINT_STYLES[i % POINT_STYLES.length],
        pointRadius: 4,
        tension: 0,
      })),
    },
    options: {
      animation: false,
      parsing: false,
      layout: { padding: FRAME_PADDING },
      plugins: {
        title: titlePlugin(input.title, theme),
        legend: { position: 'bottom', labels: { color: theme.fg, usePointStyle: true, boxHeight: 8, padding: 14, font: { size: 13 } } },
      },
      scales: {
        x: {
          type: 'linear',
          min: xMin - pad,
          max: xMax + pad,
          title: axisTitle(input.xTitle, theme),
          grid: { color: theme.grid },
          ticks: { color: theme.fg, font: { size: 13 } },
          ...(ticks ? { afterBuildTicks: (axis: { ticks: { value: number }[] }) => void (axis.ticks = ticks.map((value) => ({ value }))) } : {}),
        },
        y: {
          type: 'linear',
          ...(input.yRange ? { min: input.yRange[0], max: input.yRange[1] } : {}),
          title: axisTitle(input.yTitle, theme),
          grid: { color: theme.grid },
          ticks: { color: theme.fg, font: { size: 13 } },
        },
      },
    },
    plugins: [errorBarsPlugin],
  };
}

/**
 * Grouped bars per category: kept channels per channel group, one bar per method (and the group
 * size as a reference series, given first in grey by the caller).
 */
export function groupedBarChart(input: GroupedBarInput, theme: ChartTheme): BarConfig {
  checkBars(input);
  return {
    type: 'bar',
    data: {
      labels: input.categories,
      datasets: input.series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color, borderWidth: 0, categoryPercentage: 0.8, barPercentage: 0.9 })),
    },
    options: {
      animation: false,
      layout: { padding: FRAME_PADDING },
      plugins: {
        title: titlePlugin(input.title, theme),
        legend: { position: 'bottom', labels: { color: theme.fg, padding: 14, font: { size: 13 } } },
      },
      scales: {
        x: { type: 'category', title: axisTitle(input.xTitle, theme), grid: { display: false }, ticks: { color: theme.fg, font: { size: 12 } } },
        y: { type: 'linear', beginAtZero: true, title: axisTitle(input.yTitle, theme), grid: { color: theme.grid }, ticks: { color: theme.fg, font: { size: 13 }, precision: 0 } },
      },
    },
  };
}

/**
 * Live progress curves (the solver's energy trace, the refinement's best and elite mean): empty
 * datasets the caller fills as events arrive, no markers, a log x axis on request.
 */
export function curveChart(input: CurveInput, theme: ChartTheme): CurveConfig {
  return {
    type: 'line',
    data: {
      datasets: input.series.map((s, i) => ({
        label: s.label,
        data: [],
        borderColor: s.color,
        backgroundColor: s.color,
        pointRadius: 0,
        borderWidth: i ? 2 : 1.5,
        borderDash: s.dashed ? [5, 3] : [],
        tension: 0,
        yAxisID: s.axis ?? 'y',
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      plugins: { legend: { display: input.series.length > 1, labels: { color: theme.fg, boxWidth: 12 } }, tooltip: { enabled: true } },
      scales: {
        x: { type: input.xLog ? 'logarithmic' : 'linear', title: { display: true, text: input.xTitle, color: theme.fg }, ticks: { color: theme.fg, maxTicksLimit: 6 }, grid: { color: theme.grid } },
        y: { type: input.yLog ? 'logarithmic' : 'linear', title: { display: true, text: input.yTitle, color: theme.fg }, ticks: { color: theme.fg, maxTicksLimit: 6 }, grid: { color: theme.grid } },
        // The second axis has its own scale; its grid would cross the first's, so it draws none.
        ...(input.series.some((s) => s.axis === 'y2')
          ? { y2: { type: 'linear' as const, position: 'right' as const, title: { display: true, text: input.y2Title ?? '', color: theme.fg }, ticks: { color: theme.fg, maxTicksLimit: 6 }, grid: { drawOnChartArea: false } } }
          : {}),
      },
    },
  };
}

/**
 * Line and grouped-bar charts rendered straight to PNG, for the benchmark reports (no canvas or browser).
 * Layout, in order: title on top, legend on the right (or below when labels are long), y label rotated on
 * the left, tick labels, x label at the bottom. Everything is integer-deterministic for a given spec.
 */
import { ChartError } from './errors';
import { encodePng } from './png';
import { Canvas, type Rect, type Rgb, measureText, parseColor, textAscent } from './raster';
import { formatTicks, formatValue, niceTicks, snapRange, ticksFor } from './ticks';
import { normalizeText, textHeight, textWidth } from './font';

export interface Series {
  label: string;
  x: number[];
  y: number[];
  yErr?: number[];
  color?: string;
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Exact x tick positions (e.g. the sparsities that were measured); nice ticks otherwise. */
  xTicks?: number[];
  /** Fixed y axis range; points outside are clipped. */
  yRange?: [number, number];
}

export interface BarGroupSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: { label: string; values: number[]; color?: string }[];
  width?: number;
  height?: number;
  /** Top of the y axis (bars above it are clipped); from the data otherwise. */
  yMax?: number;
  /** Dashed reference lines, e.g. the unpruned channel count. */
  hLines?: { y: number; label: string }[];
}

/** Ten well-separated colours (the Tableau 10 set); series beyond ten reuse them with other markers. */
export const PALETTE: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
];

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down';
const MARKERS: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'];

const INK: Rgb = [34, 34, 34];
const AXIS: Rgb = [80, 80, 80];
const GRID: Rgb = [228, 228, 228];
const FRAME: Rgb = [200, 200, 200];
const WHITE: Rgb = [255, 255, 255];
const REF_LINE: Rgb = [90, 90, 90];

/** Target distance between y ticks in pixels. */
const TICK_SPACING = (t: Theme) => Math.round(2.4 * t.lineH);
const DEFAULT_W = 900;
const DEFAULT_H = 540;
const MAX_LEGEND_CHARS = 32;

/** Sizes derived from the text scale, so small charts get a small font and proportionate margins. */
interface Theme {
  s: number;
  pad: number;
  tickLen: number;
  lineH: number;
  lineWidth: number;
  markerR: number;
  errWidth: number;
}

function theme(width: number, height: number): Theme {
  const s = width >= 560 && height >= 340 ? 2 : 1;
  return {
    s,
    pad: 6 * s,
    tickLen: s === 2 ? 6 : 4,
    lineH: textHeight(s),
    lineWidth: s === 2 ? 2.5 : 2,
    markerR: s === 2 ? 4.5 : 3,
    errWidth: s === 2 ? 1.6 : 1.2,
  };
}

// ---------------------------------------------------------------- validation

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 120 || width > 8192 || height > 8192) {
    throw new ChartError('bad-size', `chart size must be integers in 160..8192 x 120..8192, got ${width}x${height}`);
  }
}

function checkFinite(values: readonly number[], what: string): void {
  if (!Array.isArray(values)) throw new ChartError('length-mismatch', `${what} must be an array of numbers`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ChartError('non-finite', `${what}[${i}] is ${String(v)}; every value must be a finite number`);
    }
  }
}

function seriesColor(color: string | undefined, index: number, label: string): Rgb {
  return parseColor(color ?? PALETTE[index % PALETTE.length]!, `colour of series "${label}"`);
}

function validateLineSpec(spec: LineChartSpec): void {
  if (!spec || !Array.isArray(spec.series) || spec.series.length === 0) {
    throw new ChartError('empty', 'line chart needs at least one series');
  }
  spec.series.forEach((s, i) => {
    const name = `series ${i} ("${s.label}")`;
    if (!Array.isArray(s.x) || !Array.isArray(s.y)) throw new ChartError('length-mismatch', `${name} needs x and y arrays`);
    if (s.x.length === 0) throw new ChartError('empty', `${name} has no points`);
    if (s.x.length !== s.y.length) {
      throw new ChartError('length-mismatch', `${name} has ${s.x.length} x values but ${s.y.length} y values`);
    }
    checkFinite(s.x, `${name} x`);
    checkFinite(s.y, `${name} y`);
    if (s.yErr !== undefined) {
      if (!Array.isArray(s.yErr) || s.yErr.length !== s.y.length) {
        throw new ChartError('length-mismatch', `${name} has ${s.y.length} y values but ${s.yErr?.length} yErr values`);
      }
      checkFinite(s.yErr, `${name} yErr`);
      const neg = s.yErr.findIndex((e) => e < 0);
      if (neg >= 0) throw new ChartError('bad-range', `${name} yErr[${neg}] is negative (${s.yErr[neg]})`);
    }
  });
  if (spec.xTicks !== undefined) {
    if (spec.xTicks.length === 0) throw new ChartError('empty', 'xTicks is empty; leave it out for automatic ticks');
    checkFinite(spec.xTicks, 'xTicks');
  }
  if (spec.yRange !== undefined) {
    checkFinite(spec.yRange, 'yRange');
    if (spec.yRange.length !== 2 || !(spec.yRange[0] < spec.yRange[1])) {
      throw new ChartError('bad-range', `yRange must be [low, high] with low < high, got [${spec.yRange.join(', ')}]`);
    }
  }
}

function validateBarSpec(spec: BarGroupSpec): void {
  if (!spec || !Array.isArray(spec.categories) || spec.categories.length === 0) {
    throw new ChartError('empty', 'bar chart needs at least one category');
  }
  if (!Array.isArray(spec.series) || spec.series.length === 0) throw new ChartError('empty', 'bar chart needs at least one series');
  spec.series.forEach((s, i) => {
    const name = `series ${i} ("${s.label}")`;
    if (!Array.isArray(s.values) || s.values.length !== spec.categories.length) {
      throw new ChartError(
        'length-mismatch',
        `${name} has ${s.values?.length} values but there are ${spec.categories.length} categories`,
      );
    }
    checkFinite(s.values, `${name} values`);
  });
  if (spec.yMax !== undefined) checkFinite([spec.yMax], 'yMax');
  spec.hLines?.forEach((h, i) => checkFinite([h.y], `hLines[${i}].y`));
}

// ---------------------------------------------------------------- shared layout pieces

/** Keeps the tail of long labels (layer names differ at the end), marking the cut with "..". */
export function shorten(label: string, maxChars: number): string {
  const s = normalizeText(label);
  if (s.length <= maxChars) return s;
  return '..' + s.slice(s.length - Math.max(1, maxChars - 2));
}

/** Keeps the head of a long label, marking the cut with "..". */
function clipHead(label: string, maxChars: number): string {
  const s = normalizeText(label);
  return s.length <= maxChars ? s : s.slice(0, Math.max(1, maxChars - 2)) + '..';
}

/**
 * Category labels of at most `maxChars`: when some are longer, a prefix that all of them share up to a
 * separator ("encoder." in "encoder.block3.conv1") is dropped first, then the tails are kept.
 */
export function categoryLabels(categories: readonly string[], maxChars: number): string[] {
  let names = categories.map(normalizeText);
  if (names.length > 1 && names.some((n) => n.length > maxChars)) {
    let p = 0;
    const first = names[0]!;
    while (p < first.length && names.every((n) => n[p] === first[p])) p++;
    const cut = Math.max(first.lastIndexOf('.', p - 1), first.lastIndexOf('/', p - 1), first.lastIndexOf('_', p - 1)) + 1;
    if (cut > 0 && names.every((n) => n.length > cut)) names = names.map((n) => n.slice(cut));
  }
  return names.map((n) => shorten(n, maxChars));
}

function truncateToWidth(text: string, maxW: number, scale: number): string {
  let s = normalizeText(text);
  if (textWidth(s, scale) <= maxW) return s;
  while (s.length > 1 && textWidth(s + '..', scale) > maxW) s = s.slice(0, -1);
  return s + '..';
}

type Swatch = { kind: 'line'; color: Rgb; dashed: boolean; marker: MarkerShape } | { kind: 'box'; color: Rgb };

interface LegendLayout {
  placement: 'right' | 'below';
  width: number;
  height: number;
  /** Offsets of each entry inside the legend box. */
  items: { dx: number; dy: number; label: string; swatch: Swatch }[];
}

function layoutLegend(entries: { label: string; swatch: Swatch }[], t: Theme, chartW: number): LegendLayout {
  const { s, pad } = t;
  const swatchW = 16 * s;
  const gap = 4 * s;
  const rowH = t.lineH + 3 * s;
  const labels = entries.map((e) => clipHead(e.label, MAX_LEGEND_CHARS));
  const widths = labels.map((l) => textWidth(l, s));
  const inner = Math.max(...widths) + swatchW + gap;
  const rightW = inner + 2 * pad;
  if (rightW <= chartW * 0.3) {
    return {
      placement: 'right',
      width: rightW,
      height: entries.length * rowH + 2 * pad - 3 * s,
      items: entries.map((e, i) => ({ dx: pad, dy: pad + i * rowH, label: labels[i]!, swatch: e.swatch })),
    };
  }
  // Below the plot: entries flow into rows, all columns as wide as the widest entry so the rows line up.
  const colW = inner + 6 * s;
  const usable = chartW - 2 * pad - 2 * pad;
  const cols = Math.max(1, Math.min(entries.length, Math.floor((usable + 6 * s) / colW)));
  const rows = Math.ceil(entries.length / cols);
  return {
    placement: 'below',
    width: cols * colW - 6 * s + 2 * pad,
    height: rows * rowH + 2 * pad - 3 * s,
    items: entries.map((e, i) => ({
      dx: pad + (i % cols) * colW,
      dy: pad + Math.floor(i / cols) * rowH,
      label: truncateToWidth(labels[i]!, usable - swatchW - gap, s),
      swatch: e.swatch,
    })),
  };
}

function drawLegend(c: Canvas, lg: LegendLayout, x: number, y: number, t: Theme): Rect {
  c.fillRect(x, y, x + lg.width, y + lg.height, WHITE);
  c.strokeRect(x, y, x + lg.width, y + lg.height, FRAME);
  const { s } = t;
  const swatchW = 16 * s;
  for (const it of lg.items) {
    const ix = x + it.dx;
    const iy = y + it.dy;
    const mid = iy + Math.round(textAscent(s) / 2);
    const sw = it.swatch;
    if (sw.kind === 'box') {
      const h = 5 * s;
      c.fillRect(ix + 1, mid - h, ix + swatchW - 1, mid + h, sw.color);
    } else {
      c.strokePolyline([[ix, mid + 0.5], [ix + swatchW, mid + 0.5]], t.lineWidth, sw.color, undefined, sw.dashed ? [4 * s, 2.5 * s] : undefined);
      drawMarker(c, sw.marker, ix + swatchW / 2, mid + 0.5, t.markerR, sw.color);
    }
    c.text(it.label, ix + swatchW + 4 * s, iy, { scale: s, color: INK });
  }
  return { x0: x, y0: y, x1: x + lg.width, y1: y + lg.height };
}

export function drawMarker(c: Canvas, shape: MarkerShape, cx: number, cy: number, r: number, color: Rgb, clip?: Rect): void {
  const poly = (rr: number): [number, number][] => {
    switch (shape) {
      case 'square':
        return [[cx - rr * 0.9, cy - rr * 0.9], [cx + rr * 0.9, cy - rr * 0.9], [cx + rr * 0.9, cy + rr * 0.9], [cx - rr * 0.9, cy + rr * 0.9]];
      case 'diamond':
        return [[cx, cy - rr * 1.25], [cx + rr * 1.25, cy], [cx, cy + rr * 1.25], [cx - rr * 1.25, cy]];
      case 'triangle':
        return [[cx, cy - rr * 1.3], [cx + rr * 1.15, cy + rr * 0.75], [cx - rr * 1.15, cy + rr * 0.75]];
      case 'triangle-down':
        return [[cx, cy + rr * 1.3], [cx - rr * 1.15, cy - rr * 0.75], [cx + rr * 1.15, cy - rr * 0.75]];
      default:
        return [];
    }
  };
  // A thin white halo keeps overlapping markers of different series apart.
  const halo = 1.5;
  if (shape === 'circle') {
    c.fillCircle(cx, cy, r + halo, WHITE, clip);
    c.fillCircle(cx, cy, r, color, clip);
  } else {
    c.fillConvex(poly(r + halo * 1.1), WHITE, clip);
    c.fillConvex(poly(r), color, clip);
  }
}

/** Horizontal grid lines, y tick marks and labels, and the left and bottom axis lines. */
function drawYAxis(c: Canvas, plot: Rect, ticks: number[], toPx: (v: number) => number, labels: string[], t: Theme): void {
  for (let i = 0; i < ticks.length; i++) {
    const py = Math.floor(toPx(ticks[i]!));
    if (py < plot.y0 || py > plot.y1) continue;
    if (py < plot.y1) c.fillRect(plot.x0, py, plot.x1, py + 1, GRID);
    c.fillRect(plot.x0 - 1 - t.tickLen, py, plot.x0 - 1, py + 1, AXIS);
    c.text(labels[i]!, plot.x0 - 1 - t.tickLen - 3 * t.s, py - Math.round(textAscent(t.s) / 2), {
      scale: t.s,
      color: INK,
      align: 'right',
    });
  }
}

function drawAxisLines(c: Canvas, plot: Rect): void {
  c.fillRect(plot.x0 - 1, plot.y0, plot.x0, plot.y1 + 1, AXIS);
  c.fillRect(plot.x0 - 1, plot.y1, plot.x1, plot.y1 + 1, AXIS);
}

/** Title centred over the plot when it fits there, else over the whole chart; cut with ".." if too long. */
function drawTitle(c: Canvas, title: string, plot: Rect, t: Theme): Rect | undefined {
  if (!title) return undefined;
  const text = truncateToWidth(title, c.width - 2 * t.pad, t.s);
  const w = measureText(text, t.s, true).width;
  const mid = w <= plot.x1 - plot.x0 ? (plot.x0 + plot.x1) / 2 : c.width / 2;
  const x = Math.min(Math.max(t.pad, mid - w / 2), c.width - t.pad - w);
  return c.text(text, x, t.pad, { scale: t.s, color: INK, bold: true });
}

/** Axis labels, legend and title, shared by both chart kinds; `below` is the height of the x tick labels. */
function drawAnnotations(
  c: Canvas,
  spec: { title: string; xLabel: string; yLabel: string },
  plot: Rect,
  below: number,
  legend: LegendLayout,
  t: Theme,
): { legendBox: Rect; titleBox: Rect | undefined } {
  const { s, pad } = t;
  if (spec.xLabel) {
    c.text(spec.xLabel, (plot.x0 + plot.x1) / 2, plot.y1 + 1 + below + 4 * s, { scale: s, color: INK, align: 'center' });
  }
  if (spec.yLabel) {
    const text = truncateToWidth(spec.yLabel, plot.y1 - plot.y0, s);
    c.text(text, pad, (plot.y0 + plot.y1) / 2, { scale: s, color: INK, vertical: true, valign: 'middle' });
  }
  const lgX = legend.placement === 'right' ? plot.x1 + 2 * pad : Math.round((plot.x0 + plot.x1 - legend.width) / 2);
  const lgY = legend.placement === 'right' ? plot.y0 : c.height - pad - legend.height;
  return { legendBox: drawLegend(c, legend, Math.max(0, lgX), lgY, t), titleBox: drawTitle(c, spec.title, plot, t) };
}

function titleBlock(title: string, t: Theme): number {
  return t.pad + (title ? t.lineH + 4 * t.s : 2 * t.s);
}

function axisLabelBlock(label: string, t: Theme): number {
  return label ? t.lineH + 4 * t.s : 0;
}

// ---------------------------------------------------------------- line chart

export interface LineChartLayout {
  width: number;
  height: number;
  plot: Rect;
  xRange: [number, number];
  yRange: [number, number];
  xTicks: number[];
  yTicks: number[];
  /** Boxes of the x tick labels actually drawn. */
  xTickBoxes: Rect[];
  legend: Rect;
  legendPlacement: 'right' | 'below';
  title?: Rect;
  xToPx(v: number): number;
  yToPx(v: number): number;
}

/** Size, theme and series colours of a validated spec. */
function setup(spec: { width?: number; height?: number; series: { label: string; color?: string }[] }) {
  const width = spec.width ?? DEFAULT_W;
  const height = spec.height ?? DEFAULT_H;
  checkSize(width, height);
  const t = theme(width, height);
  const colors = spec.series.map((se, i) => seriesColor(se.color, i, se.label));
  return { width, height, t, s: t.s, pad: t.pad, colors };
}

export function renderLineChart(spec: LineChartSpec): { canvas: Canvas; layout: LineChartLayout } {
  validateLineSpec(spec);
  const { width, height, t, s, pad, colors } = setup(spec);
  const markers = spec.series.map((_, i) => MARKERS[i % MARKERS.length]!);

  // Data extents (error bars included, so they are never clipped by an automatic range).
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const se of spec.series) {
    se.x.forEach((x, i) => {
      const e = se.yErr?.[i] ?? 0;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, se.y[i]! - e);
      yMax = Math.max(yMax, se.y[i]! + e);
    });
  }
  if (spec.xTicks) {
    xMin = Math.min(xMin, ...spec.xTicks);
    xMax = Math.max(xMax, ...spec.xTicks);
  }

  const legend = layoutLegend(
    spec.series.map((se, i) => ({ label: se.label, swatch: { kind: 'line', color: colors[i]!, dashed: !!se.dashed, marker: markers[i]! } })),
    t,
    width,
  );

  // Vertical layout first: it does not depend on the tick values.
  const top = titleBlock(spec.title, t);
  const xTickBlock = t.tickLen + 3 * s + t.lineH;
  let bottom = xTickBlock + (spec.xLabel ? 4 * s : 0) + axisLabelBlock(spec.xLabel, t) + pad;
  if (legend.placement === 'below') bottom += legend.height + 4 * s;
  const plotY0 = top;
  const plotY1 = height - bottom;
  const plotH = plotY1 - plotY0;
  if (plotH < 20) throw new ChartError('bad-size', `chart height ${height} leaves no room for the plot`);

  let yLo: number;
  let yHi: number;
  let yTicks: number[];
  let yStep: number;
  if (spec.yRange) {
    [yLo, yHi] = spec.yRange;
    ({ ticks: yTicks, step: yStep } = niceTicks(yLo, yHi, Math.max(2, Math.floor(plotH / TICK_SPACING(t)))));
  } else {
    if (yMax - yMin < 1e-12 * Math.max(1, Math.abs(yMax))) {
      const d = Math.abs(yMax) > 0 ? Math.abs(yMax) * 0.1 : 1;
      yMin -= d;
      yMax += d;
    }
    const m = (yMax - yMin) * 0.05;
    yLo = yMin - m;
    yHi = yMax + m;
    ({ ticks: yTicks, step: yStep } = niceTicks(yLo, yHi, Math.max(2, Math.floor(plotH / TICK_SPACING(t)))));
  }
  const yLabels = formatTicks(yTicks, yStep);
  const yTickW = Math.max(0, ...yLabels.map((l) => textWidth(l, s)));

  const left = pad + (spec.yLabel ? t.lineH + 4 * s : 0) + yTickW + 3 * s + t.tickLen + 1;
  const right = legend.placement === 'right' ? legend.width + 2 * pad + 2 * s : 3 * pad;
  const plot: Rect = { x0: left, y0: plotY0, x1: width - right, y1: plotY1 };
  const plotW = plot.x1 - plot.x0;
  if (plotW < 20) throw new ChartError('bad-size', `chart width ${width} leaves no room for the plot`);

  // x range: padded so that markers at the extremes do not sit on the axes.
  if (xMax - xMin < 1e-12 * Math.max(1, Math.abs(xMax))) {
    const d = Math.abs(xMax) > 0 ? Math.abs(xMax) * 0.1 : 1;
    xMin -= d;
    xMax += d;
  }
  const xm = (xMax - xMin) * 0.06;
  const xLo = xMin - xm;
  const xHi = xMax + xm;
  let xTicks: number[] = [];
  let xLabels: string[] = [];
  if (spec.xTicks) {
    xTicks = [...spec.xTicks];
    xLabels = xTicks.map(formatValue);
  } else {
    // The densest nice ticks whose labels still sit side by side with room to spare.
    let count = Math.max(2, Math.floor(plotW / (24 * s)));
    for (;;) {
      const nt = niceTicks(xLo, xHi, count);
      xTicks = nt.ticks;
      xLabels = formatTicks(xTicks, nt.step);
      const toPx = (v: number) => ((v - xLo) / (xHi - xLo)) * plotW;
      const fits = thinning(xTicks.map((v, i) => ({ center: toPx(v), w: textWidth(xLabels[i]!, s) })), 8 * s) === 1;
      if (fits || count <= 2) break;
      count--;
    }
  }

  const xToPx = (v: number) => plot.x0 + ((v - xLo) / (xHi - xLo)) * plotW;
  const yToPx = (v: number) => plot.y1 - ((v - yLo) / (yHi - yLo)) * plotH;

  const c = new Canvas(width, height);

  // Grid and y axis.
  drawYAxis(c, plot, yTicks, yToPx, yLabels, t);
  const every = thinning(xTicks.map((v, i) => ({ center: xToPx(v), w: textWidth(xLabels[i]!, s) })), 4 * s);
  const xTickBoxes: Rect[] = [];
  xTicks.forEach((v, i) => {
    const px = Math.floor(xToPx(v));
    if (px < plot.x0 || px >= plot.x1) return;
    c.fillRect(px, plot.y0, px + 1, plot.y1, GRID);
    c.fillRect(px, plot.y1, px + 1, plot.y1 + 1 + t.tickLen, AXIS);
    if (i % every === 0) {
      xTickBoxes.push(c.text(xLabels[i]!, px + 0.5, plot.y1 + 1 + t.tickLen + 3 * s, { scale: s, color: INK, align: 'center' }));
    }
  });

  // Data: error bars under lines under markers, each layer in series order.
  const clip = plot;
  spec.series.forEach((se, k) => {
    if (!se.yErr) return;
    const cap = 3 * s;
    se.x.forEach((x, i) => {
      const e = se.yErr![i]!;
      if (e === 0) return;
      const px = xToPx(x);
      const ya = yToPx(se.y[i]! - e);
      const yb = yToPx(se.y[i]! + e);
      c.strokePolyline([[px, ya], [px, yb]], t.errWidth, colors[k]!, clip);
      c.strokePolyline([[px - cap, ya], [px + cap, ya]], t.errWidth, colors[k]!, clip);
      c.strokePolyline([[px - cap, yb], [px + cap, yb]], t.errWidth, colors[k]!, clip);
    });
  });
  spec.series.forEach((se, k) => {
    if (se.x.length < 2) return;
    const pts = se.x.map((x, i) => [xToPx(x), yToPx(se.y[i]!)] as [number, number]);
    c.strokePolyline(pts, t.lineWidth, colors[k]!, clip, se.dashed ? [5 * s, 3 * s] : undefined);
  });
  spec.series.forEach((se, k) => {
    se.x.forEach((x, i) => drawMarker(c, markers[k]!, xToPx(x), yToPx(se.y[i]!), t.markerR, colors[k]!, clip));
  });

  drawAxisLines(c, plot);

  const { legendBox, titleBox } = drawAnnotations(c, spec, plot, xTickBlock, legend, t);

  return {
    canvas: c,
    layout: {
      width,
      height,
      plot,
      xRange: [xLo, xHi],
      yRange: [yLo, yHi],
      xTicks,
      yTicks,
      xTickBoxes,
      legend: legendBox,
      legendPlacement: legend.placement,
      ...(titleBox ? { title: titleBox } : {}),
      xToPx,
      yToPx,
    },
  };
}

/** Smallest k such that labelling every k-th of these centred labels leaves at least `gap` pixels between them. */
function thinning(items: { center: number; w: number }[], gap: number): number {
  for (let k = 1; k < Math.max(2, items.length); k++) {
    let ok = true;
    for (let i = k; i < items.length && ok; i += k) {
      const a = items[i - k]!;
      const b = items[i]!;
      if (b.center - b.w / 2 - (a.center + a.w / 2) < gap) ok = false;
    }
    if (ok) return k;
  }
  return Math.max(1, items.length);
}

export function lineChartPng(spec: LineChartSpec): Buffer {
  const { canvas } = renderLineChart(spec);
  return encodePng(canvas.width, canvas.height, canvas.data);
}

// ---------------------------------------------------------------- grouped bars

export interface BarChartLayout {
  width: number;
  height: number;
  plot: Rect;
  yRange: [number, number];
  yTicks: number[];
  /** Pixel rectangle of every bar (empty for zero values), by series then category. */
  bars: { series: number; category: number; rect: Rect }[];
  labelMode: { orientation: 'horizontal' | 'vertical'; every: number };
  /** Boxes of the category labels actually drawn. */
  labelBoxes: Rect[];
  legend: Rect;
  legendPlacement: 'right' | 'below';
  title?: Rect;
  yToPx(v: number): number;
}

export function renderGroupedBarChart(spec: BarGroupSpec): { canvas: Canvas; layout: BarChartLayout } {
  validateBarSpec(spec);
  const { width, height, t, s, pad, colors } = setup(spec);
  const nCat = spec.categories.length;
  const nSer = spec.series.length;

  let dataMin = 0;
  let dataMax = 0;
  for (const se of spec.series) for (const v of se.values) (dataMin = Math.min(dataMin, v)), (dataMax = Math.max(dataMax, v));
  for (const h of spec.hLines ?? []) (dataMin = Math.min(dataMin, h.y)), (dataMax = Math.max(dataMax, h.y));
  if (spec.yMax !== undefined && !(spec.yMax > dataMin)) {
    throw new ChartError('bad-range', `yMax (${spec.yMax}) must be above the lowest value (${dataMin})`);
  }

  const legend = layoutLegend(spec.series.map((se, i) => ({ label: se.label, swatch: { kind: 'box', color: colors[i]! } })), t, width);
  const top = titleBlock(spec.title, t);
  const legendBelow = legend.placement === 'below' ? legend.height + 4 * s : 0;
  const xLabelH = spec.xLabel ? 4 * s + axisLabelBlock(spec.xLabel, t) : 0;

  // Estimate the plot height with one row of horizontal labels to choose y ticks; their widths set the left margin.
  const estH = height - top - (t.tickLen + 3 * s + t.lineH + xLabelH + pad + legendBelow);
  const targetTicks = Math.max(2, Math.floor(estH / TICK_SPACING(t)));
  let yLo: number;
  let yHi: number;
  let yStep: number;
  let yTicks: number[];
  if (spec.yMax !== undefined) {
    yLo = dataMin;
    yHi = spec.yMax;
    ({ ticks: yTicks, step: yStep } = niceTicks(yLo, yHi, targetTicks));
  } else {
    if (dataMax === dataMin) dataMax = dataMin + 1;
    const headroom = (dataMax - dataMin) * 0.04;
    ({ step: yStep } = niceTicks(dataMin, dataMax + headroom, targetTicks));
    [yLo, yHi] = snapRange(dataMin, dataMax + headroom, yStep);
    yTicks = ticksFor(yLo, yHi, yStep);
  }
  const yLabels = formatTicks(yTicks, yStep);
  const yTickW = Math.max(0, ...yLabels.map((l) => textWidth(l, s)));
  const left = pad + (spec.yLabel ? t.lineH + 4 * s : 0) + yTickW + 3 * s + t.tickLen + 1;
  const right = legend.placement === 'right' ? legend.width + 2 * pad + 2 * s : 3 * pad;
  const plotX0 = left;
  const plotX1 = width - right;
  const plotW = plotX1 - plotX0;
  if (plotW < nCat) throw new ChartError('bad-size', `chart width ${width} is too small for ${nCat} categories`);
  const slot = plotW / nCat;

  // Category labels: horizontal if every k-th fits side by side for a k no larger than vertical labels need,
  // otherwise vertical (reading upwards), cut to a length that keeps the plot at least half the chart height.
  const hLabels = categoryLabels(spec.categories, 24);
  const hMaxW = Math.max(...hLabels.map((l) => textWidth(l, s)));
  const gapPx = 4 * s;
  const kH = Math.max(1, Math.ceil((hMaxW + gapPx) / slot));
  // The two descender rows are mostly blank, so a slot as wide as the line height leaves a visible gap.
  const kV = Math.max(1, Math.ceil(t.lineH / slot));
  const vertical = kH > kV;
  const every = vertical ? kV : kH;
  const maxVChars = Math.max(3, Math.floor((height * 0.28) / (6 * s)));
  const labels = vertical ? categoryLabels(spec.categories, maxVChars) : hLabels;
  const labelExtent = vertical ? Math.max(...labels.filter((_, i) => i % every === 0).map((l) => textWidth(l, s))) : t.lineH;

  const catBlock = t.tickLen + 3 * s + labelExtent;
  const bottom = catBlock + xLabelH + pad + legendBelow;
  const plot: Rect = { x0: plotX0, y0: top, x1: plotX1, y1: height - bottom };
  const plotH = plot.y1 - plot.y0;
  if (plotH < 20) throw new ChartError('bad-size', `chart height ${height} leaves no room for the plot`);
  const yToPx = (v: number) => plot.y1 - ((v - yLo) / (yHi - yLo)) * plotH;

  const c = new Canvas(width, height);
  drawYAxis(c, plot, yTicks, yToPx, yLabels, t);

  // Bars: integer edges from rounded float positions so neighbouring bars neither overlap nor leave gaps.
  const group = slot * (nSer === 1 ? 0.7 : 0.8);
  const barW = group / nSer;
  const base = Math.round(yToPx(Math.max(yLo, Math.min(yHi, 0))));
  const bars: BarChartLayout['bars'] = [];
  spec.series.forEach((se, j) => {
    se.values.forEach((v, ci) => {
      const gx = plot.x0 + slot * ci + (slot - group) / 2;
      const x0 = Math.round(gx + barW * j);
      let x1 = Math.round(gx + barW * (j + 1));
      if (barW >= 6 && j < nSer - 1) x1 -= 1; // a hairline between adjacent bars of one group
      if (x1 <= x0) x1 = x0 + 1;
      const yv = Math.round(yToPx(Math.max(yLo, Math.min(yHi, v))));
      const rect = { x0, y0: Math.max(plot.y0, Math.min(yv, base)), x1, y1: Math.min(plot.y1, Math.max(yv, base)) };
      if (rect.y1 > rect.y0) c.fillRect(rect.x0, rect.y0, rect.x1, rect.y1, colors[j]!);
      bars.push({ series: j, category: ci, rect });
    });
  });

  // With negative values the bars grow from a zero line inside the plot; make it as visible as the axis.
  if (yLo < 0 && yHi > 0) c.fillRect(plot.x0, base, plot.x1, base + 1, AXIS);

  for (const h of spec.hLines ?? []) {
    if (h.y < yLo || h.y > yHi) continue;
    const py = Math.floor(yToPx(h.y)) + 0.5;
    c.strokePolyline([[plot.x0, py], [plot.x1, py]], s === 2 ? 1.5 : 1, REF_LINE, plot, [6 * s, 4 * s]);
    if (h.label) {
      const text = truncateToWidth(h.label, plot.x1 - plot.x0 - 8 * s, s);
      const m = measureText(text, s);
      const above = py - t.lineH - 2 * s > plot.y0;
      const ty = above ? Math.round(py - 2 * s - textAscent(s) - 2 * s) : Math.round(py + 3 * s);
      const tx = plot.x1 - 4 * s - m.width;
      c.fillRect(tx - 2 * s, ty - s, tx + m.width + 2 * s, ty + textAscent(s) + 2 * s, WHITE, 0.85);
      c.text(text, tx, ty, { scale: s, color: INK });
    }
  }

  drawAxisLines(c, plot);

  const labelBoxes: Rect[] = [];
  for (let ci = 0; ci < nCat; ci += every) {
    const cx = Math.floor(plot.x0 + slot * (ci + 0.5));
    c.fillRect(cx, plot.y1 + 1, cx + 1, plot.y1 + 1 + t.tickLen, AXIS);
    const ly = plot.y1 + 1 + t.tickLen + 3 * s;
    labelBoxes.push(
      vertical
        ? c.text(labels[ci]!, cx + 1, ly, { scale: s, color: INK, vertical: true, align: 'center' })
        : c.text(labels[ci]!, cx + 0.5, ly, { scale: s, color: INK, align: 'center' }),
    );
  }

  const { legendBox, titleBox } = drawAnnotations(c, spec, plot, catBlock, legend, t);

  return {
    canvas: c,
    layout: {
      width,
      height,
      plot,
      yRange: [yLo, yHi],
      yTicks,
      bars,
      labelMode: { orientation: vertical ? 'vertical' : 'horizontal', every },
      labelBoxes,
      legend: legendBox,
      legendPlacement: legend.placement,
      ...(titleBox ? { title: titleBox } : {}),
      yToPx,
    },
  };
}

export function groupedBarChartPng(spec: BarGroupSpec): Buffer {
  const { canvas } = renderGroupedBarChart(spec);
  return encodePng(canvas.width, canvas.height, canvas.data);
}

export { encodePng } from './png';
export { ChartError } from './errors';

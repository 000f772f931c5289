// The benchmark PNGs: chart.js configurations from webview/chartSpecs.ts drawn in node by
// bench/lib/renderChart.ts, decoded again with pngjs and checked by their pixels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { GlobalFonts } from '@napi-rs/canvas';
import { PNG } from 'pngjs';
import { chartFontFamily } from '../../bench/lib/chartFont';
import { renderChartPng } from '../../bench/lib/renderChart';
import { curveChart, groupedBarChart, PRINT_THEME, sweepChart, type GroupedBarInput, type SweepChartInput } from '../../webview/chartSpecs';

const RED = '#d62728';
const BLUE = '#1f77b4';
const GREEN = '#2ca02c';

function rgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Pixels of exactly this colour (line and bar interiors are drawn unblended), optionally in a row band. */
function count(img: PNG, hex: string, rows: [number, number] = [0, img.height]): number {
  const [r, g, b] = rgb(hex);
  let n = 0;
  for (let y = rows[0]; y < rows[1]; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 4;
      if (img.data[o] === r && img.data[o + 1] === g && img.data[o + 2] === b && img.data[o + 3] === 255) n++;
    }
  }
  return n;
}

/** Dark text pixels (titles and labels are drawn in PRINT_THEME.fg, #222). */
function dark(img: PNG, rows: [number, number]): number {
  let n = 0;
  for (let y = rows[0]; y < rows[1]; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 4;
      if (img.data[o]! < 90 && img.data[o + 1]! < 90 && img.data[o + 2]! < 90) n++;
    }
  }
  return n;
}

const sweep = (over: Partial<SweepChartInput> = {}): SweepChartInput => ({
  title: 'PSNR vs sparsity',
  xTitle: 'filter sparsity (%)',
  yTitle: 'PSNR (dB)',
  xTicks: [20, 36, 50],
  series: [
    { label: 'Hybrid', color: RED, points: [{ x: 20, y: 32.9, yErr: 0.3 }, { x: 36, y: 32.1, yErr: 0.4 }, { x: 50, y: 31.0, yErr: 0.5 }] },
    { label: 'Taylor', color: BLUE, points: [{ x: 20, y: 32.4 }, { x: 36, y: 31.2 }, { x: 50, y: 29.6 }], dashed: true },
  ],
  ...over,
});

const bars = (): GroupedBarInput => ({
  title: 'kept channels per group',
  xTitle: 'channel group',
  yTitle: 'kept channels',
  categories: ['1:conv', '2:conv', '3:conv', '4:conv'],
  series: [
    { label: 'A', color: RED, values: [10, 10, 10, 10] },
    { label: 'B', color: BLUE, values: [20, 20, 20, 20] },
  ],
});

const decode = (png: Buffer) => PNG.sync.read(png);

describe('chart font', () => {
  test('a sans-serif family of this machine is used for chart text', () => {
    const family = chartFontFamily('');
    assert.ok(GlobalFonts.families.some((f) => f.family === family), `${family} is not among the loaded fonts`);
    assert.doesNotMatch(family, /mono|math/i, 'a text face is preferred over monospace and maths faces');
  });

  test('QP_CHART_FONT that is not a font fails with the path in the message', () => {
    const bad = path.join(os.tmpdir(), `qp-not-a-font-${process.pid}.ttf`);
    fs.writeFileSync(bad, 'not a font');
    try {
      assert.throws(() => chartFontFamily(bad), (e: unknown) => e instanceof Error && e.message.includes(bad) && /not a font file/.test(e.message));
    } finally {
      fs.rmSync(bad, { force: true });
    }
  });
});

describe('sweep chart (PSNR vs sparsity)', () => {
  test('decodes at size × scale with a white background, both series and a dark title', () => {
    const img = decode(renderChartPng(sweepChart(sweep(), PRINT_THEME), { width: 600, height: 400, scale: 2 }));
    assert.equal(img.width, 1200);
    assert.equal(img.height, 800);
    for (const [x, y] of [[0, 0], [img.width - 1, 0], [0, img.height - 1], [img.width - 1, img.height - 1]] as const) {
      const o: number = (y * img.width + x) * 4;
      assert.deepEqual([...img.data.subarray(o, o + 4)], [255, 255, 255, 255], `corner ${x},${y} is not white`);
    }
    assert.ok(count(img, RED) > 500, `red line: ${count(img, RED)} px`);
    assert.ok(count(img, BLUE) > 300, `blue dashed line: ${count(img, BLUE)} px`);
    assert.ok(dark(img, [0, 50]) > 300, 'the title band has text');
  });

  test('the title band is empty without a title', () => {
    const titled = decode(renderChartPng(sweepChart(sweep(), PRINT_THEME)));
    const untitled = decode(renderChartPng(sweepChart(sweep({ title: undefined }), PRINT_THEME)));
    // The top 40 px hold the title; without it the plot starts there and only a tick label may show.
    assert.ok(dark(titled, [0, 40]) > 4 * dark(untitled, [0, 40]) + 100, `${dark(titled, [0, 40])} vs ${dark(untitled, [0, 40])}`);
  });

  test('error bars add ink of the series colour; a dashed line has less than a solid one', () => {
    const withErr = count(decode(renderChartPng(sweepChart(sweep(), PRINT_THEME))), RED);
    const plain = sweep();
    plain.series[0]!.points = plain.series[0]!.points.map(({ x, y }) => ({ x, y }));
    const noErr = count(decode(renderChartPng(sweepChart(plain, PRINT_THEME))), RED);
    assert.ok(withErr > noErr + 200, `error bars drew ${withErr - noErr} px`);
    const solid = sweep();
    solid.series[1]!.dashed = false;
    const dashed = count(decode(renderChartPng(sweepChart(sweep(), PRINT_THEME))), BLUE);
    const full = count(decode(renderChartPng(sweepChart(solid, PRINT_THEME))), BLUE);
    assert.ok(dashed < 0.85 * full, `dashed ${dashed} px vs solid ${full} px`);
  });

  test('a fixed y range clips a series lying outside it', () => {
    const config = sweepChart(sweep({ yRange: [20, 25] }), PRINT_THEME);
    config.options!.plugins!.legend = { display: false };
    assert.equal(count(decode(renderChartPng(config)), RED), 0, 'nothing of the clipped series (no legend swatch either)');
    const inside = sweepChart(sweep({ yRange: [28, 34] }), PRINT_THEME);
    inside.options!.plugins!.legend = { display: false };
    assert.ok(count(decode(renderChartPng(inside)), RED) > 500);
  });

  test('the same input gives the same bytes', () => {
    assert.ok(renderChartPng(sweepChart(sweep(), PRINT_THEME)).equals(renderChartPng(sweepChart(sweep(), PRINT_THEME))));
  });

  test('bad input is refused with the series and index named', () => {
    const bad = (over: Partial<SweepChartInput>, re: RegExp) => assert.throws(() => sweepChart(sweep(over), PRINT_THEME), (e: unknown) => e instanceof RangeError && re.test(e.message));
    bad({ series: [] }, /no series/);
    bad({ series: [{ label: 'L1', color: RED, points: [] }] }, /'L1' has no points/);
    bad({ series: [{ label: 'L1', color: RED, points: [{ x: 20, y: NaN }] }] }, /'L1' y\[0\] is NaN/);
    bad({ series: [{ label: 'L1', color: RED, points: [{ x: 20, y: 1, yErr: -1 }] }] }, /'L1' yErr\[0\] is -1/);
    bad({ yRange: [30, 30] }, /min < max/);
    assert.throws(() => renderChartPng(sweepChart(sweep(), PRINT_THEME), { width: 50 }), /160\.\.4096/);
  });
});

describe('grouped bar chart (kept channels per group)', () => {
  test('bar areas follow the values: twice the channels, twice the pixels', () => {
    const img = decode(renderChartPng(groupedBarChart(bars(), PRINT_THEME), { width: 800, height: 500, scale: 1 }));
    assert.equal(img.width, 800);
    assert.equal(img.height, 500);
    // Legend swatches are the same size for both series, so they cancel in the difference.
    const a = count(img, RED);
    const b = count(img, BLUE);
    assert.ok(a > 2000, `series A drew ${a} px`);
    const ratio = (b - a) / a;
    assert.ok(ratio > 0.8 && ratio < 1.2, `B minus A over A is ${ratio.toFixed(2)}; bars are not proportional to values`);
  });

  test('category labels are drawn under the plot', () => {
    const many = bars();
    const img = decode(renderChartPng(groupedBarChart(many, PRINT_THEME), { width: 800, height: 500, scale: 1 }));
    const none = bars();
    none.categories = none.categories.map(() => '');
    const blank = decode(renderChartPng(groupedBarChart(none, PRINT_THEME), { width: 800, height: 500, scale: 1 }));
    assert.ok(dark(img, [0, 500]) > dark(blank, [0, 500]) + 100, 'labels add text');
  });

  test('values and categories must agree', () => {
    const b = bars();
    b.series[1]!.values = [1, 2];
    assert.throws(() => groupedBarChart(b, PRINT_THEME), /series 'B' has 2 values for 4 categories/);
    const c = bars();
    c.series[0]!.values[2] = Infinity;
    assert.throws(() => groupedBarChart(c, PRINT_THEME), /series 'A'\[2\] is Infinity/);
    assert.throws(() => groupedBarChart({ ...bars(), categories: [] }, PRINT_THEME), /no categories/);
  });
});

describe('progress curves (the panel\'s energy and refinement charts)', () => {
  test('draws filled-in datasets on a log x axis, the second dashed', () => {
    const config = curveChart({ xTitle: 'iteration (log scale)', yTitle: 'energy', series: [{ label: 'best', color: GREEN }, { label: 'elite mean', color: RED, dashed: true }], xLog: true }, PRINT_THEME);
    assert.equal(config.options!.scales!.x!.type, 'logarithmic');
    assert.deepEqual(config.data.datasets.map((d) => d.data.length), [0, 0], 'the panel fills the data as events arrive');
    const xs = [1, 10, 100, 1000, 10000];
    config.data.datasets[0]!.data = xs.map((x, i) => ({ x, y: -i }));
    config.data.datasets[1]!.data = xs.map((x, i) => ({ x, y: -i + 0.5 }));
    const img = decode(renderChartPng(config, { width: 500, height: 300, scale: 2 }));
    assert.ok(count(img, GREEN) > 300 && count(img, RED) > 150, `${count(img, GREEN)} green, ${count(img, RED)} red px`);
  });
});

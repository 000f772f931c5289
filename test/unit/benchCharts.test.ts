import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { crc32, encodePng } from '../../bench/lib/png';
import { fontCharacters, glyph, renderText, textWidth, GLYPH_ROWS } from '../../bench/lib/font';
import { formatTicks, niceStep, niceTicks } from '../../bench/lib/ticks';
import {
  ChartError,
  PALETTE,
  categoryLabels,
  groupedBarChartPng,
  lineChartPng,
  renderGroupedBarChart,
  renderLineChart,
  type BarGroupSpec,
  type LineChartSpec,
} from '../../bench/lib/chart';
import type { Rect } from '../../bench/lib/raster';
import { Rng } from '../../src/core/util/rng';

const hex = (h: string): [number, number, number] => [
  parseInt(h.slice(1, 3), 16),
  parseInt(h.slice(3, 5), 16),
  parseInt(h.slice(5, 7), 16),
];

function decode(buf: Buffer): PNG {
  return PNG.sync.read(buf);
}

function px(img: PNG, x: number, y: number): [number, number, number] {
  const o = (y * img.width + x) * 4;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
}

/** Splits a PNG into chunks, checking the signature and each chunk's CRC against node's own zlib.crc32. */
function chunks(buf: Buffer): { type: string; data: Buffer }[] {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out: { type: string; data: Buffer }[] = [];
  let o = 8;
  while (o < buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    const data = buf.subarray(o + 8, o + 8 + len);
    const crc = buf.readUInt32BE(o + 8 + len);
    assert.equal(crc, zlibCrc32(buf.subarray(o + 4, o + 8 + len)), `CRC of ${type}`);
    out.push({ type, data });
    o += 12 + len;
  }
  assert.equal(o, buf.length, 'no trailing bytes');
  return out;
}

const psnrSpec = (): LineChartSpec => ({
  title: 'PSNR vs sparsity',
  xLabel: 'Filter sparsity (%)',
  yLabel: 'PSNR (dB)',
  xTicks: [20, 36, 50],
  series: [
    { label: 'Hybrid', x: [20, 36, 50], y: [32.9, 32.1, 31.0], yErr: [0.1, 0.2, 0.2] },
    { label: 'Taylor', x: [20, 36, 50], y: [32.4, 31.2, 29.6], yErr: [0.1, 0.2, 0.3] },
    { label: 'Random', x: [20, 36, 50], y: [31.0, 29.3, 27.9], dashed: true },
  ],
});

const barSpec = (nCat = 24): BarGroupSpec => {
  const rng = new Rng(7);
  const categories = Array.from({ length: nCat }, (_, i) => `conv${i + 1}`);
  return {
    title: 'Kept channels per layer',
    xLabel: 'Layer',
    yLabel: 'Kept channels',
    categories,
    series: ['Hybrid', 'Taylor', 'L1'].map((label) => ({ label, values: categories.map(() => 16 + rng.nextInt(48)) })),
    hLines: [{ y: 64, label: 'unpruned: 64' }],
  };
};

describe('encodePng', () => {
  test('own CRC-32 matches the standard check value and zlib', () => {
    assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
    const bytes = new Uint8Array(1000).map((_, i) => (i * 37 + 11) & 255);
    assert.equal(crc32(bytes), zlibCrc32(bytes));
  });

  test('opaque pixels round-trip through pngjs as RGB with valid chunk structure', () => {
    const w = 5;
    const h = 3;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([(i * 50) & 255, (i * 17) & 255, 255 - i, 255], i * 4);
    const buf = encodePng(w, h, rgba);
    const cs = chunks(buf);
    assert.deepEqual(
      cs.map((c) => c.type),
      ['IHDR', 'IDAT', 'IEND'],
    );
    const ihdr = cs[0]!.data;
    assert.equal(ihdr.readUInt32BE(0), w);
    assert.equal(ihdr.readUInt32BE(4), h);
    assert.deepEqual([...ihdr.subarray(8)], [8, 2, 0, 0, 0]);
    assert.equal(cs[2]!.data.length, 0);
    const img = decode(buf);
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    assert.deepEqual([...img.data], [...rgba]);
  });

  test('transparency is kept as RGBA', () => {
    const rgba = new Uint8Array([255, 0, 0, 128, 0, 255, 0, 255]);
    const buf = encodePng(2, 1, rgba);
    assert.equal(chunks(buf)[0]!.data[9], 6);
    assert.deepEqual([...decode(buf).data], [...rgba]);
  });

  test('rejects bad sizes and pixel buffers', () => {
    assert.throws(() => encodePng(0, 2, new Uint8Array(0)), (e: unknown) => e instanceof ChartError && e.code === 'bad-size');
    assert.throws(() => encodePng(2.5, 2, new Uint8Array(20)), /positive integers/);
    assert.throws(
      () => encodePng(2, 2, new Uint8Array(15)),
      (e: unknown) => e instanceof ChartError && e.code === 'bad-pixels' && /expected 16 RGBA bytes/.test(e.message),
    );
  });
});

describe('bitmap font', () => {
  test('covers ASCII 32-126 with well-formed, distinct glyphs', () => {
    const chars = fontCharacters();
    for (let c = 32; c <= 126; c++) assert.ok(chars.includes(String.fromCharCode(c)), `missing ${String.fromCharCode(c)}`);
    const seen = new Map<string, string>();
    for (const ch of chars) {
      const g = glyph(ch);
      assert.equal(g.bits.length, g.width * GLYPH_ROWS);
      if (ch === ' ') continue;
      assert.ok(g.bits.some((b) => b === 1), `glyph ${ch} has ink`);
      const key = `${g.width}:${g.bits.join('')}`;
      assert.ok(!seen.has(key), `glyphs ${seen.get(key)} and ${ch} are identical`);
      seen.set(key, ch);
    }
  });

  test('text widths scale and masks have ink; unknown characters fall back', () => {
    assert.equal(textWidth('A', 1), 5);
    assert.equal(textWidth('AB', 2), 22);
    const m = renderText('Hi 1.5%', 2);
    assert.equal(m.width, textWidth('Hi 1.5%', 2));
    assert.equal(m.height, GLYPH_ROWS * 2);
    assert.ok(m.bits.some((b) => b === 1));
    assert.equal(textWidth('a\u2013b', 1), textWidth('a-b', 1));
    assert.equal(textWidth('\u4e2d', 1), textWidth('?', 1));
  });
});

describe('ticks', () => {
  test('steps are 1, 2 or 5 times a power of ten and labels carry no float residue', () => {
    assert.equal(niceStep(0.13), 0.2);
    assert.equal(niceStep(3), 5);
    assert.equal(niceStep(7), 10);
    assert.deepEqual(niceTicks(0, 1, 6).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    const { ticks, step } = niceTicks(0.1, 0.35, 6);
    assert.equal(step, 0.05);
    assert.deepEqual(formatTicks(ticks, step), ['0.10', '0.15', '0.20', '0.25', '0.30', '0.35']);
    assert.deepEqual(formatTicks([-0, 5e7, 1e8], 5e7), ['0', '50M', '100M']);
    assert.deepEqual(formatTicks([-1, -0.5, 0], 0.5), ['-1.0', '-0.5', '0.0']);
  });
});

describe('line chart', () => {
  test('decodes at the default 900x540 with a white background and deterministic bytes', () => {
    const buf = lineChartPng(psnrSpec());
    const img = decode(buf);
    assert.equal(img.width, 900);
    assert.equal(img.height, 540);
    assert.deepEqual(px(img, 0, 0), [255, 255, 255]);
    assert.deepEqual(px(img, 899, 539), [255, 255, 255]);
    assert.ok(buf.equals(lineChartPng(psnrSpec())));
    const other = psnrSpec();
    other.series[0]!.y[1] = 32.3;
    assert.ok(!buf.equals(lineChartPng(other)));
  });

  test('honours the requested size', () => {
    const img = decode(lineChartPng({ ...psnrSpec(), width: 640, height: 400 }));
    assert.equal(img.width, 640);
    assert.equal(img.height, 400);
  });

  test('draws the series colour along its line and nowhere far from it', () => {
    const color = '#d62728';
    const spec: LineChartSpec = {
      title: 'one series',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ label: 'diag', x: [0, 10], y: [0, 10], color }],
    };
    const { layout } = renderLineChart(spec);
    const img = decode(lineChartPng(spec));
    const want = hex(color);
    for (const t of [2.5, 5, 7.5]) {
      const x = Math.floor(layout.xToPx(t));
      const y = Math.floor(layout.yToPx(t));
      assert.deepEqual(px(img, x, y), want, `line pixel at data ${t}`);
    }
    // Every pixel of exactly that colour lies within a few pixels of the segment between the end points.
    const [ax, ay] = [layout.xToPx(0), layout.yToPx(0)];
    const [bx, by] = [layout.xToPx(10), layout.yToPx(10)];
    const len = Math.hypot(bx - ax, by - ay);
    let count = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const p = px(img, x, y);
        if (p[0] !== want[0] || p[1] !== want[1] || p[2] !== want[2]) continue;
        const inLegend = x >= layout.legend.x0 && x < layout.legend.x1 && y >= layout.legend.y0 && y < layout.legend.y1;
        if (inLegend) continue;
        count++;
        const dist = Math.abs((bx - ax) * (ay - y - 0.5) - (ax - x - 0.5) * (by - ay)) / len;
        assert.ok(dist < 6, `red pixel (${x}, ${y}) is ${dist.toFixed(1)} px off the line`);
      }
    }
    assert.ok(count > len * 1.5, `line is at least ~2 px thick (${count} pixels over ${len.toFixed(0)} px)`);
  });

  test('title puts dark pixels at the top; no title leaves that band white', () => {
    const { layout } = renderLineChart(psnrSpec());
    assert.ok(layout.title);
    const dark = (img: PNG, r: Rect) => {
      let n = 0;
      for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) if (px(img, x, y).every((v) => v < 100)) n++;
      return n;
    };
    const band: Rect = { x0: layout.plot.x0, y0: 0, x1: layout.plot.x1, y1: layout.plot.y0 - 2 };
    assert.ok(dark(decode(lineChartPng(psnrSpec())), band) > 50);
    const untitled = renderLineChart({ ...psnrSpec(), title: '' });
    assert.equal(untitled.layout.title, undefined);
    const band2: Rect = { ...band, y1: untitled.layout.plot.y0 - 2 };
    assert.equal(dark(decode(lineChartPng({ ...psnrSpec(), title: '' })), band2), 0);
  });

  test('legend sits outside the plot and x tick labels do not overlap', () => {
    const { layout } = renderLineChart(psnrSpec());
    assert.equal(layout.legendPlacement, 'right');
    assert.ok(layout.legend.x0 >= layout.plot.x1);
    assert.deepEqual(layout.xTicks, [20, 36, 50]);
    const auto = renderLineChart({
      title: 't',
      xLabel: 'MACs',
      yLabel: 'ms',
      series: [{ label: 'cpu', x: [1e6, 2e7, 8e7], y: [1, 20, 90] }],
    }).layout;
    assert.ok(auto.xTickBoxes.length >= 3);
    for (let i = 1; i < auto.xTickBoxes.length; i++) assert.ok(auto.xTickBoxes[i]!.x0 > auto.xTickBoxes[i - 1]!.x1);
    const longLegend = renderLineChart({
      ...psnrSpec(),
      series: [{ label: 'A method with a very long descriptive name', x: [1, 2], y: [1, 2] }],
    }).layout;
    assert.equal(longLegend.legendPlacement, 'below');
    assert.ok(longLegend.legend.y0 >= longLegend.plot.y1);
  });

  test('fixed y range clips points outside it', () => {
    const spec: LineChartSpec = { ...psnrSpec(), yRange: [30, 33] };
    const { layout } = renderLineChart(spec);
    assert.deepEqual(layout.yRange, [30, 33]);
    assert.deepEqual(layout.yTicks[0], 30);
    assert.ok(lineChartPng(spec).length > 0);
  });

  test('rejects bad input with specific errors', () => {
    const is = (code: string, re: RegExp) => (e: unknown) => e instanceof ChartError && e.code === code && re.test(e.message);
    const base = psnrSpec();
    assert.throws(() => lineChartPng({ ...base, series: [] }), is('empty', /at least one series/));
    assert.throws(() => lineChartPng({ ...base, series: [{ label: 'a', x: [], y: [] }] }), is('empty', /"a".*no points/));
    assert.throws(
      () => lineChartPng({ ...base, series: [{ label: 'a', x: [1, 2, 3], y: [1, 2] }] }),
      is('length-mismatch', /3 x values but 2 y values/),
    );
    assert.throws(() => lineChartPng({ ...base, series: [{ label: 'a', x: [1, 2], y: [1, NaN] }] }), is('non-finite', /y\[1\] is NaN/));
    assert.throws(
      () => lineChartPng({ ...base, series: [{ label: 'a', x: [1, Infinity], y: [1, 2] }] }),
      is('non-finite', /x\[1\] is Infinity/),
    );
    assert.throws(
      () => lineChartPng({ ...base, series: [{ label: 'a', x: [1, 2], y: [1, 2], yErr: [0.1] }] }),
      is('length-mismatch', /yErr/),
    );
    assert.throws(
      () => lineChartPng({ ...base, series: [{ label: 'a', x: [1, 2], y: [1, 2], yErr: [0.1, -1] }] }),
      is('bad-range', /negative/),
    );
    assert.throws(
      () => lineChartPng({ ...base, series: [{ label: 'a', x: [1], y: [1], color: 'red' }] }),
      is('bad-color', /'#rrggbb'/),
    );
    assert.throws(() => lineChartPng({ ...base, yRange: [5, 5] }), is('bad-range', /low < high/));
    assert.throws(() => lineChartPng({ ...base, width: 50 }), is('bad-size', /chart size/));
  });
});

describe('grouped bar chart', () => {
  test('bars have their series colour, background stays white', () => {
    const spec = barSpec();
    const { layout } = renderGroupedBarChart(spec);
    const img = decode(groupedBarChartPng(spec));
    assert.equal(img.width, 900);
    assert.equal(img.height, 540);
    assert.deepEqual(px(img, 2, 2), [255, 255, 255]);
    assert.equal(layout.bars.length, 3 * 24);
    for (const { series, category, rect } of layout.bars) {
      if (category % 5 !== 0) continue;
      const x = Math.floor((rect.x0 + rect.x1) / 2);
      const y = rect.y1 - 2;
      assert.deepEqual(px(img, x, y), hex(PALETTE[series]!), `bar ${series}/${category}`);
      // Bar height matches its value to within a pixel.
      const v = spec.series[series]!.values[category]!;
      assert.ok(Math.abs(rect.y0 - layout.yToPx(v)) <= 1);
    }
    // Between two groups, just above the axis: white.
    const last = layout.bars.find((b) => b.series === 2 && b.category === 10)!.rect;
    const next = layout.bars.find((b) => b.series === 0 && b.category === 11)!.rect;
    assert.ok(next.x0 - last.x1 >= 2);
    assert.deepEqual(px(img, last.x1, layout.plot.y1 - 3), [255, 255, 255]);
  });

  test('custom colours and a given yMax are used', () => {
    const spec: BarGroupSpec = {
      title: 'two',
      xLabel: '',
      yLabel: '',
      categories: ['a', 'b'],
      series: [{ label: 's', values: [3, 7], color: '#123456' }],
      yMax: 10,
    };
    const { layout } = renderGroupedBarChart(spec);
    assert.deepEqual(layout.yRange, [0, 10]);
    const img = decode(groupedBarChartPng(spec));
    const b = layout.bars[1]!.rect;
    assert.deepEqual(px(img, (b.x0 + b.x1) >> 1, (b.y0 + b.y1) >> 1), [0x12, 0x34, 0x56]);
    assert.ok(b.y1 - b.y0 > 100);
  });

  test('many categories get legible, non-overlapping labels', () => {
    for (const n of [8, 24, 40]) {
      const { layout } = renderGroupedBarChart(barSpec(n));
      const boxes = layout.labelBoxes;
      assert.equal(boxes.length, Math.ceil(n / layout.labelMode.every));
      for (let i = 1; i < boxes.length; i++) assert.ok(boxes[i]!.x0 >= boxes[i - 1]!.x1, `n=${n}: labels ${i - 1} and ${i} overlap`);
      for (const b of boxes) assert.ok(b.y0 > layout.plot.y1 && b.y1 <= layout.height);
    }
    assert.equal(renderGroupedBarChart(barSpec(8)).layout.labelMode.orientation, 'horizontal');
    const many = renderGroupedBarChart(barSpec(40)).layout;
    assert.equal(many.labelMode.orientation, 'vertical');
  });

  test('long category names lose their shared prefix, then their head', () => {
    assert.deepEqual(categoryLabels(['encoder.block1.conv1', 'encoder.block2.conv1'], 14), ['block1.conv1', 'block2.conv1']);
    assert.deepEqual(categoryLabels(['a.b', 'a.c'], 14), ['a.b', 'a.c']);
    assert.deepEqual(categoryLabels(['abcdefghijklmnop', 'x'], 8), ['..klmnop', 'x']);
  });

  test('rejects bad input with specific errors', () => {
    const is = (code: string, re: RegExp) => (e: unknown) => e instanceof ChartError && e.code === code && re.test(e.message);
    const base = barSpec(3);
    assert.throws(() => groupedBarChartPng({ ...base, categories: [] }), is('empty', /at least one category/));
    assert.throws(() => groupedBarChartPng({ ...base, series: [] }), is('empty', /at least one series/));
    assert.throws(
      () => groupedBarChartPng({ ...base, series: [{ label: 'x', values: [1, 2] }] }),
      is('length-mismatch', /"x".*2 values but there are 3 categories/),
    );
    assert.throws(
      () => groupedBarChartPng({ ...base, series: [{ label: 'x', values: [1, NaN, 2] }] }),
      is('non-finite', /values\[1\] is NaN/),
    );
    assert.throws(() => groupedBarChartPng({ ...base, hLines: [{ y: Infinity, label: 'l' }] }), is('non-finite', /hLines\[0\]/));
    assert.throws(() => groupedBarChartPng({ ...base, yMax: -1 }), is('bad-range', /yMax/));
  });
});

// PNG charts of the suite: PSNR vs sparsity per method, and kept channels per group per method,
// with the same chart.js definitions as the report panel (webview/chartSpecs.ts).
import { groupedBarChart, PRINT_THEME, sweepChart, type SweepSeries } from '../../webview/chartSpecs';
import { renderChartPng } from '../lib/renderChart';
import { mean, sd } from './tables';
import { METHOD_LABEL, METHOD_ORDER, type BenchMethod, type SuiteResults } from './types';

const COLORS: Record<BenchMethod, string> = {
  random: '#9e9e9e',
  l1: '#8c564b',
  taylor: '#1f77b4',
  fisher: '#17becf',
  'l1-qubo': '#bcbd22',
  'hybrid-paper': '#9467bd',
  hybrid: '#d62728',
  'hybrid+tt-layers': '#ff7f0e',
  'hybrid+tt-network': '#2ca02c',
};

export interface Chart {
  file: string;
  title: string;
  png: Buffer;
}

export function suiteCharts(r: SuiteResults): Chart[] {
  const charts: Chart[] = [];
  const pctTicks = r.config.sparsities.map((s) => Math.round(s * 100));
  for (const model of r.config.models) {
    const dense = r.dense.find((d) => d.model === model)!;
    // Random is far below everything else; drawing it would squash the differences that matter.
    const shown = METHOD_ORDER.filter((m) => m !== 'random');
    const series: SweepSeries[] = [];
    for (const m of shown) {
      const points = [];
      for (const s of r.config.sparsities) {
        const p = r.methods.filter((x) => x.model === model && x.method === m && Math.abs(x.sparsity - s) < 1e-9).map((x) => x.psnr);
        if (p.length) points.push({ x: Math.round(s * 100), y: mean(p), yErr: sd(p) });
      }
      if (points.length) series.push({ label: METHOD_LABEL[m], points, color: COLORS[m], dashed: m.startsWith('hybrid+') });
    }
    const ends = [pctTicks[0]!, pctTicks[pctTicks.length - 1]!];
    series.push({ label: `original (${dense.psnr.toFixed(2)} dB)`, points: ends.map((x) => ({ x, y: dense.psnr })), color: '#000000', dashed: true });
    const allY = series.flatMap((s) => s.points.map((p) => p.y));
    // Collapsed baselines (e.g. L1 at 50 %) would squash the region where methods differ: the axis
    // stops 6 dB below the original and the title says so.
    const floor = dense.psnr - 6;
    const clipped = Math.min(...allY) < floor;
    const lo = clipped ? Math.floor(floor) : Math.floor(Math.min(...allY) - 0.5);
    const hi = Math.ceil(Math.max(...allY) + 0.3);
    charts.push({
      file: `psnr-vs-sparsity-${model}.png`,
      title: `${model}: test PSNR vs filter sparsity`,
      png: renderChartPng(
        sweepChart(
          {
            title: `${model}: test PSNR vs sparsity (mean ± sd, ${r.config.seeds.length} seed${r.config.seeds.length > 1 ? 's' : ''}; no random${clipped ? `; y from ${lo} dB` : ''})`,
            xTitle: 'filter sparsity (%)',
            yTitle: 'test PSNR (dB)',
            series,
            xTicks: pctTicks,
            yRange: [lo, hi],
          },
          PRINT_THEME,
        ),
        { height: 600 },
      ),
    });

    const s36 = r.config.sparsities.find((s) => Math.abs(s - 0.36) < 1e-9) ?? r.config.sparsities[Math.floor(r.config.sparsities.length / 2)]!;
    const seed = r.config.seeds[0]!;
    const bars = (['l1', 'taylor', 'hybrid', 'hybrid+tt-network'] as const)
      .map((m) => ({ m, row: r.methods.find((x) => x.model === model && x.method === m && x.seed === seed && Math.abs(x.sparsity - s36) < 1e-9) }))
      .filter((b) => b.row);
    if (bars.length) {
      charts.push({
        file: `kept-per-group-${model}.png`,
        title: `${model}: kept channels per group at ${Math.round(s36 * 100)} %`,
        png: renderChartPng(
          groupedBarChart(
            {
              title: `${model}: kept channels per group at ${Math.round(s36 * 100)} % sparsity (seed ${seed}); grey = group size`,
              xTitle: 'channel group (network order)',
              yTitle: 'kept channels',
              categories: dense.groups.map((g, i) => shortGroup(g, i)),
              series: [
                { label: 'group size', values: dense.groupSizes, color: '#d0d0d0' },
                ...bars.map((b) => ({ label: METHOD_LABEL[b.m], values: b.row!.kept, color: COLORS[b.m] })),
              ],
            },
            PRINT_THEME,
          ),
        ),
      });
    }
  }
  return charts;
}

/** Group ids are producer node names; a short stable label keeps the axis legible. */
function shortGroup(id: string, i: number): string {
  const tail = id.split('/').filter(Boolean).pop() ?? id;
  const short = tail.replace(/^(Conv|ConvTranspose|conv)_?/, '').slice(0, 10);
  return short ? `${i + 1}:${short}` : String(i + 1);
}

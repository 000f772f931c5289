/**
 * Writes two sample charts with realistic benchmark-shaped data, for checking the renderer by eye:
 *   node --import tsx bench/lib/chartDemo.ts   ->  /tmp/chart-demo-line.png, /tmp/chart-demo-bars.png
 */
import { writeFileSync } from 'node:fs';
import { groupedBarChartPng, lineChartPng } from './chart';

const sparsity = [20, 36, 50];
const methods: { label: string; psnr: number[]; err: number[]; dashed?: boolean }[] = [
  { label: 'Hybrid QUBO + TT', psnr: [32.9, 32.1, 31.0], err: [0.12, 0.15, 0.2] },
  { label: 'Hybrid QUBO', psnr: [32.7, 31.8, 30.5], err: [0.14, 0.18, 0.22] },
  { label: 'Taylor (greedy)', psnr: [32.4, 31.2, 29.6], err: [0.15, 0.2, 0.3] },
  { label: 'L1-QUBO', psnr: [32.1, 30.7, 29.0], err: [0.18, 0.25, 0.3] },
  { label: 'L1 (greedy)', psnr: [31.8, 30.2, 28.4], err: [0.2, 0.25, 0.35] },
  { label: 'Random', psnr: [31.0, 29.3, 27.9], err: [0.3, 0.35, 0.4], dashed: true },
];

const line = lineChartPng({
  title: 'DnCNN-S denoising (sigma = 25): PSNR vs filter sparsity',
  xLabel: 'Filter sparsity (%)',
  yLabel: 'PSNR (dB)',
  xTicks: sparsity,
  series: methods.map((m) => ({ label: m.label, x: sparsity, y: m.psnr, yErr: m.err, ...(m.dashed ? { dashed: true } : {}) })),
});
writeFileSync('/tmp/chart-demo-line.png', line);

// Kept channels per layer at 36 % sparsity: 24 conv layers of 64 channels, deeper layers pruned harder.
const layers = Array.from({ length: 24 }, (_, i) => `conv${i + 1}`);
const kept = (bias: number, wobble: number) =>
  layers.map((_, i) => Math.max(8, Math.min(64, Math.round(52 - i * 0.9 + bias + wobble * Math.sin(i * 1.7)))));
const bars = groupedBarChartPng({
  title: 'Kept channels per layer at 36 % sparsity',
  xLabel: 'Layer',
  yLabel: 'Kept channels',
  categories: layers,
  series: [
    { label: 'Hybrid QUBO', values: kept(0, 6) },
    { label: 'Taylor (greedy)', values: kept(1, 9) },
    { label: 'L1 (greedy)', values: kept(-1, 3) },
  ],
  hLines: [{ y: 64, label: 'unpruned: 64' }],
});
writeFileSync('/tmp/chart-demo-bars.png', bars);
console.log(`wrote /tmp/chart-demo-line.png (${line.length} bytes), /tmp/chart-demo-bars.png (${bars.length} bytes)`);

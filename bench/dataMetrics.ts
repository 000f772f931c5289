// Speed of the data loader and the image metrics: node --import tsx bench/dataMetrics.ts
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { loadDataset } from '../src/core/data';
import { psnrPerImage, ssim } from '../src/core/metrics';
import { Rng } from '../src/core/util/rng';

function time<T>(label: string, reps: number, fn: () => T): T {
  let out!: T;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) out = fn();
  const ms = (performance.now() - t0) / reps;
  console.log(`${label}: ${ms.toFixed(2)} ms`);
  return out;
}

async function main(): Promise<void> {
  const r = new Rng(1);
  const shape = [8, 3, 128, 128] as const;
  const n = shape.reduce((a, b) => a * b, 1);
  const a = Float32Array.from({ length: n }, () => r.next());
  const b = a.map((v) => v + 0.05 * r.normal());
  time('PSNR, batch 8×3×128×128', 20, () => psnrPerImage(a, b, 8));
  time('SSIM, batch 8×3×128×128', 3, () => ssim(a, b, shape));

  const fixtures = path.resolve('test/fixtures/data');
  let t0 = performance.now();
  const ds = await loadDataset(fixtures, { cacheBytes: 0 });
  console.log(`loadDataset(test/fixtures/data), headers only: ${(performance.now() - t0).toFixed(1)} ms`);
  for (const pass of ['first pass (cold JIT)', 'second pass']) {
    t0 = performance.now();
    let images = 0;
    for await (const batch of ds.calib.batches(8)) images += batch.shape[0];
    console.log(`decode ${images} fixture pairs (128×128 PNG, noisy + clean), no cache, ${pass}: ${((performance.now() - t0) / images).toFixed(2)} ms/pair`);
  }

  // One SIDD-sized pair (5256×3024 RGB, 8-bit): decode time and peak memory for a 256 crop.
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-bench-'));
  try {
    const W = 5256;
    const H = 3024;
    const png = new PNG({ width: W, height: H });
    for (let i = 0; i < W * H * 4; i++) png.data[i] = (i * 2654435761) >>> 24;
    const bytes = PNG.sync.write(png, { colorType: 2, deflateLevel: 1 });
    for (const s of ['0001_S6']) {
      mkdirSync(path.join(dir, s));
      writeFileSync(path.join(dir, s, 'NOISY_SRGB_010.PNG'), bytes);
      writeFileSync(path.join(dir, s, 'GT_SRGB_010.PNG'), bytes);
    }
    const sidd = await loadDataset(dir, { patch: 256, crop: 'random', cropsPerImage: 4, splits: { calib: 1, val: 0, test: 0 } });
    const rss0 = process.memoryUsage().rss;
    t0 = performance.now();
    for await (const batch of sidd.calib.batches(4)) void batch;
    const ms = performance.now() - t0;
    console.log(
      `SIDD-sized pair ${W}×${H}: 4 random 256 crops in ${ms.toFixed(0)} ms; rss +${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();

// Latency of original vs physically pruned fixtures in onnxruntime (CPU), at 30% and 50% filter
// sparsity (L1 masks, floor 0.1, with and without round-to 8), batch 1 and batch 8. Runs are interleaved (original, 30%, 50%,
// original, …) so load changes on a shared machine hit all variants alike; the median is reported.
//
//   node --import tsx bench/prune-latency.ts [--runs 20] [--threads 1] [--models dncnn,unet]
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { analyzeDependencies } from '../src/core/analysis/dependencyGroups';
import { inferShapes } from '../src/core/analysis/shapes';
import { loadModel, type OnnxModel } from '../src/core/onnx';
import { countCost } from '../src/core/prune/cost';
import { l1Mask } from '../src/core/prune/masks';
import { exportPruned } from '../src/core/prune/physicalExport';
import { openSession, ort } from '../src/core/runtime/session';
import { Rng } from '../src/core/util/rng';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const RUNS = Number(opt('runs', '20'));
const THREADS = Number(opt('threads', '1'));
const MODELS = opt('models', 'dncnn,halfunet,unet,classifier').split(',');
const SPARSITIES = [0.3, 0.5];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function sessionOf(model: OnnxModel): Promise<ort.InferenceSession> {
  return (await openSession(model.toBytes(), { provider: 'cpu', threads: THREADS })).session;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  rows.push('| model | input | variant | params | MACs | median ms | speed-up |');
  rows.push('|---|---|---|---:|---:|---:|---:|');
  for (const name of MODELS) {
    const file = path.join(__dirname, '..', 'test', 'fixtures', `${name}.onnx`);
    if (!existsSync(file)) {
      process.stderr.write(`skip ${name}: ${file} not found\n`);
      continue;
    }
    const model = await loadModel(file);
    const side = name === 'classifier' ? 32 : 128;
    const shapes = await inferShapes(model, [1, 3, side, side]);
    const deps = analyzeDependencies(model, shapes);
    const variants: { label: string; model: OnnxModel }[] = [{ label: 'original', model }];
    for (const s of SPARSITIES) {
      variants.push({ label: `L1 ${Math.round(s * 100)}%`, model: exportPruned(model, deps, l1Mask(model, deps, s)) });
      // Odd channel counts can defeat the CPU kernels' blocking; round-to 8 shows the difference.
      variants.push({ label: `L1 ${Math.round(s * 100)}% round-to 8`, model: exportPruned(model, deps, l1Mask(model, deps, s, { roundTo: 8 })) });
    }
    const costs = await Promise.all(variants.map(async (v) => countCost(v.model, await inferShapes(v.model, [1, 3, side, side]))));
    const sessions = await Promise.all(variants.map((v) => sessionOf(v.model)));
    for (const batch of [1, 8]) {
      const dims = [batch, 3, side, side];
      const rng = new Rng(1);
      const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next()), dims);
      const times: number[][] = variants.map(() => []);
      const runs = batch === 1 ? RUNS : Math.max(5, Math.round(RUNS / 2));
      for (let r = -3; r < runs; r++) {
        for (let v = 0; v < variants.length; v++) {
          const t0 = process.hrtime.bigint();
          await sessions[v]!.run({ input: x });
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (r >= 0) times[v]!.push(ms);
        }
      }
      const base = median(times[0]!);
      variants.forEach((v, i) => {
        const med = median(times[i]!);
        rows.push(`| ${name} | ${dims.join('×')} | ${v.label} | ${costs[i]!.params.toLocaleString('en-US')} | ${(costs[i]!.macs / 1e6).toFixed(1)} M | ${med.toFixed(2)} | ${(base / med).toFixed(2)}× |`);
      });
      process.stderr.write(`${name} batch ${batch} done\n`);
    }
    for (const s of sessions) await s.release();
  }
  process.stdout.write(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, onnxruntime-node CPU, ${THREADS} intra-op thread(s), ${RUNS} runs (batch 8: ${Math.max(5, Math.round(RUNS / 2))}), median\n\n`);
  process.stdout.write(rows.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});

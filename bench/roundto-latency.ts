// Hybrid QUBO at 36 % with round-to 1, 4 and 8 on the fixture denoisers: test PSNR, cost and CPU
// latency (interleaved runs, median of 25 at 1×3×256×256), so the price of kernel-friendly channel
// counts is measured, not guessed.   node --import tsx bench/roundto-latency.ts
import * as path from 'node:path';
import { DEFAULT_SETTINGS } from '../src/core/presets';
import { prepareImportance } from '../src/core/pipeline/prepare';
import { selectMask } from '../src/core/pipeline/selectMask';
import { openSession, ort } from '../src/core/runtime/session';
import { BatchedEvaluator } from '../src/core/refine/batchedEvaluator';
import { exportPruned } from '../src/core/prune/physicalExport';
import { predictCost } from '../src/core/prune/cost';
import { firstSamples, loadDataset } from '../src/core/data';
const root = path.resolve(__dirname, '..');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };
(async () => {
  // Variants run interleaved so load on a shared machine hits them alike.
  console.log('| model | variant | test PSNR (dB) | params | MACs | median ms (1×3×256×256) | speed-up |');
  console.log('|---|---|---|---|---|---|---|');
  for (const model of ['halfunet', 'dncnn', 'unet']) {
    const settings = { ...DEFAULT_SETTINGS, provider: 'cpu' as const };
    const ctx = { emit: () => {}, log: () => {}, stage: <T>(_n: string, fn: () => Promise<T>) => fn() };
    const dataPath = path.join(root, 'test/fixtures/data');
    const prep = await prepareImportance({ model: path.join(root, 'test/fixtures', `${model}.onnx`), data: dataPath, settings }, ctx);
    const opened = await openSession(prep.gatedPerSample.model.toBytes(), { provider: 'cpu' });
    const full = await loadDataset(dataPath, { patch: 128, seed: 0 });
    const test = await firstSamples(full.test, full.test.count);
    const ev = new BatchedEvaluator({ session: opened.session, inputName: prep.a.inputName, outputName: prep.a.outputName, gates: prep.layout, task: prep.task, data: test, maxBatchItems: 48 });
    const variants: { label: string; keep?: Uint8Array }[] = [{ label: 'original' }];
    for (const roundTo of [1, 4, 8]) {
      const sel = await selectMask(prep.imp.scores, prep.imp.terms, { method: 'hybrid', sparsity: 0.36, alpha: 0, beta: 0, jointFisher: 0.35, floor: 0.1, roundTo, seed: 0, searchTimeMs: 1000 });
      variants.push({ label: `Hybrid 36 %, round-to ${roundTo}`, keep: sel.keep });
    }
    const sessions = await Promise.all(variants.map(async (v) => (await openSession((v.keep ? exportPruned(prep.a.model, prep.a.deps, v.keep) : prep.a.model).toBytes(), { provider: 'cpu' })).session));
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 256 * 256 }, (_, i) => ((i * 2654435761) % 1000) / 1000), [1, 3, 256, 256]);
    const times: number[][] = variants.map(() => []);
    for (let r = -3; r < 25; r++) for (let v = 0; v < variants.length; v++) { const t = performance.now(); await sessions[v]!.run({ [sessions[v]!.inputNames[0]!]: x }); if (r >= 0) times[v]!.push(performance.now() - t); }
    const base = median(times[0]!);
    for (let v = 0; v < variants.length; v++) {
      const keep = variants[v]!.keep ?? new Uint8Array(prep.a.deps.variables.length).fill(1);
      const [p] = await ev.evaluate([keep]);
      const c = predictCost(prep.a.model, prep.a.deps, prep.a.shapes, keep);
      console.log(`| ${model} | ${variants[v]!.label} | ${p!.toFixed(3)} | ${c.params.toLocaleString('en-US')} | ${(c.macs / 1e6).toFixed(1)} M | ${median(times[v]!).toFixed(2)} | ${(base / median(times[v]!)).toFixed(2)}× |`);
    }
    for (const s of sessions) await s.release();
    await opened.session.release();
  }
})();

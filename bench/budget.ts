// MAC budgets end to end: for each model and budget (0.7 / 0.5 / 0.3 of the original's MACs),
// the Hybrid QUBO under the budget, greedy Fisher under the same budget (the knapsack-ratio fill
// on Fisher scores), and the channel-count objective (Hybrid at a sparsity found by bisection so
// that its MACs equal the budgeted result's). Every mask goes through the pipeline's own stages:
// prepareImportance (analysis, calibration, importance), selectMask, exportPruned, evaluateModel.
//   npm run bench:budget [-- --models dncnn,halfunet,unet,classifier,resnet18,mobilenet_v2,resnet50] [--budgets 0.7,0.5,0.3]
// Classifiers run on test/fixtures/cls at 32×32. The zoo classifiers' weights are not trained on
// those labels, so for them the quality column is top-1 agreement with the original model.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS, mergeSettings } from '../src/core/presets';
import { prepareImportance } from '../src/core/pipeline/prepare';
import { selectMask, type Selection } from '../src/core/pipeline/selectMask';
import { selectionBudget } from '../src/core/pipeline/costBudget';
import { costModel, predictCost } from '../src/core/prune/cost';
import { exportPruned } from '../src/core/prune/physicalExport';
import { evaluateModel } from '../src/core/pipeline/evaluateModel';
import { firstSamples, type DataSplit } from '../src/core/data';
import { openSession, ort } from '../src/core/runtime/session';
import type { StageName } from '../src/protocol';

const ROOT = path.join(__dirname, '..');
const FIX = path.join(ROOT, 'test', 'fixtures');
const ZOO = path.join(ROOT, 'bench', 'out', 'zoo');
const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'dncnn,halfunet,unet,classifier,resnet18,mobilenet_v2,resnet50' },
    budgets: { type: 'string', default: '0.7,0.5,0.3' },
    'search-ms': { type: 'string', default: '1500' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'out', 'budget.json') },
    md: { type: 'string', default: path.join(ROOT, 'docs', 'bench', 'budget.md') },
  },
});
const budgets = values.budgets!.split(',').map(Number);
const searchMs = Number(values['search-ms']);

const MODELS: Record<string, { file: string; data: string; zoo: boolean }> = {
  dncnn: { file: path.join(FIX, 'dncnn.onnx'), data: path.join(FIX, 'data'), zoo: false },
  halfunet: { file: path.join(FIX, 'halfunet.onnx'), data: path.join(FIX, 'data'), zoo: false },
  unet: { file: path.join(FIX, 'unet.onnx'), data: path.join(FIX, 'data'), zoo: false },
  classifier: { file: path.join(FIX, 'classifier.onnx'), data: path.join(FIX, 'cls'), zoo: false },
  resnet18: { file: path.join(ZOO, 'resnet18.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
  mobilenet_v2: { file: path.join(ZOO, 'mobilenet_v2.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
  resnet50: { file: path.join(ZOO, 'resnet50.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
};

interface Variant {
  macsRatio: number;
  paramsRatio: number;
  /** PSNR (dB), accuracy, or top-1 agreement with the original (zoo classifiers). */
  quality: number;
  seconds: number;
  sparsity?: number;
}

interface Row {
  model: string;
  budget: number;
  metric: 'psnr' | 'accuracy' | 'agreement';
  original: number;
  hybrid: Variant;
  fisher: Variant;
  channelCount: Variant;
  /** Search wall time to its best point and its iterations (Hybrid under the budget). */
  searchBestMs: number | null;
  iterations: number | null;
  metWithin2pct: boolean;
}

/** Top-1 of every test sample under a model. */
async function top1(bytes: Uint8Array, split: DataSplit): Promise<Int32Array> {
  const s = await openSession(bytes, { provider: 'cpu' });
  try {
    const batch = await firstSamples(split, split.count);
    const [, c, h, w] = batch.shape as [number, number, number, number];
    const per = c * h * w;
    const out = new Int32Array(batch.shape[0]!);
    for (let i = 0; i < out.length; i++) {
      const y = (await s.session.run({ [s.session.inputNames[0]!]: new ort.Tensor('float32', batch.input.subarray(i * per, (i + 1) * per), [1, c, h, w]) }))[s.session.outputNames[0]!]!.data as Float32Array;
      let best = 0;
      for (let k = 1; k < y.length; k++) if (y[k]! > y[best]!) best = k;
      out[i] = best;
    }
    return out;
  } finally {
    await s.session.release();
  }
}

async function benchModel(name: string): Promise<Row[]> {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model '${name}'; known: ${Object.keys(MODELS).join(', ')}`);
  const settings = mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 8, patch: 32, searchTimeMs: searchMs, refine: { scope: 'off' }, recover: null });
  const noop = () => {};
  const stage = async <T>(_n: StageName, fn: () => Promise<T>) => fn();
  const t0 = performance.now();
  const prep = await prepareImportance({ model: m.file, data: m.data, settings }, { emit: noop, log: noop, signal: undefined, stage });
  const { a, data, task, imp } = prep;
  const { model, deps } = a;
  const costs = costModel(model, deps, a.shapes);
  const original = a.layers.totals;
  const originalBytes = model.toBytes();
  const refTop1 = m.zoo ? await top1(originalBytes, data.test) : null;
  const metric: Row['metric'] = task === 'denoise' ? 'psnr' : m.zoo ? 'agreement' : 'accuracy';
  const quality = async (keep: Uint8Array): Promise<number> => {
    const bytes = keep.length ? exportPruned(model, deps, keep).toBytes() : originalBytes;
    if (refTop1) {
      const t = await top1(bytes, data.test);
      let same = 0;
      for (let i = 0; i < t.length; i++) same += t[i] === refTop1[i] ? 1 : 0;
      return same / t.length;
    }
    const r = await evaluateModel(bytes, data.test, task, 'cpu');
    return (task === 'denoise' ? r.psnr : r.accuracy)!;
  };
  const originalQuality = await quality(new Uint8Array(0));
  console.log(`${name}: ${deps.groups.length} groups, ${deps.variables.length} channels, ${original.macs} MACs; prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const base = { sparsity: settings.sparsity, alpha: settings.alpha, beta: settings.beta, similarity: settings.similarity, jointFisher: settings.gamma, floor: settings.floor, roundTo: settings.roundTo, seed: settings.seed, searchTimeMs: searchMs };
  const variant = async (sel: Selection, seconds: number, sparsity?: number): Promise<Variant> => {
    const c = predictCost(model, deps, a.shapes, sel.keep);
    return { macsRatio: c.macs / original.macs, paramsRatio: c.params / original.params, quality: await quality(sel.keep), seconds, ...(sparsity !== undefined ? { sparsity } : {}) };
  };
  const rows: Row[] = [];
  for (const ratio of budgets) {
    const budget = selectionBudget({ kind: 'macs', limit: ratio }, costs);
    let t = performance.now();
    const hybridSel = await selectMask(imp.scores, imp.terms, { ...base, method: 'hybrid', budget });
    const hybrid = await variant(hybridSel, (performance.now() - t) / 1000);
    t = performance.now();
    const fisher = await variant(await selectMask(imp.scores, imp.terms, { ...base, method: 'fisher', budget }), (performance.now() - t) / 1000);
    // Channel-count objective at the same MACs: bisection on the sparsity, every probe with the
    // full search time (a shorter search lands elsewhere); the probe closest to the target wins.
    const target = hybrid.macsRatio * original.macs;
    let lo = 0;
    let hi = 0.99;
    let closest: { sel: Selection; sparsity: number; gap: number } | null = null;
    t = performance.now();
    for (let k = 0; k < 8; k++) {
      const mid = (lo + hi) / 2;
      const sel = await selectMask(imp.scores, imp.terms, { ...base, method: 'hybrid', sparsity: mid });
      const macs = predictCost(model, deps, a.shapes, sel.keep).macs;
      if (macs > target) lo = mid;
      else hi = mid;
      const gap = Math.abs(macs - target);
      if (!closest || gap < closest.gap) closest = { sel, sparsity: mid, gap };
    }
    const channelCount = await variant(closest!.sel, (performance.now() - t) / 1000, closest!.sparsity);
    const trace = hybridSel.search?.trace ?? [];
    const row: Row = {
      model: name,
      budget: ratio,
      metric,
      original: originalQuality,
      hybrid,
      fisher,
      channelCount,
      searchBestMs: trace.length ? trace[trace.length - 1]!.timeMs : null,
      iterations: hybridSel.search?.iterations ?? null,
      metWithin2pct: [hybrid, fisher].every((v) => v.macsRatio <= ratio * (1 + 1e-9) && v.macsRatio >= ratio * 0.98),
    };
    console.log(`  MACs ${ratio}: hybrid ${hybrid.macsRatio.toFixed(4)} → ${hybrid.quality.toFixed(4)}, fisher ${fisher.macsRatio.toFixed(4)} → ${fisher.quality.toFixed(4)}, channel count (s = ${closest!.sparsity.toFixed(3)}) ${channelCount.macsRatio.toFixed(4)} → ${channelCount.quality.toFixed(4)}; best after ${row.searchBestMs?.toFixed(0)} ms`);
    rows.push(row);
  }
  return rows;
}

function markdown(rows: Row[], seconds: number): string {
  const q = (r: Row, v: number) => (r.metric === 'psnr' ? `${v.toFixed(2)} dB` : `${(100 * v).toFixed(1)}%`);
  const L: string[] = [];
  L.push('# MAC budgets: Hybrid QUBO vs greedy Fisher vs the channel-count objective', '');
  L.push(`Generated by \`npm run bench:budget\` (bench/budget.ts) in ${(seconds / 60).toFixed(1)} min on the 2-core CPU machine; raw numbers in \`bench/out/budget.json\`.`, '');
  L.push(
    'Per model: one calibration (8 samples, 32×32 crops; denoisers on `test/fixtures/data`, classifiers on `test/fixtures/cls`), then per MAC budget: **Hybrid** = the default objective under the budget (`selectMask` with `budget`, search ' +
      `${searchMs} ms); **Fisher** = greedy Fisher under the same budget (knapsack-ratio fill, \`budgetStart\` on Fisher scores); **count** = the Hybrid objective with a channel-count constraint, its sparsity found by bisection (8 probes, each with the full search) so that its MACs match Hybrid's; the probe closest to Hybrid's MACs is shown, with its sparsity. ` +
      'MACs are counted on the exported model (`predictCost`, equal to counting the file). Quality on the test split: PSNR for denoisers, top-1 accuracy for the fixture classifier, and for the torchvision classifiers (weights not trained on these labels) top-1 agreement with the unpruned model. No refinement, no recovery.',
    '',
  );
  L.push('| Model | Budget | Original | Hybrid MACs | Hybrid | Fisher MACs | Fisher | Count MACs | Count | Count sparsity | Search best at |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    L.push(`| ${r.model} | ${r.budget} | ${q(r, r.original)} | ${(100 * r.hybrid.macsRatio).toFixed(2)}% | ${q(r, r.hybrid.quality)} | ${(100 * r.fisher.macsRatio).toFixed(2)}% | ${q(r, r.fisher.quality)} | ${(100 * r.channelCount.macsRatio).toFixed(2)}% | ${q(r, r.channelCount.quality)} | ${r.channelCount.sparsity!.toFixed(3)} | ${r.searchBestMs === null ? '–' : `${r.searchBestMs.toFixed(0)} ms`} |`);
  }
  const met = rows.filter((r) => r.metWithin2pct).length;
  const better = (pick: (r: Row) => Variant) => rows.filter((r) => r.hybrid.quality > pick(r).quality + 1e-12).length;
  const worse = (pick: (r: Row) => Variant) => rows.filter((r) => r.hybrid.quality < pick(r).quality - 1e-12).length;
  L.push('');
  L.push(`Budget met within 2% (Hybrid and Fisher in [0.98·budget, budget]): **${met} of ${rows.length}**. Hybrid better / worse than greedy Fisher at the same budget: ${better((r) => r.fisher)} / ${worse((r) => r.fisher)}; than the channel-count objective at equal MACs: ${better((r) => r.channelCount)} / ${worse((r) => r.channelCount)} of ${rows.length}.`, '');
  return L.join('\n');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const rows: Row[] = [];
  for (const name of values.models!.split(',')) rows.push(...(await benchModel(name)));
  const seconds = (performance.now() - t0) / 1000;
  mkdirSync(path.dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify({ generated: new Date().toISOString(), seconds, searchMs, rows }, null, 1) + '\n');
  mkdirSync(path.dirname(values.md!), { recursive: true });
  writeFileSync(values.md!, markdown(rows, seconds));
  console.log(`wrote ${values.out} and ${values.md} in ${seconds.toFixed(0)} s`);
  if (rows.some((r) => !r.metWithin2pct)) process.exitCode = 1;
}

void main();

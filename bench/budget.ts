// MAC budgets end to end: for each model and budget (0.7 / 0.5 / 0.3 of the original's MACs),
// the Hybrid QUBO under the budget, greedy Fisher under the same budget (the knapsack-ratio fill
// on Fisher scores), and the channel-count objective (Hybrid at a sparsity found by bisection so
// that its MACs equal the budgeted result's). Every mask goes through the pipeline's own stages:
// prepareImportance (analysis, calibration, importance), selectMask, exportPruned, evaluateModel.
//   npm run bench:budget [-- --models dncnn,halfunet,unet,classifier,resnet18,mobilenet_v2,resnet50] [--budgets 0.7,0.5,0.3] [--search-ms 1000]
// Results are written after every model, merged with the models already in the results file, so
// a killed run loses only the model it was on and `--models` resumes or redoes single models.
// Classifiers run on test/fixtures/cls at 32×32. The zoo classifiers' weights are not trained on
// those labels, so for them quality is fidelity to the original model (bench/budget/fidelity.ts).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS, mergeSettings } from '../src/core/presets';
import { prepareImportance } from '../src/core/pipeline/prepare';
import { selectMask, type Selection } from '../src/core/pipeline/selectMask';
import { selectionBudget } from '../src/core/pipeline/costBudget';
import { costModel, predictCost } from '../src/core/prune/cost';
import { exportPruned } from '../src/core/prune/physicalExport';
import { evaluateModel } from '../src/core/pipeline/evaluateModel';
import type { StageName } from '../src/protocol';
import { classifierOutputs, distinctTop1, fidelity } from './budget/fidelity';
import { budgetCharts, budgetMarkdown, mergeRuns, type BudgetResults, type ModelRun, type Row, type Variant } from './budget/report';

const ROOT = path.join(__dirname, '..');
const FIX = path.join(ROOT, 'test', 'fixtures');
const ZOO = path.join(ROOT, 'bench', 'out', 'zoo');
const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'dncnn,halfunet,unet,classifier,resnet18,mobilenet_v2,resnet50' },
    budgets: { type: 'string', default: '0.7,0.5,0.3' },
    // What users get: the balanced preset's search time.
    'search-ms': { type: 'string', default: String(DEFAULT_SETTINGS.searchTimeMs) },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'out', 'budget.json') },
    md: { type: 'string', default: path.join(ROOT, 'docs', 'bench', 'budget.md') },
    // Redraws the Markdown and charts from the results file without running anything.
    'report-only': { type: 'boolean', default: false },
  },
});
const budgets = values.budgets!.split(',').map(Number);
const searchMs = Number(values['search-ms']);
if (budgets.some((b) => !(b > 0 && b <= 1))) throw new Error(`--budgets must be ratios in (0, 1], got '${values.budgets}'`);
if (!(searchMs > 0)) throw new Error(`--search-ms must be a positive number, got '${values['search-ms']}'`);

const MODELS: Record<string, { file: string; data: string; zoo: boolean }> = {
  dncnn: { file: path.join(FIX, 'dncnn.onnx'), data: path.join(FIX, 'data'), zoo: false },
  halfunet: { file: path.join(FIX, 'halfunet.onnx'), data: path.join(FIX, 'data'), zoo: false },
  unet: { file: path.join(FIX, 'unet.onnx'), data: path.join(FIX, 'data'), zoo: false },
  classifier: { file: path.join(FIX, 'classifier.onnx'), data: path.join(FIX, 'cls'), zoo: false },
  resnet18: { file: path.join(ZOO, 'resnet18.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
  mobilenet_v2: { file: path.join(ZOO, 'mobilenet_v2.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
  resnet50: { file: path.join(ZOO, 'resnet50.trained.onnx'), data: path.join(FIX, 'cls'), zoo: true },
};
const requested = values.models!.split(',');
for (const name of requested) if (!MODELS[name]) throw new Error(`unknown model '${name}'; known: ${Object.keys(MODELS).join(', ')}`);

async function benchModel(name: string): Promise<ModelRun> {
  const m = MODELS[name]!;
  // torchvision weights expect ImageNet-normalised inputs, as a user pruning them would configure.
  const settings = mergeSettings(DEFAULT_SETTINGS, { provider: 'cpu', samples: 8, patch: 32, searchTimeMs: searchMs, refine: { scope: 'off' }, recover: null, ...(m.zoo ? { normalize: 'imagenet' as const } : {}) });
  const noop = () => {};
  const stage = async <T>(_n: StageName, fn: () => Promise<T>) => fn();
  const t0 = performance.now();
  const prep = await prepareImportance({ model: m.file, data: m.data, settings }, { emit: noop, log: noop, signal: undefined, stage });
  const { a, data, task, imp } = prep;
  const { model, deps } = a;
  const costs = costModel(model, deps, a.shapes);
  const original = a.layers.totals;
  const originalBytes = model.toBytes();
  const reference = m.zoo ? await classifierOutputs(originalBytes, data.test) : null;
  const metric: Row['metric'] = task === 'denoise' ? 'psnr' : m.zoo ? 'agreement' : 'accuracy';
  const quality = async (keep: Uint8Array): Promise<{ quality: number; kl?: number }> => {
    const bytes = keep.length ? exportPruned(model, deps, keep).toBytes() : originalBytes;
    if (reference) {
      const f = fidelity(reference, await classifierOutputs(bytes, data.test));
      return { quality: f.agreement, kl: f.kl };
    }
    const r = await evaluateModel(bytes, data.test, task, 'cpu');
    const q = task === 'denoise' ? r.psnr : r.accuracy;
    if (q === undefined) throw new Error(`${name}: evaluateModel gave no ${task === 'denoise' ? 'PSNR' : 'accuracy'}`);
    return { quality: q };
  };
  const originalQuality = (await quality(new Uint8Array(0))).quality;
  const prepareSeconds = (performance.now() - t0) / 1000;
  const referenceClasses = reference ? distinctTop1(reference) : undefined;
  console.log(`${name}: ${deps.groups.length} groups, ${deps.variables.length} channels, ${original.macs} MACs; prepared in ${prepareSeconds.toFixed(1)} s${reference ? `; the original predicts ${referenceClasses} distinct classes on ${reference.length} test images` : ''}`);
  const base = { sparsity: settings.sparsity, alpha: settings.alpha, beta: settings.beta, similarity: settings.similarity, jointFisher: settings.gamma, floor: settings.floor, roundTo: settings.roundTo, seed: settings.seed, searchTimeMs: searchMs };
  const variant = async (sel: Selection, seconds: number, sparsity?: number): Promise<Variant> => {
    const c = predictCost(model, deps, a.shapes, sel.keep);
    return { macsRatio: c.macs / original.macs, paramsRatio: c.params / original.params, ...(await quality(sel.keep)), seconds, ...(sparsity !== undefined ? { sparsity } : {}) };
  };
  const show = (v: Variant) => `${v.macsRatio.toFixed(4)} → ${v.quality.toFixed(4)}${v.kl !== undefined ? ` (KL ${v.kl.toFixed(4)})` : ''}`;
  const rows: Row[] = [];
  for (const ratio of budgets) {
    const budget = selectionBudget({ kind: 'macs', limit: ratio }, costs);
    let t = performance.now();
    const hybridSel = await selectMask(imp.scores, imp.terms, { ...base, method: 'hybrid', budget });
    const hybridSeconds = (performance.now() - t) / 1000;
    const hybrid = await variant(hybridSel, hybridSeconds);
    t = performance.now();
    const fisherSel = await selectMask(imp.scores, imp.terms, { ...base, method: 'fisher', budget });
    const fisher = await variant(fisherSel, (performance.now() - t) / 1000);
    // Channel-count objective at the same MACs: bisection on the sparsity, every probe with the
    // full search time (a shorter search lands elsewhere); the probe closest to the target wins.
    // The search is time-bounded, so a probe's MACs are not exactly monotone in the sparsity.
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
      ...(referenceClasses !== undefined ? { referenceClasses } : {}),
      hybrid,
      fisher,
      channelCount,
      searchBestMs: trace.length ? trace[trace.length - 1]!.timeMs : null,
      iterations: hybridSel.search?.iterations ?? null,
      metWithin2pct: [hybrid, fisher].every((v) => v.macsRatio <= ratio * (1 + 1e-9) && v.macsRatio >= ratio * 0.98),
    };
    console.log(`  MACs ${ratio}: hybrid ${show(hybrid)} in ${hybridSeconds.toFixed(2)} s, fisher ${show(fisher)}, channel count (s = ${closest!.sparsity.toFixed(3)}) ${show(channelCount)}; best after ${row.searchBestMs?.toFixed(0)} ms`);
    rows.push(row);
  }
  return { model: name, prepareSeconds, seconds: (performance.now() - t0) / 1000, testSamples: data.test.count, rows };
}

function readPrevious(file: string): ModelRun[] {
  if (!existsSync(file)) return [];
  const prev = JSON.parse(readFileSync(file, 'utf8')) as Partial<BudgetResults>;
  if (!Array.isArray(prev.models)) throw new Error(`${file} is not a budget results file of this version (no 'models'); move it away to start afresh`);
  if (prev.searchMs !== searchMs) throw new Error(`${file} holds results with a ${prev.searchMs} ms search; rerun with --search-ms ${prev.searchMs} to add models, or move it away to start afresh`);
  return prev.models;
}

/** Writes through a temporary file, so a kill mid-write keeps the previous results whole. */
function writeAtomic(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function save(models: ModelRun[]): BudgetResults {
  const res: BudgetResults = { generated: new Date().toISOString(), searchMs, defaultSearchMs: DEFAULT_SETTINGS.searchTimeMs, models };
  writeAtomic(values.out!, JSON.stringify(res, null, 1) + '\n');
  const charts = budgetCharts(res);
  for (const c of charts) writeAtomic(path.join(path.dirname(values.md!), c.file), c.png);
  writeAtomic(values.md!, budgetMarkdown(res, charts));
  return res;
}

async function main(): Promise<void> {
  let models = readPrevious(values.out!);
  if (values['report-only']) {
    if (!models.length) throw new Error(`--report-only: no results in ${values.out}`);
    save(models);
    console.log(`redrew ${values.md} from ${values.out}`);
    return;
  }
  const t0 = performance.now();
  for (const name of requested) {
    models = mergeRuns(models, [await benchModel(name)], Object.keys(MODELS));
    save(models);
    console.log(`  saved ${values.out} and ${values.md} (${models.map((m) => m.model).join(', ')})`);
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (models.some((m) => m.rows.some((r) => !r.metWithin2pct))) process.exitCode = 1;
}

void main();

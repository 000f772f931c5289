// Latency benchmark (issue 15): does pruning make models faster on the CPU, by as much as it cuts
// MACs? For the fixture denoisers and torchvision classifiers, the default preset (kernel-aware
// round-to and the speed guard) and MAC budgets 0.7 / 0.5 / 0.3, refinement and recovery off:
// measured speed-up (median and IQR at batch 1 and 8) against the MAC reduction, the latency
// model's predicted-vs-measured error on held-out masks, and (--latency-budget) a latencyRatio 0.6
// budget's predicted against measured speed-up on the denoisers.
//   npm run bench:latency [-- --models dncnn,halfunet --configs default,0.5 --no-validate --latency-budget]
// --configs none runs no pipeline rows (validation and/or the latency-budget check only).
// Writes bench/out/latency.json and docs/bench/latency.md.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runPipeline } from '../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../src/core/presets';
import type { PresetOverrides } from '../src/core/settings/schema';
import { defaultLatencyCacheDir } from '../src/core/latency/cache';
import { validateLatencyModel, type ValidationResult } from './lib/latencyValidation';
import * as os from 'node:os';

const root = path.resolve(__dirname, '..');
// The classifier fixtures are 32×32 images: models with an open input size calibrate on them as
// they are (latency is still timed at 224×224); VGG's fixed 224 input needs them resized.
const CLS_OPEN: PresetOverrides = { patch: 32, samples: 8 };
const CLS_FIXED: PresetOverrides = { resize: 'auto', samples: 4 };
const MODELS: { name: string; file: string; data: string; validateShape?: number[]; overrides?: PresetOverrides }[] = [
  { name: 'dncnn', file: 'test/fixtures/dncnn.onnx', data: 'test/fixtures/data', validateShape: [1, 3, 128, 128] },
  { name: 'halfunet', file: 'test/fixtures/halfunet.onnx', data: 'test/fixtures/data', validateShape: [1, 3, 128, 128] },
  { name: 'unet', file: 'test/fixtures/unet.onnx', data: 'test/fixtures/data', validateShape: [1, 3, 128, 128] },
  { name: 'resnet18', file: 'bench/out/zoo/resnet18.trained.onnx', data: 'test/fixtures/cls', validateShape: [1, 3, 224, 224], overrides: CLS_OPEN },
  { name: 'mobilenet_v2', file: 'bench/out/zoo/mobilenet_v2.trained.onnx', data: 'test/fixtures/cls', overrides: CLS_OPEN },
  { name: 'vgg11_bn', file: 'bench/out/zoo/vgg11_bn.trained.onnx', data: 'test/fixtures/cls', overrides: CLS_FIXED },
];
const CONFIGS = ['default', '0.7', '0.5', '0.3'];

interface Validation extends ValidationResult {
  model: string;
}

/** A latencyRatio budget run: the latency model's predicted ratio against the measured one. */
interface BudgetCheck {
  model: string;
  limit: number;
  predictedRatio: number;
  measuredRatio: number;
  beforeMs: number;
  beforeIqr: number;
  afterMs: number;
  afterIqr: number;
  met: boolean;
  macRatio: number;
  load: number;
  seconds: number;
}

const LATENCY_BUDGET_MODELS = new Set(['dncnn', 'halfunet', 'unet']);
const LATENCY_RATIO = 0.6;

interface Row {
  model: string;
  config: string;
  macRatio: number;
  macReduction: number;
  roundTo: number;
  sparsity: number;
  b1: { beforeMs: number; beforeIqr: number; afterMs: number; afterIqr: number; speedup: number };
  b8: { beforeMs: number; afterMs: number; speedup: number } | null;
  guard: string | null;
  goalMet: boolean | null;
  seconds: number;
}

(async () => {
  // --append keeps the rows of models this run does not measure (a long benchmark run in parts);
  // --render-only rewrites docs/bench/latency.md from bench/out/latency.json.
  const { values } = parseArgs({ options: { models: { type: 'string' }, configs: { type: 'string' }, 'no-validate': { type: 'boolean' }, 'latency-budget': { type: 'boolean' }, append: { type: 'boolean' }, 'render-only': { type: 'boolean' } } });
  const pick = values.models ? new Set(values.models.split(',')) : undefined;
  const configs = values.configs === 'none' ? [] : values.configs ? values.configs.split(',') : CONFIGS;
  const rows: Row[] = [];
  const validation: Validation[] = [];
  const budgetChecks: BudgetCheck[] = [];
  const saved = path.join(root, 'bench/out/latency.json');
  if ((values.append || values['render-only']) && existsSync(saved)) {
    const old = JSON.parse(readFileSync(saved, 'utf8')) as { rows: Row[]; validation: Validation[]; budgetChecks?: BudgetCheck[] };
    const measured = (model: string) => !values['render-only'] && (!pick || pick.has(model));
    // A row is replaced only when this run measures its model and config, so one row can be re-run alone.
    rows.push(...old.rows.filter((r) => !(measured(r.model) && configs.includes(r.config))));
    // Validation entries from the per-layer tables (no 'looError') describe a model that no longer exists.
    validation.push(...old.validation.filter((v) => typeof v.looError === 'number' && !(measured(v.model) && !values['no-validate'])));
    budgetChecks.push(...(old.budgetChecks ?? []).filter((b) => !(measured(b.model) && values['latency-budget'])));
  }
  if (values['render-only']) {
    write(rows, validation, budgetChecks);
    return;
  }
  for (const m of MODELS) {
    if (pick && !pick.has(m.name)) continue;
    if (!existsSync(path.join(root, m.file))) {
      console.error(`skip ${m.name}: ${m.file} missing (npm run bench:zoo exports it)`);
      continue;
    }
    for (const config of configs) {
      const overrides: PresetOverrides = { provider: 'cpu', refine: { scope: 'off' }, recover: false, ...(m.overrides ?? {}), ...(config === 'default' ? {} : { budget: { macs: Number(config) } }) };
      const dir = mkdtempSync(path.join(tmpdir(), 'qp-benchlat-'));
      const t0 = performance.now();
      const s = await runPipeline({ model: path.join(root, m.file), data: path.join(root, m.data), out: path.join(dir, `${m.name}.onnx`), presetName: 'balanced', settings: mergeSettings(DEFAULT_SETTINGS, overrides), compare: false, timeBudgetSeconds: 0, latencyCacheDir: defaultLatencyCacheDir() });
      const lb = s.before.latency!;
      const la = s.after.latency!;
      const macRatio = s.after.macs / s.before.macs;
      const speedup = lb.batch1.medianMs / la.batch1.medianMs;
      const g = s.speedGuard;
      const row: Row = {
        model: m.name,
        config,
        macRatio,
        macReduction: 1 / macRatio,
        roundTo: g ? g.attempts[g.shipped]!.roundTo : DEFAULT_SETTINGS.roundTo,
        sparsity: g ? g.attempts[g.shipped]!.sparsity : s.sparsity,
        b1: { beforeMs: lb.batch1.medianMs, beforeIqr: lb.batch1.iqrMs, afterMs: la.batch1.medianMs, afterIqr: la.batch1.iqrMs, speedup },
        b8: lb.batch8 && la.batch8 ? { beforeMs: lb.batch8.medianMs, afterMs: la.batch8.medianMs, speedup: lb.batch8.medianMs / la.batch8.medianMs } : null,
        guard: g ? g.message : null,
        // The goal is stated for default-preset exports: speed-up ≥ 0.8 × MAC reduction and ≥ 1.
        goalMet: config === 'default' ? speedup >= 1 && speedup >= 0.8 * (1 / macRatio) : null,
        seconds: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      write(rows, validation, budgetChecks);
    }
    if (!values['no-validate'] && m.validateShape) {
      const v = await validateLatencyModel(m.name, path.join(root, m.file), m.validateShape);
      validation.push({ model: m.name, ...v });
      console.log(JSON.stringify(validation[validation.length - 1]));
      write(rows, validation, budgetChecks);
    }
    if (values['latency-budget'] && LATENCY_BUDGET_MODELS.has(m.name)) {
      const dir = mkdtempSync(path.join(tmpdir(), 'qp-benchlat-'));
      const t0 = performance.now();
      const load = os.loadavg()[0]!;
      // The model is built fresh (no cache), as a first run on a new machine would.
      const overrides: PresetOverrides = { provider: 'cpu', refine: { scope: 'off' }, recover: false, ...(m.overrides ?? {}), budget: { latencyRatio: LATENCY_RATIO } };
      const s = await runPipeline({ model: path.join(root, m.file), data: path.join(root, m.data), out: path.join(dir, `${m.name}.onnx`), presetName: 'balanced', settings: mergeSettings(DEFAULT_SETTINGS, overrides), compare: false, timeBudgetSeconds: 0, latencyCacheDir: path.join(dir, 'cache') });
      const b = s.budget!;
      const lb = s.before.latency!.batch1;
      const la = s.after.latency!.batch1;
      const check: BudgetCheck = { model: m.name, limit: LATENCY_RATIO, predictedRatio: b.ratio, measuredRatio: la.medianMs / lb.medianMs, beforeMs: lb.medianMs, beforeIqr: lb.iqrMs, afterMs: la.medianMs, afterIqr: la.iqrMs, met: b.met, macRatio: s.after.macs / s.before.macs, load, seconds: (performance.now() - t0) / 1000 };
      budgetChecks.push(check);
      console.log(JSON.stringify(check));
      write(rows, validation, budgetChecks);
    }
  }
  write(rows, validation, budgetChecks);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

/** Written after every row, so a run cut short (time limit, Ctrl-C) still leaves its figures. */
function write(rows: Row[], validation: Validation[], budgetChecks: BudgetCheck[]): void {
  mkdirSync(path.join(root, 'bench/out'), { recursive: true });
  writeFileSync(path.join(root, 'bench/out/latency.json'), JSON.stringify({ createdAt: new Date().toISOString(), rows, validation, budgetChecks }, null, 1) + '\n');
  const f2 = (x: number) => x.toFixed(2);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const meanAbs = (xs: number[]) => xs.reduce((a, x) => a + Math.abs(x), 0) / Math.max(1, xs.length);
  const maxAbs = (xs: number[]) => Math.max(0, ...xs.map(Math.abs));
  const md: string[] = [
    '# Latency benchmark',
    '',
    'Generated by `npm run bench:latency` (bench/latency.ts); raw figures in `bench/out/latency.json`. CPU provider, refinement and recovery off, preset `balanced` (kernel-aware round-to and the speed guard) with sparsity 36 % ("default") or a MAC budget. Latency: median (IQR) of ≥ 20 timed runs after warm-up at the latency size (whole 128×128 test images for the denoisers, 224×224 for classifiers).',
    '',
    '| model | config | MACs kept | MAC reduction | round-to | sparsity | batch 1 before → after (ms) | speed-up b1 | speed-up b8 | goal (default) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.config} | ${(100 * r.macRatio).toFixed(1)}% | ${f2(r.macReduction)}× | ${r.roundTo} | ${r.config === 'default' ? `${Math.round(r.sparsity * 100)}%` : '– (budget)'} | ${f2(r.b1.beforeMs)} (${f2(r.b1.beforeIqr)}) → ${f2(r.b1.afterMs)} (${f2(r.b1.afterIqr)}) | ${f2(r.b1.speedup)}× | ${r.b8 ? `${f2(r.b8.speedup)}×` : '–'} | ${r.goalMet === null ? '' : r.goalMet ? 'met' : 'missed'} |`),
    '',
    '## Latency model: held-out masks, predicted vs measured (batch 1)',
    '',
    'The model is fitted to whole-model timings of 10 calibration masks (uniform keep ratios 1, 0.8, 0.6, 0.4, 0.25 and 5 random per-group ratios), then checked on 8 masks it was not fitted to (uniform 0.9, 0.7, 0.5, 0.3 and 4 other random ones), timed in a second round-robin measurement together with the original. "error" compares milliseconds (load drift between the two measurements included); "ratio error" compares the fraction of the original (what a `latencyRatio` budget relies on).',
    '',
    '| model | mask | predicted (ms) | measured (ms, IQR) | error | ratio error |',
    '|---|---|---|---|---|---|',
    ...validation.flatMap((v) => v.rows.map((r) => `| ${r.model} | ${r.mask} | ${f2(r.predictedMs)} | ${f2(r.measuredMs)} (${f2(r.iqrMs)}) | ${pct(r.relError)} | ${pct(r.ratioError)} |`)),
    '',
    '| model | size | calibration (s) | fit | mean / max error | mean / max ratio error | fit error / leave-one-out | calibration IQR / median | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...validation.map((v) => `| ${v.model} | ${v.rows[0]?.inputShape.slice(2).join('×') ?? ''} | ${v.calibrationSeconds.toFixed(1)} | ${v.variant} | ${pct(meanAbs(v.rows.map((r) => r.relError)))} / ${pct(maxAbs(v.rows.map((r) => r.relError)))} | ${pct(meanAbs(v.rows.map((r) => r.ratioError)))} / ${pct(maxAbs(v.rows.map((r) => r.ratioError)))} | ${pct(v.fitError)} / ${pct(v.looError)} | ${pct(v.calibrationRelIqr)} | ${v.load.map((l) => l.toFixed(1)).join(' → ')} |`),
    '',
    ...(budgetChecks.length
      ? [
          `## Latency budget: \`latencyRatio ${LATENCY_RATIO}\`, predicted vs measured`,
          '',
          'Preset `balanced` with the budget, refinement and recovery off, latency model built fresh. "predicted" is the latency model\'s after/before ratio the search met; "measured" the exported model\'s batch-1 median over the original\'s, timed together.',
          '',
          '| model | predicted ratio | measured ratio | before → after (ms, IQR) | MACs kept | budget met | load (1 min) | run (s) |',
          '|---|---|---|---|---|---|---|---|',
          ...budgetChecks.map((b) => `| ${b.model} | ${f2(b.predictedRatio)} | ${f2(b.measuredRatio)} | ${f2(b.beforeMs)} (${f2(b.beforeIqr)}) → ${f2(b.afterMs)} (${f2(b.afterIqr)}) | ${pct(b.macRatio)} | ${b.met ? 'yes' : 'no'} | ${b.load.toFixed(1)} | ${b.seconds.toFixed(0)} |`),
          '',
        ]
      : []),
  ];
  mkdirSync(path.join(root, 'docs/bench'), { recursive: true });
  writeFileSync(path.join(root, 'docs/bench/latency.md'), md.join('\n'));
}

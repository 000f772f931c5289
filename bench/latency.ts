// Latency benchmark (issue 15): does pruning make models faster on the CPU, by as much as it cuts
// MACs? For the fixture denoisers and torchvision classifiers, the default preset (kernel-aware
// round-to and the speed guard) and MAC budgets 0.7 / 0.5 / 0.3, refinement and recovery off:
// measured speed-up (median and IQR at batch 1 and 8) against the MAC reduction, and the latency
// model's predicted-vs-measured error on a few masks.
//   npm run bench:latency [-- --models dncnn,halfunet --configs default,0.5 --no-validate]
// Writes bench/out/latency.json and docs/bench/latency.md.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runPipeline } from '../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../src/core/presets';
import type { PresetOverrides } from '../src/core/settings/schema';
import { defaultLatencyCacheDir } from '../src/core/latency/cache';
import { validateLatencyModel, type ValidationRow } from './lib/latencyValidation';

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

interface Validation {
  model: string;
  tableSeconds: number;
  maxFitError: number;
  restMs: number;
  rows: ValidationRow[];
}

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
  const { values } = parseArgs({ options: { models: { type: 'string' }, configs: { type: 'string' }, 'no-validate': { type: 'boolean' }, append: { type: 'boolean' }, 'render-only': { type: 'boolean' } } });
  const pick = values.models ? new Set(values.models.split(',')) : undefined;
  const configs = values.configs ? values.configs.split(',') : CONFIGS;
  const rows: Row[] = [];
  const validation: Validation[] = [];
  const saved = path.join(root, 'bench/out/latency.json');
  if ((values.append || values['render-only']) && existsSync(saved)) {
    const old = JSON.parse(readFileSync(saved, 'utf8')) as { rows: Row[]; validation: Validation[] };
    const keepOld = (model: string) => values['render-only'] || (pick ? !pick.has(model) : false);
    rows.push(...old.rows.filter((r) => keepOld(r.model)));
    validation.push(...old.validation.filter((v) => keepOld(v.model)));
  }
  if (values['render-only']) {
    write(rows, validation);
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
      write(rows, validation);
    }
    if (!values['no-validate'] && m.validateShape) {
      const v = await validateLatencyModel(m.name, path.join(root, m.file), m.validateShape, [1, 0.75, 0.5, 0.3], defaultLatencyCacheDir());
      validation.push({ model: m.name, tableSeconds: v.tableSeconds, maxFitError: v.maxFitError, restMs: v.restMs, rows: v.rows });
      console.log(JSON.stringify(validation[validation.length - 1]));
      write(rows, validation);
    }
  }
  write(rows, validation);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

/** Written after every row, so a run cut short (time limit, Ctrl-C) still leaves its figures. */
function write(rows: Row[], validation: Validation[]): void {
  mkdirSync(path.join(root, 'bench/out'), { recursive: true });
  writeFileSync(path.join(root, 'bench/out/latency.json'), JSON.stringify({ createdAt: new Date().toISOString(), rows, validation }, null, 1) + '\n');
  const f2 = (x: number) => x.toFixed(2);
  const md: string[] = [
    '# Latency benchmark',
    '',
    'Generated by `npm run bench:latency` (bench/latency.ts); raw figures in `bench/out/latency.json`. CPU provider, refinement and recovery off, preset `balanced` (kernel-aware round-to and the speed guard) with sparsity 36 % ("default") or a MAC budget. Latency: median (IQR) of ≥ 20 timed runs after warm-up at the latency size (whole 128×128 test images for the denoisers, 224×224 for classifiers).',
    '',
    '| model | config | MACs kept | MAC reduction | round-to | sparsity | batch 1 before → after (ms) | speed-up b1 | speed-up b8 | goal (default) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.config} | ${(100 * r.macRatio).toFixed(1)}% | ${f2(r.macReduction)}× | ${r.roundTo} | ${r.config === 'default' ? `${Math.round(r.sparsity * 100)}%` : '– (budget)'} | ${f2(r.b1.beforeMs)} (${f2(r.b1.beforeIqr)}) → ${f2(r.b1.afterMs)} (${f2(r.b1.afterIqr)}) | ${f2(r.b1.speedup)}× | ${r.b8 ? `${f2(r.b8.speedup)}×` : '–'} | ${r.goalMet === null ? '' : r.goalMet ? 'met' : 'missed'} |`),
    '',
    '## Latency model: predicted vs measured (batch 1)',
    '',
    '| model | kept fraction | predicted (ms) | measured (ms, IQR) | error |',
    '|---|---|---|---|---|',
    ...validation.flatMap((v) => v.rows.map((r) => `| ${r.model} | ${r.keptFraction} | ${f2(r.predictedMs)} | ${f2(r.measuredMs)} (${f2(r.iqrMs)}) | ${(100 * r.relError).toFixed(0)}% |`)),
    '',
    ...validation.map((v) => `- ${v.model}: tables in ${v.tableSeconds.toFixed(0)} s, largest per-layer fit error ${(100 * v.maxFitError).toFixed(0)}%, rest of the model ${f2(v.restMs)} ms.`),
    '',
  ];
  mkdirSync(path.join(root, 'docs/bench'), { recursive: true });
  writeFileSync(path.join(root, 'docs/bench/latency.md'), md.join('\n'));
}

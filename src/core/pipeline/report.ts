// The run report: one JSON document (schema in docs/REPORT.md) and its Markdown rendering.
import * as path from 'node:path';
import type { PruneRequest, RunSummary, PruneSettings, MetricSet } from '../../protocol';
import type { DependencyAnalysis, LayerInfo } from '../analysis/types';
import type { DatasetSummary } from '../data';
import type { ChannelScores, Selection } from './selectMask';
import { describeBudget } from './costBudget';
import { TIMED_RUNS, formatTiming, speedWording } from '../latency/stats';
import { downsampleTrace, type RecoveryInfo } from '../recover';

export const REPORT_SCHEMA_VERSION = 1;

/** Refinement's evaluator counters (BatchedEvaluator.stats), for the report. */
export interface RefinementEvaluatorStats {
  /** Candidates × crops per onnxruntime run at most. */
  runItems: number;
  runs: number;
  /** Time spent scoring, split building included. */
  seconds: number;
  /** Blocks scored through a split model, and blocks scored on the whole model. */
  splitBlocks: number;
  wholeBlocks: number;
  /** Distinct masks scored through a split model. */
  suffixEvaluations: number;
}

export interface ReportGroup {
  id: string;
  size: number;
  kept: number;
  producers: string[];
  consumers: string[];
  initializers: string[];
  /** 1 = kept, per channel in the group's order. */
  keep: number[];
  channels: { producer: string; channel: number; taylor: number; fisher: number; l1: number; l2: number; gain: number }[];
}

export interface RunReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  kind: 'qubo-prune.report';
  createdAt: string;
  model: string;
  output: string;
  preset: string;
  settings: PruneSettings;
  provider: string;
  data: DatasetSummary;
  calibration: { samples: number; meanLoss: number };
  metrics: { before: MetricSet; after: MetricSet; beforeRefine: MetricSet | null };
  search: {
    method: string;
    K: number;
    n: number;
    energy: number | null;
    iterations: number | null;
    timeMs: number | null;
    stopReason: string | null;
    trace: { iteration: number; energy: number; timeMs: number }[];
  };
  refinement: {
    scope: string;
    startValue: number;
    bestValue: number;
    /** Whether the refined mask was kept (gain ≥ refine.minGain). */
    accepted: boolean;
    evaluations: number;
    seconds: number;
    blocks: unknown[];
    trace: unknown[];
    /** How the candidates were scored (absent in reports written before session 3). */
    evaluator?: RefinementEvaluatorStats;
  } | null;
  /**
   * `sha256` and `bytes` of the pruned model file as written (absent in older reports): what ties
   * this report to one model file, so a report beside a model from another run is detected rather
   * than trusted.
   */
  export: { maxAbsDiffVsMasked: number; sha256?: string; bytes?: number };
  groups: ReportGroup[];
  locked: DependencyAnalysis['locked'];
  layers: { node: string; op: string; before: { in: number; out: number; params: number; macs: number }; after: { in: number; out: number; params: number; macs: number } | null }[];
  comparison: RunSummary['comparison'] | null;
  /** The cost budget and the ratio reached (absent when the run used sparsity). */
  budget?: RunSummary['budget'];
  /** Where the metrics were measured and the input shape of the MACs (absent in older reports). */
  evaluation?: RunSummary['evaluation'];
  /** Kernel-aware runs: round-to timings and the speed guard's attempts (src/core/latency/speedGuard.ts). */
  speedGuard?: RunSummary['speedGuard'];
  /** The verdict (src/core/pipeline/verdict.ts): slower or much worse; absent in older reports. */
  flags?: NonNullable<RunSummary['flags']>;
  /** Recovery fine-tuning (docs/RECOVERY.md); absent when the stage did not run. */
  recovery?: RecoveryReport;
  stageSeconds: RunSummary['stageSeconds'];
  seconds: number;
}

/**
 * The `recover` stage in the report: the stage's own summary, with the BN re-estimation always
 * present (null: no BN) and the training curve thinned to at most RECOVERY_CURVE_POINTS points.
 */
export type RecoveryReport = Omit<RecoveryInfo, 'trace' | 'recalibration'> & {
  recalibration: NonNullable<RecoveryInfo['recalibration']> | null;
  curve: RecoveryInfo['trace'];
};

export const RECOVERY_CURVE_POINTS = 200;

export interface ReportParts {
  request: PruneRequest;
  summary: RunSummary;
  deps: DependencyAnalysis;
  scores: ChannelScores;
  gain: Float64Array;
  keep: Uint8Array;
  qubo: Selection;
  refinement: RunReport['refinement'];
  dataset: DatasetSummary;
  exportMaxAbsDiff: number;
  /** The written model file's digest and size. */
  exportFile?: { sha256: string; bytes: number };
  calibrationLoss: number;
  calibrationSamples: number;
  layersBefore: LayerInfo[];
  layersAfter: LayerInfo[];
  recovery?: RecoveryInfo;
}

const r6 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

export function buildReport(p: ReportParts): RunReport {
  const { deps, scores, summary } = p;
  const after = new Map(p.layersAfter.map((l) => [l.node, l]));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: 'qubo-prune.report',
    createdAt: new Date().toISOString(),
    model: summary.model,
    output: summary.output,
    preset: p.request.presetName,
    settings: p.request.settings,
    provider: summary.provider,
    data: p.dataset,
    calibration: { samples: p.calibrationSamples, meanLoss: p.calibrationLoss },
    metrics: { before: summary.before, after: summary.after, beforeRefine: summary.beforeRefine ?? null },
    search: {
      method: summary.method,
      K: p.qubo.instance.K,
      n: p.qubo.instance.n,
      energy: p.qubo.search?.energy ?? null,
      iterations: p.qubo.search?.iterations ?? null,
      timeMs: p.qubo.search?.timeMs ?? null,
      stopReason: p.qubo.search?.stopReason ?? null,
      trace: p.qubo.search?.trace ?? [],
    },
    refinement: p.refinement,
    export: { maxAbsDiffVsMasked: p.exportMaxAbsDiff, ...(p.exportFile ? { sha256: p.exportFile.sha256, bytes: p.exportFile.bytes } : {}) },
    groups: deps.groups.map((g) => {
      const vars = Array.from(g.variables);
      return {
        id: g.id,
        size: g.size,
        kept: vars.reduce((a, v) => a + p.keep[v]!, 0),
        producers: g.producers,
        consumers: g.consumers,
        initializers: g.initializers,
        keep: vars.map((v) => p.keep[v]!),
        channels: vars.map((v) => ({
          producer: deps.variables[v]!.producer,
          channel: deps.variables[v]!.channel,
          taylor: r6(scores.taylor[v]!),
          fisher: r6(scores.fisher[v]!),
          l1: r6(scores.l1[v]!),
          l2: r6(scores.l2[v]!),
          gain: r6(p.gain[v]!),
        })),
      };
    }),
    locked: deps.locked,
    layers: p.layersBefore.map((l) => {
      const a = after.get(l.node);
      return {
        node: l.node,
        op: l.op,
        before: { in: l.inChannels, out: l.outChannels, params: l.params, macs: l.macs },
        after: a ? { in: a.inChannels, out: a.outChannels, params: a.params, macs: a.macs } : null,
      };
    }),
    comparison: summary.comparison ?? null,
    ...(summary.budget ? { budget: summary.budget } : {}),
    ...(summary.evaluation ? { evaluation: summary.evaluation } : {}),
    ...(summary.flags ? { flags: summary.flags } : {}),
    ...(summary.speedGuard ? { speedGuard: summary.speedGuard } : {}),
    ...(p.recovery ? { recovery: recoveryReport(p.recovery) } : {}),
    stageSeconds: summary.stageSeconds,
    seconds: summary.seconds,
  };
}

function recoveryReport(r: RecoveryInfo): RecoveryReport {
  return {
    metric: r.metric,
    validationBefore: r.validationBefore,
    validationAfter: r.validationAfter,
    improved: r.improved,
    steps: r.steps,
    bestStep: r.bestStep,
    stoppedBy: r.stoppedBy,
    seconds: r.seconds,
    stepsPerSecond: r.stepsPerSecond,
    recalibration: r.recalibration ?? null,
    curve: downsampleTrace(r.trace, RECOVERY_CURVE_POINTS).map((t) => ({ step: t.step, loss: r6(t.loss), ...(t.validation !== undefined ? { validation: r6(t.validation) } : {}) })),
  };
}

const fmtInt = (n: number) => new Intl.NumberFormat('en-US').format(Math.round(n));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–');

function metricRows(m: RunReport['metrics']): string[] {
  const rows: string[] = [];
  const line = (name: string, f: (x: MetricSet) => number | undefined, digits: number, unit = '') => {
    const b = f(m.before);
    const a = f(m.after);
    if (b === undefined || a === undefined) return;
    const q = m.beforeRefine ? f(m.beforeRefine) : undefined;
    rows.push(`| ${name} | ${b.toFixed(digits)}${unit} | ${q === undefined ? '–' : q.toFixed(digits) + unit} | ${a.toFixed(digits)}${unit} | ${(a - b >= 0 ? '+' : '') + (a - b).toFixed(digits)}${unit} |`);
  };
  line('PSNR (test)', (x) => x.psnr, 2, ' dB');
  line('SSIM (test)', (x) => x.ssim, 4);
  line('Top-1 accuracy (test)', (x) => x.accuracy, 3);
  line('Pixel agreement with the unpruned model (test)', (x) => x.pixelAgreement, 4);
  line('Mean IoU vs the unpruned model (test)', (x) => x.meanIoU, 4);
  rows.push(`| Parameters | ${fmtInt(m.before.params)} | ${m.beforeRefine ? fmtInt(m.beforeRefine.params) : '–'} | ${fmtInt(m.after.params)} | ${pct(m.after.params, m.before.params)} of original |`);
  rows.push(`| MACs | ${fmtInt(m.before.macs)} | ${m.beforeRefine ? fmtInt(m.beforeRefine.macs) : '–'} | ${fmtInt(m.after.macs)} | ${pct(m.after.macs, m.before.macs)} of original |`);
  rows.push(...latencyRows(m));
  return rows;
}

/** Latency rows: median with its interquartile range at batch 1 and 8, and the speed ratio in words. */
export function latencyRows(m: Pick<RunReport['metrics'], 'before' | 'after'>): string[] {
  const b = m.before.latency;
  const a = m.after.latency;
  if (!b || !a) {
    // Reports from before the latency measurement kept only the batch-1 median.
    if (m.before.latencyMs === undefined || m.after.latencyMs === undefined) return [];
    return [`| Latency (median, batch 1) | ${m.before.latencyMs.toFixed(2)} ms | – | ${m.after.latencyMs.toFixed(2)} ms | ${speedWording(m.before.latencyMs, m.after.latencyMs)} |`];
  }
  const at = `${b.inputShape.slice(2).join('×')}, ${b.provider}`;
  const rows = [`| Latency (median, batch 1, ${at}) | ${formatTiming(b.batch1)} | – | ${formatTiming(a.batch1)} | ${speedWording(b.batch1.medianMs, a.batch1.medianMs)} |`];
  if (b.batch8 && a.batch8) rows.push(`| Latency (median, batch 8, ${at}) | ${formatTiming(b.batch8)} | – | ${formatTiming(a.batch8)} | ${speedWording(b.batch8.medianMs, a.batch8.medianMs)} |`);
  else rows.push(`| Latency (batch 8) | not measured: ${(b.batch8Skipped ?? a.batch8Skipped ?? 'skipped').replace(/\|/g, '/')} | – | – | – |`);
  if (m.after.predictedLatencyMs !== undefined) rows.push(`| Latency predicted by the latency model (batch 1) | – | – | ${m.after.predictedLatencyMs.toFixed(2)} ms | measured ${a.batch1.medianMs.toFixed(2)} ms |`);
  return rows;
}

/** The preprocessing a run applied, as one line ('' when images were only cropped). */
function describeTransform(d: DatasetSummary): string {
  const t = d.transform;
  if (!t || (t.resize === null && t.normalize === null)) return '';
  const steps: string[] = [];
  if (t.resize !== null) steps.push(`resize shorter side to ${t.resize} px (bilinear, antialiased)`);
  if (d.patch) steps.push(`${d.crop === 'center' ? 'centre' : 'random'} crop ${d.patch[0]}×${d.patch[1]}`);
  if (t.normalize) {
    const list = (a: number[]) => `[${a.map((v) => Number(v.toFixed(4))).join(', ')}]`;
    steps.push(`normalise ${t.normalize.name === 'imagenet' ? 'ImageNet ' : ''}mean ${list(t.normalize.mean)}, std ${list(t.normalize.std)}`);
  }
  return steps.join(' → ');
}

export function renderMarkdown(r: RunReport): string {
  const out: string[] = [];
  out.push(`# QUBO Prune report: ${path.basename(r.model)}`, '');
  out.push(`- Output: \`${r.output}\`${r.export.sha256 ? ` (${fmtInt(r.export.bytes ?? 0)} bytes, sha256 \`${r.export.sha256}\`)` : ''}`);
  out.push(`- Preset: **${r.preset}** — method \`${r.settings.method}\`, filter sparsity ${(r.settings.sparsity * 100).toFixed(0)}%, α ${r.settings.alpha}, β ${r.settings.beta} (${r.settings.similarity === 'pearson' ? '|Pearson|' : '|cos|'}), γ ${r.settings.gamma}, floor ${r.settings.floor}, round-to ${r.settings.roundTo}, seed ${r.settings.seed}`);
  out.push(`- Execution provider: \`${r.provider}\``);
  out.push(`- Data: \`${r.data.root}\` (${r.data.layout}${r.data.noise ? `, noise ${r.data.noise}` : ''}); calib ${r.data.splits.calib.samples}, val ${r.data.splits.val.samples}, test ${r.data.splits.test.samples} samples`);
  const transform = describeTransform(r.data);
  if (transform) out.push(`- Input transform: ${transform}`);
  out.push(`- Run time: ${r.seconds.toFixed(1)} s (${Object.entries(r.stageSeconds).map(([k, v]) => `${k} ${(v ?? 0).toFixed(1)} s`).join(', ')})`, '');
  out.push('## Metrics', '');
  if (r.evaluation?.test) out.push(`Test metrics on ${r.evaluation.test}${r.evaluation.calibration ? `; calibration and refinement on ${r.evaluation.calibration}` : ''}. Latency: ${TIMED_RUNS}+ timed runs after warm-up, median and interquartile range (IQR).`, '');
  if (r.data.task === 'segment') {
    out.push(
      'Segmentation (an output of one logit map per class): no ground-truth masks are used. Calibration minimises per-pixel cross-entropy against the unpruned model\'s own argmax, and the test figures are agreement with the unpruned model (share of pixels of the same class, and mean IoU over the classes either model predicts), not accuracy against ground truth; the original scores 1 by definition.',
      '',
    );
  }
  out.push('| | Original | QUBO only | Pruned | Change |', '|---|---|---|---|---|', ...metricRows(r.metrics), '');
  if (r.flags?.length) out.push(...r.flags.map((f) => `> **Warning (${f.kind}):** ${f.message}.`), '');
  if (r.speedGuard) {
    const g = r.speedGuard;
    out.push(`Kernel-aware counts: the model pruned uniformly with counts rounded to ${g.roundToTimings.map((t) => `${t.roundTo} ran ${t.medianMs.toFixed(2)} ms`).join(', ')} (batch 1); speed check against the original's ${g.originalMs.toFixed(2)} ms: ${g.message}.`, '');
  }
  out.push('## Search', '');
  if (r.budget) out.push(`Budget: ${describeBudget(r.budget)}; MACs ${fmtInt(r.budget.macsBefore)} → ${fmtInt(r.budget.macsAfter)}, parameters ${fmtInt(r.budget.paramsBefore)} → ${fmtInt(r.budget.paramsAfter)}.`, '');
  out.push(`Kept ${r.search.K} of ${r.search.n} prunable channels.${r.search.energy !== null ? ` QUBO energy ${r.search.energy.toPrecision(6)} after ${r.search.iterations} iterations (${(r.search.timeMs ?? 0).toFixed(0)} ms, stopped by ${r.search.stopReason}).` : ''}`, '');
  if (r.refinement) {
    out.push('## Tensor-Train refinement', '');
    const ev = r.refinement.evaluator;
    out.push(`Scope \`${r.refinement.scope}\`: ${r.settings.refine.data === 'calib+val' ? 'calibration + validation' : 'validation'} metric ${r.refinement.startValue.toFixed(3)} → ${r.refinement.bestValue.toFixed(3)} with ${r.refinement.evaluations} evaluations in ${r.refinement.seconds.toFixed(1)} s${r.refinement.accepted ? '' : `; the gain is below refine.minGain (${r.settings.refine.minGain}), so the QUBO mask was kept`}.`, '');
    if (ev) {
      out.push(
        `Scoring: ${ev.runs} onnxruntime runs of up to ${ev.runItems} candidate × crop items, ${ev.seconds.toFixed(1)} s; ${ev.splitBlocks} of ${ev.splitBlocks + ev.wholeBlocks} blocks ran only the part of the model after their gates (${ev.suffixEvaluations} evaluations).`,
        '',
      );
    }
  }
  if (r.recovery) out.push(...recoverySection(r.recovery));
  out.push('## Channel groups', '', '| Group | Kept | Total | Kept % |', '|---|---|---|---|');
  for (const g of r.groups) out.push(`| \`${g.id}\` | ${g.kept} | ${g.size} | ${pct(g.kept, g.size)} |`);
  out.push('');
  if (r.locked.length) {
    out.push('## Locked channels', '', '| Source | Channels | Reason |', '|---|---|---|');
    for (const l of r.locked) out.push(`| \`${l.source}\` | ${l.channels} | ${l.reason}: ${l.detail} |`);
    out.push('');
  }
  out.push('## Layers', '', '| Layer | Op | Channels before | Channels after | Params after | MACs after |', '|---|---|---|---|---|---|');
  for (const l of r.layers) {
    out.push(`| \`${l.node}\` | ${l.op} | ${l.before.in}→${l.before.out} | ${l.after ? `${l.after.in}→${l.after.out}` : 'removed'} | ${l.after ? fmtInt(l.after.params) : 0} | ${l.after ? fmtInt(l.after.macs) : 0} |`);
  }
  out.push('');
  if (r.comparison) {
    out.push('## Method comparison (same sparsity, same evaluator, test split)', '', '| Method | Metric | SSIM | Params | MACs | Latency | Selection time |', '|---|---|---|---|---|---|---|');
    for (const c of r.comparison) {
      const metric = c.psnr !== undefined ? `${c.psnr.toFixed(2)} dB` : c.accuracy !== undefined ? c.accuracy.toFixed(3) : c.pixelAgreement !== undefined ? `agreement ${c.pixelAgreement.toFixed(4)}, mIoU ${(c.meanIoU ?? NaN).toFixed(4)}` : '–';
      out.push(`| ${c.method} | ${metric} | ${c.ssim !== undefined ? c.ssim.toFixed(4) : '–'} | ${fmtInt(c.params)} | ${fmtInt(c.macs)} | ${c.latencyMs !== undefined ? `${c.latencyMs.toFixed(2)} ms` : '–'} | ${c.seconds.toFixed(2)} s |`);
    }
    out.push('');
  }
  out.push(`The pruned model matches the masked model within ${r.export.maxAbsDiffVsMasked.toExponential(1)} (max abs difference on a validation image).`, '');
  return out.join('\n');
}

function recoverySection(r: RecoveryReport): string[] {
  const fmt = (v: number) => (r.metric === 'psnr' ? `${v.toFixed(2)} dB` : `${(100 * v).toFixed(1)} %`);
  const name = r.metric === 'psnr' ? 'PSNR' : 'top-1 accuracy';
  const out = ['## Recovery fine-tuning', ''];
  if (r.recalibration) {
    out.push(`BatchNormalization statistics of ${r.recalibration.layers} layers re-estimated on the training crops: validation ${name} ${fmt(r.validationBefore)} → ${fmt(r.recalibration.validation)}${r.recalibration.adopted ? '' : ' (not better, not kept)'}.`, '');
  }
  out.push(
    `Validation ${name} ${fmt(r.validationBefore)} → ${fmt(r.validationAfter)} after ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(2)} steps/s, stopped by ${r.stoppedBy}); ` +
      (r.improved ? (r.bestStep > 0 ? `the model written is the checkpoint of step ${r.bestStep}.` : 'the model written has the re-estimated statistics; no training step beat it.') : 'no step beat the exported model, which is written unchanged.'),
    '',
  );
  const points = r.curve.filter((c) => c.validation !== undefined);
  if (points.length > 0) {
    const every = Math.max(1, Math.ceil(points.length / 10));
    out.push(`| Step | Training loss | Validation ${name} |`, '|---|---|---|');
    for (let k = 0; k < points.length; k++) if (k % every === 0 || k === points.length - 1) out.push(`| ${points[k]!.step} | ${points[k]!.loss.toExponential(3)} | ${fmt(points[k]!.validation!)} |`);
    out.push('');
  }
  return out;
}

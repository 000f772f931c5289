// Past runs: each run writes <output>.report.json beside the pruned model. This module checks one
// such file (untrusted JSON) against the report schema (src/core/pipeline/reportSchema.ts, the
// pipeline's own validator) and reads the typed report into a row of the runs tree and into a
// panel snapshot, so a finished run opens in the same report panel as a live one. No vscode import.
import * as path from 'node:path';
import { QuboPruneError } from '../core/errors';
import { REPORT_SCHEMA_VERSION, type RunReport } from '../core/pipeline/report';
import { validateReport } from '../core/pipeline/reportSchema';
import { finalEnergyTrace, initialViewState, type MetricSet, type Method, type PruneSettings, type ProviderName, type RunSummary, type RunViewState, type StageName } from '../protocol';
import { formatCount } from '../view/analysisModel';

export const REPORT_SUFFIX = '.report.json';
const REPORT_KIND: RunReport['kind'] = 'qubo-prune.report';
/** How many schema violations a refusal names; the rest are counted. */
const SHOWN_VIOLATIONS = 3;

export interface RunListEntry {
  reportJson: string;
  model: string;
  output: string;
  preset: string;
  method: string;
  sparsity: number;
  /** e.g. 'PSNR 23.35 → 23.10 dB' */
  metricLine: string;
  /** When the pipeline wrote the report, at the run's end (ISO 8601). */
  finishedAt: string;
  summary: RunSummary;
}

/** A report file on disk that is not one of ours, or is damaged: the user's file, so `input`. */
export class ReportFileError extends QuboPruneError<'bad-report'> {
  constructor(message: string) {
    super('bad-report', message, 'input');
    this.name = 'ReportFileError';
  }
}

/**
 * The report in `doc`, checked against the schema the pipeline writes. A file of another program,
 * of a newer extension or a damaged one is refused with what is wrong, never half-read.
 */
export function readReport(doc: unknown, file: string): RunReport {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ReportFileError(`${file}: not a QUBO Prune report (not a JSON object)`);
  const d = doc as { kind?: unknown; schemaVersion?: unknown };
  if (d.kind !== REPORT_KIND) throw new ReportFileError(`${file}: not a QUBO Prune report (${d.kind === undefined ? 'missing kind' : `kind is ${JSON.stringify(d.kind)}`}, expected '${REPORT_KIND}')`);
  if (typeof d.schemaVersion !== 'number') throw new ReportFileError(`${file}: not a QUBO Prune report (missing schemaVersion)`);
  if (d.schemaVersion > REPORT_SCHEMA_VERSION) {
    throw new ReportFileError(`${file}: report version ${d.schemaVersion} is newer than this extension (it reads version ${REPORT_SCHEMA_VERSION}); update QUBO Prune to open it`);
  }
  const errors = validateReport(doc);
  if (errors.length > 0) {
    const more = errors.length > SHOWN_VIOLATIONS ? ` (and ${errors.length - SHOWN_VIOLATIONS} more)` : '';
    throw new ReportFileError(`${file}: damaged QUBO Prune report: ${errors.slice(0, SHOWN_VIOLATIONS).join('; ')}${more}`);
  }
  return doc as RunReport;
}

/** The RunSummary of a report file: what the pipeline's `result` event carried for that run. */
export function summaryFromReport(doc: unknown, file: string): RunSummary {
  return summaryOf(readReport(doc, file), file);
}

function summaryOf(r: RunReport, file: string): RunSummary {
  const dir = path.dirname(file);
  const stem = file.slice(0, -REPORT_SUFFIX.length);
  const summary: RunSummary = {
    model: r.model,
    output: path.resolve(dir, r.output),
    reportJson: file,
    reportMarkdown: `${stem}.report.md`,
    preset: r.preset,
    // The schema checks search.method against the method names.
    method: r.search.method as Method,
    sparsity: r.settings.sparsity,
    provider: r.provider as ProviderName,
    before: r.metrics.before,
    after: r.metrics.after,
    groups: r.groups.map((g) => ({ id: g.id, kept: g.kept, total: g.size })),
    seconds: r.seconds,
    stageSeconds: r.stageSeconds,
  };
  if (r.metrics.beforeRefine) summary.beforeRefine = r.metrics.beforeRefine;
  if (r.comparison) summary.comparison = r.comparison;
  if (r.budget) summary.budget = r.budget;
  if (r.flags) summary.flags = r.flags;
  if (r.recovery) {
    const v = r.recovery;
    summary.recovery = { metric: v.metric, validationBefore: v.validationBefore, validationAfter: v.validationAfter, improved: v.improved, steps: v.steps, seconds: v.seconds };
  }
  const evaluation = r.evaluation ?? evaluationFromData(r);
  if (evaluation) summary.evaluation = evaluation;
  return summary;
}

/**
 * Where a report's metrics were measured, for reports without the optional `evaluation` field:
 * the test split of the data summary, at the crop size (the preset's patch when images were whole).
 */
function evaluationFromData(r: RunReport): RunSummary['evaluation'] {
  const test = r.data.splits.test;
  const size = r.data.patch ?? [r.settings.patch, r.settings.patch];
  return { split: 'test', images: test.images, samples: test.samples, patch: r.data.patch, inputShape: [1, r.data.channels, size[0], size[1]] };
}

/** JSON.parse for a report file's text, refusing text that is not JSON with the file's name. */
export function parseReportText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ReportFileError(`${file}: not a QUBO Prune report (not JSON: ${(err as Error).message})`);
  }
}

export function metricLine(before: MetricSet, after: MetricSet): string {
  if (before.psnr !== undefined && after.psnr !== undefined) return `PSNR ${before.psnr.toFixed(2)} → ${after.psnr.toFixed(2)} dB`;
  if (before.accuracy !== undefined && after.accuracy !== undefined) return `accuracy ${(before.accuracy * 100).toFixed(1)} → ${(after.accuracy * 100).toFixed(1)}%`;
  if (before.pixelAgreement !== undefined && after.pixelAgreement !== undefined) return `pixel agreement with the original ${(after.pixelAgreement * 100).toFixed(2)}%, mean IoU ${(after.meanIoU ?? 0).toFixed(3)}`;
  return `params ${formatCount(before.params)} → ${formatCount(after.params)}`;
}

/** The done notification's summary: 'PSNR 33.53 → 25.69 dB, params 57.4k → 24.6k'. */
export function describeOutcome(s: RunSummary): string {
  const m = metricLine(s.before, s.after);
  return m.startsWith('params ') ? m : `${m}, params ${formatCount(s.before.params)} → ${formatCount(s.after.params)}`;
}

/** A compare-only run in one line: the best row by the task's metric and how many methods ran. */
export function describeComparison(s: RunSummary): string {
  const rows = s.comparison ?? [];
  const score = (r: (typeof rows)[number]) => r.psnr ?? r.accuracy ?? r.pixelAgreement ?? -Infinity;
  const best = rows.reduce<(typeof rows)[number] | undefined>((b, r) => (b === undefined || score(r) > score(b) ? r : b), undefined);
  const metric = best?.psnr !== undefined ? `PSNR ${best.psnr.toFixed(2)} dB` : best?.accuracy !== undefined ? `accuracy ${(best.accuracy * 100).toFixed(1)}%` : best?.pixelAgreement !== undefined ? `pixel agreement ${(best.pixelAgreement * 100).toFixed(2)}%` : '';
  return `${rows.length} methods at ${Math.round(s.sparsity * 1000) / 10}% sparsity${best && metric ? `, best ${best.method} (${metric})` : ''}`;
}

export interface CompareBasis {
  model: string;
  output: string;
  data: string;
  preset: string;
  settings: PruneSettings;
}

/**
 * What "Compare methods" reuses of a finished run: its settings (so calibration and importance are
 * the same), its data folder and its output (named in the panel; nothing is written).
 */
export function compareBasisFromReport(doc: unknown, file: string): CompareBasis {
  const report = readReport(doc, file);
  const summary = summaryOf(report, file);
  return { model: summary.model, output: summary.output, data: path.resolve(path.dirname(file), report.data.root), preset: report.preset, settings: structuredClone(report.settings) };
}

export function runListEntry(doc: unknown, file: string): RunListEntry {
  const report = readReport(doc, file);
  const summary = summaryOf(report, file);
  return {
    reportJson: file,
    model: summary.model,
    output: summary.output,
    preset: summary.preset,
    method: summary.method,
    sparsity: summary.sparsity,
    metricLine: metricLine(summary.before, summary.after),
    finishedAt: report.createdAt,
    summary,
  };
}

/** The refinement trace as the schema checks it (RunReport leaves it `unknown[]`). */
type RefinePoint = { evaluations: number; best: number; eliteMean: number };

/** A finished run as a panel snapshot, with the solver and refinement traces the report carries. */
export function snapshotFromReport(doc: unknown, file: string): RunViewState {
  return snapshotOf(readReport(doc, file), file);
}

function snapshotOf(report: RunReport, file: string): RunViewState {
  const summary = summaryOf(report, file);
  const state = initialViewState(`report:${file}`, summary.model, summary.preset);
  state.status = 'done';
  state.summary = summary;
  state.provider = summary.provider;
  state.capacities = summary.groups;
  state.stages = state.stages.map((s) => {
    const secs = summary.stageSeconds[s.name as StageName];
    return secs === undefined ? { ...s, status: 'skipped', fraction: 1 } : { ...s, status: 'done', fraction: 1, seconds: secs };
  });
  state.energy = finalEnergyTrace(report.search.trace.map((p) => ({ iteration: p.iteration, energy: p.energy })), report.search.iterations ?? undefined);
  state.refineMetric = summary.before.psnr !== undefined ? 'psnr' : 'accuracy';
  state.refine = ((report.refinement?.trace ?? []) as RefinePoint[]).map((p) => ({ evaluations: p.evaluations, best: p.best, eliteMean: p.eliteMean }));
  const rec = report.recovery;
  if (rec) state.recover = rec.curve.map((p) => ({ step: p.step, loss: p.loss, ...(p.validation !== undefined ? { validation: p.validation } : {}), metric: rec.metric }));
  return state;
}

/** Where the pipeline writes the JSON report of an output model (src/core/pipeline/outputs.ts). */
export function reportJsonFor(output: string): string {
  return (output.toLowerCase().endsWith('.onnx') ? output.slice(0, -5) : output) + REPORT_SUFFIX;
}

/**
 * A panel restored with a snapshot saved mid-run: if the run's report file was written after the
 * run started, the run finished after that save, so show the finished run (keeping its log).
 * Undefined when the report is missing, not a valid report, older than the run, or of another model.
 */
export function recoverFromReport(saved: RunViewState, doc: unknown, file: string): RunViewState | undefined {
  if (!saved.startedAt || !saved.output) return undefined;
  let report: RunReport;
  try {
    report = readReport(doc, file);
  } catch (err) {
    if (err instanceof ReportFileError) return undefined;
    throw err;
  }
  if (!(Date.parse(report.createdAt) >= Date.parse(saved.startedAt))) return undefined;
  if (saved.model && path.resolve(report.model) !== path.resolve(saved.model)) return undefined;
  const snap = snapshotOf(report, file);
  return { ...snap, runId: saved.runId, log: saved.log, output: saved.output, startedAt: saved.startedAt, ...(snap.energy.length ? {} : { energy: saved.energy }), ...(snap.refine.length ? {} : { refine: saved.refine }), ...(snap.recover?.length || !saved.recover ? {} : { recover: saved.recover }) };
}

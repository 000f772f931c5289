// Past runs: each run writes <output>.report.json beside the pruned model. This module reads one
// such file (untrusted JSON) into a row of the runs tree and into a panel snapshot, so a finished
// run opens in the same report panel as a live one. No vscode import.
import * as path from 'node:path';
import { finalEnergyTrace, initialViewState, STAGES, type MetricSet, type PruneSettings, type RunSummary, type RunViewState, type StageName } from '../protocol';
import { DEFAULT_PRESET, PresetError, resolvePreset } from '../core/presets';
import { formatCount } from './analysisModel';

export const REPORT_SUFFIX = '.report.json';

export interface RunListEntry {
  reportJson: string;
  model: string;
  output: string;
  preset: string;
  method: string;
  sparsity: number;
  /** e.g. 'PSNR 23.35 → 23.10 dB' */
  metricLine: string;
  finishedAt?: string;
  summary: RunSummary;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export class ReportFileError extends Error {
  readonly code = 'bad-report';
}

function metricSet(v: unknown): MetricSet | undefined {
  if (!isObj(v)) return undefined;
  const m: MetricSet = { params: num(v.params) ?? 0, macs: num(v.macs) ?? 0 };
  for (const k of ['psnr', 'ssim', 'accuracy', 'crossEntropy', 'latencyMs'] as const) {
    const x = num(v[k]);
    if (x !== undefined) m[k] = x;
  }
  return m;
}

/**
 * The RunSummary of a report file. The pipeline writes a RunReport (docs/REPORT.md: metrics under
 * `metrics`, settings under `settings`, groups with `size`); a bare RunSummary (top level or under
 * `summary`) is read as well.
 */
export function summaryFromReport(doc: unknown, file: string): RunSummary {
  if (!isObj(doc)) throw new ReportFileError(`${file}: not a JSON object`);
  const s: Obj = isObj(doc.summary) ? doc.summary : doc;
  const metrics = isObj(s.metrics) ? s.metrics : s;
  const settings = isObj(s.settings) ? s.settings : {};
  const before = metricSet(metrics.before);
  const after = metricSet(metrics.after);
  if (!before || !after) throw new ReportFileError(`${file}: no before/after metrics; not a QUBO Prune report`);
  const str = (v: unknown, d: string) => (typeof v === 'string' ? v : d);
  const dir = path.dirname(file);
  const output = str(s.output, path.join(dir, path.basename(file).slice(0, -REPORT_SUFFIX.length) + '.onnx'));
  const summary: RunSummary = {
    model: str(s.model, ''),
    output: path.resolve(dir, output),
    reportJson: file,
    reportMarkdown: path.resolve(dir, str(s.reportMarkdown, file.slice(0, -REPORT_SUFFIX.length) + '.report.md')),
    preset: str(s.preset, '?'),
    method: str(s.method, str(settings.method, 'hybrid')) as RunSummary['method'],
    sparsity: num(s.sparsity) ?? num(settings.sparsity) ?? 0,
    provider: str(s.provider, 'cpu') as RunSummary['provider'],
    before,
    after,
    groups: Array.isArray(s.groups)
      ? s.groups.filter(isObj).map((g) => ({ id: String(g.id ?? '?'), kept: num(g.kept) ?? 0, total: num(g.total) ?? num(g.size) ?? 0 }))
      : [],
    seconds: num(s.seconds) ?? 0,
    stageSeconds: isObj(s.stageSeconds) ? (Object.fromEntries(Object.entries(s.stageSeconds).filter(([k, v]) => (STAGES as string[]).includes(k) && num(v) !== undefined)) as RunSummary['stageSeconds']) : {},
  };
  const br = metricSet(metrics.beforeRefine);
  if (br) summary.beforeRefine = br;
  if (Array.isArray(s.comparison)) {
    summary.comparison = s.comparison.filter(isObj).map((r) => {
      const row: NonNullable<RunSummary['comparison']>[number] = { method: String(r.method ?? '?'), params: num(r.params) ?? 0, macs: num(r.macs) ?? 0, seconds: num(r.seconds) ?? 0 };
      for (const k of ['psnr', 'ssim', 'accuracy', 'latencyMs'] as const) {
        const x = num(r[k]);
        if (x !== undefined) row[k] = x;
      }
      return row;
    });
  }
  const ev = evaluationFromReport(isObj(s.evaluation) ? s.evaluation : undefined, isObj(s.data) ? s.data : undefined, settings);
  if (ev) summary.evaluation = ev;
  return summary;
}

const ints = (v: unknown): number[] | undefined => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && (x as number) > 0) ? (v as number[]) : undefined);

/**
 * Where a report's metrics were measured. Reports written before the `evaluation` field carry the
 * data summary, from which the split and crops are known; the input shape is then the crop's.
 */
function evaluationFromReport(ev: Obj | undefined, data: Obj | undefined, settings: Obj): RunSummary['evaluation'] {
  if (ev) {
    const shape = ints(ev.inputShape);
    const images = num(ev.images);
    if (shape && images !== undefined) {
      const patch = ints(ev.patch);
      return { split: 'test', images, samples: num(ev.samples) ?? images, patch: patch && patch.length === 2 ? [patch[0]!, patch[1]!] : null, inputShape: shape };
    }
  }
  if (!data || !isObj(data.splits) || !isObj(data.splits.test)) return undefined;
  const images = num(data.splits.test.images);
  if (images === undefined) return undefined;
  const patch = ints(data.patch);
  const channels = num(data.channels) ?? 3;
  const p = patch && patch.length === 2 ? ([patch[0]!, patch[1]!] as [number, number]) : null;
  const size = p ?? (num(settings.patch) !== undefined ? [num(settings.patch)!, num(settings.patch)!] : undefined);
  if (!size) return undefined;
  return { split: 'test', images, samples: num(data.splits.test.samples) ?? images, patch: p, inputShape: [1, channels, size[0]!, size[1]!] };
}

export function metricLine(before: MetricSet, after: MetricSet): string {
  if (before.psnr !== undefined && after.psnr !== undefined) return `PSNR ${before.psnr.toFixed(2)} → ${after.psnr.toFixed(2)} dB`;
  if (before.accuracy !== undefined && after.accuracy !== undefined) return `accuracy ${(before.accuracy * 100).toFixed(1)} → ${(after.accuracy * 100).toFixed(1)}%`;
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
  const score = (r: (typeof rows)[number]) => r.psnr ?? r.accuracy ?? -Infinity;
  const best = rows.reduce<(typeof rows)[number] | undefined>((b, r) => (b === undefined || score(r) > score(b) ? r : b), undefined);
  const metric = best?.psnr !== undefined ? `PSNR ${best.psnr.toFixed(2)} dB` : best?.accuracy !== undefined ? `accuracy ${(best.accuracy * 100).toFixed(1)}%` : '';
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
  const summary = summaryFromReport(doc, file);
  const raw = doc as Obj;
  const data = isObj(raw.data) && typeof raw.data.root === 'string' ? raw.data.root : undefined;
  if (!data) throw new ReportFileError(`${file}: the report names no data folder`);
  let settings: PruneSettings;
  try {
    settings = resolvePreset(DEFAULT_PRESET, {}, isObj(raw.settings) ? raw.settings : {}).settings;
  } catch (err) {
    if (err instanceof PresetError) throw new ReportFileError(`${file}: its settings are not valid: ${err.message}`);
    throw err;
  }
  return { model: summary.model, output: summary.output, data: path.resolve(path.dirname(file), data), preset: summary.preset, settings };
}

export function runListEntry(doc: unknown, file: string): RunListEntry {
  const summary = summaryFromReport(doc, file);
  const entry: RunListEntry = {
    reportJson: file,
    model: summary.model,
    output: summary.output,
    preset: summary.preset,
    method: summary.method,
    sparsity: summary.sparsity,
    metricLine: metricLine(summary.before, summary.after),
    summary,
  };
  const raw = doc as Obj;
  const when = typeof raw.finishedAt === 'string' ? raw.finishedAt : typeof raw.createdAt === 'string' ? raw.createdAt : undefined;
  if (when) entry.finishedAt = when;
  return entry;
}

/** A finished run as a panel snapshot; traces the report file carries are shown as well. */
export function snapshotFromReport(doc: unknown, file: string): RunViewState {
  const summary = summaryFromReport(doc, file);
  const state = initialViewState(`report:${file}`, summary.model, summary.preset);
  state.status = 'done';
  state.summary = summary;
  state.provider = summary.provider;
  state.capacities = summary.groups;
  state.stages = state.stages.map((s) => {
    const secs = summary.stageSeconds[s.name as StageName];
    return secs === undefined ? { ...s, status: 'skipped', fraction: 1 } : { ...s, status: 'done', fraction: 1, seconds: secs };
  });
  const raw = doc as Obj;
  const energy = isObj(raw.search) ? raw.search.trace : isObj(raw.traces) ? raw.traces.energy : undefined;
  const refine = isObj(raw.refinement) ? raw.refinement.trace : isObj(raw.traces) ? raw.traces.refine : undefined;
  if (Array.isArray(energy)) {
    const points = energy.filter((p): p is Obj => isObj(p) && num(p.iteration) !== undefined && num(p.energy) !== undefined).map((p) => ({ iteration: p.iteration as number, energy: p.energy as number }));
    state.energy = finalEnergyTrace(points, isObj(raw.search) ? num(raw.search.iterations) : undefined);
  }
  state.refineMetric = summary.before.psnr !== undefined ? 'psnr' : 'accuracy';
  if (Array.isArray(refine)) {
    state.refine = refine
      .filter((p): p is Obj => isObj(p) && num(p.evaluations) !== undefined && num(p.best) !== undefined)
      .map((p) => ({ evaluations: p.evaluations as number, best: p.best as number, eliteMean: num(p.eliteMean) ?? (p.best as number) }));
  }
  return state;
}

/** Where the pipeline writes the JSON report of an output model (src/core/pipeline/outputs.ts). */
export function reportJsonFor(output: string): string {
  return (output.toLowerCase().endsWith('.onnx') ? output.slice(0, -5) : output) + REPORT_SUFFIX;
}

/**
 * A panel restored with a snapshot saved mid-run: if the run's report file was written after the
 * run started, the run finished after that save, so show the finished run (keeping its log).
 * Undefined when the report is missing, older than the run, or of another model.
 */
export function recoverFromReport(saved: RunViewState, doc: unknown, file: string): RunViewState | undefined {
  if (!saved.startedAt || !saved.output) return undefined;
  let snap: RunViewState;
  try {
    snap = snapshotFromReport(doc, file);
  } catch {
    return undefined;
  }
  const created = isObj(doc) && typeof doc.createdAt === 'string' ? Date.parse(doc.createdAt) : NaN;
  if (!(created >= Date.parse(saved.startedAt))) return undefined;
  if (snap.summary && saved.model && path.resolve(snap.summary.model) !== path.resolve(saved.model)) return undefined;
  return { ...snap, runId: saved.runId, log: saved.log, output: saved.output, startedAt: saved.startedAt, ...(snap.energy.length ? {} : { energy: saved.energy }), ...(snap.refine.length ? {} : { refine: saved.refine }) };
}

// Past runs: each run writes <output>.report.json beside the pruned model. This module reads one
// such file (untrusted JSON) into a row of the runs tree and into a panel snapshot, so a finished
// run opens in the same report panel as a live one. No vscode import.
import * as path from 'node:path';
import { initialViewState, STAGES, type MetricSet, type RunSummary, type RunViewState, type StageName } from '../protocol';

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

/** The RunSummary inside a report file: either under `summary` or at the top level. */
export function summaryFromReport(doc: unknown, file: string): RunSummary {
  if (!isObj(doc)) throw new ReportFileError(`${file}: not a JSON object`);
  const s = isObj(doc.summary) ? doc.summary : doc;
  const before = metricSet(s.before);
  const after = metricSet(s.after);
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
    method: str(s.method, 'hybrid') as RunSummary['method'],
    sparsity: num(s.sparsity) ?? 0,
    provider: str(s.provider, 'cpu') as RunSummary['provider'],
    before,
    after,
    groups: Array.isArray(s.groups)
      ? s.groups.filter(isObj).map((g) => ({ id: String(g.id ?? '?'), kept: num(g.kept) ?? 0, total: num(g.total) ?? 0 }))
      : [],
    seconds: num(s.seconds) ?? 0,
    stageSeconds: isObj(s.stageSeconds) ? (Object.fromEntries(Object.entries(s.stageSeconds).filter(([k, v]) => (STAGES as string[]).includes(k) && num(v) !== undefined)) as RunSummary['stageSeconds']) : {},
  };
  const br = metricSet(s.beforeRefine);
  if (br) summary.beforeRefine = br;
  if (Array.isArray(s.comparison)) {
    summary.comparison = s.comparison.filter(isObj).map((r) => {
      const row: NonNullable<RunSummary['comparison']>[number] = { method: String(r.method ?? '?'), params: num(r.params) ?? 0, macs: num(r.macs) ?? 0, seconds: num(r.seconds) ?? 0 };
      for (const k of ['psnr', 'ssim', 'accuracy'] as const) {
        const x = num(r[k]);
        if (x !== undefined) row[k] = x;
      }
      return row;
    });
  }
  return summary;
}

export function metricLine(before: MetricSet, after: MetricSet): string {
  if (before.psnr !== undefined && after.psnr !== undefined) return `PSNR ${before.psnr.toFixed(2)} → ${after.psnr.toFixed(2)} dB`;
  if (before.accuracy !== undefined && after.accuracy !== undefined) return `accuracy ${(before.accuracy * 100).toFixed(1)} → ${(after.accuracy * 100).toFixed(1)}%`;
  return `params ${before.params} → ${after.params}`;
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
  const traces = isObj(raw.traces) ? raw.traces : raw;
  if (Array.isArray(traces.energy)) state.energy = traces.energy.filter(isObj).map((p) => ({ iteration: num(p.iteration) ?? 0, energy: num(p.energy) ?? 0 }));
  if (Array.isArray(traces.refine)) state.refine = traces.refine.filter(isObj).map((p) => ({ evaluations: num(p.evaluations) ?? 0, best: num(p.best) ?? 0, eliteMean: num(p.eliteMean) ?? 0 }));
  return state;
}

// Runs model analyses in the worker process (never in the extension host) and remembers the
// result per file version, so the model editor, the layer tree and the Analyze command share one
// run per model. One request per analysis: it carries quboPrune.analysisSize, which the worker
// uses only when the model's height/width are open. Files over LARGE_MODEL_BYTES show their
// progress in a cancellable notification. Also tracks the "current model" that the layer tree shows.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisStep } from '../core/analysis/report';
import type { ErrorKind } from '../core/errors';
import { startAnalyze, type WorkerClientOptions, type WorkerRun } from '../worker/client';

export type AnalysisResult = { ok: true; document: unknown } | { ok: false; error: { code: string; message: string; kind: ErrorKind } };

/** Above this size reading and analysing take long enough that a notification says what is going on. */
export const LARGE_MODEL_BYTES = 100 * 1024 * 1024;
/** A cancelled analysis is killed this soon: reading a large file does not stop to listen. */
const CANCEL_GRACE_MS = 1000;
const STEP_TEXT: Record<AnalysisStep, string> = { reading: 'reading the file', shapes: 'inferring shapes', dependencies: 'layers and channel dependencies' };
const STEPS = Object.keys(STEP_TEXT) as AnalysisStep[];

interface Entry {
  stamp: string;
  promise: Promise<AnalysisResult>;
  result?: AnalysisResult;
  run?: WorkerRun;
}

export class Analyzer implements vscode.Disposable {
  private readonly cache = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with a model path when its analysis starts or finishes. */
  readonly onDidChange = this.changed.event;
  private currentModel: string | undefined;
  private readonly currentChanged = new vscode.EventEmitter<string | undefined>();
  readonly onDidChangeCurrent = this.currentChanged.event;

  constructor(
    private readonly workerOptions: () => WorkerClientOptions,
    private readonly log: vscode.LogOutputChannel,
    private readonly analysisSize: () => number,
  ) {}

  get current(): string | undefined {
    return this.currentModel;
  }

  /** Makes `model` the one the layer tree shows, analysing it unless `analyze` is false. */
  setCurrent(model: string | undefined, analyze = true): void {
    if (model === this.currentModel) return;
    this.currentModel = model;
    this.currentChanged.fire(model);
    if (model && analyze) void this.analyze(model);
  }

  /** The finished result for a model, if any (undefined while running or never asked). */
  peek(model: string): AnalysisResult | undefined {
    return this.cache.get(model)?.result;
  }

  isRunning(model: string): boolean {
    const e = this.cache.get(model);
    return !!e && !e.result;
  }

  async analyze(model: string, force = false): Promise<AnalysisResult> {
    let stamp: string;
    let bytes: number;
    try {
      const st = await fs.stat(model);
      stamp = `${st.size}:${st.mtimeMs}`;
      bytes = st.size;
    } catch (err) {
      return this.settleEarly(model, { code: 'not-found', message: `cannot read ${model}: ${(err as Error).message}`, kind: 'input' });
    }
    const hit = this.cache.get(model);
    if (hit && hit.stamp === stamp && !force) return hit.promise;
    let size: number;
    try {
      size = this.analysisSize();
    } catch (err) {
      return this.settleEarly(model, { code: 'bad-setting', message: (err as Error).message, kind: 'input' });
    }
    hit?.run?.dispose();
    this.log.info(`analyzing ${model} (open input sizes at ${size}, quboPrune.analysisSize)`);
    const started = Date.now();
    const steps = new vscode.EventEmitter<AnalysisStep>();
    const run = startAnalyze(model, { ...this.workerOptions(), cancelGraceMs: CANCEL_GRACE_MS, onAnalysisProgress: (step) => steps.fire(step) }, { size });
    const entry: Entry = { stamp, run, promise: run.finished.then((o): AnalysisResult => {
      if (o.kind === 'analysis') return { ok: true, document: o.document };
      if (o.kind === 'failed') return { ok: false, error: { code: o.code, message: o.message, kind: o.errorKind } };
      if (o.kind === 'cancelled') return { ok: false, error: { code: 'cancelled', message: 'the analysis was cancelled', kind: 'cancelled' } };
      return { ok: false, error: { code: 'protocol', message: `the worker answered an analysis with '${o.kind}'`, kind: 'internal' } };
    }) };
    if (bytes > LARGE_MODEL_BYTES) this.showProgress(model, bytes, run, steps);
    entry.promise = entry.promise.then((result): AnalysisResult | Promise<AnalysisResult> => {
      steps.dispose();
      const latest = this.cache.get(model);
      // Superseded (forced re-analysis, file changed): answer with the newer run's result.
      if (latest && latest !== entry) return latest.promise;
      entry.run = undefined;
      // A cancelled analysis is not remembered: opening the model again analyses it.
      if (!result.ok && result.error.kind === 'cancelled') this.cache.delete(model);
      else entry.result = result;
      this.changed.fire(model);
      if (result.ok) this.log.info(`analysis of ${model} done in ${Date.now() - started} ms`);
      else if (result.error.kind === 'cancelled') this.log.info(`analysis of ${model} cancelled`);
      else this.log.error(`analysis of ${model} failed: [${result.error.code}] ${result.error.message}`);
      return result;
    });
    this.cache.set(model, entry);
    this.changed.fire(model);
    return entry.promise;
  }

  private settleEarly(model: string, error: Extract<AnalysisResult, { ok: false }>['error']): Promise<AnalysisResult> {
    const result: AnalysisResult = { ok: false, error };
    this.cache.set(model, { stamp: '', promise: Promise.resolve(result), result });
    this.changed.fire(model);
    return Promise.resolve(result);
  }

  /** The notification of a large model's analysis: the worker's steps, and Cancel, which kills it. */
  private showProgress(model: string, bytes: number, run: WorkerRun, steps: vscode.EventEmitter<AnalysisStep>): void {
    const title = `Analyzing ${path.basename(model)} (${Math.round(bytes / (1024 * 1024))} MB)`;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => run.cancel());
      // A step's start is the previous one's end, so the bar moves when a step is done.
      const sub = steps.event((step) => progress.report({ message: `${STEP_TEXT[step]} (${STEPS.indexOf(step) + 1}/${STEPS.length})`, increment: STEPS.indexOf(step) === 0 ? 0 : 100 / STEPS.length }));
      return run.finished.then(() => sub.dispose());
    });
  }

  dispose(): void {
    for (const e of this.cache.values()) e.run?.dispose();
    this.cache.clear();
    this.changed.dispose();
    this.currentChanged.dispose();
  }
}

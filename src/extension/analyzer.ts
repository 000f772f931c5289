// Runs model analyses in the worker process (never in the extension host) and remembers the
// result per file version, so the model editor, the layer tree and the Analyze command share one
// run per model. Also tracks the "current model" that the layer tree shows.
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { startAnalyze, type WorkerClientOptions, type WorkerRun } from '../worker/client';

export type AnalysisResult = { ok: true; document: unknown } | { ok: false; error: { code: string; message: string } };

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
  ) {}

  get current(): string | undefined {
    return this.currentModel;
  }

  setCurrent(model: string | undefined): void {
    if (model === this.currentModel) return;
    this.currentModel = model;
    this.currentChanged.fire(model);
    if (model) void this.analyze(model);
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
    try {
      const st = await fs.stat(model);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch (err) {
      const result: AnalysisResult = { ok: false, error: { code: 'not-found', message: `cannot read ${model}: ${(err as Error).message}` } };
      this.cache.set(model, { stamp: '', promise: Promise.resolve(result), result });
      this.changed.fire(model);
      return result;
    }
    const hit = this.cache.get(model);
    if (hit && hit.stamp === stamp && !force) return hit.promise;
    hit?.run?.dispose();
    const entry: Entry = { stamp, promise: Promise.resolve({ ok: false, error: { code: 'internal', message: 'not started' } }) };
    this.log.info(`analyzing ${model}`);
    const started = Date.now();
    const run = startAnalyze(model, this.workerOptions());
    entry.run = run;
    entry.promise = run.finished.then((o): AnalysisResult => {
      const result: AnalysisResult =
        o.kind === 'analysis'
          ? { ok: true, document: o.document }
          : o.kind === 'failed'
            ? { ok: false, error: { code: o.code, message: o.message } }
            : { ok: false, error: { code: 'protocol', message: `the worker answered an analysis with '${o.kind}'` } };
      if (this.cache.get(model) === entry) {
        entry.result = result;
        entry.run = undefined;
        this.changed.fire(model);
      }
      if (result.ok) this.log.info(`analysis of ${model} done in ${Date.now() - started} ms`);
      else this.log.error(`analysis of ${model} failed: [${result.error.code}] ${result.error.message}`);
      return result;
    });
    this.cache.set(model, entry);
    this.changed.fire(model);
    return entry.promise;
  }

  dispose(): void {
    for (const e of this.cache.values()) e.run?.dispose();
    this.cache.clear();
    this.changed.dispose();
    this.currentChanged.dispose();
  }
}

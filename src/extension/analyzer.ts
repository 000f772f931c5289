// Runs model analyses in the worker process (never in the extension host) and remembers the
// result per file version, so the model editor, the layer tree and the Analyze command share one
// run per model. Also tracks the "current model" that the layer tree shows.
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { startAnalyze, type WorkerClientOptions, type WorkerRun } from '../worker/client';
import { fillSymbolicShape } from './analysisModel';

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
    const once = async (shape?: number[]): Promise<AnalysisResult> => {
      const run = startAnalyze(model, this.workerOptions(), shape);
      entry.run = run;
      const o = await run.finished;
      return o.kind === 'analysis'
        ? { ok: true, document: o.document }
        : o.kind === 'failed'
          ? { ok: false, error: { code: o.code, message: o.message } }
          : { ok: false, error: { code: 'protocol', message: `the worker answered an analysis with '${o.kind}'` } };
    };
    entry.promise = (async (): Promise<AnalysisResult> => {
      let result = await once();
      // Models exported with dynamic height/width need a concrete size; analyse at the configured one.
      if (!result.ok && result.error.code === 'symbolic-input' && this.cache.get(model) === entry) {
        const size = this.analysisSize();
        const shape = fillSymbolicShape(result.error.message, size);
        if (shape) {
          this.log.info(`${model} has symbolic dims; analysing at ${shape.join('x')} (quboPrune.analysisSize)`);
          result = await once(shape);
          if (result.ok && typeof result.document === 'object' && result.document !== null) {
            const doc = result.document as { warnings?: unknown };
            const note = `The model's input size is symbolic; figures are for input ${shape.join('×')} (setting quboPrune.analysisSize).`;
            result = { ok: true, document: { ...doc, warnings: [note, ...(Array.isArray(doc.warnings) ? doc.warnings : [])] } };
          }
        }
      }
      return result;
    })().then((result): AnalysisResult | Promise<AnalysisResult> => {
      const latest = this.cache.get(model);
      // Superseded (forced re-analysis, file changed): answer with the newer run's result.
      if (latest && latest !== entry) return latest.promise;
      entry.result = result;
      entry.run = undefined;
      this.changed.fire(model);
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

// Parent side of the worker process: starts it with child_process.fork, speaks the typed protocol,
// turns every way the child can die into a reported error, and never lets one reach the caller's
// process as an exception. Used by the extension host and by tests; it has no vscode import.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { AnalysisStep } from '../core/analysis/report';
import type { ErrorKind } from '../core/errors';
import {
  helloMismatch,
  isWorkerMessage,
  type PipelineEvent,
  type PruneRequest,
  type RunSummary,
  type WorkerMessage,
  type WorkerRequest,
} from '../protocol';

export type WorkerOutcome =
  | { kind: 'done'; summary: RunSummary }
  | { kind: 'analysis'; document: unknown }
  /** `errorKind`: whose fault it is (src/core/errors.ts); failures the client sees itself say theirs. */
  | { kind: 'failed'; code: string; message: string; errorKind: ErrorKind }
  | { kind: 'cancelled' };

export interface WorkerClientOptions {
  /** Path of the bundled worker script (dist/worker.js). */
  workerPath: string;
  /** Milliseconds between asking the worker to cancel and killing it. */
  cancelGraceMs?: number;
  /** Heap limit for the child in MiB; exceeding it is reported as out of memory. */
  maxOldSpaceMb?: number;
  /** Lines the child writes to stderr (onnxruntime warnings, crashes). */
  onStderr?: (line: string) => void;
  onEvent?: (event: PipelineEvent) => void;
  /** An analysis step started in the worker. */
  onAnalysisProgress?: (step: AnalysisStep) => void;
  /** Override for tests: the node executable. */
  execPath?: string;
  /** Extra node arguments, e.g. ['--import', 'tsx'] to run the TypeScript entry (tests). */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** One worker process running one request. */
export class WorkerRun extends EventEmitter {
  private child: ChildProcess;
  private settled = false;
  private cancelTimer: NodeJS.Timeout | undefined;
  private stderrTail: string[] = [];
  private outcome?: WorkerOutcome;
  readonly finished: Promise<WorkerOutcome>;
  private cancelRequested = false;

  constructor(
    request: WorkerRequest,
    private readonly opts: WorkerClientOptions,
  ) {
    super();
    const execArgv = [...(opts.maxOldSpaceMb ? [`--max-old-space-size=${opts.maxOldSpaceMb}`] : []), ...(opts.execArgv ?? [])];
    this.child = fork(opts.workerPath, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv,
      execPath: opts.execPath,
      env: opts.env ?? process.env,
      serialization: 'advanced',
    });
    let resolve!: (o: WorkerOutcome) => void;
    this.finished = new Promise((r) => (resolve = r));
    const settle = (o: WorkerOutcome) => {
      if (this.settled) return;
      this.settled = true;
      this.outcome = o;
      if (this.cancelTimer) clearTimeout(this.cancelTimer);
      resolve(o);
    };
    let buf = '';
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.stderrTail.push(line);
        if (this.stderrTail.length > 40) this.stderrTail.shift();
        opts.onStderr?.(line);
      }
    });
    this.child.on('message', (msg: unknown) => {
      if (!isWorkerMessage(msg)) {
        opts.onStderr?.(`ignored malformed message from worker: ${safeJson(msg)}`);
        return;
      }
      this.handle(msg, settle);
    });
    this.child.on('error', (err) => settle({ kind: 'failed', code: 'worker-start', message: `the worker process could not start: ${err.message}`, errorKind: 'internal' }));
    this.child.on('exit', (code, signal) => {
      if (this.settled) return;
      if (this.cancelRequested) return settle({ kind: 'cancelled' });
      const tail = this.stderrTail.join('\n');
      const oom = /heap out of memory|Allocation failed|std::bad_alloc|out of memory/i.test(tail);
      // The message names what to make smaller, so it is the user's to act on.
      if (oom) return settle({ kind: 'failed', code: 'out-of-memory', message: `the worker ran out of memory${opts.maxOldSpaceMb ? ` (limit ${opts.maxOldSpaceMb} MiB)` : ''}; try fewer samples, a smaller patch or a smaller refinement batch`, errorKind: 'input' });
      settle({
        kind: 'failed',
        code: 'worker-crashed',
        errorKind: 'internal',
        message: `the worker process ended unexpectedly (${signal ? `signal ${signal}${signal === 'SIGKILL' ? ', sent by another process or by the system when memory ran out' : ''}` : `exit code ${code}`})${tail ? `; last output:\n${tail.split('\n').slice(-8).join('\n')}` : ''}`,
      });
    });
    this.child.send(request);
  }

  private handle(msg: WorkerMessage, settle: (o: WorkerOutcome) => void): void {
    switch (msg.type) {
      case 'hello': {
        const mismatch = helloMismatch(msg);
        if (mismatch) {
          // A stale build next to a newer one: reinstalling fixes it, the message says so.
          settle({ kind: 'failed', code: 'protocol-mismatch', message: mismatch, errorKind: 'input' });
          this.child.kill();
        }
        return;
      }
      case 'event':
        this.opts.onEvent?.(msg.event);
        this.emit('event', msg.event);
        return;
      case 'analysis':
        settle({ kind: 'analysis', document: msg.document });
        return;
      case 'analysis-progress':
        this.opts.onAnalysisProgress?.(msg.step);
        this.emit('analysis-progress', msg.step);
        return;
      case 'done':
        settle({ kind: 'done', summary: msg.summary });
        return;
      case 'failed':
        settle({ kind: 'failed', code: msg.error.code, message: msg.error.message, errorKind: isErrorKind(msg.error.kind) ? msg.error.kind : 'internal' });
        return;
      case 'cancelled':
        settle({ kind: 'cancelled' });
        return;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get result(): WorkerOutcome | undefined {
    return this.outcome;
  }

  /** Asks the worker to stop; kills it when it has not stopped within the grace period. */
  cancel(): void {
    if (this.settled || this.cancelRequested) return;
    this.cancelRequested = true;
    try {
      if (this.child.connected) this.child.send({ type: 'cancel' } satisfies WorkerRequest);
    } catch {
      // The child may be gone already; exit handling settles the run.
    }
    this.cancelTimer = setTimeout(() => {
      if (!this.settled) this.child.kill('SIGKILL');
    }, this.opts.cancelGraceMs ?? 5000);
  }

  /** Kills the process without waiting (extension deactivation). */
  dispose(): void {
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    if (this.child.exitCode === null && !this.child.killed) this.child.kill('SIGKILL');
  }
}

export function startPrune(request: PruneRequest, opts: WorkerClientOptions): WorkerRun {
  return new WorkerRun({ type: 'start', request }, opts);
}

/** `size`: the side for the model's open height/width, if it has any (the worker decides). */
export function startAnalyze(model: string, opts: WorkerClientOptions, shape: { inputShape?: number[]; size?: number } = {}): WorkerRun {
  return new WorkerRun({ type: 'analyze', model, ...(shape.inputShape ? { inputShape: shape.inputShape } : {}), ...(shape.size !== undefined ? { size: shape.size } : {}) }, opts);
}

function isErrorKind(v: unknown): v is ErrorKind {
  return v === 'input' || v === 'internal' || v === 'cancelled';
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 200);
  } catch {
    return String(v);
  }
}

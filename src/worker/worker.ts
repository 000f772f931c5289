// The background process. The extension host (and tests) fork this script; it runs one request
// (a pruning run or an analysis), streams pipeline events back over IPC and exits. onnxruntime's
// session.run blocks its thread, which is why none of this may run in the extension host.
import type { PipelineEvent, WorkerMessage, WorkerRequest } from '../protocol';
import { PROTOCOL_VERSION } from '../protocol';
import { runPipeline } from '../core/pipeline';
import { errorKind, QuboPruneError, throwIfCancelled, type ErrorKind } from '../core/errors';
import { analyzeAtSize } from '../core/analysis/openSize';
import type { AnalysisDocument } from '../core/analysis/report';
import { loadModel, normalizeGraph } from '../core/onnx';

/** The open-size side when a request names none: quboPrune.analysisSize's default. */
const DEFAULT_OPEN_SIZE = 256;

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

/**
 * The `failed` payload. Only errors raised on purpose keep their code; anything else (onnxruntime,
 * Node) is `internal`, whatever `code` it carries (ENOENT and the like mean nothing to the host).
 * Bugs leave their stack on stderr, which the client keeps for its crash report.
 */
function errorOf(err: unknown): { code: string; message: string; kind: ErrorKind } {
  const e = err as { code?: unknown; message?: unknown; stack?: unknown };
  const code = err instanceof QuboPruneError ? err.code : 'internal';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const kind = errorKind(err);
  if (kind === 'internal' && typeof e?.stack === 'string') process.stderr.write(`${e.stack}\n`);
  return { code, message, kind };
}

/**
 * One analysis, one file read: the model's own input size when it fixes one, else its open dims at
 * `size`. Each step is announced before it starts; a cancel is honoured between steps.
 */
async function analyze(req: Extract<WorkerRequest, { type: 'analyze' }>, signal: AbortSignal): Promise<AnalysisDocument> {
  await send({ type: 'analysis-progress', step: 'reading' });
  const model = await loadModel(req.model);
  normalizeGraph(model);
  throwIfCancelled(signal);
  const size = req.size ?? DEFAULT_OPEN_SIZE;
  return analyzeAtSize(
    model,
    { size, source: req.size === undefined ? 'the default size' : 'setting quboPrune.analysisSize' },
    {
      path: req.model,
      ...(req.inputShape ? { inputShape: req.inputShape } : {}),
      onStep: (step) => {
        throwIfCancelled(signal);
        void send({ type: 'analysis-progress', step });
      },
    },
  );
}

const controller = new AbortController();
let busy = false;

async function handle(req: WorkerRequest): Promise<void> {
  if (req.type === 'cancel') {
    controller.abort();
    return;
  }
  if (busy) {
    await send({ type: 'failed', error: { code: 'busy', message: 'this worker is already running a request', kind: 'internal' } });
    return;
  }
  busy = true;
  try {
    if (req.type === 'analyze') {
      const document = await analyze(req, controller.signal);
      await send({ type: 'analysis', document });
    } else {
      const onEvent = (event: PipelineEvent) => void send({ type: 'event', event });
      const summary = await runPipeline(req.request, { signal: controller.signal, onEvent });
      await send({ type: 'done', summary });
    }
  } catch (err) {
    if (errorKind(err) === 'cancelled' || controller.signal.aborted) await send({ type: 'cancelled' });
    else await send({ type: 'failed', error: errorOf(err) });
  } finally {
    process.disconnect?.();
    // Let pending IPC flush, then leave even if a native handle would keep the loop alive.
    setTimeout(() => process.exit(0), 50).unref();
  }
}

process.on('message', (msg: unknown) => {
  const t = (msg as { type?: unknown } | null)?.type;
  if (t !== 'start' && t !== 'analyze' && t !== 'cancel') {
    process.stderr.write(`worker: ignored unknown request ${JSON.stringify(msg)?.slice(0, 200)}\n`);
    return;
  }
  void handle(msg as WorkerRequest);
});

process.on('uncaughtException', (err) => {
  process.stderr.write(`worker: uncaught ${err.stack ?? err}\n`);
  void send({ type: 'failed', error: { code: 'internal', message: err.message, kind: 'internal' } }).finally(() => process.exit(2));
});

// The parent going away means nobody wants the result.
process.on('disconnect', () => {
  if (busy) controller.abort();
});

void send({ type: 'hello', version: PROTOCOL_VERSION, pid: process.pid });

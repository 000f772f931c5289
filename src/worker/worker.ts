// The background process. The extension host (and tests) fork this script; it runs one request
// (a pruning run or an analysis), streams pipeline events back over IPC and exits. onnxruntime's
// session.run blocks its thread, which is why none of this may run in the extension host.
import type { PipelineEvent, WorkerMessage, WorkerRequest } from '../protocol';
import { PROTOCOL_VERSION } from '../protocol';
import { runPipeline, CancelledError } from '../core/pipeline';
import { analyzeModelFile } from '../core/analysis/report';

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

function errorOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; stack?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'internal';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code === 'internal' && typeof e?.stack === 'string') process.stderr.write(`${e.stack}\n`);
  return { code, message };
}

const controller = new AbortController();
let busy = false;

async function handle(req: WorkerRequest): Promise<void> {
  if (req.type === 'cancel') {
    controller.abort();
    return;
  }
  if (busy) {
    await send({ type: 'failed', error: { code: 'busy', message: 'this worker is already running a request' } });
    return;
  }
  busy = true;
  try {
    if (req.type === 'analyze') {
      const document = await analyzeModelFile(req.model, req.inputShape);
      await send({ type: 'analysis', document });
    } else {
      const onEvent = (event: PipelineEvent) => void send({ type: 'event', event });
      const summary = await runPipeline(req.request, { signal: controller.signal, onEvent });
      await send({ type: 'done', summary });
    }
  } catch (err) {
    if (err instanceof CancelledError || controller.signal.aborted) await send({ type: 'cancelled' });
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
  void send({ type: 'failed', error: { code: 'internal', message: err.message } }).finally(() => process.exit(2));
});

// The parent going away means nobody wants the result.
process.on('disconnect', () => {
  if (busy) controller.abort();
});

void send({ type: 'hello', version: PROTOCOL_VERSION, pid: process.pid });

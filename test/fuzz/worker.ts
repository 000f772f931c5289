// Fuzz worker process: runs the cases the parent sends, one at a time, and reports each outcome.
// A case that never returns is the parent's to detect (it kills this process).
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { ort } from '../../src/core/runtime/session';
import { FIXTURES } from './cases';
import { classifyError, executeCase, type Outcome } from './execute';
import { caseFromId } from './mutators';

interface Job {
  seed: number;
  id: string;
  /** Folder for the case's files, removed after the case. */
  dir: string;
}

let current: Job | undefined;

// An error escaping a case's promise chain (a stray callback) would kill the worker without a
// word; it is the current case's crash.
const stray = (err: unknown) => {
  if (!current) return;
  const { detail } = classifyError(err);
  process.send!({ type: 'stray', id: current.id, detail: `uncaught: ${detail}` });
};
process.on('uncaughtException', stray);
process.on('unhandledRejection', stray);

process.on('message', async (job: Job) => {
  current = job;
  let outcome: Outcome;
  const c = caseFromId(job.seed, job.id);
  try {
    outcome = await executeCase(c, job.dir);
  } catch (err) {
    // Only the case's own build or the bookkeeping can land here: a bug of the suite, reported as such.
    outcome = { id: c.id, family: c.family, name: c.name, verdict: 'crash', detail: `fuzz harness: ${(err as Error).stack ?? err}`, ms: 0, via: 'in-process' };
  }
  rmSync(job.dir, { recursive: true, force: true });
  current = undefined;
  process.send!({ type: 'done', outcome });
});

// The first session of a process is slow to open (onnxruntime's environment); opening one before
// the first case keeps that time out of the cases' watchdog.
void ort.InferenceSession.create(path.join(FIXTURES, 'halfunet.onnx')).then(
  (s) => s.release(),
  () => undefined,
).then(() => process.send!({ type: 'ready', pid: process.pid }));

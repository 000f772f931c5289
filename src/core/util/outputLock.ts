// One writer per output: two runs (two editor windows, the editor and the CLI, two terminals) that
// would write the same pruned model take a lock file beside it for the whole run, so the second
// fails at once by name instead of computing for minutes and then interleaving its renames with
// the first's (a model from one run beside reports from the other). The lock is removed on every
// way out of the process that runs JavaScript; one left by a killed process is stale once its pid
// is gone and is taken over by the next run.
import { linkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { lockIsStale, OutputError, outputErrorFrom, readLock, removeStaleLock, tempNameFor, type LockContent } from './outputGuard';

/** `.<name>.lock` beside the output: hidden like the temporary files, fixed so `wx` can exclude. */
export function lockPathFor(output: string): string {
  const abs = path.resolve(output);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.lock`);
}

const held = new Map<string, string>();
let exitHook = false;

function release(file: string): void {
  const token = held.get(file);
  if (token === undefined) return;
  held.delete(file);
  const c = readLock(file);
  // Only our own: a lock taken over after ours was removed by hand belongs to its new holder.
  if (c && c !== 'unreadable' && c.token !== token) return;
  try {
    rmSync(file, { force: true });
  } catch {
    // The folder may be gone or replaced by a file; then so is the lock.
  }
}

export interface OutputLock {
  readonly file: string;
  /** Removes the lock; safe to call more than once. */
  release(): void;
}

/**
 * Takes the lock for `output` or fails with a one-line OutputError (`output-busy`) naming the
 * holder's pid and the lock file. A stale lock (its pid gone, or unreadable) is removed first
 * (`removeStaleLock`, which cannot delete a fresh lock another run took meanwhile).
 */
export function acquireOutputLock(output: string): OutputLock {
  const file = lockPathFor(output);
  const token = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const content: LockContent = { pid: process.pid, host: hostname(), token, startedAt: new Date().toISOString() };
  // Written whole to a temporary file, then linked into place (link fails if the name exists), so
  // no reader ever sees an empty lock; a killed writer leaves only a temporary file, cleaned later.
  const tmp = tempNameFor(file);
  try {
    writeFileSync(tmp, JSON.stringify(content) + '\n', { flag: 'wx' });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw outputErrorFrom(err, file);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && NO_LINKS.has(code ?? '')) {
          if (createPlain(file, content)) break;
        } else if (code !== 'EEXIST') throw outputErrorFrom(err, file);
        if (attempt >= 3) throw outputErrorFrom(err, file);
      }
      const current = readLock(file);
      if (current === null) continue;
      if (!lockIsStale(current)) throw busy(output, file, current);
      const live = removeStaleLock(file);
      if (live) throw busy(output, file, live);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  held.set(file, token);
  if (!exitHook) {
    exitHook = true;
    // process.exit() and a normal end both pass through 'exit'; SIGKILL cannot be caught.
    process.on('exit', () => {
      for (const f of [...held.keys()]) release(f);
    });
  }
  return { file, release: () => release(file) };
}

// File systems without hard links (FAT, some network shares) get an exclusive create instead.
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function createPlain(file: string, content: LockContent): boolean {
  try {
    writeFileSync(file, JSON.stringify(content) + '\n', { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw outputErrorFrom(err, file);
  }
}

function busy(output: string, file: string, c: LockContent | 'unreadable'): OutputError {
  const who = c === 'unreadable' ? 'another run' : `another run (pid ${c.pid}${c.host === hostname() ? '' : ` on ${c.host}`}, started ${c.startedAt})`;
  return new OutputError('output-busy', `${who} is writing '${output}'; wait for it to finish or cancel it (if no such run exists, delete '${file}')`);
}

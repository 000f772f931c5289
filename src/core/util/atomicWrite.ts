import { closeSync, fsyncSync, openSync, promises as fsp, renameSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { journalNameFor, outputErrorFrom, tempNameFor } from './outputGuard';

export interface OutputFile {
  path: string;
  data: Uint8Array | string;
}

export interface AtomicWriteOptions {
  /**
   * Called after every file is staged and right before the first rename; throwing (a cancelled
   * run) removes the staged files and writes nothing.
   */
  beforeCommit?: () => void;
}

/**
 * Writes several files all or nothing, in two phases. Stage: each goes to a hidden temporary file
 * in its target's folder (`tempNameFor`), flushed to disk. Commit: `beforeCommit`, then renames
 * over the targets, synchronously, so no signal handler or cancel message can run between them.
 * A failure while staging removes the temporary files; a failure during the renames also removes
 * the targets this call already renamed, so no mix of new and old outputs is left. Several files
 * are committed under a journal (`journalNameFor`) naming every rename, so that a process killed
 * between two renames has its commit completed by the next run's `cleanStaleTemps`. Write errors
 * come back as one-line OutputErrors naming the file.
 */
export async function writeFilesAtomic(files: OutputFile[], opts: AtomicWriteOptions = {}): Promise<void> {
  const staged: { tmp: string; target: string }[] = [];
  const discard = () => {
    for (const s of staged) rmSync(s.tmp, { force: true });
  };
  try {
    for (const f of files) {
      const tmp = tempNameFor(f.path);
      let handle: fsp.FileHandle | undefined;
      try {
        handle = await fsp.open(tmp, 'wx');
        staged.push({ tmp, target: f.path });
        await handle.writeFile(f.data);
        await handle.sync();
      } catch (err) {
        throw outputErrorFrom(err, f.path);
      } finally {
        await handle?.close().catch(() => undefined);
      }
    }
    opts.beforeCommit?.();
  } catch (err) {
    discard();
    throw err;
  }
  // A process killed between two renames (SIGKILL, power loss) would leave new and old outputs
  // side by side; the journal lets the next run in this folder finish the renames instead.
  let journal: string | undefined;
  if (staged.length > 1) {
    journal = journalNameFor(staged[0]!.target);
    try {
      const fd = openSync(journal, 'wx');
      try {
        writeSync(fd, JSON.stringify(staged.map((s) => [path.resolve(s.tmp), path.resolve(s.target)])));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      rmSync(journal, { force: true });
      discard();
      throw outputErrorFrom(err, staged[0]!.target);
    }
  }
  let done = 0;
  try {
    for (; done < staged.length; done++) renameSync(staged[done]!.tmp, staged[done]!.target);
  } catch (err) {
    for (let i = 0; i < done; i++) rmSync(staged[i]!.target, { force: true });
    discard();
    throw outputErrorFrom(err, staged[done]!.target);
  } finally {
    if (journal) rmSync(journal, { force: true });
  }
}

/** One file, atomically: a reader never sees half of it and a failed write leaves the old file. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path: target, data }]);
}

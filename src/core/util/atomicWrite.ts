import { promises as fsp, renameSync, rmSync } from 'node:fs';
import { outputErrorFrom, tempNameFor } from './outputGuard';

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
 * the targets this call already renamed, so no mix of new and old outputs is left. Write errors
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
  let done = 0;
  try {
    for (; done < staged.length; done++) renameSync(staged[done]!.tmp, staged[done]!.target);
  } catch (err) {
    for (let i = 0; i < done; i++) rmSync(staged[i]!.target, { force: true });
    discard();
    throw outputErrorFrom(err, staged[done]!.target);
  }
}

/** One file, atomically: a reader never sees half of it and a failed write leaves the old file. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path: target, data }]);
}

// Checks every place a command is about to write before any work starts: never onto the source
// model or its external data (however the path is spelled: symlinks, hard links, `..`), never
// into a folder that is missing, not a folder, virtual or not writable. Also the one mapping from
// Node's write errors to one-line messages, and the cleanup of what a killed run left (temporary
// files, commit journals, output locks).
import { linkSync, promises as fsp, readFileSync, renameSync, rmSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { QuboPruneError } from '../errors';

/**
 * A problem with an output path. Bad input, not a crash: the CLI exits 1 and the worker forwards
 * the code. `overwrite-source`: the output is the model or one of its data files;
 * `output-unwritable`: the file cannot be written there; `output-busy`: another live run holds the
 * output's lock (outputLock.ts).
 */
export class OutputError extends QuboPruneError<'overwrite-source' | 'output-unwritable' | 'output-busy'> {
  constructor(code: 'overwrite-source' | 'output-unwritable' | 'output-busy', message: string) {
    super(code, message, 'input');
    this.name = 'OutputError';
  }
}

const REASONS: Record<string, (file: string, dir: string) => string> = {
  ENOENT: (_f, dir) => `the folder '${dir}' does not exist`,
  ENOTDIR: (_f, dir) => `'${dir}' or one of its parents is not a folder`,
  EISDIR: (f) => `'${f}' is a folder`,
  EACCES: (_f, dir) => `permission denied in '${dir}'`,
  EPERM: (_f, dir) => `permission denied in '${dir}'`,
  EROFS: (_f, dir) => `'${dir}' is on a read-only file system`,
  ENOSPC: () => 'no space left on the device',
  EDQUOT: () => 'the disk quota is exceeded',
  EFBIG: () => 'the file is too large for this file system',
  EEXIST: (f) => `'${f}' already exists`,
  ENAMETOOLONG: () => 'the file name is too long',
  ELOOP: () => 'too many levels of symbolic links in the path',
  EINVAL: (_f, dir) => `'${dir}' does not accept regular files`,
  EBUSY: (f) => `'${f}' is busy`,
  EIO: () => 'an I/O error occurred on the device',
};

/** Node's errno errors while writing `file` become an OutputError naming it; others pass through. */
export function outputErrorFrom(err: unknown, file: string): Error {
  if (err instanceof OutputError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason = typeof code === 'string' ? REASONS[code] : undefined;
  if (!reason) return err as Error;
  return new OutputError('output-unwritable', `cannot write '${file}': ${reason(file, path.dirname(path.resolve(file)))}`);
}

// ------------------------------------------------------------------ temporary files

const TEMP = /^\.(.+)\.(\d+)\.([0-9a-z]+)\.tmp$/;

/** `.<name>.<pid>.<random>.tmp` beside the target: same folder, so the final rename is atomic. */
export function tempNameFor(target: string): string {
  const rand = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${rand}.tmp`);
}

export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const JOURNAL = /^\.(.+)\.(\d+)\.([0-9a-z]+)\.commit$/;

/** `.<name>.<pid>.<random>.commit`: the renames of one multi-file commit, while it runs. */
export function journalNameFor(target: string): string {
  return tempNameFor(target).replace(/\.tmp$/, '.commit');
}

/**
 * Finishes the commit of a writer killed between its renames: every staged file the journal
 * names that is still there is renamed over its target, so the folder holds that run's complete
 * set (all files were staged and flushed before the first rename). A writer killed before its
 * first rename (the first staged file is still there) left the old outputs whole: nothing is
 * renamed and its staged files go with the other stale temporary files. Only renames within
 * `dir`, of temporary files of the journal's own pid, are done, whatever a journal file may say.
 */
async function finishStaleCommit(dir: string, name: string, pid: string): Promise<void> {
  const file = path.join(dir, name);
  const pairs: unknown = await fsp.readFile(file, 'utf8').then((t) => JSON.parse(t) as unknown, () => null);
  const first = Array.isArray(pairs) && Array.isArray(pairs[0]) ? (pairs[0] as unknown[])[0] : undefined;
  const begun = typeof first === 'string' && !(await fsp.lstat(first).catch(() => null));
  if (begun && Array.isArray(pairs)) {
    for (const p of pairs) {
      if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'string') continue;
      const [tmp, target] = p as [string, string];
      const m = TEMP.exec(path.basename(tmp));
      if (!m || m[2] !== pid || path.dirname(tmp) !== dir || path.dirname(target) !== dir) continue;
      if (!(await fsp.lstat(tmp).catch(() => null))?.isFile()) continue;
      await fsp.rename(tmp, target).catch(() => undefined);
    }
  }
  await fsp.rm(file, { force: true }).catch(() => undefined);
}

/**
 * Removes temporary files of our own pattern whose writer is gone (killed during a write: SIGKILL,
 * power loss), after completing any commit such a writer had begun, and the output locks such a
 * writer held. A file whose pid is alive is kept, since that run may still be writing it. Best
 * effort: a folder that cannot be listed is left alone. Returns the names removed.
 */
export async function cleanStaleTemps(dir: string): Promise<string[]> {
  let names = await fsp.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = JOURNAL.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    await finishStaleCommit(dir, name, m[2]!);
    removed.push(name);
  }
  for (const name of names) {
    if (!LOCK.test(name)) continue;
    const c = readLock(path.join(dir, name));
    // Only locks of our format: an unreadable file of that name may be someone else's.
    if (c === null || c === 'unreadable' || !lockIsStale(c)) continue;
    if (removeStaleLock(path.join(dir, name)) === null) removed.push(name);
  }
  if (removed.length) names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const file = path.join(dir, name);
    const st = await fsp.lstat(file).catch(() => null);
    if (!st?.isFile()) continue;
    if (await fsp.rm(file, { force: true }).then(() => true, () => false)) removed.push(name);
  }
  return removed;
}

// ------------------------------------------------------------------ output locks (outputLock.ts)

export interface LockContent {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

const LOCK = /^\..+\.lock$/;

export function readLock(file: string): LockContent | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unreadable';
  }
  try {
    const v = JSON.parse(text) as Partial<LockContent>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string') return v as LockContent;
  } catch {
    // Locks appear whole (written, then linked into place); a torn one comes from a crash.
  }
  return 'unreadable';
}

/** A lock whose process on this machine is gone guards nothing any more. */
export function lockIsStale(c: LockContent | 'unreadable'): boolean {
  return c === 'unreadable' || (c.host === hostname() && !pidAlive(c.pid));
}

/**
 * Deletes the lock `file` if it is stale. It is moved aside first and judged by what was moved,
 * so a fresh lock that another run took between a look and the removal is put back, not deleted.
 * Returns that live lock's content when that happened, else null.
 */
export function removeStaleLock(file: string): LockContent | 'unreadable' | null {
  const aside = tempNameFor(file);
  try {
    renameSync(file, aside);
  } catch {
    return null;
  }
  const moved = readLock(aside);
  if (moved !== null && !lockIsStale(moved)) {
    try {
      linkSync(aside, file);
    } catch {
      // A third run holds the name now; the one moved runs on without its file.
    }
    rmSync(aside, { force: true });
    return moved;
  }
  rmSync(aside, { force: true });
  return null;
}

// ------------------------------------------------------------------ the source is never an output

export interface SourceFiles {
  model: string;
  /**
   * The model's external data files. A function, since finding them means parsing the model; it
   * is only called when an output already exists as some other file.
   */
  externalData: string[] | (() => Promise<string[]>);
}

const statOf = (p: string): Promise<Stats | null> => fsp.stat(p).catch(() => null);
const sameInode = (a: Stats | null, b: Stats | null) => !!a && !!b && a.dev === b.dev && a.ino === b.ino;

/**
 * Refuses (`overwrite-source`) any output that is the model or one of its external data files:
 * the same resolved path, or the same file by device and inode, which covers symlinks, symlinked
 * folders and hard links. `allowModel` (prune --force) permits the model file itself only.
 */
export async function refuseSourceOverwrite(src: SourceFiles, outputs: string[], opts: { allowModel?: boolean } = {}): Promise<void> {
  const model = path.resolve(src.model);
  const modelStat = await statOf(model);
  let external: { file: string; st: Stats | null }[] | undefined;
  for (const out of outputs) {
    const abs = path.resolve(out);
    const st = await statOf(abs);
    const isModel = abs === model || sameInode(st, modelStat);
    if (isModel) {
      if (opts.allowModel) continue;
      throw new OutputError('overwrite-source', `refusing to write '${out}': it is the source model${abs === model ? '' : ` '${src.model}' (through a link)`}; choose another output path`);
    }
    // A file that does not exist yet cannot be a data file the model reads.
    if (!st) continue;
    external ??= await Promise.all(
      (typeof src.externalData === 'function' ? await src.externalData() : src.externalData).map(async (f) => ({ file: path.resolve(f), st: await statOf(f) })),
    );
    const hit = external.find((e) => e.file === abs || sameInode(e.st, st));
    if (hit) throw new OutputError('overwrite-source', `refusing to write '${out}': it is the source model's external data file '${hit.file}'; choose another output path`);
  }
}

// ------------------------------------------------------------------ writability

const VIRTUAL = ['/proc', '/sys', '/dev'];

/**
 * Fails with a one-line OutputError unless `file` can be written: its folder exists and is a
 * folder, is not a virtual file system, the file is not a folder, and a probe file can be created
 * and removed there (the honest test: permissions, read-only mounts, ACLs, root all included).
 * Creates nothing that stays: a missing folder is an error, never made.
 */
export async function checkWritable(file: string): Promise<void> {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const fail = (reason: string) => new OutputError('output-unwritable', `cannot write '${file}': ${reason}`);
  const dirStat = await fsp.stat(dir).catch((err: NodeJS.ErrnoException) => err);
  if (dirStat instanceof Error) {
    // A file in the way is named, rather than calling the folder missing.
    for (let up = path.dirname(dir); ; up = path.dirname(up)) {
      const st = await fsp.stat(up).catch(() => null);
      if (st && !st.isDirectory()) throw fail(`'${up}' is not a folder`);
      if (st || path.dirname(up) === up) break;
    }
    if (dirStat.code === 'ENOENT' || dirStat.code === 'ENOTDIR') throw fail(`the folder '${dir}' does not exist`);
    throw outputErrorFrom(dirStat, file);
  }
  if (!dirStat.isDirectory()) throw fail(`'${dir}' is not a folder`);
  const real = await fsp.realpath(dir).catch(() => dir);
  const virtual = VIRTUAL.find((v) => real === v || real.startsWith(v + path.sep));
  if (virtual) throw fail(`'${virtual}' is a virtual file system, not a place for files`);
  const target = await statOf(abs);
  if (target?.isDirectory()) throw fail(`'${abs}' is a folder`);
  const probe = tempNameFor(abs);
  try {
    const h = await fsp.open(probe, 'wx');
    await h.close();
  } catch (err) {
    throw outputErrorFrom(err, file);
  } finally {
    await fsp.rm(probe, { force: true }).catch(() => undefined);
  }
}

/**
 * Everything a command checks before its work, for all the files it will write (companions such
 * as `<out>.data` and the reports included): not the source, writable; then stale temporary files
 * in those folders are removed.
 */
export async function guardOutputs(src: SourceFiles, outputs: string[], opts: { allowModel?: boolean } = {}): Promise<void> {
  await refuseSourceOverwrite(src, outputs, opts);
  for (const out of outputs) await checkWritable(out);
  for (const dir of new Set(outputs.map((o) => path.dirname(path.resolve(o))))) await cleanStaleTemps(dir);
}

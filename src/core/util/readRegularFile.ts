// Reads user-named input files (models, external data, configs, images) without trusting what the
// path points at: a FIFO would block the read forever and a link to /dev/zero would never end, so
// anything but a regular file is refused before it is opened for reading, and no more than the
// size the file had when opened is ever read.
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync, statSync, lstatSync, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { QuboPruneError } from '../errors';

export type FileReadProblem = 'missing' | 'directory' | 'not-regular' | 'too-large' | 'io';

/** A user-named file that cannot be read as one; the path is the user's input, so the kind is `input`. */
export class FileReadError extends QuboPruneError<FileReadProblem> {
  constructor(
    code: FileReadProblem,
    readonly file: string,
    /** Says what the path is, without naming it ('a FIFO (named pipe)', 'missing', …), for callers' own messages. */
    readonly what: string,
    message: string,
  ) {
    super(code, message, 'input');
    this.name = 'FileReadError';
  }
}

// Opening a FIFO for reading blocks until a writer appears; O_NONBLOCK makes the open return at
// once so fstat can refuse it (regular files ignore the flag). Windows has no such flag.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function linkNote(file: string): string {
  try {
    return lstatSync(file).isSymbolicLink() ? ' (through a symbolic link)' : '';
  } catch {
    return '';
  }
}

function check(file: string, st: Stats): void {
  if (st.isFile()) {
    if (st.size > bufferConstants.MAX_LENGTH) {
      throw new FileReadError('too-large', file, `too large (${st.size} bytes)`, `'${file}' is too large to read (${st.size} bytes)`);
    }
    return;
  }
  const what = kindOf(st) + linkNote(file);
  const code = st.isDirectory() ? 'directory' : 'not-regular';
  throw new FileReadError(code, file, what, `'${file}' is ${what}, not a regular file`);
}

function fromErrno(file: string, err: unknown): FileReadError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return new FileReadError('missing', file, 'missing', `'${file}' does not exist`);
  if (e.code === 'EISDIR') return new FileReadError('directory', file, 'a folder', `'${file}' is a folder, not a regular file`);
  return new FileReadError('io', file, `unreadable (${e.message})`, `cannot read '${file}': ${e.message}`);
}

/** Refuses anything but a regular file (links are followed), without opening it. */
export function assertRegularFile(file: string): Stats {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    throw fromErrno(file, err);
  }
  check(file, st);
  return st;
}

/** The whole content of a regular file, at most as many bytes as it had when opened. */
export async function readRegularFile(file: string): Promise<Buffer> {
  const { handle, size } = await openRegularFile(file);
  try {
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(buf, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === size ? buf : buf.subarray(0, at);
  } catch (err) {
    throw err instanceof FileReadError ? err : fromErrno(file, err);
  } finally {
    await handle.close();
  }
}

/** Synchronous readRegularFile, for readers that cannot be async (external tensor data). */
export function readRegularFileSync(file: string): Buffer {
  assertRegularFile(file);
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw fromErrno(file, err);
  }
  try {
    const st = fstatSync(fd);
    check(file, st);
    const buf = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < st.size) {
      const n = readSync(fd, buf, at, st.size - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === st.size ? buf : buf.subarray(0, at);
  } catch (err) {
    throw err instanceof FileReadError ? err : fromErrno(file, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a regular file for reading (for callers that read only part of it, like image headers);
 * the caller closes the handle.
 */
export async function openRegularFile(file: string): Promise<{ handle: fsp.FileHandle; size: number }> {
  assertRegularFile(file);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, OPEN_FLAGS);
  } catch (err) {
    throw fromErrno(file, err);
  }
  try {
    // The path may have been swapped between the stat and the open; what counts is what was opened.
    const st = await fh.stat();
    check(file, st);
    return { handle: fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err instanceof FileReadError ? err : fromErrno(file, err);
  }
}

// The one base of every error the project raises on purpose. Front ends decide how to report a
// failure from `kind` alone (the CLI's exit code, whether a stack trace helps, how the worker
// labels it), so no front end keeps its own list of error classes or codes.
import { oneLine } from './util/oneLine';

/**
 * Whose fault a failure is: `input` — the user's model, data, settings or paths (fixable by the
 * user, reported as one line); `internal` — a bug or an environment failure (reported with its
 * stack); `cancelled` — the user or a caller stopped the work (no fault at all).
 */
export type ErrorKind = 'input' | 'internal' | 'cancelled';

/**
 * A coded error: `code` is stable for callers and tests to branch on, the message is one line
 * (names taken from user files may hold line breaks or control characters, so they are escaped).
 * Subclasses keep setting `name` as a string literal: class names do not survive minification.
 */
export abstract class QuboPruneError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(oneLine(message));
  }
}

/** `internal` when `code` is one of `internalCodes`, else `input`: most modules' codes blame the input. */
export function kindOf<Code extends string>(code: Code, internalCodes: ReadonlySet<Code>): ErrorKind {
  return internalCodes.has(code) ? 'internal' : 'input';
}

/**
 * The kind of any thrown value. Anything not raised on purpose (onnxruntime failures, TypeErrors,
 * Node's own errors) is `internal`; so is an abort reason that is not ours, except the platform's
 * own AbortError, which only an AbortSignal produces.
 */
export function errorKind(err: unknown): ErrorKind {
  if (err instanceof QuboPruneError) return err.kind;
  if (err instanceof Error && err.name === 'AbortError') return 'cancelled';
  return 'internal';
}

/** The work was stopped through its AbortSignal (Ctrl-C, the worker's `cancel`, a search's own stop). */
export class CancelledError extends QuboPruneError<'cancelled'> {
  constructor(message = 'the run was cancelled') {
    super('cancelled', message, 'cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

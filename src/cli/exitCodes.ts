// The one mapping from a failure to what the command line prints and the code it exits with,
// shared by every sub-command and by the pipeline runner (README "Command line", docs/PIPELINE.md).
import { errorKind, type ErrorKind } from '../core/errors';
import { CliError } from './cliError';

export const EXIT = { ok: 0, input: 1, internal: 2, cancelled: 130 } as const;

const BY_KIND: Readonly<Record<ErrorKind, number>> = { input: EXIT.input, internal: EXIT.internal, cancelled: EXIT.cancelled };

export function exitCodeFor(kind: ErrorKind): number {
  return BY_KIND[kind];
}

/**
 * Writes `err` the way its kind calls for and returns the exit code: bad input as one line (and a
 * command's usage after a CliError), a bug with its stack trace, a cancellation as the fact that
 * nothing was written. An error that surfaces after `signal` fired is the cancellation's
 * consequence (a stream closed under a read, a session released), so it counts as cancelled.
 */
export function reportFailure(err: unknown, write: (text: string) => void, prefix: string, signal?: AbortSignal): number {
  const kind = signal?.aborted ? 'cancelled' : errorKind(err);
  const e = err as { message?: unknown; stack?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (kind === 'cancelled') write('cancelled; nothing was written\n');
  else if (kind === 'input') write(`${prefix}${message}\n${err instanceof CliError && err.usage ? `${err.usage}\n` : ''}`);
  else write(`${prefix}${typeof e?.stack === 'string' ? e.stack : message}\n`);
  return exitCodeFor(kind);
}

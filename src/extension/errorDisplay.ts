// How the extension shows a failure, decided by whose fault it is (the error's `kind`, from
// src/core/errors.ts, carried over the worker protocol): the user's input gets a plain message
// that names what to fix; a bug says so and offers to report it with the log; a cancellation is
// no error at all. Pure, so the mapping is tested without VS Code.
import type { ErrorKind } from '../core/errors';

export const REPORT_ISSUE = 'Report Issue';
export const SHOW_LOG = 'Show Log';

export interface ErrorDisplay {
  /** 'error' and 'info' notifications; 'none' shows nothing (the user asked for it to stop). */
  level: 'error' | 'info' | 'none';
  text: string;
  /** Buttons of the notification. */
  actions: string[];
}

/**
 * `what` names the work that failed, e.g. 'pruning net.onnx' or 'analyzing net.onnx'. An input
 * error's message already says what is wrong with which file or setting, so it is shown as is,
 * without the code (a code helps whoever reads a bug report, not the user fixing a path).
 */
export function errorDisplay(what: string, error: { kind: ErrorKind; code: string; message: string }, opts: { announceCancel?: boolean } = {}): ErrorDisplay {
  switch (error.kind) {
    case 'input':
      return { level: 'error', text: `QUBO Prune: ${what} failed: ${error.message}`, actions: [] };
    case 'cancelled':
      return opts.announceCancel ? { level: 'info', text: `QUBO Prune: ${what} was cancelled.`, actions: [] } : { level: 'none', text: '', actions: [] };
    case 'internal':
      return {
        level: 'error',
        text: `QUBO Prune: ${what} failed because of an internal error [${error.code}]: ${error.message}. This is a bug in QUBO Prune; please report it with the log.`,
        actions: [REPORT_ISSUE, SHOW_LOG],
      };
  }
}

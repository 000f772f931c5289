import { kindOf, QuboPruneError } from '../errors';

export { CancelledError, throwIfCancelled } from '../errors';

// Consistency checks the pipeline makes on its own results: failing one is a bug, not bad input.
const INTERNAL: ReadonlySet<string> = new Set(['internal', 'export-mismatch']);

/** Errors of the pipeline itself: a bad combination of model, data and settings, or a failed self-check. */
export class PipelineError extends QuboPruneError {
  constructor(code: string, message: string) {
    super(code, message, kindOf(code, INTERNAL));
    this.name = 'PipelineError';
  }
}

/** Thrown when a run's AbortSignal fires; the CLI maps it to exit code 130. */
export class CancelledError extends Error {
  readonly code = 'cancelled';
  constructor(message = 'the run was cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Errors of the pipeline itself (bad combination of model, data and settings). */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

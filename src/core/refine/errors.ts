export type RefineErrorCode = 'bad-input' | 'bad-option' | 'unknown-group' | 'aborted';

/** Bad input or options of the refinement stage, with a code callers can branch on. */
export class RefineError extends Error {
  constructor(
    readonly code: RefineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RefineError';
  }
}

export type TtErrorCode =
  | 'bad-shape'
  | 'bad-option'
  | 'bad-sample'
  | 'infeasible'
  | 'bad-values'
  | 'aborted';

/** Every problem raised by the TT tensor, sampler or optimiser, with a code callers can branch on. */
export class TtError extends Error {
  constructor(
    readonly code: TtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TtError';
  }
}

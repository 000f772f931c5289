export type QuboErrorCode =
  | 'bad-group'
  | 'duplicate-group'
  | 'missing-score'
  | 'bad-score'
  | 'score-length'
  | 'missing-similarity'
  | 'similarity-size'
  | 'bad-similarity'
  | 'asymmetric-similarity'
  | 'bad-option'
  | 'bad-floor'
  | 'no-target'
  | 'k-below-floors'
  | 'k-above-n'
  | 'k-unachievable'
  | 'bad-mask'
  | 'too-large'
  | 'bad-json';

/** Every invalid QUBO input surfaces as this error, with a code callers can branch on. */
export class QuboError extends Error {
  constructor(
    readonly code: QuboErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'QuboError';
  }
}

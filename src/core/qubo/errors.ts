import { QuboPruneError } from '../errors';

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
  | 'bad-json'
  | 'bad-budget'
  | 'budget-unachievable';

/**
 * Every invalid QUBO input surfaces as this error. Blamed on the input: `qubo-prune solve` reads
 * instances users write, and inside the pipeline the codes that can occur ('too-large',
 * 'k-unachievable') follow from the model and the settings.
 */
export class QuboError extends QuboPruneError<QuboErrorCode> {
  constructor(code: QuboErrorCode, message: string) {
    super(code, message, 'input');
    this.name = 'QuboError';
  }
}

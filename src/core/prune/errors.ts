import { oneLine } from '../util/oneLine';

export type PruneErrorCode =
  | 'bad-mask'
  | 'empty-group'
  | 'empty-tensor'
  | 'bad-sparsity'
  | 'bad-option'
  | 'unknown-method'
  | 'no-variables'
  | 'invalid-export'
  | 'missing-shapes';

/** Problems with a pruning request or its result, with a code callers can branch on. */
export class PruneError extends Error {
  constructor(
    readonly code: PruneErrorCode,
    message: string,
  ) {
    super(oneLine(message));
    this.name = 'PruneError';
  }
}

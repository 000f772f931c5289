import { kindOf, QuboPruneError } from '../errors';

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

// An export that onnxruntime refuses is the exporter's bug, whatever model it was given.
const INTERNAL: ReadonlySet<PruneErrorCode> = new Set(['invalid-export']);

/** Problems with a pruning request or its result, with a code callers can branch on. */
export class PruneError extends QuboPruneError<PruneErrorCode> {
  constructor(code: PruneErrorCode, message: string) {
    super(code, message, kindOf(code, INTERNAL));
    this.name = 'PruneError';
  }
}

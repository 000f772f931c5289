import { QuboPruneError } from '../errors';

export type RefineErrorCode = 'bad-input' | 'bad-option' | 'unknown-group';

/**
 * Bad input or options of the refinement stage. Always internal: the pipeline derives them from
 * the analysis and from settings the preset validator has already checked.
 */
export class RefineError extends QuboPruneError<RefineErrorCode> {
  constructor(code: RefineErrorCode, message: string) {
    super(code, message, 'internal');
    this.name = 'RefineError';
  }
}

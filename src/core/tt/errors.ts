import { QuboPruneError } from '../errors';

export type TtErrorCode = 'bad-shape' | 'bad-option' | 'bad-sample' | 'infeasible' | 'bad-values';

/**
 * Every problem raised by the TT tensor, sampler or optimiser. Always internal: the refinement
 * stage builds every TT argument from settings that were validated before the run started.
 */
export class TtError extends QuboPruneError<TtErrorCode> {
  constructor(code: TtErrorCode, message: string) {
    super(code, message, 'internal');
    this.name = 'TtError';
  }
}

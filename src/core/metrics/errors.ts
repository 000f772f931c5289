import { kindOf, QuboPruneError } from '../errors';

export type MetricErrorCode = 'shape-mismatch' | 'bad-label' | 'too-small' | 'empty';

// The pipeline sizes and labels what it scores, so a mismatch is its bug; images smaller than the
// SSIM window come from the user's data or patch size.
const INTERNAL: ReadonlySet<MetricErrorCode> = new Set(['shape-mismatch', 'bad-label', 'empty']);

/** Bad arguments to a metric (wrong lengths, labels out of range, images smaller than the SSIM window). */
export class MetricError extends QuboPruneError<MetricErrorCode> {
  constructor(code: MetricErrorCode, message: string) {
    super(code, message, kindOf(code, INTERNAL));
    this.name = 'MetricError';
  }
}

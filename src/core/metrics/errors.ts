export type MetricErrorCode = 'shape-mismatch' | 'bad-label' | 'too-small' | 'empty';

/** Bad arguments to a metric (wrong lengths, labels out of range, images smaller than the SSIM window). */
export class MetricError extends Error {
  constructor(
    readonly code: MetricErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MetricError';
  }
}

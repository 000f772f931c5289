export type ChartErrorCode =
  | 'bad-size'
  | 'bad-pixels'
  | 'empty'
  | 'length-mismatch'
  | 'non-finite'
  | 'bad-color'
  | 'bad-range';

/** Bad arguments to the PNG encoder or a chart renderer; the message names the offending series/field. */
export class ChartError extends Error {
  constructor(
    readonly code: ChartErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChartError';
  }
}

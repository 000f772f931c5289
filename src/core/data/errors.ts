import { QuboPruneError } from '../errors';

export type DataErrorCode =
  | 'not-found'
  | 'empty-folder'
  | 'no-images'
  | 'unmatched-pairs'
  | 'size-mismatch'
  | 'corrupt-image'
  | 'image-too-large'
  | 'not-regular-file'
  | 'unknown-noise-spec'
  | 'missing-noise-spec'
  | 'patch-too-large'
  | 'empty-split'
  | 'bad-split'
  | 'bad-option'
  | 'layout-mismatch'
  | 'batch-shape';

/** Every problem with a data folder or its images surfaces as this error; all of them blame the data or the data settings. */
export class DataError extends QuboPruneError<DataErrorCode> {
  constructor(
    code: DataErrorCode,
    message: string,
    /** Files involved (first few), so a UI can point at them. */
    readonly files: string[] = [],
  ) {
    super(code, message, 'input');
    this.name = 'DataError';
  }
}

/** Lists at most `n` items for an error message, then how many more there are. */
export function firstFew(items: string[], n = 5): string {
  const head = items.slice(0, n).join(', ');
  return items.length > n ? `${head} (and ${items.length - n} more)` : head;
}

import { kindOf, QuboPruneError } from '../errors';

export type AutodiffErrorCode =
  /** An op on a path from a `wrt` input to the loss has no backward rule (or not for this input). */
  | 'no-gradient-rule'
  /** The op has a rule, but not for this attribute combination (e.g. Pad mode 'reflect'). */
  | 'unsupported-attribute'
  /** The rule needs a rank or dimension that shape inference could not determine. */
  | 'shape-unknown'
  /** The options name a tensor that does not exist, is not a float graph input, or collide. */
  | 'bad-option'
  | 'unsupported-opset';

// Options come from the pipeline, not the user; every other code is about what the model contains.
const INTERNAL: ReadonlySet<AutodiffErrorCode> = new Set(['bad-option']);

/** Problems building a gradient model; `node`/`opType` name the forward node when one is at fault. */
export class AutodiffError extends QuboPruneError<AutodiffErrorCode> {
  constructor(
    code: AutodiffErrorCode,
    message: string,
    readonly node?: string,
    readonly opType?: string,
  ) {
    super(code, message, kindOf(code, INTERNAL));
    this.name = 'AutodiffError';
  }
}

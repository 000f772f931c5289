import { kindOf, QuboPruneError } from '../errors';

export type RecoverErrorCode =
  /** The model's form is outside what recovery trains (inputs/outputs, no trainable weights). */
  | 'unsupported-model'
  /** A recover setting is out of range or names an unsupported mode. */
  | 'bad-setting';

const INTERNAL: ReadonlySet<RecoverErrorCode> = new Set();

/** Problems setting up or running recovery fine-tuning. */
export class RecoverError extends QuboPruneError<RecoverErrorCode> {
  constructor(code: RecoverErrorCode, message: string) {
    super(code, message, kindOf(code, INTERNAL));
    this.name = 'RecoverError';
  }
}

import { oneLine } from '../util/oneLine';

export type OnnxErrorCode =
  | 'file-not-found'
  | 'io'
  | 'empty'
  | 'truncated'
  | 'not-onnx'
  | 'no-graph'
  | 'unsupported-opset'
  | 'unknown-ops'
  | 'external-data'
  | 'bad-tensor'
  | 'not-regular-file'
  | 'non-finite-weights'
  | 'invalid-graph'
  | 'overwrite-source'
  | 'too-large-for-memory';

/** Every problem with a model file or graph surfaces as this error, with a code callers can branch on. */
export class OnnxModelError extends Error {
  constructor(
    readonly code: OnnxErrorCode,
    message: string,
  ) {
    super(oneLine(message));
    this.name = 'OnnxModelError';
  }
}

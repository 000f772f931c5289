import { QuboPruneError } from '../errors';

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

/** Every problem with a model file or graph surfaces as this error; all of them blame the model or its path. */
export class OnnxModelError extends QuboPruneError<OnnxErrorCode> {
  constructor(code: OnnxErrorCode, message: string) {
    super(code, message, 'input');
    this.name = 'OnnxModelError';
  }
}

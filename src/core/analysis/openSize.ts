// The one rule for the input size of an analysis, shared by `qubo-prune analyze` and the editor's
// worker: a size the model fixes is used as is; open height/width (and any other symbolic dim but
// the batch, which becomes 1) take the size the caller chose, and the document says so, because
// MACs and activation shapes depend on it.
import type { OnnxModel } from '../onnx';
import { analyzeModel, type AnalysisDocument, type AnalyzeModelOptions } from './report';
import { fillOpenDims, resolveInputShapes, ShapeInferenceError, type InputShapeSpec } from './shapes';

export interface OpenSizeChoice {
  /** Side length for the model's open dims. */
  size: number;
  /** Where the size came from, as the note names it, e.g. 'setting quboPrune.analysisSize'. */
  source: string;
}

/**
 * The shapes to analyse `model` at: undefined when the model fixes its input size (the model's own
 * are used), else the open dims filled with `choice.size`, with the note the document carries.
 * A model input that declares no shape at all is still refused (`symbolic-input`): nothing tells
 * which of its dims is the channel axis.
 */
export function openSizeShapes(model: OnnxModel, choice: OpenSizeChoice): { shapes: Record<string, number[]>; note: string } | undefined {
  try {
    resolveInputShapes(model);
    return undefined;
  } catch (err) {
    const filled = err instanceof ShapeInferenceError && err.code === 'symbolic-input' ? fillOpenDims(model, choice.size) : undefined;
    if (!filled) throw err;
    const shapes = Object.values(filled).map((d) => d.join('×')).join(', ');
    return { shapes: filled, note: `the model's input size is open; figures are for input ${shapes} (${choice.source})` };
  }
}

/**
 * Analyses a loaded model at `inputShape` when given, else at its own input size or, when that is
 * open, at `open.size`; the note about the size chosen comes first in the warnings.
 */
export async function analyzeAtSize(model: OnnxModel, open: OpenSizeChoice, opts: Omit<AnalyzeModelOptions, 'inputShape'> & { inputShape?: InputShapeSpec } = {}): Promise<AnalysisDocument> {
  const chosen = opts.inputShape ? undefined : openSizeShapes(model, open);
  const document = await analyzeModel(model, { ...opts, inputShape: opts.inputShape ?? chosen?.shapes });
  if (chosen) document.warnings.unshift(chosen.note);
  return document;
}

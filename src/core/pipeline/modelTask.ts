// What a model does, read from its output shape (or the `task` setting): it decides the loss of
// the gradient pass, the data the run reads and the metrics it reports.
import { PipelineError } from './cancel';

export type ModelTask = 'denoise' | 'classify' | 'segment';

export interface TaskDecision {
  task: ModelTask;
  /** Why, in words for the log and the report, e.g. 'detected: output [N, 21, H, W] …'. */
  reason: string;
}

/** Shapes as analysed at one input size; the batch is shown as N. */
const shapeText = (dims: readonly number[]) => `[${dims.map((d, i) => (i === 0 ? 'N' : String(d))).join(', ')}]`;

/**
 * [N, K] → classify; [N, K, H, W] with K = the input's channels → denoise; K ≠ the input's
 * channels and K ≥ 2 → segment (one logit map per class). `override` ('auto' or absent = detect)
 * wins when the shape allows it, e.g. a 3-class segmentation model of RGB images.
 */
export function decideTask(inputChannels: number, outShape: readonly number[], override: ModelTask | 'auto' | undefined, model: string): TaskDecision {
  const rank = outShape.length;
  const k = rank === 4 && typeof outShape[1] === 'number' ? outShape[1] : undefined;
  const shown = shapeText(outShape);
  if (override !== undefined && override !== 'auto') {
    const fits = override === 'classify' ? rank === 2 : override === 'denoise' ? rank === 4 && k === inputChannels : rank === 4 && k !== undefined && k >= 2;
    if (!fits) {
      const need = override === 'classify' ? 'an output [N, classes]' : override === 'denoise' ? `an output with the input's ${inputChannels} channels` : 'an output [N, classes ≥ 2, H, W]';
      throw new PipelineError('task-mismatch', `the setting task = '${override}' needs ${need}; '${model}' outputs ${shown}`);
    }
    return { task: override, reason: `set by the setting task (output ${shown})` };
  }
  if (rank === 2) return { task: 'classify', reason: `detected: output ${shown} is one score per class` };
  if (rank === 4 && k === inputChannels) return { task: 'denoise', reason: `detected: output ${shown} has the input's ${inputChannels} channels (image to image)` };
  if (rank === 4 && k !== undefined && k >= 2) {
    return { task: 'segment', reason: `detected: output ${shown} has ${k} channels for ${inputChannels}-channel images, one logit map per class (segmentation)` };
  }
  throw new PipelineError(
    'task-mismatch',
    `'${model}' maps ${inputChannels}-channel images to outputs ${shown}; pruning with data supports classifiers ([N, classes]), image-to-image models whose output has the input's channels, and segmentation maps [N, classes ≥ 2, H, W] (set the setting 'task' if the shape misleads; data-free 'prune --method l1' works for any model)`,
  );
}

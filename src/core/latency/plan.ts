// Where a model is timed: at the size of the inputs a user runs it on. A denoiser runs on whole
// images, so it is timed at the test split's most common whole-image size; a classifier at its
// fixed input size, else 224×224 (the size torchvision's classifiers are evaluated at).
import { valueInfoDims, type OnnxModel } from '../onnx';
import type { ShapeMap } from '../analysis/types';

export const CLASSIFIER_SIZE = 224;

export interface LatencyPlan {
  /** [1, C, H, W]. */
  inputShape: number[];
  /** The declared batch dim when it is a number. */
  fixedBatch?: number;
  /** Activation bytes of one input at `inputShape` (every intermediate tensor, float32). */
  activationBytes: number;
  /** The same per input pixel, to size whole-image evaluation and tiling. */
  bytesPerPixel: number;
}

/** The [h, w] that occurs most often (the larger on ties, so the figure errs towards the real cost). */
export function commonSize(sizes: readonly [number, number][]): [number, number] | undefined {
  const count = new Map<string, { size: [number, number]; n: number }>();
  for (const s of sizes) {
    const k = `${s[0]}x${s[1]}`;
    const c = count.get(k) ?? { size: [s[0], s[1]], n: 0 };
    c.n++;
    count.set(k, c);
  }
  let best: { size: [number, number]; n: number } | undefined;
  for (const c of count.values()) if (!best || c.n > best.n || (c.n === best.n && c.size[0] * c.size[1] > best.size[0] * best.size[1])) best = c;
  return best?.size;
}

export function latencyPlan(p: { model: OnnxModel; shapes: ShapeMap; inputShape: number[]; task: 'denoise' | 'classify'; testSizes: readonly [number, number][] }): LatencyPlan {
  const declared = valueInfoDims(p.model.realInputs[0]!) ?? [];
  const fixed = (i: number) => (typeof declared[i] === 'number' && declared[i]! > 0 ? (declared[i] as number) : undefined);
  const C = p.inputShape[1]!;
  let hw: [number, number];
  if (fixed(2) !== undefined && fixed(3) !== undefined) hw = [fixed(2)!, fixed(3)!];
  else if (p.task === 'classify') hw = [CLASSIFIER_SIZE, CLASSIFIER_SIZE];
  else hw = commonSize(p.testSizes) ?? [p.inputShape[2]!, p.inputShape[3]!];
  // Activations scale with the pixel count of a fully convolutional model; heads after a global
  // pool are small, so the scaled sum bounds them too.
  const inits = new Set(p.model.graph.initializer.map((t) => t.name));
  let elems = 0;
  for (const [name, dims] of p.shapes) {
    if (inits.has(name) || dims.length === 0) continue;
    elems += dims.slice(1).reduce((a, b) => a * b, 1);
  }
  const analysedPixels = p.inputShape[2]! * p.inputShape[3]!;
  const bytesPerPixel = (elems * 4) / analysedPixels;
  const fb = fixed(0);
  return { inputShape: [1, C, hw[0], hw[1]], ...(fb !== undefined ? { fixedBatch: fb } : {}), activationBytes: bytesPerPixel * hw[0] * hw[1], bytesPerPixel };
}

import { AutodiffError } from './errors';
import type { Emitter } from './emitter';
import type { ShapeInfo } from './shapes';

/**
 * Gram matrix G = Σ over samples and positions of a·aᵀ (channels × channels) of a tensor
 * [N, C, ...] or [N, C], so that only C×C numbers leave the runtime (METHOD §4).
 */
export function emitGram(e: Emitter, shapes: ShapeInfo, tensor: string, channelsLast = false): string {
  const r = shapes.rank(tensor);
  if (r === undefined || r < 2) throw new AutodiffError('shape-unknown', `Gram matrix of '${tensor}': its rank is ${r ?? 'unknown'}; need [N, C] or [N, C, ...]`);
  if (r === 2) return e.op1('Gemm', [tensor, tensor], { transA: 1 });
  // Per-sample [C, P]·[P, C] products summed over samples: no copy of the activation is made.
  const rows = e.reshape(channelsFirst(e, tensor, r, channelsLast), [0, 0, -1]);
  const per = e.op1('MatMul', [rows, e.op1('Transpose', [rows], { perm: [0, 2, 1] })]);
  return e.reduceSum(per, [0], false);
}

/**
 * Per-channel sums Σ over samples and positions of a tensor [N, C, ...] or [N, C] → [C]. With the
 * Gram matrix and the position count they give channel means, so Pearson correlation can be
 * formed outside the runtime from the same C×C + C numbers.
 */
export function emitChannelSums(e: Emitter, shapes: ShapeInfo, tensor: string, channelsLast = false): string {
  const r = shapes.rank(tensor);
  if (r === undefined || r < 2) throw new AutodiffError('shape-unknown', `channel sums of '${tensor}': its rank is ${r ?? 'unknown'}; need [N, C] or [N, C, ...]`);
  if (r === 2) return e.reduceSum(tensor, [0], false);
  const rows = e.reshape(channelsFirst(e, tensor, r, channelsLast), [0, 0, -1]);
  return e.reduceSum(rows, [0, 2], false);
}

/** [N, …, C] → [N, C, …] for channels-last tensors (ConvNeXt's Linear layers), else the tensor itself. */
function channelsFirst(e: Emitter, tensor: string, r: number, channelsLast: boolean): string {
  return channelsLast ? e.op1('Transpose', [tensor], { perm: [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)] }) : tensor;
}

import { DataType, makeTensor } from '../onnx';
import { AutodiffError } from './errors';
import type { Emitter } from './emitter';
import type { Dim, ShapeInfo } from './shapes';

/**
 * Sums gradient `g` over the axes along which forward operand `like` was broadcast (leading
 * extra axes, and axes where `like` has size 1), then gives it `like`'s shape.
 *
 * Decided statically when inference knows `like`'s dims (a symbolic dim counts as "not 1", so
 * tensors that share a batch symbol are never summed over the batch: per-sample gradients stay
 * per sample). Reducing over an axis of size 1 is harmless, so `1` vs unknown is still static.
 * Only an unknown dim in `like` makes the axes a run-time computation (Shape/Equal/NonZero).
 */
export function reduceTo(e: Emitter, shapes: ShapeInfo, g: string, gShape: string | Dim[] | undefined, like: string): string {
  const gd = typeof gShape === 'string' ? shapes.get(gShape) : gShape;
  const ad = shapes.get(like);
  if (gd && ad && ad.length <= gd.length) {
    const k = gd.length - ad.length;
    const axes: number[] = Array.from({ length: k }, (_, i) => i);
    let ambiguous = false;
    ad.forEach((d, i) => {
      const o = gd[i + k];
      if (d === 1) {
        if (o !== 1) axes.push(i + k);
      } else if (d === null && o !== 1) ambiguous = true;
    });
    if (!ambiguous) {
      if (axes.length === 0) return g;
      const r = e.reduceSum(g, axes, true);
      return k > 0 ? e.squeeze(r, Array.from({ length: k }, (_, i) => i)) : r;
    }
  }
  if (e.opset < 13) {
    throw new AutodiffError('shape-unknown', `cannot tell along which axes '${like}' was broadcast, and run-time reduction axes need opset ≥ 13`);
  }
  const sa = e.shape(like);
  let padded = sa;
  if (gd && ad) {
    const k = gd.length - ad.length;
    if (k > 0) padded = e.op1('Concat', [e.constI64(new Array(k).fill(1)), sa], { axis: 0 });
  } else {
    const k = e.op1('Sub', [e.shape(e.shape(g)), e.shape(sa)]);
    const ones = e.op1('ConstantOfShape', [k], { value: makeTensor('value', [1], BigInt64Array.of(1n), DataType.INT64) });
    padded = e.op1('Concat', [ones, sa], { axis: 0 });
  }
  const axes = e.reshape(e.op1('NonZero', [e.op1('Equal', [padded, e.constI64([1])])]), [-1]);
  const summed = e.op1('ReduceSum', [g, axes], { keepdims: 1, noop_with_empty_axes: 1 });
  return e.reshape(summed, sa);
}

import { DataError } from './errors';
import type { Batch, DataSplit } from './dataset';

/** The split's first `count` samples (all of them when it has fewer) as one batch. */
export function firstSamples(split: DataSplit, count: number): Promise<Batch> {
  return split.get(Array.from({ length: Math.min(count, split.count) }, (_, i) => i));
}

/** One batch holding the samples of both, in order; their sample shapes and kinds must agree. */
export function concatBatches(a: Batch, b: Batch): Batch {
  const [, c, h, w] = a.shape;
  if (b.shape[1] !== c || b.shape[2] !== h || b.shape[3] !== w) {
    throw new DataError('size-mismatch', `cannot join batches of ${a.shape.slice(1).join('×')} and ${b.shape.slice(1).join('×')} samples`, []);
  }
  if (!!a.target !== !!b.target || !!a.labels !== !!b.labels) throw new DataError('layout-mismatch', 'cannot join a denoising batch with a classification batch', []);
  const join = <T extends Float32Array | Int32Array>(x: T, y: T, make: (n: number) => T): T => {
    const out = make(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return {
    input: join(a.input, b.input, (n) => new Float32Array(n)),
    ...(a.target && b.target ? { target: join(a.target, b.target, (n) => new Float32Array(n)) } : {}),
    ...(a.labels && b.labels ? { labels: join(a.labels, b.labels, (n) => new Int32Array(n)) } : {}),
    shape: [a.shape[0] + b.shape[0], c, h, w],
    names: [...a.names, ...b.names],
  };
}

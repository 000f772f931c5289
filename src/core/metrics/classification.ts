import { MetricError } from './errors';

type Arr = ArrayLike<number>;

function check(logits: Arr, labels: Arr, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new MetricError('shape-mismatch', `numClasses must be a positive integer, got ${numClasses}.`);
  }
  const n = labels.length;
  if (n === 0) throw new MetricError('empty', 'No samples.');
  if (logits.length !== n * numClasses) {
    throw new MetricError('shape-mismatch', `Logits have ${logits.length} values; ${n} labels × ${numClasses} classes need ${n * numClasses}.`);
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new MetricError('bad-label', `Label ${y} of sample ${i} is outside [0, ${numClasses}).`);
    }
  }
  return n;
}

/**
 * Whether each sample's label is among its k largest logits. Ties rank the lower class index
 * first (as numpy's argmax does), so a tie never counts as a hit by luck; a NaN label logit is
 * never a hit.
 */
export function topKCorrect(logits: Arr, labels: Arr, numClasses: number, k = 1): Uint8Array {
  const n = check(logits, labels, numClasses);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * numClasses;
    const y = labels[i]!;
    const v = logits[base + y]!;
    let above = 0;
    for (let c = 0; c < numClasses; c++) {
      const u = logits[base + c]!;
      if (u > v || (u === v && c < y) || Number.isNaN(v)) above++;
    }
    out[i] = above < k ? 1 : 0;
  }
  return out;
}

/** Fraction of samples whose largest logit is the label ([N, numClasses] logits, row-major). */
export function top1Accuracy(logits: Arr, labels: Arr, numClasses: number): number {
  return topKAccuracy(logits, labels, numClasses, 1);
}

export function topKAccuracy(logits: Arr, labels: Arr, numClasses: number, k: number): number {
  const c = topKCorrect(logits, labels, numClasses, k);
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]!;
  return s / c.length;
}

/** −log softmax(logits)[label] per sample in nats, via log-sum-exp shifted by the row maximum. */
export function crossEntropyPerSample(logits: Arr, labels: Arr, numClasses: number): Float64Array {
  const n = check(logits, labels, numClasses);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * numClasses;
    let m = -Infinity;
    for (let c = 0; c < numClasses; c++) m = Math.max(m, logits[base + c]!);
    let s = 0;
    for (let c = 0; c < numClasses; c++) s += Math.exp(logits[base + c]! - m);
    out[i] = m + Math.log(s) - logits[base + labels[i]!]!;
  }
  return out;
}

/** Mean softmax cross-entropy in nats. */
export function crossEntropy(logits: Arr, labels: Arr, numClasses: number): number {
  const v = crossEntropyPerSample(logits, labels, numClasses);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

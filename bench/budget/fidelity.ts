// How closely a pruned classifier follows the original on inputs whose labels its weights were not
// trained for (the torchvision models on the rotation fixture): top-1 agreement, and the mean
// KL(original ‖ pruned) of the softmax outputs. Agreement alone is all-or-nothing when the original
// predicts one class for every input (MobileNetV2 at 32×32 does); the divergence still ranks masks.
import { firstSamples, type DataSplit } from '../../src/core/data';
import { openSession, ort } from '../../src/core/runtime/session';

/** The first output of every test sample, one at a time (batch 1, whatever the model's batch axis). */
export async function classifierOutputs(bytes: Uint8Array, split: DataSplit): Promise<Float32Array[]> {
  const s = await openSession(bytes, { provider: 'cpu' });
  try {
    const batch = await firstSamples(split, split.count);
    const [n, c, h, w] = batch.shape as [number, number, number, number];
    const per = c * h * w;
    const input = s.session.inputNames[0]!;
    const output = s.session.outputNames[0]!;
    const out: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const r = await s.session.run({ [input]: new ort.Tensor('float32', batch.input.subarray(i * per, (i + 1) * per), [1, c, h, w]) });
      out.push(Float32Array.from(r[output]!.data as Float32Array));
    }
    return out;
  } finally {
    await s.session.release();
  }
}

export function argmax(y: Float32Array): number {
  let best = 0;
  for (let k = 1; k < y.length; k++) if (y[k]! > y[best]!) best = k;
  return best;
}

/** log softmax, shifted by the maximum so large logits do not overflow. */
function logSoftmax(y: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of y) max = Math.max(max, v);
  let sum = 0;
  for (const v of y) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(y.length);
  for (let k = 0; k < y.length; k++) out[k] = y[k]! - lse;
  return out;
}

export interface Fidelity {
  /** Share of samples whose top-1 class equals the original's. */
  agreement: number;
  /** Mean over samples of KL(p_original ‖ p_pruned), in nats. */
  kl: number;
}

export function fidelity(reference: readonly Float32Array[], pruned: readonly Float32Array[]): Fidelity {
  if (reference.length !== pruned.length || !reference.length) throw new RangeError(`fidelity: ${reference.length} reference outputs vs ${pruned.length} pruned`);
  let same = 0;
  let kl = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = logSoftmax(reference[i]!);
    const q = logSoftmax(pruned[i]!);
    if (p.length !== q.length) throw new RangeError(`fidelity: sample ${i} has ${p.length} classes in the original and ${q.length} pruned`);
    same += argmax(reference[i]!) === argmax(pruned[i]!) ? 1 : 0;
    let d = 0;
    for (let k = 0; k < p.length; k++) d += Math.exp(p[k]!) * (p[k]! - q[k]!);
    // KL is ≥ 0; float32 logits of near-identical outputs can round it to −1e-7.
    kl += Math.max(0, d);
  }
  return { agreement: same / reference.length, kl: kl / reference.length };
}

/** How many distinct top-1 classes the outputs have: 1 means agreement can only be 0 or 1. */
export function distinctTop1(outputs: readonly Float32Array[]): number {
  return new Set(outputs.map(argmax)).size;
}

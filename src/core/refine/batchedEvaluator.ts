// The true metric of many candidate masks at once (METHOD §8, issue 6 §2): each batch item is one
// (candidate, validation image) pair, fed through the gated model with per-sample gates, so a
// single onnxruntime call scores several candidates. Results are cached by mask.
import type { InferenceSession } from 'onnxruntime-node';
import { ort } from '../runtime/session';
import { psnrPerImage } from '../metrics';
import { crossEntropyPerSample, topKCorrect } from '../metrics';
import type { Batch } from '../data';

export interface GateLayout {
  /** Graph input name per group, in group order. */
  names: string[];
  /** Global variable indices of each group, in gate order. */
  variables: Int32Array[];
  /** Trailing singleton dims of per-sample gates: [N, C, 1, 1] → 2, [N, C] → 0. */
  trailing: number[];
}

export interface EvaluatorOptions {
  session: InferenceSession;
  inputName: string;
  outputName: string;
  gates: GateLayout;
  /** Validation samples every candidate is scored on. */
  data: Batch;
  task: 'denoise' | 'classify';
  /** Upper bound of batch items per run (candidates × images), from the memory budget. */
  maxBatchItems: number;
  signal?: AbortSignal;
}

export interface EvaluatorStats {
  /** Calls of evaluate() candidates, duplicates included. */
  requested: number;
  /** Distinct masks actually run. */
  evaluated: number;
  runs: number;
  seconds: number;
}

/** Higher is better: mean PSNR (dB) for denoisers, accuracy minus a small cross-entropy tie-break for classifiers. */
export class BatchedEvaluator {
  private cache = new Map<string, number>();
  readonly stats: EvaluatorStats = { requested: 0, evaluated: 0, runs: 0, seconds: 0 };
  private readonly images: number;
  private readonly itemSize: number;

  constructor(private readonly o: EvaluatorOptions) {
    this.images = o.data.shape[0];
    this.itemSize = o.data.shape[1] * o.data.shape[2] * o.data.shape[3];
    if (o.maxBatchItems < 1) throw new Error('maxBatchItems must be at least 1');
  }

  static key(mask: Uint8Array): string {
    let s = '';
    for (let i = 0; i < mask.length; i += 16) {
      let v = 0;
      for (let k = 0; k < 16 && i + k < mask.length; k++) v |= (mask[i + k]! & 1) << k;
      s += String.fromCharCode(v + 0x100);
    }
    return s;
  }

  cached(mask: Uint8Array): number | undefined {
    return this.cache.get(BatchedEvaluator.key(mask));
  }

  /** Scores masks over global variables (1 = keep). */
  async evaluate(masks: Uint8Array[]): Promise<Float64Array> {
    const t0 = performance.now();
    this.stats.requested += masks.length;
    const out = new Float64Array(masks.length);
    const todo: { key: string; mask: Uint8Array; slots: number[] }[] = [];
    const byKey = new Map<string, (typeof todo)[number]>();
    masks.forEach((m, i) => {
      const key = BatchedEvaluator.key(m);
      const hit = this.cache.get(key);
      if (hit !== undefined) out[i] = hit;
      else {
        let entry = byKey.get(key);
        if (!entry) {
          entry = { key, mask: m, slots: [] };
          byKey.set(key, entry);
          todo.push(entry);
        }
        entry.slots.push(i);
      }
    });
    // Whole candidates per run keep every candidate's images together, so its mean is exact.
    const perRun = Math.max(1, Math.floor(this.o.maxBatchItems / this.images));
    for (let start = 0; start < todo.length; start += perRun) {
      if (this.o.signal?.aborted) throw this.o.signal.reason ?? new Error('aborted');
      const chunk = todo.slice(start, start + perRun);
      const scores = await this.runChunk(chunk.map((c) => c.mask));
      chunk.forEach((c, k) => {
        this.cache.set(c.key, scores[k]!);
        for (const slot of c.slots) out[slot] = scores[k]!;
      });
      this.stats.evaluated += chunk.length;
    }
    this.stats.seconds += (performance.now() - t0) / 1000;
    return out;
  }

  private async runChunk(masks: Uint8Array[]): Promise<Float64Array> {
    const { data, gates } = this.o;
    const V = this.images;
    const B = masks.length * V;
    const input = new Float32Array(B * this.itemSize);
    for (let k = 0; k < masks.length; k++) input.set(data.input, k * V * this.itemSize);
    const feeds: Record<string, ort.Tensor> = {
      [this.o.inputName]: new ort.Tensor('float32', input, [B, data.shape[1], data.shape[2], data.shape[3]]),
    };
    gates.names.forEach((name, g) => {
      const vars = gates.variables[g]!;
      const c = vars.length;
      const gate = new Float32Array(B * c);
      for (let k = 0; k < masks.length; k++) {
        const m = masks[k]!;
        for (let j = 0; j < V; j++) {
          const row = (k * V + j) * c;
          for (let i = 0; i < c; i++) gate[row + i] = m[vars[i]!]!;
        }
      }
      feeds[name] = new ort.Tensor('float32', gate, [B, c, ...new Array<number>(gates.trailing[g]!).fill(1)]);
    });
    const result = await this.o.session.run(feeds, [this.o.outputName]);
    this.stats.runs++;
    const y = result[this.o.outputName]!.data as Float32Array;
    // Scored as saved images are (and as the final test metrics are): clipped to [0, 1].
    if (this.o.task === 'denoise') for (let i = 0; i < y.length; i++) y[i] = y[i]! < 0 ? 0 : y[i]! > 1 ? 1 : y[i]!;
    const scores = new Float64Array(masks.length);
    if (this.o.task === 'denoise') {
      const target = new Float32Array(B * this.itemSize);
      for (let k = 0; k < masks.length; k++) target.set(data.target!, k * V * this.itemSize);
      const p = psnrPerImage(y, target, B);
      for (let k = 0; k < masks.length; k++) {
        let s = 0;
        for (let j = 0; j < V; j++) s += p[k * V + j]!;
        scores[k] = s / V;
      }
    } else {
      const classes = y.length / B;
      const labels = new Int32Array(B);
      for (let k = 0; k < masks.length; k++) labels.set(data.labels!, k * V);
      const correct = topKCorrect(y, labels, classes, 1);
      const ce = crossEntropyPerSample(y, labels, classes);
      for (let k = 0; k < masks.length; k++) {
        let acc = 0;
        let loss = 0;
        for (let j = 0; j < V; j++) {
          acc += correct[k * V + j]!;
          loss += ce[k * V + j]!;
        }
        // Accuracy moves in steps of 1/V; the loss breaks ties so the optimiser sees a slope.
        scores[k] = acc / V - (1e-3 * loss) / V;
      }
    }
    return scores;
  }
}

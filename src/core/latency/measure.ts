// Latency of a model file as a user would see it: warm-up runs first (the first runs of a shape
// allocate and plan memory), then at least 20 timed runs summarised by median and interquartile
// range, at batch 1 and batch 8, on the provider the run used.
import { openSession, ort, type ProviderName } from '../runtime/session';
import { memoryBudgetBytes, formatBytes } from '../util/memory';
import { TIMED_RUNS, summariseTimings, type TimingSummary } from './stats';
import type { LatencyAtBatch, LatencyMeasurement } from '../pipeline/events';

export { TIMED_RUNS };

export const WARMUP_RUNS = 3;
export const LARGE_BATCH = 8;

export type { LatencyAtBatch, LatencyMeasurement } from '../pipeline/events';

export interface MeasureOptions {
  provider: ProviderName;
  /** [1, C, H, W]: the batch dim is replaced per measured batch size. */
  inputShape: number[];
  /** The model's declared batch dim when it is a number (1 = a model exported for batch 1 only). */
  fixedBatch?: number;
  /**
   * Bytes of all intermediate tensors for one input at `inputShape` (an upper bound of what one
   * inference holds); batch 8 is skipped when 8× this exceeds the memory budget.
   */
  activationBytes?: number;
  /** false: batch 1 only (comparison rows and latency tables report batch 1; batch 8 would double the time). */
  largeBatch?: boolean;
  /** Timed runs; TIMED_RUNS unless given (fewer only where a caller needs speed over stability, e.g. tests). */
  runs?: number;
  /**
   * Keep timing past `runs` until the timed runs add up to this many ms (at most MAX_TIMED_RUNS):
   * a sub-millisecond probe needs hundreds of runs before its median stops moving.
   */
  minTotalMs?: number;
  warmup?: number;
  signal?: AbortSignal;
}

/** Upper bound of timed runs when `minTotalMs` asks for more than `runs`. */
export const MAX_TIMED_RUNS = 400;

/** A deterministic, non-constant input: constant inputs can take kernels' fast paths (zeros, denormals). */
function probeInput(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
  return x;
}

async function timeBatch(session: ort.InferenceSession, shape: number[], runs: number, warmup: number, minTotalMs: number, signal?: AbortSignal): Promise<TimingSummary> {
  const x = probeInput(shape.reduce((a, b) => a * b, 1));
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times: number[] = [];
  let total = 0;
  while (times.length < runs || (total < minTotalMs && times.length < MAX_TIMED_RUNS)) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const t = performance.now();
    await session.run(feeds);
    const dt = performance.now() - t;
    times.push(dt);
    total += dt;
  }
  return summariseTimings(times);
}

/** Why batch 8 cannot be measured, or undefined when it can. */
export function largeBatchObstacle(o: Pick<MeasureOptions, 'fixedBatch' | 'activationBytes'>, budgetBytes = memoryBudgetBytes()): string | undefined {
  if (o.fixedBatch !== undefined && o.fixedBatch !== LARGE_BATCH) return `the model's batch dimension is fixed to ${o.fixedBatch}`;
  if (o.activationBytes !== undefined && o.activationBytes * LARGE_BATCH > budgetBytes) {
    return `batch ${LARGE_BATCH} would need about ${formatBytes(o.activationBytes * LARGE_BATCH)} of activations, above the ${formatBytes(budgetBytes)} memory budget`;
  }
  return undefined;
}

export async function measureModelLatency(model: Uint8Array, o: MeasureOptions): Promise<LatencyMeasurement> {
  const runs = o.runs ?? TIMED_RUNS;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new RangeError(`timed runs must be a positive whole number, got ${runs}`);
  const minTotalMs = o.minTotalMs ?? 0;
  const warmup = o.warmup ?? WARMUP_RUNS;
  if (o.inputShape.length < 2 || o.inputShape.some((d) => !(Number.isInteger(d) && d > 0))) throw new RangeError(`latency input shape must be positive whole numbers, got [${o.inputShape.join(', ')}]`);
  const at = (b: number) => [b, ...o.inputShape.slice(1)];
  const { session } = await openSession(model, { provider: o.provider });
  try {
    const batch1: LatencyAtBatch = { batch: 1, ...(await timeBatch(session, at(1), runs, warmup, minTotalMs, o.signal)) };
    let obstacle = o.largeBatch === false ? 'batch 1 only was asked for' : largeBatchObstacle(o);
    let batch8: LatencyAtBatch | null = null;
    if (!obstacle) {
      try {
        batch8 = { batch: LARGE_BATCH, ...(await timeBatch(session, at(LARGE_BATCH), runs, warmup, minTotalMs, o.signal)) };
      } catch (err) {
        if (o.signal?.aborted) throw err;
        // A model whose graph hard-codes batch 1 in a Reshape fails only when run; that is a fact
        // about the model, not a failed measurement.
        obstacle = `the model did not run at batch ${LARGE_BATCH}: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    return { provider: o.provider, inputShape: at(1), batch1, batch8, ...(obstacle ? { batch8Skipped: obstacle } : {}) };
  } finally {
    await session.release();
  }
}

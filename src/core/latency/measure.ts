// Latency of a model file as a user would see it: warm-up runs first (the first runs of a shape
// allocate and plan memory), then at least 20 timed runs summarised by median and interquartile
// range, at batch 1 and batch 8, on the provider the run used.
import { openSession, ort, type ProviderName } from '../runtime/session';
import { memoryBudgetBytes, formatBytes } from '../util/memory';
import { TIMED_RUNS, summariseTimings, type TimingSummary } from './stats';
import type { LatencyMeasurement } from '../pipeline/events';

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
  /** false: batch 1 only (comparison rows and the latency model's calibration report batch 1; batch 8 would double the time). */
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

/**
 * Times the sessions round-robin (one run of each per round), so load that comes and goes on a
 * shared machine falls on every model alike and their ratio stays honest even when the medians
 * drift. Stops after `runs` rounds, or later while the slowest model's runs add up to less than
 * `minTotalMs` (at most MAX_TIMED_RUNS rounds).
 */
async function timeBatch(sessions: readonly ort.InferenceSession[], shape: number[], runs: number, warmup: number, minTotalMs: number, signal?: AbortSignal): Promise<TimingSummary[]> {
  const x = probeInput(shape.reduce((a, b) => a * b, 1));
  const feeds = sessions.map((session) => ({ [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) }));
  for (let i = 0; i < warmup; i++) for (const [k, session] of sessions.entries()) await session.run(feeds[k]!);
  const times: number[][] = sessions.map(() => []);
  const total = new Float64Array(sessions.length);
  const short = () => Math.max(...total) < minTotalMs;
  while (times[0]!.length < runs || (short() && times[0]!.length < MAX_TIMED_RUNS)) {
    for (const [k, session] of sessions.entries()) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const t = performance.now();
      await session.run(feeds[k]!);
      const dt = performance.now() - t;
      times[k]!.push(dt);
      total[k] += dt;
    }
  }
  return times.map((t) => summariseTimings(t));
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
  return (await measureModelsLatency([model], o))[0]!;
}

/**
 * Several models timed interleaved (see timeBatch), e.g. an original and its pruned model: the
 * pipeline's before/after figures. Batch 8 is skipped for all when any of them cannot run it, so
 * the batch-8 figures always compare.
 */
export async function measureModelsLatency(models: readonly Uint8Array[], o: MeasureOptions): Promise<LatencyMeasurement[]> {
  const runs = o.runs ?? TIMED_RUNS;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new RangeError(`timed runs must be a positive whole number, got ${runs}`);
  if (models.length === 0) throw new RangeError('no models to time');
  const minTotalMs = o.minTotalMs ?? 0;
  const warmup = o.warmup ?? WARMUP_RUNS;
  if (o.inputShape.length < 2 || o.inputShape.some((d) => !(Number.isInteger(d) && d > 0))) throw new RangeError(`latency input shape must be positive whole numbers, got [${o.inputShape.join(', ')}]`);
  const at = (b: number) => [b, ...o.inputShape.slice(1)];
  const sessions: ort.InferenceSession[] = [];
  try {
    for (const m of models) sessions.push((await openSession(m, { provider: o.provider })).session);
    const batch1 = await timeBatch(sessions, at(1), runs, warmup, minTotalMs, o.signal);
    let obstacle = o.largeBatch === false ? 'batch 1 only was asked for' : largeBatchObstacle(o);
    let batch8: TimingSummary[] | null = null;
    if (!obstacle) {
      try {
        batch8 = await timeBatch(sessions, at(LARGE_BATCH), runs, warmup, minTotalMs, o.signal);
      } catch (err) {
        if (o.signal?.aborted) throw err;
        // A model whose graph hard-codes batch 1 in a Reshape fails only when run; that is a fact
        // about the model, not a failed measurement.
        obstacle = `the model did not run at batch ${LARGE_BATCH}: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    return batch1.map((b1, k) => ({ provider: o.provider, inputShape: at(1), batch1: { batch: 1, ...b1 }, batch8: batch8 ? { batch: LARGE_BATCH, ...batch8[k]! } : null, ...(obstacle ? { batch8Skipped: obstacle } : {}) }));
  } finally {
    for (const session of sessions) await session.release();
  }
}

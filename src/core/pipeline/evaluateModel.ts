// Test-split metrics and latency of a real (unmasked) model file: the numbers users see.
import { openSession, ort, type ProviderName } from '../runtime/session';
import { ClassifyMetrics, DenoiseMetrics } from '../metrics';
import type { DataSplit } from '../data';
import { throwIfCancelled } from './cancel';

export async function evaluateModel(
  bytes: Uint8Array,
  split: DataSplit,
  task: 'denoise' | 'classify',
  provider: ProviderName,
  signal?: AbortSignal,
  onProgress?: (fraction: number) => void,
): Promise<{ psnr?: number; ssim?: number; accuracy?: number; crossEntropy?: number }> {
  const { session } = await openSession(bytes, { provider });
  try {
    const input = session.inputNames[0]!;
    const output = session.outputNames[0]!;
    const dm = new DenoiseMetrics();
    let cm: ClassifyMetrics | undefined;
    let done = 0;
    for await (const batch of split.batches(4)) {
      throwIfCancelled(signal);
      const y = (await session.run({ [input]: new ort.Tensor('float32', batch.input, batch.shape) }))[output]!;
      if (task === 'denoise') dm.add(y.data as Float32Array, batch.target!, batch.shape);
      else (cm ??= new ClassifyMetrics(y.dims[1]!)).add(y.data as Float32Array, batch.labels!);
      done += batch.shape[0];
      onProgress?.(done / split.count);
    }
    if (task === 'denoise') {
      const r = dm.summary();
      return { psnr: r.psnr, ssim: r.ssim };
    }
    const r = cm!.summary();
    return { accuracy: r.top1, crossEntropy: r.crossEntropy };
  } finally {
    await session.release();
  }
}

/** Median wall time of single-input runs after warm-up, in milliseconds. */
export async function measureLatency(bytes: Uint8Array, shape: number[], provider: ProviderName, runs = 15): Promise<number> {
  const { session } = await openSession(bytes, { provider });
  try {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    times.sort((p, q) => p - q);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    await session.release();
  }
}

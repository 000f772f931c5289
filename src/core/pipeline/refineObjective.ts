// What refinement scores candidates on, and when its result replaces the QUBO mask: one rule for
// the pipeline and the benchmarks.
import type { PruneSettings } from '../../protocol';
import { concatBatches, firstSamples, type Batch, type Dataset } from '../data';

/**
 * The refinement objective's crops (setting refine.data): the first refine.valSamples validation
 * crops, after the first `samples` calibration crops for 'calib+val'. The test split is never used.
 */
export async function refinementBatch(data: Dataset, s: PruneSettings): Promise<Batch> {
  const val = await firstSamples(data.val, s.refine.valSamples);
  return s.refine.data === 'calib+val' ? concatBatches(await firstSamples(data.calib, s.samples), val) : val;
}

/** A refined mask replaces the QUBO mask only when its objective gain reaches refine.minGain (and is positive). */
export function refinementAccepted(r: { startValue: number; bestValue: number }, minGain: number): boolean {
  return r.bestValue > r.startValue && r.bestValue - r.startValue >= minGain;
}

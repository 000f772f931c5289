// The verdict on a finished run: whether the pruned model came out slower than the original or
// much worse on the test split, so the CLI, the notification and the panel can say so (with a run
// likely to do better) instead of reporting a plain success. Pure: figures in, flags out.
import type { MetricSet, RunFlag } from './events';

/** A measured speed-up (latency before / after) below this is flagged `slower`. */
export const SLOWER_BELOW_SPEEDUP = 1.0;
/** A PSNR loss above this many dB is flagged `much-worse`. */
export const MUCH_WORSE_PSNR_DB = 1.5;
/** An accuracy loss above this many percentage points is flagged `much-worse`. */
export const MUCH_WORSE_ACCURACY_POINTS = 5;
/** The smaller sparsity offered as an alternative: this fraction of the run's, in whole percent. */
export const SMALLER_SPARSITY_FACTOR = 2 / 3;
/** No smaller sparsity is offered below this (removing fewer channels barely changes the model). */
export const MIN_SUGGESTED_SPARSITY = 0.05;

export interface VerdictInput {
  before: MetricSet;
  after: MetricSet;
  sparsity: number;
  /** The run's roundTo: a multiple of 8 already keeps channel counts kernel-friendly. */
  roundTo: number;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
/** Differences of stored metrics (0.9 − 0.85 = 0.05000000000000004) must not cross a limit they only touch. */
const EPS = 1e-9;

/** The sparsity to suggest instead of `sparsity`, or undefined when there is no useful smaller one. */
export function smallerSparsity(sparsity: number): number | undefined {
  const s = Math.round(sparsity * SMALLER_SPARSITY_FACTOR * 100) / 100;
  return s >= MIN_SUGGESTED_SPARSITY && s < sparsity ? s : undefined;
}

export function runVerdict(v: VerdictInput): RunFlag[] {
  const flags: RunFlag[] = [];
  const smaller = smallerSparsity(v.sparsity);
  const smallerAlt = smaller !== undefined ? [{ sparsity: smaller, label: `Prune at ${pct(smaller)}` }] : [];
  const { latencyMs: lb } = v.before;
  const { latencyMs: la } = v.after;
  if (lb !== undefined && la !== undefined && lb > 0 && la > 0) {
    const speedup = lb / la;
    if (speedup < SLOWER_BELOW_SPEEDUP) {
      // Counts that are not multiples of 8 defeat the convolution kernels' blocking; with roundTo
      // already a multiple of 8 the 'speed' preset would change nothing.
      const kernelFriendly = v.roundTo % 8 === 0;
      flags.push({
        kind: 'slower',
        message: `the pruned model is slower than the original: ${speedup.toFixed(2)}× speed-up (${lb.toFixed(2)} → ${la.toFixed(2)} ms per input)${kernelFriendly ? '' : "; the 'speed' preset keeps channel counts in multiples of 8"}`,
        measured: speedup,
        threshold: SLOWER_BELOW_SPEEDUP,
        alternatives: kernelFriendly ? smallerAlt : [{ preset: 'speed', sparsity: v.sparsity, label: "Prune with 'speed'" }],
      });
    }
  }
  const { psnr: pb, accuracy: ab } = v.before;
  const { psnr: pa, accuracy: aa } = v.after;
  if (pb !== undefined && pa !== undefined && pb - pa > MUCH_WORSE_PSNR_DB + EPS) {
    flags.push({
      kind: 'much-worse',
      message: `PSNR dropped ${(pb - pa).toFixed(2)} dB (${pb.toFixed(2)} → ${pa.toFixed(2)} dB), more than ${MUCH_WORSE_PSNR_DB} dB${smaller !== undefined ? `; try a smaller sparsity (${pct(smaller)})` : ''}`,
      measured: pb - pa,
      threshold: MUCH_WORSE_PSNR_DB,
      alternatives: smallerAlt,
    });
  } else if (ab !== undefined && aa !== undefined && (ab - aa) * 100 > MUCH_WORSE_ACCURACY_POINTS + EPS) {
    const points = (ab - aa) * 100;
    flags.push({
      kind: 'much-worse',
      message: `accuracy dropped ${points.toFixed(1)} points (${(ab * 100).toFixed(1)} → ${(aa * 100).toFixed(1)}%), more than ${MUCH_WORSE_ACCURACY_POINTS}${smaller !== undefined ? `; try a smaller sparsity (${pct(smaller)})` : ''}`,
      measured: points,
      threshold: MUCH_WORSE_ACCURACY_POINTS,
      alternatives: smallerAlt,
    });
  }
  return flags;
}

/** Every flag's alternatives once, in order (the slower flag's first). */
export function flagAlternatives(flags: readonly RunFlag[]): RunFlag['alternatives'] {
  const seen = new Set<string>();
  const out: RunFlag['alternatives'] = [];
  for (const f of flags) {
    for (const a of f.alternatives) {
      const key = `${a.preset ?? ''}:${a.sparsity ?? ''}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(a);
      }
    }
  }
  return out;
}

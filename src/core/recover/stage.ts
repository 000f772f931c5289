// The pipeline's `recover` stage: reads the preset's `recover` settings (defensively: older
// settings objects have no such key), runs recoverWeights and reports progress as stage events.
import type { Dataset } from '../data';
import type { OnnxModel } from '../onnx';
import type { RecoverPoint } from '../pipeline/events';
import type { ProviderName } from '../runtime/session';
import { RecoverError } from './errors';
import { recoverWeights, type RecoverResult } from './train';

/** What a preset's `recover` key holds when on. */
export interface RecoverSettingsLike {
  steps: number;
  lr: number;
  batch: number;
  distill: string;
  timeBudget: number;
  patience: number;
}

/** Summary stored in the run's report (`recovery`). */
export interface RecoveryInfo {
  metric: 'psnr' | 'accuracy';
  /** Validation metric of the exported model and of the model written (the best checkpoint). */
  validationBefore: number;
  validationAfter: number;
  improved: boolean;
  steps: number;
  bestStep: number;
  stoppedBy: RecoverResult['stoppedBy'];
  seconds: number;
  stepsPerSecond: number;
  /** BatchNormalization re-estimation before training, when the model has BN. */
  recalibration?: RecoverResult['recalibration'];
  trace: { step: number; loss: number; validation?: number }[];
}

/** The `recover` settings if recovery is on; undefined when the key is absent, false or null. */
export function recoverSettingsOf(settings: unknown): RecoverSettingsLike | undefined {
  const r = (settings as { recover?: unknown } | undefined)?.recover;
  if (r === undefined || r === null || r === false) return undefined;
  if (typeof r !== 'object') throw new RecoverError('bad-setting', `recover must be false, null or an object; got ${JSON.stringify(r)}`);
  const o = r as Partial<RecoverSettingsLike>;
  if (o.distill !== undefined && o.distill !== 'output') {
    throw new RecoverError('bad-setting', `recover.distill '${o.distill}' is not supported yet: only 'output' (MSE to the original model's outputs) is implemented`);
  }
  return { steps: o.steps ?? 300, lr: o.lr ?? 1e-3, batch: o.batch ?? 4, distill: 'output', timeBudget: o.timeBudget ?? 60, patience: o.patience ?? 5 };
}

export interface RecoverStageInput {
  settings: RecoverSettingsLike;
  teacher: OnnxModel;
  pruned: OnnxModel;
  data: Dataset;
  task: 'denoise' | 'classify';
  provider: ProviderName;
  seed: number;
  /** Seconds left of the run's own time budget (Infinity when none). */
  secondsLeft: number;
  signal?: AbortSignal;
  /** `point`: the step's loss and validation metric, for live curves. */
  progress: (fraction: number, message: string, point: RecoverPoint) => void;
  log: (message: string) => void;
}

export async function runRecoverStage(inp: RecoverStageInput): Promise<{ model: OnnxModel; info: RecoveryInfo }> {
  const s = inp.settings;
  const metricName = inp.task === 'denoise' ? 'PSNR' : 'accuracy';
  const fmt = (v: number) => (inp.task === 'denoise' ? `${v.toFixed(2)} dB` : `${(100 * v).toFixed(1)} %`);
  const budget = Math.min(s.timeBudget > 0 ? s.timeBudget : Infinity, inp.secondsLeft);
  const r = await recoverWeights(
    { teacher: inp.teacher, student: inp.pruned, calib: inp.data.calib, val: inp.data.val, task: inp.task },
    {
      steps: s.steps,
      lr: s.lr,
      batch: s.batch,
      timeBudgetSeconds: Number.isFinite(budget) ? Math.max(1, budget) : 0,
      patience: s.patience,
      seed: inp.seed,
      provider: inp.provider,
      ...(inp.signal ? { signal: inp.signal } : {}),
      onProgress: (p) => {
        const byTime = Number.isFinite(budget) ? p.seconds / budget : 0;
        const val = p.validation !== undefined ? `, validation ${metricName} ${fmt(p.validation)} (best ${fmt(p.best)})` : '';
        inp.progress(Math.min(1, Math.max(p.step / p.steps, byTime)), `step ${p.step}/${p.steps}, loss ${p.loss.toExponential(3)}${val}`, {
          step: p.step,
          loss: p.loss,
          ...(p.validation !== undefined ? { validation: p.validation } : {}),
          metric: inp.task === 'denoise' ? 'psnr' : 'accuracy',
        });
      },
    },
  );
  if (r.recalibration) inp.log(`recovery: BatchNormalization statistics of ${r.recalibration.layers} layers re-estimated on the training crops: validation ${metricName} ${fmt(r.before)} → ${fmt(r.recalibration.validation)}${r.recalibration.adopted ? '' : ' (not better; the exported statistics are kept)'}`);
  inp.log(
    `recovery: validation ${metricName} ${fmt(r.before)} → ${fmt(r.after)} after ${r.steps} steps (${r.stepsPerSecond.toFixed(2)} steps/s, stopped by ${r.stoppedBy})` +
      (r.improved ? `, best at step ${r.bestStep}` : '; no step beat the exported model, which is kept'),
  );
  return {
    model: r.model,
    info: { metric: r.metric, validationBefore: r.before, validationAfter: r.after, improved: r.improved, steps: r.steps, bestStep: r.bestStep, stoppedBy: r.stoppedBy, seconds: r.seconds, stepsPerSecond: r.stepsPerSecond, ...(r.recalibration ? { recalibration: r.recalibration } : {}), trace: r.trace },
  };
}

/**
 * At most `max` entries of a training trace, for reports and charts: every validation point
 * (while they fit), the rest evenly spaced over the steps, the last step always kept.
 */
export function downsampleTrace<T extends { step: number; validation?: number }>(trace: readonly T[], max: number): T[] {
  if (trace.length <= max) return [...trace];
  const keep = new Set<number>([trace.length - 1]);
  const validated = trace.flatMap((t, k) => (t.validation !== undefined ? [k] : []));
  const vStride = Math.max(1, Math.ceil(validated.length / Math.floor(max / 2)));
  for (let j = 0; j < validated.length; j += vStride) keep.add(validated[j]!);
  const room = max - keep.size;
  const stride = trace.length / Math.max(1, room);
  for (let k = 0; keep.size < max && k < room; k++) keep.add(Math.min(trace.length - 1, Math.floor(k * stride)));
  return [...keep].sort((a, b) => a - b).map((k) => trace[k]!);
}

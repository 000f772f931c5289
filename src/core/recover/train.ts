// Recovery fine-tuning: the pruned model's weights trained by distillation from the original
// model inside onnxruntime (forward + backward in one session run, AdamW in typed arrays),
// validated on the validation split, keeping the best checkpoint. Design: docs/RECOVERY.md.
import type { Batch, DataSplit } from '../data';
import { firstSamples } from '../data';
import { ClassifyMetrics, DenoiseMetrics } from '../metrics';
import type { OnnxModel } from '../onnx';
import { openSession, ort, type OpenedSession, type ProviderName } from '../runtime/session';
import { throwIfCancelled } from '../errors';
import { Rng } from '../util/rng';
import { AdamW, warmupCosine } from './adamw';
import { RecoverError } from './errors';
import { recalibrateBatchNorm } from './batchNormStats';
import { buildTrainingGraph, withWeightsAsInputs } from './trainingGraph';

export interface RecoverOptions {
  /** Most optimiser steps. */
  steps: number;
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Crops per step. */
  batch: number;
  /** Wall-clock limit for the training loop in seconds (0 = none). */
  timeBudgetSeconds: number;
  /** Validation checks without improvement before stopping. */
  patience: number;
  /** Steps between validation checks. */
  validateEvery?: number;
  /** Side of the square random training crops (image-to-image models; classifiers use whole samples). */
  crop?: number;
  /**
   * Weight λ of the task loss next to the distillation loss, where the data has targets: MSE to
   * the clean image (denoisers), cross-entropy on the labels (classifiers). Default 1.
   */
  taskWeight?: number;
  /**
   * Training crops (denoisers) whose teacher outputs are computed once before training; every
   * step samples its batch from this pool. Default 512. Classifiers use every calibration sample.
   */
  pool?: number;
  /** Re-estimate BatchNormalization statistics on the pool before training (default true). */
  recalibrateBatchNorm?: boolean;
  weightDecay?: number;
  /** Warm-up steps (default 5 % of steps). */
  warmup?: number;
  seed: number;
  provider?: ProviderName;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: RecoverProgress) => void;
}

export interface RecoverProgress {
  step: number;
  steps: number;
  /** Mean training loss of this step (per-sample MSE to the blended target). */
  loss: number;
  lr: number;
  /** Set on validation steps: the validation metric (PSNR in dB or top-1 accuracy). */
  validation?: number;
  best: number;
  seconds: number;
}

export interface RecoverResult {
  /** The student with the best checkpoint's weights (the unchanged student if no step beat it). */
  model: OnnxModel;
  metric: 'psnr' | 'accuracy';
  before: number;
  after: number;
  improved: boolean;
  bestStep: number;
  steps: number;
  /** 'diverged': a non-finite loss or gradient (learning rate too high) ended training early. */
  stoppedBy: 'steps' | 'time' | 'patience' | 'diverged';
  seconds: number;
  /** Training steps per second (teacher forward + student forward/backward + update). */
  stepsPerSecond: number;
  /** Mean seconds per step spent in each part of the loop. */
  timing: { trainRun: number; update: number; validation: number };
  /** Seconds spent once before the loop: the teacher over the pool, BN re-estimation. */
  setup: { pool: number; poolSamples: number; recalibration: number };
  /**
   * BatchNormalization re-estimation (absent for models without BN or when turned off): layers
   * re-estimated, the validation metric it reached, and whether training started from it (only
   * when it beat the exported model).
   */
  recalibration?: { layers: number; validation: number; adopted: boolean };
  trace: { step: number; loss: number; validation?: number }[];
  weights: number;
  parameters: number;
}

export interface RecoverInput {
  teacher: OnnxModel;
  student: OnnxModel;
  calib: DataSplit;
  val: DataSplit;
  task: 'denoise' | 'classify';
}

/** A random crop×crop window of each chosen sample (whole samples when crop is 0 or too large). */
function sampleBatch(all: Batch, count: number, crop: number, rng: Rng): { input: Float32Array; target?: Float32Array; dims: number[] } {
  const [n, c, h, w] = all.shape;
  const ch = crop > 0 && crop < h ? crop : h;
  const cw = crop > 0 && crop < w ? crop : w;
  const input = new Float32Array(count * c * ch * cw);
  const target = all.target ? new Float32Array(input.length) : undefined;
  for (let b = 0; b < count; b++) {
    const s = rng.nextInt(n);
    const y0 = rng.nextInt(h - ch + 1);
    const x0 = rng.nextInt(w - cw + 1);
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < ch; i++) {
        const src = ((s * c + k) * h + y0 + i) * w + x0;
        const dst = ((b * c + k) * ch + i) * cw;
        input.set(all.input.subarray(src, src + cw), dst);
        if (target) target.set(all.target!.subarray(src, src + cw), dst);
      }
    }
  }
  return { input, ...(target ? { target } : {}), dims: [count, c, ch, cw] };
}

interface Pool {
  input: Float32Array;
  /** Distillation target per sample (denoisers: blended with the clean image). */
  target: Float32Array;
  labels?: Int32Array;
  count: number;
  /** Shape of one sample (input) and of one target. */
  inputDims: number[];
  targetDims: number[];
}

/**
 * The fixed training pool: crops (or whole samples) and the teacher's output for each, run once.
 * Recomputing the teacher every step cost 47 ms of a 350 ms step on halfunet; sampling batches
 * from a pool of 512 crops repeats each crop only a few times in the step counts a CPU reaches.
 */
async function buildPool(teacher: ort.InferenceSession, calib: Batch, task: 'denoise' | 'classify', size: number, crop: number, taskWeight: number, rng: Rng, chunk: number): Promise<Pool> {
  const whole = task === 'classify';
  const b = whole ? { input: calib.input, ...(calib.target ? { target: calib.target } : {}), dims: [...calib.shape] } : sampleBatch(calib, size, crop, rng);
  const count = b.dims[0]!;
  const inputDims = b.dims.slice(1);
  const per = inputDims.reduce((a, c) => a * c, 1);
  let target: Float32Array | undefined;
  let targetDims: number[] = [];
  let tPer = 0;
  for (let s = 0; s < count; s += chunk) {
    const e = Math.min(count, s + chunk);
    const x = new ort.Tensor('float32', b.input.subarray(s * per, e * per), [e - s, ...inputDims]);
    const y = (await teacher.run({ [teacher.inputNames[0]!]: x }))[teacher.outputNames[0]!]!;
    if (!target) {
      targetDims = y.dims.slice(1) as number[];
      tPer = targetDims.reduce((a, c) => a * c, 1);
      target = new Float32Array(count * tPer);
    }
    target.set(y.data as Float32Array, s * tPer);
  }
  // Distillation target blended with the clean image where there is one (see buildTrainingGraph).
  if (b.target && taskWeight > 0 && b.target.length === target!.length) {
    const a = 1 / (1 + taskWeight);
    for (let i = 0; i < target!.length; i++) target![i] = a * (target![i]! + taskWeight * b.target[i]!);
  }
  return { input: b.input, target: target!, ...(whole && calib.labels ? { labels: calib.labels } : {}), count, inputDims, targetDims };
}

/** `count` pool samples drawn at random (with replacement across steps, without within a batch when the pool allows). */
function drawBatch(pool: Pool, count: number, rng: Rng): { input: Float32Array; target: Float32Array; labels?: BigInt64Array; n: number } {
  const per = pool.inputDims.reduce((a, c) => a * c, 1);
  const tPer = pool.targetDims.reduce((a, c) => a * c, 1);
  const input = new Float32Array(count * per);
  const target = new Float32Array(count * tPer);
  const labels = pool.labels ? new BigInt64Array(count) : undefined;
  const picked = new Set<number>();
  for (let b = 0; b < count; b++) {
    let s = rng.nextInt(pool.count);
    for (let tries = 0; picked.has(s) && tries < 8 && picked.size < pool.count; tries++) s = rng.nextInt(pool.count);
    picked.add(s);
    input.set(pool.input.subarray(s * per, (s + 1) * per), b * per);
    target.set(pool.target.subarray(s * tPer, (s + 1) * tPer), b * tPer);
    if (labels) labels[b] = BigInt(pool.labels![s]!);
  }
  return { input, target, ...(labels ? { labels } : {}), n: count };
}

/** Validation metric of a session whose weights are fed as inputs. */
async function validate(session: ort.InferenceSession, inputName: string, weightFeeds: Record<string, ort.Tensor>, val: Batch, task: 'denoise' | 'classify', chunk: number): Promise<number> {
  const [n, c, h, w] = val.shape;
  const per = c * h * w;
  const dm = new DenoiseMetrics();
  let cm: ClassifyMetrics | undefined;
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    const shape: [number, number, number, number] = [e - s, c, h, w];
    const x = new ort.Tensor('float32', val.input.subarray(s * per, e * per), shape);
    const out = await session.run({ ...weightFeeds, [inputName]: x });
    const y = out[session.outputNames[0]!]!;
    if (task === 'denoise') dm.add(y.data as Float32Array, val.target!.subarray(s * per, e * per), shape);
    else (cm ??= new ClassifyMetrics(y.dims[1]!)).add(y.data as Float32Array, val.labels!.subarray(s, e));
  }
  return task === 'denoise' ? dm.summary().psnr : cm!.summary().top1;
}

function checkOptions(o: RecoverOptions): void {
  const bad = (what: string) => {
    throw new RecoverError('bad-setting', `recover.${what}`);
  };
  if (!Number.isInteger(o.steps) || o.steps < 1) bad(`steps must be a whole number ≥ 1 (got ${o.steps})`);
  if (!(o.lr > 0 && o.lr < 1)) bad(`lr must be in (0, 1) (got ${o.lr})`);
  if (!Number.isInteger(o.batch) || o.batch < 1) bad(`batch must be a whole number ≥ 1 (got ${o.batch})`);
  if (!(o.timeBudgetSeconds >= 0)) bad(`timeBudget must be ≥ 0 seconds (got ${o.timeBudgetSeconds})`);
  if (!Number.isInteger(o.patience) || o.patience < 1) bad(`patience must be a whole number ≥ 1 (got ${o.patience})`);
}

export async function recoverWeights(inp: RecoverInput, opts: RecoverOptions): Promise<RecoverResult> {
  checkOptions(opts);
  const { signal } = opts;
  const started = performance.now();
  // The budget covers the setup (teacher pool, BN re-estimation, first validation) too: the
  // pipeline hands this stage what is left of the run's own budget.
  const deadline = opts.timeBudgetSeconds > 0 ? started + opts.timeBudgetSeconds * 1000 : Infinity;
  const provider = opts.provider ?? 'cpu';
  const sessionOpts = { provider, spinning: false, ...(opts.threads ? { threads: opts.threads } : {}) };
  const validateEvery = opts.validateEvery ?? Math.max(5, Math.round(opts.steps / 20));
  const warmup = opts.warmup ?? Math.max(1, Math.round(opts.steps * 0.05));
  const taskWeight = opts.taskWeight ?? 1;
  const crop = inp.task === 'denoise' ? (opts.crop ?? 64) : 0;
  const rng = new Rng(opts.seed);
  const metric = inp.task === 'denoise' ? 'psnr' : 'accuracy';
  const chunk = Math.max(1, opts.batch);

  const [calib, val] = await Promise.all([firstSamples(inp.calib, inp.calib.count), firstSamples(inp.val, inp.val.count)]);
  if (calib.shape[0] === 0 || val.shape[0] === 0) throw new RecoverError('bad-setting', 'recovery needs samples in both the calibration and the validation split');
  const useLabels = inp.task === 'classify' && calib.labels !== undefined && taskWeight > 0;
  const graph = buildTrainingGraph(inp.student, useLabels ? { labelWeight: taskWeight } : {});
  const weights = graph.weights.map((w) => Float32Array.from(w.initial));
  const parameters = weights.reduce((a, w) => a + w.length, 0);
  const setup = { pool: 0, poolSamples: 0, recalibration: 0 };

  let t = performance.now();
  const teacher = await openSession(inp.teacher.toBytes(), sessionOpts);
  let pool: Pool;
  try {
    pool = await buildPool(teacher.session, calib, inp.task, opts.pool ?? 512, crop, inp.task === 'denoise' ? taskWeight : 0, rng, Math.max(8, chunk));
  } finally {
    await teacher.session.release();
  }
  setup.pool = (performance.now() - t) / 1000;
  setup.poolSamples = pool.count;
  throwIfCancelled(signal);

  const evalModel = withWeightsAsInputs(inp.student, graph.weights);
  let evaluator = await openSession(evalModel.toBytes(), sessionOpts);
  let train: OpenedSession | undefined;
  try {
    const feedsOf = (ws: Float32Array[]) => Object.fromEntries(graph.weights.map((w, k) => [w.name, new ort.Tensor('float32', ws[k]!, w.dims)]));
    const valInput = evaluator.session.inputNames.find((n) => !graph.weights.some((w) => w.name === n))!;
    const before = await validate(evaluator.session, valInput, feedsOf(weights), val, inp.task, chunk);
    let best = before;
    let bestStep = 0;
    let bestWeights: Float32Array[] | undefined;
    let start = inp.student;
    let recalibration: RecoverResult['recalibration'];
    if (opts.recalibrateBatchNorm !== false) {
      t = performance.now();
      const r = await recalibrateBatchNorm(inp.student, pool.input, [pool.count, ...pool.inputDims], Math.min(pool.count, 64), sessionOpts);
      if (r) {
        // The statistics are constants of the graph, so the re-estimated model needs its own sessions.
        const evalR = await openSession(withWeightsAsInputs(r.model, graph.weights).toBytes(), sessionOpts);
        let v: number;
        try {
          v = await validate(evalR.session, valInput, feedsOf(weights), val, inp.task, chunk);
        } finally {
          await evalR.session.release();
        }
        const adopted = v > before;
        recalibration = { layers: r.layers, validation: v, adopted };
        if (adopted) {
          start = r.model;
          best = v;
          bestWeights = weights.map((w) => Float32Array.from(w));
        }
      }
      setup.recalibration = (performance.now() - t) / 1000;
    }
    throwIfCancelled(signal);
    const startGraph = start === inp.student ? graph : buildTrainingGraph(start, useLabels ? { labelWeight: taskWeight } : {});
    if (start !== inp.student) {
      const old = evaluator;
      evaluator = await openSession(withWeightsAsInputs(start, graph.weights).toBytes(), sessionOpts);
      await old.session.release();
    }
    train = await openSession(startGraph.model.toBytes(), sessionOpts);
    const evalSession = evaluator.session;

    let sinceBest = 0;
    const adam = new AdamW(weights, { weightDecay: opts.weightDecay ?? 1e-4 });
    const trace: RecoverResult['trace'] = [];
    const timing = { trainRun: 0, update: 0, validation: 0 };
    let stoppedBy: RecoverResult['stoppedBy'] = 'steps';
    const loopStart = performance.now();
    const gradNames = graph.weights.map((w) => startGraph.gradOutputs[w.name]!);
    let step = 0;
    for (; step < opts.steps; step++) {
      throwIfCancelled(signal);
      if (performance.now() >= deadline) {
        stoppedBy = 'time';
        break;
      }
      const b = drawBatch(pool, opts.batch, rng);
      t = performance.now();
      const feeds: Record<string, ort.Tensor> = {
        ...feedsOf(weights),
        [startGraph.input]: new ort.Tensor('float32', b.input, [b.n, ...pool.inputDims]),
        [startGraph.teacher]: new ort.Tensor('float32', b.target, [b.n, ...pool.targetDims]),
      };
      if (startGraph.labels && b.labels) feeds[startGraph.labels] = new ort.Tensor('int64', b.labels, [b.n]);
      const out = await train.session.run(feeds, [startGraph.lossOutput, ...gradNames]);
      timing.trainRun += performance.now() - t;
      const lossData = out[startGraph.lossOutput]!.data as Float32Array;
      let loss = 0;
      for (const v of lossData) loss += v;
      loss /= lossData.length;
      const grads = gradNames.map((g) => out[g]!.data as Float32Array);
      // A diverged run ends here; the best checkpoint so far (at worst the starting model) stands.
      if (!Number.isFinite(loss) || grads.some((g) => !g.every(Number.isFinite))) {
        stoppedBy = 'diverged';
        break;
      }
      t = performance.now();
      const lr = warmupCosine(step, opts.steps, opts.lr, warmup);
      adam.step(grads, lr, 1 / b.n);
      timing.update += performance.now() - t;

      const last = step + 1 === opts.steps || performance.now() >= deadline;
      let validation: number | undefined;
      if ((step + 1) % validateEvery === 0 || last) {
        t = performance.now();
        validation = await validate(evalSession, valInput, feedsOf(weights), val, inp.task, chunk);
        timing.validation += performance.now() - t;
        if (validation > best) {
          best = validation;
          bestStep = step + 1;
          bestWeights = weights.map((w) => Float32Array.from(w));
          sinceBest = 0;
        } else sinceBest++;
      }
      trace.push({ step: step + 1, loss, ...(validation !== undefined ? { validation } : {}) });
      opts.onProgress?.({ step: step + 1, steps: opts.steps, loss, lr, ...(validation !== undefined ? { validation } : {}), best, seconds: (performance.now() - started) / 1000 });
      if (validation !== undefined && sinceBest >= opts.patience) {
        step++;
        stoppedBy = 'patience';
        break;
      }
    }
    throwIfCancelled(signal);
    // The re-estimated statistics go with every checkpoint trained from them, and with none otherwise.
    const model = (bestWeights ? start : inp.student).clone();
    if (bestWeights) graph.weights.forEach((w, k) => model.setInitializer(w.name, w.dims, bestWeights![k]!));
    const loopSeconds = (performance.now() - loopStart) / 1000;
    const per = (ms: number) => (step > 0 ? ms / 1000 / step : 0);
    return {
      model,
      metric,
      before,
      after: best,
      improved: bestWeights !== undefined,
      bestStep,
      steps: step,
      stoppedBy,
      seconds: (performance.now() - started) / 1000,
      stepsPerSecond: step > 0 ? step / Math.max(1e-9, loopSeconds - timing.validation / 1000) : 0,
      timing: { trainRun: per(timing.trainRun), update: per(timing.update), validation: per(timing.validation) },
      setup,
      ...(recalibration ? { recalibration } : {}),
      trace,
      weights: graph.weights.length,
      parameters,
    };
  } finally {
    await Promise.all([evaluator.session.release(), train?.session.release()]);
  }
}

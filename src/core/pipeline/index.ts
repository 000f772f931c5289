// The product's main job: analyze → calibrate → importance → search → refine → export → evaluate.
// Every stage reports typed events; the AbortSignal is honoured between units of work; nothing is
// written until the very end, and then atomically, so a cancelled or failed run leaves no output.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { finalEnergyTrace, type PipelineEvent, type PruneRequest, type RunSummary, type StageName, type MetricSet, type ComparisonRow, type Method, type EvaluationInfo } from '../../protocol';
import { openSession, type ProviderName } from '../runtime/session';
import { inferShapes } from '../analysis/shapes';
import { analyzeLayers } from '../analysis/layers';
import { firstSamples, type Dataset, type Task } from '../data';
import type { ModelTask } from './modelTask';
import { exportPruned } from '../prune/physicalExport';
import { costModel, predictCost } from '../prune/cost';
import { budgetAfterRefinement, budgetOutcome, costBudgetOf, describeBudget, isLatencyBudget, selectionBudget } from './costBudget';
import type { CostBudget } from '../qubo/budget';
import { refineMask } from '../refine/refine';
import { prepareImportance } from './prepare';
import { refinementAccepted, refinementBatch, refinementEvaluator } from './refineObjective';
import { selectMask, type Selection } from './selectMask';
import { CancelledError, PipelineError, throwIfCancelled } from './cancel';
import { outputPathsFor } from './outputs';
import { evaluateModel, planWholeImageEvaluation, segmentationReference, type ModelMetrics, type SegmentationReference } from './evaluateModel';
import { latencyPlan } from '../latency/plan';
import { measureModelLatency, measureModelsLatency, type LatencyMeasurement } from '../latency/measure';
import { speedWording } from '../latency/stats';
import { buildReport, renderMarkdown, type RunReport } from './report';
import { writeFilesAtomic } from '../util/atomicWrite';
import { guardOutputs } from '../util/outputGuard';
import { acquireOutputLock, type OutputLock } from '../util/outputLock';
import { externalDataFilesOf } from '../onnx';
import { recoverSettingsOf, runRecoverStage, type RecoveryInfo } from '../recover';
import { runVerdict, smallerSparsity } from './verdict';
import { buildLatencyModel, describeLatencyModel, predictLatencyMs, type LatencyModel } from '../latency/latencyModel';
import { pickRoundTo, roundToBySpeed, roundToCandidates, uniformKeep, type RoundToTiming } from '../latency/kernelCounts';
import { chooseShipped, guardAlternatives, type GuardAttempt } from '../latency/speedGuard';
import type { SpeedGuardInfo } from './events';
import { DEFAULT_PRESET, DEFAULT_SETTINGS } from '../presets';

export { CancelledError, PipelineError } from './cancel';

export interface PipelineOptions {
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /**
   * How latency is measured, for callers that do not test latency (tests) or must make it
   * deterministic: fewer timed runs, no batch 8, or a replacement for the clock. Not a user setting.
   */
  latency?: { runs?: number; largeBatch?: boolean; measure?: typeof measureModelLatency };
}

const BASELINES: Method[] = ['random', 'l1', 'taylor', 'l1-qubo', 'hybrid'];

/** Data with targets or labels (denoise, classify), which the refinement and recovery losses need. */
const labelled = (d: Dataset<ModelTask>): d is Dataset<Task> => d.task !== 'segment';

export async function runPipeline(req: PruneRequest, opts: PipelineOptions = {}): Promise<RunSummary> {
  const held: { lock?: OutputLock } = {};
  try {
    return await runLocked(req, opts, held);
  } finally {
    held.lock?.release();
  }
}

async function runLocked(req: PruneRequest, opts: PipelineOptions, held: { lock?: OutputLock }): Promise<RunSummary> {
  const { signal } = opts;
  const emit = (e: PipelineEvent) => opts.onEvent?.(e);
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => emit({ type: 'log', level, message });
  const s = req.settings;
  const started = performance.now();
  const stageSeconds: Partial<Record<StageName, number>> = {};
  const deadline = req.timeBudgetSeconds > 0 ? started + req.timeBudgetSeconds * 1000 : Infinity;
  const stage = async <T>(name: StageName, fn: () => Promise<T>): Promise<T> => {
    throwIfCancelled(signal);
    emit({ type: 'stage-start', stage: name });
    const t0 = performance.now();
    const r = await fn();
    stageSeconds[name] = (performance.now() - t0) / 1000;
    emit({ type: 'stage-end', stage: name, seconds: stageSeconds[name]! });
    return r;
  };
  const skip = (name: StageName) => {
    emit({ type: 'stage-start', stage: name });
    emit({ type: 'stage-end', stage: name, seconds: 0, skipped: true });
  };
  emit({ type: 'run-start', model: req.model, preset: req.presetName, settings: s, startedAt: new Date().toISOString() });
  const paths = outputPathsFor(req.out);
  const compareOnly = req.mode === 'compare-only';
  if (!compareOnly) {
    // Before any work: a bad output path fails in a second, not after the run.
    await guardOutputs({ model: req.model, externalData: () => externalDataFilesOf(req.model) }, [paths.model, paths.reportJson, paths.reportMarkdown]);
    // One writer per output for the whole run, so a second run fails now, not at its commit.
    held.lock = acquireOutputLock(paths.model);
  }

  // A budget the run cannot honour fails now, not after calibration.
  const budgetSpec = costBudgetOf(s.budget);
  const prep = await prepareImportance(
    {
      model: req.model,
      data: req.data,
      settings: s,
      inputShape: req.inputShape,
      segmentation: true,
      checkTask: (t) => {
        // Recovery distils with a loss of its own (src/core/recover), which has none for class maps
        // yet. The default presets turn it on, so it is skipped with a warning, like refinement.
        if (t === 'segment' && !compareOnly && recoverSettingsOf(s)) log(`recovery fine-tuning is not available for segmentation models yet: the exported model is written without it (set 'recover' to false to silence this)`, 'warn');
      },
    },
    { emit, log, signal, stage },
  );
  const { a, data, task, gates, layout, gatedPerSample, calibration, imp } = prep;
  const provider: ProviderName = prep.provider;
  const { model, deps } = a;
  const n = deps.variables.length;

  // ---------------------------------------------------------------- search
  const capacities = (keep: Uint8Array) =>
    deps.groups.map((g) => ({ id: g.id, kept: Array.from(g.variables).reduce((acc, v) => acc + keep[v]!, 0), total: g.size }));
  // Every method, baselines included, selects under the same budget: a comparison at equal cost.
  // Latency budgets get their cost once the latency model is built (below, after the latency plan).
  let latencyModel: LatencyModel | undefined;
  let budgetSelect = budgetSpec && !isLatencyBudget(budgetSpec) ? selectionBudget(budgetSpec, costModel(model, deps, a.shapes)) : undefined;
  const withLatency = (c: { macs: number; params: number }, k?: Uint8Array) => (latencyModel ? { ...c, latencyMs: k ? predictLatencyMs(latencyModel, deps, k) : latencyModel.predictedOriginalMs } : c);
  // The round-to the search uses: the settings', or the measured kernel-friendly one (kernel-aware runs).
  let runRoundTo = s.roundTo;
  let runSparsity = s.sparsity;
  const outcomeOf = (spec: CostBudget, keep: Uint8Array, refinementReverted: boolean) =>
    budgetOutcome(spec, withLatency(a.layers.totals), withLatency(predictCost(model, deps, a.shapes, keep), keep), refinementReverted);
  const budgetMet = (keep: Uint8Array) => !budgetSpec || outcomeOf(budgetSpec, keep, false).met;
  const isBudgetUnachievable = (err: unknown) => (err as { code?: unknown } | null)?.code === 'budget-unachievable';
  const budgetOf = (keep: Uint8Array, refinementReverted = false) => {
    if (!budgetSpec) return {};
    const o = outcomeOf(budgetSpec, keep, refinementReverted);
    log(describeBudget(o), o.met ? 'info' : 'warn');
    return { budget: o };
  };
  const selectFor = (method: Method, onProgress?: (p: { iteration: number; bestEnergy: number }) => void, shape: { roundTo: number; sparsity: number } = { roundTo: runRoundTo, sparsity: runSparsity }) =>
    selectMask(imp.scores, imp.terms, { method, sparsity: shape.sparsity, alpha: s.alpha, beta: s.beta, similarity: s.similarity, jointFisher: s.gamma, floor: s.floor, roundTo: shape.roundTo, seed: s.seed, searchTimeMs: s.searchTimeMs, signal, onProgress, ...(budgetSelect ? { budget: budgetSelect } : {}) });
  const dataSummary = data.describe();
  // Denoisers are scored on whole test images, classifiers on their prepared inputs; latency is
  // timed at the size those inputs have (docs/PIPELINE.md, "Latency and evaluation size").
  const testSplit = task === 'denoise' ? data.test.wholeImages() : data.test;
  // Segmentation is evaluated on the prepared crops like a classifier, and timed at their size like a fully convolutional denoiser.
  const lat = latencyPlan({ model, shapes: a.shapes, inputShape: a.inputShape, task: task === 'segment' ? 'denoise' : task, testSizes: testSplit.sizes() });
  // The unpruned model's class maps, computed once: every segmentation score compares with them.
  let segReference: Promise<SegmentationReference> | undefined;
  const evaluate = async (bytes: Uint8Array, onProgress?: (f: number) => void) =>
    evaluateModel(bytes, testSplit, task, provider, signal, onProgress, testPlan, task === 'segment' ? await (segReference ??= segmentationReference(model.toBytes(), testSplit, provider, signal)) : undefined);
  const testPlan = task === 'denoise' ? planWholeImageEvaluation(testSplit.sizes(), lat.bytesPerPixel) : { tile: null, test: `${dataSummary.patch ? `centre crops ${dataSummary.patch.join('×')}` : 'whole images'}${dataSummary.transform?.resize ? ` after resizing the shorter side to ${dataSummary.transform.resize}` : ''}` };
  const evaluationInfo: EvaluationInfo = {
    split: 'test',
    images: dataSummary.splits.test.images,
    samples: testSplit.count,
    patch: task === 'denoise' ? null : dataSummary.patch,
    inputShape: [...a.inputShape],
    test: testPlan.test,
    calibration: dataSummary.patch ? `crops ${dataSummary.patch.join('×')}` : 'whole images',
  };
  const timing = (largeBatch: boolean) => ({ provider, inputShape: lat.inputShape, ...(lat.fixedBatch !== undefined ? { fixedBatch: lat.fixedBatch } : {}), activationBytes: lat.activationBytes, largeBatch: largeBatch && opts.latency?.largeBatch !== false, ...(opts.latency?.runs ? { runs: opts.latency.runs } : {}), ...(signal ? { signal } : {}) });
  const timeModel = (bytes: Uint8Array, largeBatch = true): Promise<LatencyMeasurement> => (opts.latency?.measure ?? measureModelLatency)(bytes, timing(largeBatch));
  // Models that are compared are timed interleaved, so load on a shared machine hits them alike.
  const timeModels = async (models: Uint8Array[], largeBatch = true): Promise<LatencyMeasurement[]> => {
    const injected = opts.latency?.measure;
    if (!injected) return measureModelsLatency(models, timing(largeBatch));
    const out: LatencyMeasurement[] = [];
    for (const m of models) out.push(await injected(m, timing(largeBatch)));
    return out;
  };
  if (budgetSpec && isLatencyBudget(budgetSpec)) {
    // Whole-model timings at the latency size (whole images / 224), fitted and cached per model + provider + size.
    latencyModel = await buildLatencyModel({ model, deps, shapes: await inferShapes(model, lat.inputShape), inputShape: lat.inputShape, provider, ...(opts.latency?.measure ? { measure: (models: Uint8Array[]) => timeModels(models, false) } : {}), ...(opts.latency?.runs ? { runs: opts.latency.runs } : {}), ...(req.latencyCacheDir ? { cacheDir: req.latencyCacheDir } : {}), ...(signal ? { signal } : {}) });
    log(`latency model at ${lat.inputShape.slice(2).join('×')} on ${provider}${latencyModel.fromCache ? ' (cached)' : ''}: ${describeLatencyModel(latencyModel)}`);
    budgetSelect = selectionBudget(budgetSpec, costModel(model, deps, a.shapes), latencyModel.cost);
  }
  // Kernel-aware counts: the default preset with roundTo at its default measures which multiple the provider's kernels like.
  const kernelAware = !compareOnly && req.presetName === DEFAULT_PRESET && s.roundTo === DEFAULT_SETTINGS.roundTo;
  let roundToTimings: RoundToTiming[] = [];
  if (kernelAware) {
    const candidates = roundToCandidates(deps);
    const timed = await timeModels(candidates.map((r) => exportPruned(model, deps, uniformKeep(deps, s.sparsity, r)).toBytes()), false);
    roundToTimings = candidates.map((r, k) => ({ roundTo: r, medianMs: timed[k]!.batch1.medianMs, iqrMs: timed[k]!.batch1.iqrMs }));
    if (roundToTimings.length > 0) runRoundTo = pickRoundTo(roundToTimings);
    log(`kernel-aware counts on ${provider}: ${roundToTimings.map((t) => `round-to ${t.roundTo} ${t.medianMs.toFixed(2)} ms`).join(', ')} at ${Math.round(s.sparsity * 100)}% uniform; using round-to ${runRoundTo}`);
  }
  // What every summary starts with, compare-only or not.
  const runIdentity = () => ({ model: path.resolve(req.model), output: paths.model, reportJson: paths.reportJson, reportMarkdown: paths.reportMarkdown, preset: req.presetName, method: s.method, sparsity: s.sparsity, provider });
  /** The task's metrics a comparison row and the QUBO-only column show. */
  const taskMetrics = (m: ModelMetrics) => ({
    ...(m.psnr !== undefined ? { psnr: m.psnr } : {}),
    ...(m.ssim !== undefined ? { ssim: m.ssim } : {}),
    ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}),
    ...(m.pixelAgreement !== undefined ? { pixelAgreement: m.pixelAgreement } : {}),
    ...(m.meanIoU !== undefined ? { meanIoU: m.meanIoU } : {}),
  });
  /**
   * A method's row measured as the run's own "after" is: the physical model exported in memory,
   * evaluated on the whole test split (PSNR and SSIM, or accuracy) and timed at the analysed shape.
   */
  const measureKeep = async (keep: Uint8Array): Promise<Omit<ComparisonRow, 'method' | 'seconds'>> => {
    const bytes = exportPruned(model, deps, keep).toBytes();
    const m = await evaluate(bytes);
    const cost = predictCost(model, deps, a.shapes, keep);
    // Comparison rows show the batch-1 median only.
    const latencyMs = (await timeModel(bytes, false)).batch1.medianMs;
    return { ...taskMetrics(m), params: cost.params, macs: cost.macs, latencyMs };
  };
  if (compareOnly) return compareRun();

  async function compareRun(): Promise<RunSummary> {
    const picked: { method: Method; keep: Uint8Array; seconds: number }[] = [];
    await stage('search', async () => {
      for (const [k, method] of BASELINES.entries()) {
        throwIfCancelled(signal);
        emit({ type: 'stage-progress', stage: 'search', fraction: k / BASELINES.length, message: `${method} (${k + 1}/${BASELINES.length})` });
        const t = performance.now();
        const sel = await selectFor(method);
        picked.push({ method, keep: sel.keep, seconds: (performance.now() - t) / 1000 });
        if (method === s.method) emit({ type: 'capacities', groups: capacities(sel.keep) });
        log(`${method}: kept ${sel.keep.reduce((x, y) => x + y, 0)} of ${n} channels in ${picked[picked.length - 1]!.seconds.toFixed(2)} s`);
      }
    });
    skip('refine');
    skip('export');
    const result = await stage('evaluate', async () => {
      const total = BASELINES.length + 1;
      emit({ type: 'stage-progress', stage: 'evaluate', fraction: 0, message: `original (1/${total})` });
      const original = model.toBytes();
      const beforeM = await evaluate(original);
      const beforeLatency = await timeModel(original);
      const before: MetricSet = { ...beforeM, params: a.layers.totals.params, macs: a.layers.totals.macs, latencyMs: beforeLatency.batch1.medianMs, latency: beforeLatency };
      const rows: ComparisonRow[] = [];
      for (const [k, p] of picked.entries()) {
        throwIfCancelled(signal);
        emit({ type: 'stage-progress', stage: 'evaluate', fraction: (k + 1) / total, message: `${p.method} (${k + 2}/${total})` });
        rows.push({ method: p.method, ...(await measureKeep(p.keep)), seconds: p.seconds });
      }
      return { before, rows };
    });
    const own = picked.find((p) => p.method === s.method) ?? picked[picked.length - 1]!;
    const ownRow = result.rows.find((r) => r.method === own.method)!;
    const summary: RunSummary = {
      ...runIdentity(),
      before: result.before,
      after: { ...taskMetrics(ownRow), params: ownRow.params, macs: ownRow.macs, ...(ownRow.latencyMs !== undefined ? { latencyMs: ownRow.latencyMs } : {}) },
      groups: capacities(own.keep),
      ...budgetOf(own.keep),
      comparison: result.rows,
      evaluation: evaluationInfo,
      compareOnly: true,
      seconds: (performance.now() - started) / 1000,
      stageSeconds,
    };
    emit({ type: 'result', summary });
    return summary;
  }
  let selection: Selection = await stage('search', async () => {
    const searchStart = performance.now();
    let lastEmit = 0;
    const onProgress = (p: { iteration: number; bestEnergy: number }) => {
      const now = performance.now();
      if (now - lastEmit < 100) return;
      lastEmit = now;
      emit({ type: 'solver-trace', points: [{ iteration: p.iteration, energy: p.bestEnergy }] });
      emit({ type: 'stage-progress', stage: 'search', fraction: Math.min(1, (now - searchStart) / Math.max(1, s.searchTimeMs)) });
    };
    let sel: Selection | undefined;
    let coarse: string | undefined;
    try {
      sel = await selectFor(s.method, onProgress);
      if (kernelAware && budgetSpec && runRoundTo !== s.roundTo && !budgetMet(sel.keep)) coarse = 'its counts cannot land in the budget band';
    } catch (err) {
      if (!(kernelAware && runRoundTo !== s.roundTo && isBudgetUnachievable(err))) throw err;
      coarse = (err as Error).message;
    }
    if (coarse !== undefined) {
      // Coarser levels can put a cost budget out of reach: the budget is what the user asked for, the round-to only a speed hint.
      log(`kernel-aware round-to ${runRoundTo} does not fit the budget (${coarse}); searching with round-to ${s.roundTo}`, 'warn');
      runRoundTo = s.roundTo;
      sel = await selectFor(s.method, onProgress);
    }
    if (!sel) throw new Error('unreachable: no selection');
    if (sel.search) {
      // The same iteration counter as the live points; ends at the last iteration so the chart
      // keeps its x range when the whole trace replaces the live points.
      emit({ type: 'solver-trace', points: finalEnergyTrace(sel.search.trace, sel.search.iterations), final: true });
    }
    emit({ type: 'capacities', groups: capacities(sel.keep) });
    log(`${s.method}: kept ${sel.keep.reduce((x, y) => x + y, 0)} of ${n} channels (K = ${sel.instance.K})${sel.search ? `, energy ${sel.search.energy.toPrecision(6)} after ${sel.search.iterations} iterations` : ''}`);
    return sel;
  });

  // ---------------------------------------------------------------- refine
  const evalSession = await openSession(gatedPerSample.model.toBytes(), { provider, memPattern: false });
  let keep = selection.keep;
  let budgetReverted = false;
  let refineInfo: RunReport['refinement'] = null;
  try {
    if (s.refine.scope !== 'off' && task === 'segment') {
      // The refinement evaluator (src/core/refine) scores PSNR or top-1 only.
      log(`refinement is not available for segmentation models yet: the QUBO mask is used as it is (set refine.scope to 'off' to silence this)`, 'warn');
      skip('refine');
    } else if (s.refine.scope !== 'off' && task !== 'segment') {
      refineInfo = await stage('refine', async () => {
        const objective = await refinementBatch(data, s);
        const evaluator = refinementEvaluator({
          session: evalSession.session,
          provider,
          gated: gatedPerSample,
          model,
          shapes: a.shapes,
          inputName: a.inputName,
          outputName: a.outputName,
          gates: layout,
          data: objective,
          task,
          ...(signal ? { signal } : {}),
        });
        const secondsLeft = Number.isFinite(deadline) ? Math.max(1, (deadline - performance.now()) / 1000 - 5) : s.refine.seconds;
        let r: Awaited<ReturnType<typeof refineMask>>;
        try {
          r = await refineMask({
            start: selection.keep,
            gain: selection.gain,
            groups: deps.groups.map((g) => ({ id: g.id, variables: g.variables })),
            score: (masks) => evaluator.evaluate(masks),
            focus: (groups, base) => evaluator.focus(groups, base),
            scope: s.refine.scope === 'layers' ? 'layers' : 'network',
            layers: s.refine.layers,
            evaluations: s.refine.evaluations,
            seconds: Math.min(s.refine.seconds, secondsLeft),
            rank: s.refine.rank,
            seed: s.seed,
            signal,
            onProgress: (p) => {
              emit({ type: 'refine-progress', iteration: p.iteration, evaluations: p.evaluations, best: p.best, eliteMean: p.eliteMean, ...(p.block ? { block: p.block } : {}), metric: task === 'denoise' ? 'psnr' : 'accuracy' });
              emit({ type: 'stage-progress', stage: 'refine', fraction: Math.min(1, p.evaluations / s.refine.evaluations) });
            },
          });
        } finally {
          await evaluator.dispose();
        }
        const st = evaluator.stats;
        if (st.splits > 0) log(`refinement: ${st.suffix} of ${st.evaluated} candidates ran only the part of the model after their block (${st.splits} blocks split, ${st.unsplit} whole)`);
        log(`refinement: ${s.refine.data === 'calib+val' ? 'calibration + validation' : 'validation'} ${task === 'denoise' ? 'PSNR' : 'score'} ${r.startValue.toFixed(3)} → ${r.bestValue.toFixed(3)} in ${r.evaluations} evaluations`);
        const accepted = refinementAccepted(r, s.refine.minGain);
        if (accepted) {
          keep = r.mask;
          if (budgetSpec) {
            const check = budgetAfterRefinement(budgetSpec, a.layers.totals, predictCost(model, deps, a.shapes, selection.keep), predictCost(model, deps, a.shapes, r.mask));
            if (!check.useRefined) {
              keep = selection.keep;
              budgetReverted = true;
              log(check.message!, 'warn');
            }
          }
        } else log(`refinement gained ${(r.bestValue - r.startValue).toFixed(3)}, below refine.minGain ${s.refine.minGain}: the QUBO mask is kept`);
        emit({ type: 'capacities', groups: capacities(keep) });
        const evaluatorStats = { runItems: evaluator.runItems, runs: st.runs, seconds: st.seconds, splitBlocks: st.splits, wholeBlocks: st.unsplit, suffixEvaluations: st.suffix };
        return { scope: s.refine.scope, startValue: r.startValue, bestValue: r.bestValue, accepted, evaluations: r.evaluations, seconds: r.seconds, blocks: r.blocks, trace: r.trace, evaluator: evaluatorStats };
      });
    } else skip('refine');
    throwIfCancelled(signal);

    // -------------------------------------------------------------- export
    const exportChecked = async (keep: Uint8Array) => {
      const out = exportPruned(model, deps, keep);
      const bytes = out.toBytes();
      // Check the physical model against the gated one on real data before anything is written.
      const check = await openSession(bytes, { provider: 'cpu' });
      try {
        const probe = await firstSamples(data.val, 1);
        const { ort } = await import('../runtime/session');
        const y = (await check.session.run({ [check.session.inputNames[0]!]: new ort.Tensor('float32', probe.input, probe.shape) }))[check.session.outputNames[0]!]!.data as Float32Array;
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { [a.inputName]: new ort.Tensor('float32', probe.input, probe.shape) };
        gates.forEach((g) => {
          const vars = deps.groups[g.group]!.variables;
          feeds[g.name] = new ort.Tensor('float32', Float32Array.from(vars, (v) => keep[v]!), [1, g.size, ...new Array<number>(g.trailing).fill(1)]);
        });
        const yg = (await evalSession.session.run(feeds, [a.outputName]))[a.outputName]!.data as Float32Array;
        let diff = 0;
        for (let i = 0; i < y.length; i++) diff = Math.max(diff, Math.abs(y[i]! - yg[i]!));
        if (!(diff <= 1e-4)) throw new PipelineError('export-mismatch', `the exported model differs from the masked model by ${diff.toExponential(2)} (limit 1e-4); this is a bug, please report it with the model`);
        return { model: out, bytes, maxAbsDiff: diff };
      } finally {
        await check.session.release();
      }
    };
    let pruned = await stage('export', () => exportChecked(keep));
    let speedGuard: SpeedGuardInfo | undefined;
    if (kernelAware) {
      // The default preset never ships a model slower than the original when an alternative is faster.
      const label = (r: number, sp: number) => `round-to ${r} at ${Math.round(sp * 100)}%`;
      const [orig, first] = await timeModels([model.toBytes(), pruned.bytes], false);
      let originalMs = orig!.batch1.medianMs;
      const attempts: GuardAttempt[] = [{ roundTo: runRoundTo, sparsity: runSparsity, medianMs: first!.batch1.medianMs, label: label(runRoundTo, runSparsity) }];
      const candidates: { keep: Uint8Array; selection: Selection; pruned: typeof pruned }[] = [{ keep, selection, pruned }];
      if (!(attempts[0]!.medianMs < originalMs)) {
        const alternatives = guardAlternatives({ used: runRoundTo, sparsity: runSparsity, bySpeed: roundToBySpeed(roundToTimings), ...(budgetSpec ? {} : { smallerSparsity: smallerSparsity(runSparsity) }) });
        for (const alt of alternatives) {
          throwIfCancelled(signal);
          let sel: Selection;
          try {
            sel = await selectFor(s.method, undefined, alt);
          } catch (err) {
            if (!isBudgetUnachievable(err)) throw err;
            log(`speed guard: round-to ${alt.roundTo} cannot meet the budget, skipped`);
            continue;
          }
          if (budgetSpec && !budgetMet(sel.keep)) {
            log(`speed guard: round-to ${alt.roundTo} misses the budget band, skipped`);
            continue;
          }
          candidates.push({ keep: sel.keep, selection: sel, pruned: await exportChecked(sel.keep) });
          attempts.push({ ...alt, medianMs: NaN, label: label(alt.roundTo, alt.sparsity) });
        }
        // All variants and the original again, interleaved: one comparison under one load.
        const again = await timeModels([model.toBytes(), ...candidates.map((c) => c.pruned.bytes)], false);
        originalMs = again[0]!.batch1.medianMs;
        attempts.forEach((a, k) => (a.medianMs = again[k + 1]!.batch1.medianMs));
      }
      const outcome = chooseShipped(originalMs, attempts);
      log(outcome.message, outcome.faster && outcome.shipped === 0 ? 'info' : 'warn');
      if (outcome.shipped !== 0) {
        const c = candidates[outcome.shipped]!;
        ({ keep, selection, pruned } = c);
        runRoundTo = attempts[outcome.shipped]!.roundTo;
        runSparsity = attempts[outcome.shipped]!.sparsity;
        // Refinement tuned the first attempt's mask; the alternative ships as searched.
        refineInfo = null;
        budgetReverted = false;
        emit({ type: 'capacities', groups: capacities(keep) });
      }
      speedGuard = { roundToTimings, ...outcome };
    }

    // -------------------------------------------------------------- recover
    // Fine-tunes the exported model's weights by distillation from the original; the result (the
    // best validation checkpoint, at worst the exported model itself) is what gets evaluated and written.
    const recoverSettings = recoverSettingsOf(s);
    let recovery: RecoveryInfo | undefined;
    let written = { model: pruned.model, bytes: pruned.bytes };
    // Segmentation data has no targets or labels, so it skips recovery (warned when the task was decided).
    if (recoverSettings && labelled(data)) {
      const labelledData = data;
      const rec = await stage('recover', () =>
        runRecoverStage({
          settings: recoverSettings,
          teacher: model,
          pruned: pruned.model,
          data: labelledData,
          task: labelledData.task,
          provider,
          seed: s.seed,
          secondsLeft: Number.isFinite(deadline) ? Math.max(1, (deadline - performance.now()) / 1000 - 5) : Infinity,
          ...(signal ? { signal } : {}),
          progress: (fraction, message, point) => emit({ type: 'stage-progress', stage: 'recover', fraction, message, recover: point }),
          log,
        }),
      );
      recovery = rec.info;
      written = { model: rec.model, bytes: rec.model.toBytes() };
    } else skip('recover');
    throwIfCancelled(signal);

    // -------------------------------------------------------------- evaluate
    const evaluation = await stage('evaluate', async () => {
      const prunedShapes = await inferShapes(pruned.model, a.inputShape);
      const prunedLayers = analyzeLayers(pruned.model, prunedShapes);
      const frac = (f: number, k: number) => emit({ type: 'stage-progress', stage: 'evaluate', fraction: (k + f) / 3 });
      // Serialised once for its evaluation and its timing; the timing holds it beside the pruned model anyway.
      const original = model.toBytes();
      const beforeM = await evaluate(original, (f) => frac(f, 0));
      const afterM = await evaluate(written.bytes, (f) => frac(f, 1));
      const [timedBefore, timedAfter] = (await timeModels([original, written.bytes])) as [LatencyMeasurement, LatencyMeasurement];
      const latBefore = timedBefore.batch1.medianMs;
      const latAfter = timedAfter.batch1.medianMs;
      const b8 = timedBefore.batch8 && timedAfter.batch8 ? `, ${speedWording(timedBefore.batch8.medianMs, timedAfter.batch8.medianMs)} at batch 8` : '';
      log(`latency at ${timedBefore.inputShape.slice(2).join('×')} on ${provider}: ${speedWording(latBefore, latAfter)} at batch 1 (median ${latBefore.toFixed(2)} → ${latAfter.toFixed(2)} ms)${b8}`);
      if (latAfter > latBefore * 1.05 && runRoundTo % 8 !== 0) {
        // Measured on the fixtures: odd channel counts defeat the kernels' blocking (docs/BENCHMARKS.md).
        log(`the pruned model ran ${speedWording(latBefore, latAfter)} than the original here (${latAfter.toFixed(2)} vs ${latBefore.toFixed(2)} ms): channel counts that are not multiples of 8 can defeat ${provider === 'cpu' ? 'CPU' : provider} convolution kernels; roundTo 8 (preset 'speed') keeps them kernel-friendly`, 'warn');
      }
      frac(0, 3);
      const before: MetricSet = { ...beforeM, params: a.layers.totals.params, macs: a.layers.totals.macs, latencyMs: latBefore, latency: timedBefore };
      const after: MetricSet = { ...afterM, params: prunedLayers.totals.params, macs: prunedLayers.totals.macs, latencyMs: latAfter, latency: timedAfter, ...(latencyModel ? { predictedLatencyMs: predictLatencyMs(latencyModel, deps, keep) } : {}) };
      let beforeRefine: MetricSet | undefined;
      let comparison: ComparisonRow[] | undefined;
      if (refineInfo) {
        // The QUBO-only mask exported and scored exactly as the shipped model is (whole images), so the two columns compare.
        const qubo = await evaluate(exportPruned(model, deps, selection.keep).toBytes());
        beforeRefine = { ...taskMetrics(qubo), params: 0, macs: 0 };
        const qc = predictCost(model, deps, a.shapes, selection.keep);
        beforeRefine.params = qc.params;
        beforeRefine.macs = qc.macs;
      }
      if (req.compare) {
        comparison = [];
        for (const method of BASELINES) {
          throwIfCancelled(signal);
          emit({ type: 'stage-progress', stage: 'evaluate', fraction: 1, message: `baseline ${method}` });
          // The run's own method already searched: its time is the search stage's, not zero.
          const t = performance.now();
          const sel = method === s.method ? selection : await selectFor(method);
          const seconds = method === s.method ? (stageSeconds.search ?? 0) : (performance.now() - t) / 1000;
          // Costs predicted from the analysis (equal to counting the exported model; tested).
          comparison.push({ method, ...(await measureKeep(sel.keep)), seconds });
        }
        // The run's own result, when refinement or recovery made it differ from the method's row;
        // the label names both, since recovery changes the weights, not the channels.
        if (refineInfo || recovery) {
          const label = `${s.method}${refineInfo ? '+tt' : ''}${recovery ? '+recover' : ''}`;
          comparison.push({ method: label, ...taskMetrics(after), params: after.params, macs: after.macs, latencyMs: latAfter, seconds: (stageSeconds.search ?? 0) + (refineInfo?.seconds ?? 0) });
        }
      }
      return { before, after, beforeRefine, comparison, prunedLayers };
    });

    // -------------------------------------------------------------- write (atomically, last)
    throwIfCancelled(signal);
    const summary: RunSummary = {
      ...runIdentity(),
      before: evaluation.before,
      after: evaluation.after,
      ...(evaluation.beforeRefine ? { beforeRefine: evaluation.beforeRefine } : {}),
      ...(recovery ? { recovery: { metric: recovery.metric, validationBefore: recovery.validationBefore, validationAfter: recovery.validationAfter, improved: recovery.improved, steps: recovery.steps, seconds: recovery.seconds } } : {}),
      groups: capacities(keep),
      ...budgetOf(keep, budgetReverted),
      ...(evaluation.comparison ? { comparison: evaluation.comparison } : {}),
      evaluation: evaluationInfo,
      ...(speedGuard ? { speedGuard } : {}),
      flags: runVerdict({ before: evaluation.before, after: evaluation.after, sparsity: runSparsity, roundTo: runRoundTo }),
      seconds: (performance.now() - started) / 1000,
      stageSeconds,
    };
    const modelFiles = written.model.encodeFiles(paths.model);
    const modelBytes = modelFiles.find((f) => f.path === paths.model)!.data;
    const report = buildReport({
      // The settings the shipped model was searched with (kernel-aware runs may change roundTo and sparsity).
      request: runRoundTo === s.roundTo && runSparsity === s.sparsity ? req : { ...req, settings: { ...s, roundTo: runRoundTo, sparsity: runSparsity } },
      summary,
      deps,
      scores: imp.scores,
      gain: selection.gain,
      keep,
      qubo: selection,
      refinement: refineInfo,
      dataset: dataSummary,
      exportMaxAbsDiff: pruned.maxAbsDiff,
      exportFile: { sha256: createHash('sha256').update(modelBytes).digest('hex'), bytes: Buffer.byteLength(modelBytes) },
      calibrationLoss: calibration.meanLoss,
      calibrationSamples: calibration.samples,
      layersBefore: a.layers.layers,
      layersAfter: evaluation.prunedLayers.layers,
      ...(recovery ? { recovery } : {}),
    });
    // All three or none (a report without its model, or the reverse, would mislead): staged to
    // temporary files, then renamed only if the run was not cancelled meanwhile.
    await writeFilesAtomic(
      [...modelFiles, { path: paths.reportJson, data: JSON.stringify(report, null, 1) + '\n' }, { path: paths.reportMarkdown, data: renderMarkdown(report) }],
      { beforeCommit: () => throwIfCancelled(signal) },
    );
    emit({ type: 'result', summary });
    return summary;
  } catch (err) {
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  } finally {
    await evalSession.session.release();
  }
}

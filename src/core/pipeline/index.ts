// The product's main job: analyze → calibrate → importance → search → refine → export → evaluate.
// Every stage reports typed events; the AbortSignal is honoured between units of work; nothing is
// written until the very end, and then atomically, so a cancelled or failed run leaves no output.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { finalEnergyTrace, type PipelineEvent, type PruneRequest, type RunSummary, type StageName, type MetricSet, type ComparisonRow, type Method, type EvaluationInfo } from '../../protocol';
import { openSession, type ProviderName } from '../runtime/session';
import { inferShapes } from '../analysis/shapes';
import { analyzeLayers } from '../analysis/layers';
import { firstSamples } from '../data';
import { exportPruned } from '../prune/physicalExport';
import { predictCost } from '../prune/cost';
import { BatchedEvaluator } from '../refine/batchedEvaluator';
import { refineMask } from '../refine/refine';
import { prepareImportance } from './prepare';
import { refinementAccepted, refinementBatch, refinementEvaluator } from './refineObjective';
import { selectMask, type Selection } from './selectMask';
import { CancelledError, PipelineError, throwIfCancelled } from './cancel';
import { outputPathsFor } from './outputs';
import { evaluateModel, measureLatency } from './evaluateModel';
import { buildReport, renderMarkdown, type RunReport } from './report';
import { writeFilesAtomic } from '../util/atomicWrite';
import { guardOutputs } from '../util/outputGuard';
import { acquireOutputLock, type OutputLock } from '../util/outputLock';
import { externalDataFilesOf } from '../onnx';

export { CancelledError, PipelineError } from './cancel';

export interface PipelineOptions {
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
}

const BASELINES: Method[] = ['random', 'l1', 'taylor', 'l1-qubo', 'hybrid'];

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

  const prep = await prepareImportance({ model: req.model, data: req.data, settings: s, inputShape: req.inputShape }, { emit, log, signal, stage });
  const { a, data, task, gates, layout, gatedPerSample, calibration, imp } = prep;
  let provider: ProviderName = prep.provider;
  const { model, deps } = a;
  const n = deps.variables.length;

  // ---------------------------------------------------------------- search
  const capacities = (keep: Uint8Array) =>
    deps.groups.map((g) => ({ id: g.id, kept: Array.from(g.variables).reduce((acc, v) => acc + keep[v]!, 0), total: g.size }));
  const selectFor = (method: Method, onProgress?: (p: { iteration: number; bestEnergy: number }) => void) =>
    selectMask(imp.scores, imp.terms, { method, sparsity: s.sparsity, alpha: s.alpha, beta: s.beta, similarity: s.similarity, jointFisher: s.gamma, floor: s.floor, roundTo: s.roundTo, seed: s.seed, searchTimeMs: s.searchTimeMs, signal, onProgress });
  const dataSummary = data.describe();
  const evaluationInfo: EvaluationInfo = { split: 'test', images: dataSummary.splits.test.images, samples: dataSummary.splits.test.samples, patch: dataSummary.patch, inputShape: [...a.inputShape] };
  // What every summary starts with, compare-only or not.
  const runIdentity = () => ({ model: path.resolve(req.model), output: paths.model, reportJson: paths.reportJson, reportMarkdown: paths.reportMarkdown, preset: req.presetName, method: s.method, sparsity: s.sparsity, provider });
  const metricOf = (v: number) => (task === 'denoise' ? { psnr: v } : { accuracy: v });
  /**
   * A method's row measured as the run's own "after" is: the physical model exported in memory,
   * evaluated on the whole test split (PSNR and SSIM, or accuracy) and timed at the analysed shape.
   */
  const measureKeep = async (keep: Uint8Array): Promise<Omit<ComparisonRow, 'method' | 'seconds'>> => {
    const bytes = exportPruned(model, deps, keep).toBytes();
    const m = await evaluateModel(bytes, data.test, task, provider, signal);
    const cost = predictCost(model, deps, a.shapes, keep);
    const latencyMs = await measureLatency(bytes, a.inputShape, provider);
    return { ...(m.psnr !== undefined ? { psnr: m.psnr } : {}), ...(m.ssim !== undefined ? { ssim: m.ssim } : {}), ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}), params: cost.params, macs: cost.macs, latencyMs };
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
      const beforeM = await evaluateModel(model.toBytes(), data.test, task, provider, signal);
      const before: MetricSet = { ...beforeM, params: a.layers.totals.params, macs: a.layers.totals.macs, latencyMs: await measureLatency(model.toBytes(), a.inputShape, provider) };
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
      after: { ...(ownRow.psnr !== undefined ? { psnr: ownRow.psnr } : {}), ...(ownRow.ssim !== undefined ? { ssim: ownRow.ssim } : {}), ...(ownRow.accuracy !== undefined ? { accuracy: ownRow.accuracy } : {}), params: ownRow.params, macs: ownRow.macs, ...(ownRow.latencyMs !== undefined ? { latencyMs: ownRow.latencyMs } : {}) },
      groups: capacities(own.keep),
      comparison: result.rows,
      evaluation: evaluationInfo,
      compareOnly: true,
      seconds: (performance.now() - started) / 1000,
      stageSeconds,
    };
    emit({ type: 'result', summary });
    return summary;
  }
  const selection: Selection = await stage('search', async () => {
    const searchStart = performance.now();
    let lastEmit = 0;
    const sel = await selectFor(s.method, (p) => {
      const now = performance.now();
      if (now - lastEmit < 100) return;
      lastEmit = now;
      emit({ type: 'solver-trace', points: [{ iteration: p.iteration, energy: p.bestEnergy }] });
      emit({ type: 'stage-progress', stage: 'search', fraction: Math.min(1, (now - searchStart) / Math.max(1, s.searchTimeMs)) });
    });
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
  let refineInfo: RunReport['refinement'] = null;
  try {
    if (s.refine.scope !== 'off') {
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
        if (accepted) keep = r.mask;
        else log(`refinement gained ${(r.bestValue - r.startValue).toFixed(3)}, below refine.minGain ${s.refine.minGain}: the QUBO mask is kept`);
        emit({ type: 'capacities', groups: capacities(keep) });
        const evaluatorStats = { runItems: evaluator.runItems, runs: st.runs, seconds: st.seconds, splitBlocks: st.splits, wholeBlocks: st.unsplit, suffixEvaluations: st.suffix };
        return { scope: s.refine.scope, startValue: r.startValue, bestValue: r.bestValue, accepted, evaluations: r.evaluations, seconds: r.seconds, blocks: r.blocks, trace: r.trace, evaluator: evaluatorStats };
      });
    } else skip('refine');
    throwIfCancelled(signal);

    // -------------------------------------------------------------- export
    const pruned = await stage('export', async () => {
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
    });

    // -------------------------------------------------------------- evaluate
    const evaluation = await stage('evaluate', async () => {
      const prunedShapes = await inferShapes(pruned.model, a.inputShape);
      const prunedLayers = analyzeLayers(pruned.model, prunedShapes);
      const frac = (f: number, k: number) => emit({ type: 'stage-progress', stage: 'evaluate', fraction: (k + f) / 3 });
      const beforeM = await evaluateModel(model.toBytes(), data.test, task, provider, signal, (f) => frac(f, 0));
      const afterM = await evaluateModel(pruned.bytes, data.test, task, provider, signal, (f) => frac(f, 1));
      const latBefore = await measureLatency(model.toBytes(), a.inputShape, provider);
      const latAfter = await measureLatency(pruned.bytes, a.inputShape, provider);
      if (latAfter > latBefore * 1.05 && s.roundTo % 8 !== 0) {
        // Measured on the fixtures: odd channel counts defeat the kernels' blocking (docs/BENCHMARKS.md).
        log(`the pruned model ran slower than the original here (${latAfter.toFixed(2)} vs ${latBefore.toFixed(2)} ms): channel counts that are not multiples of 8 can defeat ${provider === 'cpu' ? 'CPU' : provider} convolution kernels; roundTo 8 (preset 'speed') keeps them kernel-friendly`, 'warn');
      }
      frac(0, 3);
      const before: MetricSet = { ...beforeM, params: a.layers.totals.params, macs: a.layers.totals.macs, latencyMs: latBefore };
      const after: MetricSet = { ...afterM, params: prunedLayers.totals.params, macs: prunedLayers.totals.macs, latencyMs: latAfter };
      let beforeRefine: MetricSet | undefined;
      let comparison: ComparisonRow[] | undefined;
      const testBatch = await firstSamples(data.test, data.test.count);
      const testEval = new BatchedEvaluator({ session: evalSession.session, inputName: a.inputName, outputName: a.outputName, gates: layout, data: testBatch, task, maxBatchItems: testBatch.shape[0], signal });
      if (refineInfo) {
        const [v] = await testEval.evaluate([selection.keep]);
        beforeRefine = { ...metricOf(v!), params: 0, macs: 0 };
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
        if (refineInfo) {
          comparison.push({ method: `${s.method}+tt`, ...(after.psnr !== undefined ? { psnr: after.psnr } : {}), ...(after.ssim !== undefined ? { ssim: after.ssim } : {}), ...(after.accuracy !== undefined ? { accuracy: after.accuracy } : {}), params: after.params, macs: after.macs, latencyMs: latAfter, seconds: (stageSeconds.search ?? 0) + refineInfo.seconds });
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
      groups: capacities(keep),
      ...(evaluation.comparison ? { comparison: evaluation.comparison } : {}),
      evaluation: evaluationInfo,
      seconds: (performance.now() - started) / 1000,
      stageSeconds,
    };
    const modelFiles = pruned.model.encodeFiles(paths.model);
    const modelBytes = modelFiles.find((f) => f.path === paths.model)!.data;
    const report = buildReport({
      request: req,
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

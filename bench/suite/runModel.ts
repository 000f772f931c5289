// One fixture model through every method, sparsity, seed and ablation of the suite. Every method
// gets the same importance pass, the same QUBO layout (floors, K) and the same evaluator; the
// method table is measured on exported models, the ablations on the gated model (equal to the
// export within 1e-4, checked by the pipeline tests).
import * as path from 'node:path';
import type { PruneSettings } from '../../src/protocol';
import { DEFAULT_SETTINGS } from '../../src/core/presets';
import { prepareImportance, type Prepared } from '../../src/core/pipeline/prepare';
import { selectMask, type SelectOptions, type Selection } from '../../src/core/pipeline/selectMask';
import { evaluateModel } from '../../src/core/pipeline/evaluateModel';
import { measureModelLatency } from '../../src/core/latency/measure';
import { openSession } from '../../src/core/runtime/session';
import { BatchedEvaluator } from '../../src/core/refine/batchedEvaluator';
import { refineMask } from '../../src/core/refine/refine';
import { exportPruned } from '../../src/core/prune/physicalExport';
import { countCost, predictCost } from '../../src/core/prune/cost';
import { firstSamples, loadDataset } from '../../src/core/data';
import { refinementAccepted, refinementBatch, refinementEvaluator } from '../../src/core/pipeline/refineObjective';
import type { AblationRow, BenchMethod, DenseRow, MethodRow, ScalingRow, StageRow, SuiteConfig } from './types';

export interface ModelPlan extends Omit<SuiteConfig, 'models'> {
  root: string;
  model: string;
  latencyRuns: number;
  /** Test crops are this size (the fixtures' whole 128×128 images), independent of the calibration patch. */
  testPatch: number;
  ablations: boolean;
  /** Refinement budgets for the scaling curve (seed 0, 36 %), empty = none. */
  refineBudgets: number[];
  log: (line: string) => void;
}

export interface ModelResults {
  dense: DenseRow;
  methods: MethodRow[];
  ablations: AblationRow[];
  stages: StageRow[];
  scaling: ScalingRow[];
}

/** The paper's objective as specified in METHOD §3–5: Taylor/Fisher mix, |cos| redundancy (β from the first sweep), no joint-Fisher term. */
export const PAPER_FORM = { method: 'hybrid', alpha: 0.5, beta: 0.05, similarity: 'cosine', jointFisher: 0 } as const;

const sec = (t0: number) => (performance.now() - t0) / 1000;

function keptPerGroup(prep: Prepared, keep: Uint8Array): number[] {
  return prep.a.deps.groups.map((g) => Array.from(g.variables).reduce((a, v) => a + keep[v]!, 0));
}

export async function runModel(plan: ModelPlan): Promise<ModelResults> {
  const modelPath = path.join(plan.root, 'test/fixtures', `${plan.model}.onnx`);
  const dataPath = path.join(plan.root, 'test/fixtures/data');
  const out: ModelResults = { dense: undefined as unknown as DenseRow, methods: [], ablations: [], stages: [], scaling: [] };

  for (const seed of plan.seeds) {
    const settings: PruneSettings = {
      ...DEFAULT_SETTINGS,
      provider: 'cpu',
      seed,
      samples: plan.samples,
      patch: plan.patch,
      searchTimeMs: plan.searchTimeMs,
      refine: { ...DEFAULT_SETTINGS.refine, valSamples: plan.valSamples, evaluations: plan.refineEvaluations, seconds: plan.refineSeconds },
    };
    const stageTimes: Record<string, number> = {};
    const ctx = {
      emit: () => {},
      log: () => {},
      stage: async <T>(name: string, fn: () => Promise<T>) => {
        const t0 = performance.now();
        try {
          return await fn();
        } finally {
          stageTimes[name] = sec(t0);
        }
      },
    };
    const prep = await prepareImportance({ model: modelPath, data: dataPath, settings }, ctx);
    const { a } = prep;
    const latencyShape = [1, a.channels, ...plan.latencyShape.slice(2)];
    const testSplit = (await loadDataset(dataPath, { patch: plan.testPatch, channels: a.channels === 1 ? 1 : 3, seed: 0 })).test;

    if (!out.dense) {
      const bytes = a.model.toBytes();
      const m = await evaluateModel(bytes, testSplit, prep.task, 'cpu');
      const cost = countCost(a.model, a.shapes);
      out.dense = {
        model: plan.model,
        psnr: m.psnr!,
        ssim: m.ssim!,
        params: cost.params,
        macs: cost.macs,
        latencyMs: (await measureModelLatency(bytes, { inputShape: latencyShape, provider: 'cpu', runs: plan.latencyRuns, largeBatch: false })).batch1.medianMs,
        groups: a.deps.groups.map((g) => g.id),
        groupSizes: a.deps.groups.map((g) => g.size),
        variables: a.deps.variables.length,
      };
      plan.log(`${plan.model}: ${out.dense.variables} variables in ${out.dense.groups.length} groups, test PSNR ${out.dense.psnr.toFixed(2)} dB`);
    }

    const opened = await openSession(prep.gatedPerSample.model.toBytes(), { provider: 'cpu', memPattern: false });
    try {
      // The refinement's objective, built as the pipeline builds it.
      const val = await refinementBatch(prep.data, settings);
      const test = await firstSamples(testSplit, testSplit.count);
      const common = { session: opened.session, inputName: a.inputName, outputName: a.outputName, gates: prep.layout, task: prep.task };
      const testEval = new BatchedEvaluator({ ...common, data: test, maxBatchItems: Math.max(test.shape[0], 48) });
      const refineEvaluator = () => refinementEvaluator({ ...common, provider: 'cpu', gated: prep.gatedPerSample, model: a.model, shapes: a.shapes, data: val });
      // Ablations score on every validation image (not only the refinement's crops) to choose defaults.
      const valAll = await firstSamples(prep.data.val, prep.data.val.count);
      const valAllEval = new BatchedEvaluator({ ...common, data: valAll, maxBatchItems: Math.max(valAll.shape[0], 48) });

      const dataFree = stageTimes.analyze ?? 0;
      const withGradients = dataFree + (stageTimes.calibrate ?? 0) + (stageTimes.importance ?? 0);
      const base = (sparsity: number): SelectOptions => ({
        method: 'hybrid',
        sparsity,
        alpha: settings.alpha,
        beta: settings.beta,
        similarity: settings.similarity,
        jointFisher: settings.gamma,
        floor: settings.floor,
        roundTo: settings.roundTo,
        seed,
        searchTimeMs: settings.searchTimeMs,
      });
      const select = async (o: SelectOptions) => {
        const t0 = performance.now();
        const sel = await selectMask(prep.imp.scores, prep.imp.terms, o);
        return { sel, seconds: sec(t0) };
      };
      const measure = async (method: BenchMethod, sparsity: number, keep: Uint8Array, seconds: number, extra: Partial<MethodRow> = {}): Promise<MethodRow> => {
        const t0 = performance.now();
        const bytes = exportPruned(a.model, a.deps, keep).toBytes();
        const exportSeconds = sec(t0);
        const t1 = performance.now();
        const m = await evaluateModel(bytes, testSplit, prep.task, 'cpu');
        const evalSeconds = sec(t1);
        const cost = predictCost(a.model, a.deps, a.shapes, keep);
        const row: MethodRow = {
          model: plan.model,
          seed,
          sparsity,
          method,
          psnr: m.psnr!,
          ssim: m.ssim!,
          params: cost.params,
          macs: cost.macs,
          latencyMs: (await measureModelLatency(bytes, { inputShape: latencyShape, provider: 'cpu', runs: plan.latencyRuns, largeBatch: false })).batch1.medianMs,
          seconds,
          kept: keptPerGroup(prep, keep),
          ...extra,
        };
        if (method === 'hybrid+tt-network' && Math.abs(sparsity - 0.36) < 1e-9) {
          stageTimes.export = exportSeconds;
          stageTimes.evaluate = evalSeconds;
        }
        plan.log(`  ${plan.model} seed ${seed} ${(sparsity * 100).toFixed(0)}% ${method}: ${row.psnr.toFixed(3)} dB, SSIM ${row.ssim.toFixed(4)}, ${row.seconds.toFixed(1)} s`);
        out.methods.push(row);
        return row;
      };

      for (const sparsity of plan.sparsities) {
        let hybrid: { sel: Selection; seconds: number } | undefined;
        for (const method of ['random', 'l1', 'taylor', 'fisher', 'l1-qubo', 'hybrid-paper', 'hybrid'] as const) {
          const r = await select(method === 'hybrid-paper' ? { ...base(sparsity), ...PAPER_FORM } : { ...base(sparsity), method });
          if (method === 'hybrid') hybrid = r;
          const prepSeconds = method === 'random' || method === 'l1' || method === 'l1-qubo' ? dataFree : withGradients;
          await measure(method, sparsity, r.sel.keep, prepSeconds + r.seconds);
        }
        if (Math.abs(sparsity - 0.36) < 1e-9) stageTimes.search = hybrid!.seconds;
        for (const scope of ['layers', 'network'] as const) {
          // A fresh cache per scope, so each pays for its own evaluations; built as the pipeline builds it.
          const valEval = refineEvaluator();
          const t0 = performance.now();
          const r = await refineMask({
            start: hybrid!.sel.keep,
            gain: hybrid!.sel.gain,
            groups: a.deps.groups.map((g) => ({ id: g.id, variables: g.variables })),
            score: (masks) => valEval.evaluate(masks),
            focus: (groups, b) => valEval.focus(groups, b),
            scope,
            layers: settings.refine.layers,
            evaluations: settings.refine.evaluations,
            seconds: settings.refine.seconds,
            rank: settings.refine.rank,
            seed,
          });
          await valEval.dispose();
          const refineSeconds = sec(t0);
          if (scope === 'network' && Math.abs(sparsity - 0.36) < 1e-9) stageTimes.refine = refineSeconds;
          // The pipeline's acceptance rule: a gain below refine.minGain keeps the QUBO mask.
          const accepted = refinementAccepted(r, settings.refine.minGain);
          await measure(scope === 'layers' ? 'hybrid+tt-layers' : 'hybrid+tt-network', sparsity, accepted ? r.mask : hybrid!.sel.keep, withGradients + hybrid!.seconds + refineSeconds, {
            accepted,
            valStart: r.startValue,
            valBest: r.bestValue,
            evaluations: r.evaluations,
          });
        }
      }
      out.stages.push({ model: plan.model, seed, stages: { ...stageTimes } });

      if (plan.ablations) {
        const ablate = async (family: string, setting: string, o: SelectOptions, isDefault: boolean) => {
          const keep = (await selectMask(prep.imp.scores, prep.imp.terms, o)).keep;
          const psnr = (await testEval.evaluate([keep]))[0]!;
          const valPsnr = (await valAllEval.evaluate([keep]))[0]!;
          out.ablations.push({ model: plan.model, seed, family, setting, psnr, valPsnr, isDefault });
          plan.log(`  ${plan.model} seed ${seed} ablation ${family} ${setting}: val ${valPsnr.toFixed(3)}, test ${psnr.toFixed(3)} dB`);
        };
        const b = base(0.36);
        for (const alpha of [0, 0.25, 0.5, 0.75, 1]) {
          await ablate('alpha (Taylor share)', `α=${alpha}`, { ...b, alpha }, alpha === b.alpha);
        }
        for (const beta of [0, 0.05, 0.1, 0.3, 1]) {
          await ablate('beta (redundancy weight)', `β=${beta}`, { ...b, beta }, beta === b.beta);
        }
        for (const gamma of [0, 0.2, 0.35, 0.5, 0.65, 1]) {
          await ablate('gamma (joint-Fisher weight)', `γ=${gamma}`, { ...b, jointFisher: gamma }, gamma === b.jointFisher);
        }
        for (const beta of [0.05, 0.3]) {
          for (const similarity of ['cosine', 'pearson'] as const) {
            await ablate('similarity (at β > 0)', `${similarity === 'cosine' ? '|cos|' : '|Pearson|'}, β=${beta}`, { ...b, beta, similarity }, false);
          }
        }
        await ablate('paper form vs defaults', 'paper form (α=0.5, β=0.05, |cos|, γ=0)', { ...b, ...PAPER_FORM }, false);
        await ablate('paper form vs defaults', 'paper form + γ=0.35', { ...b, ...PAPER_FORM, jointFisher: 0.35 }, false);
        await ablate('paper form vs defaults', 'defaults', b, true);
        for (const floor of [0, 0.1, 0.25]) {
          await ablate('floors (ρ)', `ρ=${floor}`, { ...b, floor }, floor === b.floor);
        }
        for (const capacity of ['global', 'per-group'] as const) {
          await ablate('capacity', capacity, { ...b, capacity }, capacity === 'global');
        }
      }

      if (seed === plan.seeds[0] && plan.refineBudgets.length) {
        const start = await select(base(0.36));
        const [testStart] = await testEval.evaluate([start.sel.keep]);
        for (const budget of plan.refineBudgets) {
          const valEval = refineEvaluator();
          const t0 = performance.now();
          const r = await refineMask({
            start: start.sel.keep,
            gain: start.sel.gain,
            groups: a.deps.groups.map((g) => ({ id: g.id, variables: g.variables })),
            score: (masks) => valEval.evaluate(masks),
            focus: (groups, b) => valEval.focus(groups, b),
            scope: 'network',
            evaluations: budget,
            seconds: 3600,
            rank: settings.refine.rank,
            seed,
          });
          await valEval.dispose();
          const seconds = sec(t0);
          const [testEnd] = await testEval.evaluate([r.mask]);
          out.scaling.push({ kind: 'refine', model: plan.model, x: budget, seconds, value: testEnd! - testStart!, evaluations: r.evaluations });
          plan.log(`  ${plan.model} refine budget ${budget}: ${r.evaluations} evaluations, ${seconds.toFixed(1)} s, test gain ${(testEnd! - testStart!).toFixed(3)} dB`);
        }
      }
    } finally {
      await opened.session.release();
    }
  }
  return out;
}

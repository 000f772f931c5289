// Recovery fine-tuning on the fixture denoisers: test PSNR of the original, the pruned and the
// recovered model for each time budget, plus the cost of one training step against a forward
// pass and a forward+backward pass of the pruned model.
//   npm run bench:recover [-- --budgets halfunet=60,180;dncnn=60;unet=60] [--sparsities 0.36,0.5] [--classifier 60] [--out bench/out/recover.json]
// Masks are L1 (data-free): this measures what recovery gives back, independent of the search.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, type OnnxModel } from '../src/core/onnx';
import { inferShapes } from '../src/core/analysis/shapes';
import { analyzeDependencies } from '../src/core/analysis/dependencyGroups';
import { l1Mask } from '../src/core/prune/masks';
import { exportPruned } from '../src/core/prune/physicalExport';
import { firstSamples, loadDataset } from '../src/core/data';
import { evaluateModel } from '../src/core/pipeline/evaluateModel';
import { buildTrainingGraph, recoverWeights } from '../src/core/recover';
import { openSession, ort } from '../src/core/runtime/session';
import { Rng } from '../src/core/util/rng';

const ROOT = path.join(__dirname, '..');
const { values } = parseArgs({
  options: {
    budgets: { type: 'string', default: 'halfunet=60,180;dncnn=60;unet=60' },
    sparsities: { type: 'string', default: '0.36,0.5' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'out', 'recover.json') },
    batch: { type: 'string', default: '8' },
    crop: { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-3' },
    classifier: { type: 'string', default: '60' },
  },
});

const budgets = Object.fromEntries(values.budgets!.split(';').map((p) => {
  const [m, b] = p.split('=');
  return [m!, b!.split(',').map(Number)];
}));
const sparsities = values.sparsities!.split(',').map(Number);
const batch = Number(values.batch);
const crop = Number(values.crop);
const lr = Number(values.lr);

async function medianMs(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: string[], reps = 7): Promise<number> {
  await session.run(feeds, fetches);
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await session.run(feeds, fetches);
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[reps >> 1]!;
}

/** Forward of the pruned model vs forward+backward of its training graph, same batch of crops. */
async function stepCosts(pruned: OnnxModel): Promise<{ forwardMs: number; forwardBackwardMs: number }> {
  const g = buildTrainingGraph(pruned);
  const rng = new Rng(1);
  const dims = [batch, 3, crop, crop];
  const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.next()), dims);
  const fwd = await openSession(pruned.toBytes(), { provider: 'cpu' });
  const tr = await openSession(g.model.toBytes(), { provider: 'cpu' });
  try {
    const forwardMs = await medianMs(fwd.session, { [fwd.session.inputNames[0]!]: x }, [...fwd.session.outputNames]);
    const feeds: Record<string, ort.Tensor> = { [g.input]: x, [g.teacher]: x };
    for (const w of g.weights) feeds[w.name] = new ort.Tensor('float32', w.initial, w.dims);
    const forwardBackwardMs = await medianMs(tr.session, feeds, [g.lossOutput, ...Object.values(g.gradOutputs)]);
    return { forwardMs, forwardBackwardMs };
  } finally {
    await fwd.session.release();
    await tr.session.release();
  }
}

async function main(): Promise<void> {
  const data = await loadDataset(path.join(ROOT, 'test', 'fixtures', 'data'), { patch: 128, seed: 0 });
  const rows: unknown[] = [];
  for (const [name, list] of Object.entries(budgets)) {
    const model = await loadModel(path.join(ROOT, 'test', 'fixtures', `${name}.onnx`));
    const shapes = await inferShapes(model, [1, 3, 128, 128]);
    const deps = analyzeDependencies(model, shapes);
    const original = (await evaluateModel(model.toBytes(), data.test, 'denoise', 'cpu')).psnr!;
    for (const sparsity of sparsities) {
      const pruned = exportPruned(model, deps, l1Mask(model, deps, sparsity));
      const prunedPsnr = (await evaluateModel(pruned.toBytes(), data.test, 'denoise', 'cpu')).psnr!;
      const costs = await stepCosts(pruned);
      for (const budget of list) {
        const r = await recoverWeights(
          { teacher: model, student: pruned, calib: data.calib, val: data.val, task: 'denoise' },
          { steps: 100000, lr, batch, crop, timeBudgetSeconds: budget, patience: 1000, validateEvery: 25, seed: 0 },
        );
        const after = (await evaluateModel(r.model.toBytes(), data.test, 'denoise', 'cpu')).psnr!;
        const stepMs = 1000 / r.stepsPerSecond;
        const row = {
          model: name, sparsity, budgetSeconds: budget, original, pruned: prunedPsnr, recovered: after,
          gapBefore: original - prunedPsnr, gapAfter: original - after,
          valBefore: r.before, valAfter: r.after, improved: r.improved, steps: r.steps, bestStep: r.bestStep, stoppedBy: r.stoppedBy,
          stepsPerSecond: r.stepsPerSecond, stepMs, timing: r.timing, setup: r.setup, recalibration: r.recalibration ?? null, ...costs,
          stepOverForward: stepMs / costs.forwardMs, trainRunOverForward: (r.timing.trainRun * 1000) / costs.forwardMs,
          parameters: r.parameters,
        };
        rows.push(row);
        console.log(`${name} s=${sparsity} ${budget}s: test PSNR ${original.toFixed(2)} → pruned ${prunedPsnr.toFixed(2)} → recovered ${after.toFixed(2)} dB (${r.steps} steps, ${r.stepsPerSecond.toFixed(2)} steps/s, step ${stepMs.toFixed(0)} ms = ${(stepMs / costs.forwardMs).toFixed(2)}× forward ${costs.forwardMs.toFixed(0)} ms; fwd+bwd ${costs.forwardBackwardMs.toFixed(0)} ms)`);
      }
    }
  }
  // One classifier (accuracy): labelled folders, whole samples, cross-entropy next to logit distillation.
  for (const budget of values.classifier ? values.classifier.split(',').map(Number) : []) {
    const cls = await loadDataset(path.join(ROOT, 'test', 'fixtures', 'cls'), { seed: 0 });
    const model = await loadModel(path.join(ROOT, 'test', 'fixtures', 'classifier.onnx'));
    const one = (await firstSamples(cls.calib, 1)).shape;
    const deps = analyzeDependencies(model, await inferShapes(model, [1, one[1], one[2], one[3]]));
    const original = (await evaluateModel(model.toBytes(), cls.test, 'classify', 'cpu')).accuracy!;
    for (const sparsity of sparsities) {
      const pruned = exportPruned(model, deps, l1Mask(model, deps, sparsity));
      const prunedAcc = (await evaluateModel(pruned.toBytes(), cls.test, 'classify', 'cpu')).accuracy!;
      const r = await recoverWeights({ teacher: model, student: pruned, calib: cls.calib, val: cls.val, task: 'classify' }, { steps: 100000, lr, batch, timeBudgetSeconds: budget, patience: 1000, validateEvery: 25, seed: 0 });
      const after = (await evaluateModel(r.model.toBytes(), cls.test, 'classify', 'cpu')).accuracy!;
      rows.push({ model: 'classifier', sparsity, budgetSeconds: budget, original, pruned: prunedAcc, recovered: after, valBefore: r.before, valAfter: r.after, steps: r.steps, bestStep: r.bestStep, stepsPerSecond: r.stepsPerSecond, timing: r.timing, setup: r.setup });
      console.log(`classifier s=${sparsity} ${budget}s: test top-1 ${original.toFixed(3)} → pruned ${prunedAcc.toFixed(3)} → recovered ${after.toFixed(3)} (${r.steps} steps, ${r.stepsPerSecond.toFixed(2)} steps/s, ${cls.test.count} test samples)`);
    }
  }
  mkdirSync(path.dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify({ machine: `${process.platform} ${process.arch}, node ${process.version}`, batch, crop, lr, rows }, null, 1) + '\n');
  console.log(`wrote ${values.out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Issue 6 benchmark: test-split metric of QUBO-only vs QUBO + TT refinement on the fixture models,
// for the paper's layer scope and the whole-network scope, with the same evaluation budget.
//   node --import tsx bench/refine.ts [models=halfunet,dncnn,unet] [evaluations=600] [valSamples=12] [seeds=0] [provider=cpu]
// Prints one markdown row per (model, seed, setting), scored as the pipeline's default does
// (calibration + validation crops). Bundled as dist/bench/refine.js for the GPU machine (bench/gpu/).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ProviderChoice } from '../src/protocol';
import { firstSamples } from '../src/core/data';
import { refinementBatch, refinementEvaluator } from '../src/core/pipeline/refineObjective';
import type { PruneSettings } from '../src/protocol';
import { DEFAULT_SETTINGS } from '../src/core/presets';
import { prepareImportance } from '../src/core/pipeline/prepare';
import { selectMask } from '../src/core/pipeline/selectMask';
import { openSession } from '../src/core/runtime/session';
import { BatchedEvaluator } from '../src/core/refine/batchedEvaluator';
import { refineMask, type RefineOptions } from '../src/core/refine/refine';

/** The repository root from bench/ (tsx) or dist/bench/ (bundled). */
function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'test', 'fixtures', 'halfunet.onnx'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`test/fixtures/halfunet.onnx not found above ${__dirname}`);
}
const root = projectRoot();
const models = (process.argv[2] ?? 'halfunet,dncnn,unet').split(',');
const evaluations = Number(process.argv[3] ?? 600);
const valSamples = Number(process.argv[4] ?? 12);
const seeds = (process.argv[5] ?? '0').split(',').map(Number);
const provider = (process.argv[6] ?? 'cpu') as ProviderChoice;

const settingsList: [string, Partial<RefineOptions>][] = [
  ['layers (paper: 8 groups, pairs)', { scope: 'layers', layers: 8 }],
  ['network (default: boundary, 1 group/block)', { scope: 'network' }],
  ['network, pairs, 4 groups/block, 24 slots', { scope: 'network', form: 'pairs', groupsPerBlock: 4, slotsPerBlock: 24 }],
];

async function main(): Promise<void> {
  console.log(`evaluations ${evaluations}, validation crops ${valSamples} + calibration crops, sparsity 0.36, provider ${provider}`);
  console.log('| model | seed | setting | val start | val gain | test dense | test QUBO | test +TT | test gain | evals | blocks | s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of models) {
    for (const seed of seeds) {
      const settings: PruneSettings = {
        ...DEFAULT_SETTINGS,
        sparsity: 0.36,
        provider,
        seed,
        refine: { ...DEFAULT_SETTINGS.refine, valSamples },
      };
      const ctx = { emit: () => {}, log: () => {}, stage: <T>(_n: string, fn: () => Promise<T>) => fn() };
      const prep = await prepareImportance({ model: path.join(root, 'test/fixtures', `${name}.onnx`), data: path.join(root, 'test/fixtures/data'), settings }, ctx);
      const sel = await selectMask(prep.imp.scores, prep.imp.terms, {
        method: 'hybrid', sparsity: settings.sparsity, alpha: settings.alpha, beta: settings.beta, similarity: settings.similarity, jointFisher: settings.gamma, floor: settings.floor,
        roundTo: settings.roundTo, seed, searchTimeMs: settings.searchTimeMs,
      });
      const opened = await openSession(prep.gatedPerSample.model.toBytes(), { provider: prep.provider });
      console.log(`${name} seed ${seed}: evaluations run on ${opened.provider}`);
      try {
        const val = await refinementBatch(prep.data, settings);
        const test = await firstSamples(prep.data.test, prep.data.test.count);
        const common = { session: opened.session, inputName: prep.a.inputName, outputName: prep.a.outputName, gates: prep.layout, task: prep.task };
        const testEval = new BatchedEvaluator({ ...common, data: test, maxBatchItems: test.shape[0] });
        const [testDense, testStart] = await testEval.evaluate([new Uint8Array(sel.keep.length).fill(1), sel.keep]);
        for (const [label, extra] of settingsList) {
          // A fresh validation cache per setting, so every setting pays for its own evaluations.
          const valEval = refinementEvaluator({ ...common, provider: opened.provider, gated: prep.gatedPerSample, model: prep.a.model, shapes: prep.a.shapes, data: val });
          const r = await refineMask({
            start: sel.keep,
            gain: sel.gain,
            groups: prep.a.deps.groups.map((g) => ({ id: g.id, variables: g.variables })),
            score: (m) => valEval.evaluate(m),
            focus: (g, b) => valEval.focus(g, b),
            evaluations,
            seconds: 600,
            rank: settings.refine.rank,
            seed,
            scope: 'network',
            ...extra,
          });
          await valEval.dispose();
          const [testEnd] = await testEval.evaluate([r.mask]);
          console.log(
            `| ${name} | ${seed} | ${label} | ${r.startValue.toFixed(3)} | ${(r.bestValue - r.startValue).toFixed(3)} | ${testDense!.toFixed(3)} | ${testStart!.toFixed(3)} | ${testEnd!.toFixed(3)} | ${(testEnd! - testStart!).toFixed(3)} | ${r.evaluations} | ${r.blocks.length} | ${r.seconds.toFixed(0)} |`,
          );
        }
      } finally {
        await opened.session.release();
      }
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

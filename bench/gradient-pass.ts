// Time of one gradient pass (per-sample loss + gradients w.r.t. every per-sample gate, all inside
// onnxruntime) against a plain forward pass of the same model, on the trained fixtures.
//   node --import tsx bench/gradient-pass.ts [model=halfunet] [batch=8] [size=128] [reps=5] [threads=0]
import { loadModel, type OnnxModel } from '../src/core/onnx';
import { inferShapes } from '../src/core/analysis/shapes';
import { analyzeDependencies } from '../src/core/analysis/dependencyGroups';
import { buildGatedModel } from '../src/core/prune/gatedModel';
import { buildGradientModel } from '../src/core/autodiff';
import { openSession, ort } from '../src/core/runtime/session';
import { Rng } from '../src/core/util/rng';

async function timeRuns(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: string[], reps: number): Promise<number[]> {
  await session.run(feeds, fetches); // warm-up (allocations, kernel selection)
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await session.run(feeds, fetches);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const median = (t: number[]) => t[Math.floor(t.length / 2)]!;

async function main(): Promise<void> {
  const [name = 'halfunet', batchS = '8', sizeS = '128', repsS = '5', threadsS = '0'] = process.argv.slice(2);
  const batch = Number(batchS);
  const size = Number(sizeS);
  const reps = Number(repsS);
  const threads = Number(threadsS) || undefined;
  const model: OnnxModel = await loadModel(`test/fixtures/${name}.onnx`);
  const classify = name === 'classifier';
  const shapes = await inferShapes(model, [1, 3, size, size]);
  const gated = buildGatedModel(model, analyzeDependencies(model, shapes), { layout: 'per-sample' });
  const t0 = performance.now();
  const gm = buildGradientModel(gated.model, {
    wrt: gated.gateInputs.map((g) => g.name),
    loss: classify ? { kind: 'cross-entropy', output: model.outputNames[0]!, labels: 'labels' } : { kind: 'mse', output: model.outputNames[0]!, target: 'target' },
  });
  const buildMs = performance.now() - t0;

  const rng = new Rng(1);
  const n = batch * 3 * size * size;
  const input = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.next()), [batch, 3, size, size]);
  const gates = Object.fromEntries(gated.gateInputs.map((g) => [g.name, new ort.Tensor('float32', new Float32Array(batch * g.size).fill(1), [batch, g.size, 1, 1])]));
  const outDims = classify ? [batch] : [batch, 3, size, size];
  const lossFeed = classify
    ? { labels: new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 4)), outDims) }
    : { target: new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.next()), outDims) };
  const inputName = model.inputNames[0]!;

  const plain = (await openSession(model.toBytes(), { provider: 'cpu', threads })).session;
  const gatedS = (await openSession(gated.model.toBytes(), { provider: 'cpu', threads })).session;
  const gradS = (await openSession(gm.model.toBytes(), { provider: 'cpu', threads })).session;
  const tPlain = await timeRuns(plain, { [inputName]: input }, [model.outputNames[0]!], reps);
  const tGated = await timeRuns(gatedS, { [inputName]: input, ...gates }, [model.outputNames[0]!], reps);
  const fetches = [gm.lossOutput, ...Object.values(gm.gradOutputs)];
  const tGrad = await timeRuns(gradS, { [inputName]: input, ...gates, ...lossFeed }, fetches, reps);
  const ratio = median(tGrad) / median(tPlain);
  console.log(`model ${name}, batch ${batch}, ${size}×${size}, CPU provider, threads ${threads ?? 'default'}, ${reps} reps (median)`);
  console.log(`gradient graph: ${gm.addedNodes} nodes added to ${gated.model.nodes.length}; built in ${buildMs.toFixed(0)} ms`);
  console.log(`plain forward   ${median(tPlain).toFixed(0)} ms   [${tPlain.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`gated forward   ${median(tGated).toFixed(0)} ms   [${tGated.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`gradient pass   ${median(tGrad).toFixed(0)} ms   [${tGrad.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`gradient / plain forward = ${ratio.toFixed(2)}×`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

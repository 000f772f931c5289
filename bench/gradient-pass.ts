// Time of one gradient pass (per-sample loss + gradients w.r.t. every per-sample gate, all inside
// onnxruntime) against a plain forward pass of the same model, on the trained fixtures.
//   node --import tsx bench/gradient-pass.ts [model=halfunet] [batch=8] [size=128] [reps=9] [threads=0]
// Besides wall-clock medians it reports the sum over nodes of each node's fastest kernel time
// (onnxruntime profiling over the same reps): on a machine shared with other jobs the wall clock
// of a whole run swings by 2× or more, while per-node minima stay put.
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src/core/onnx';
import { inferShapes } from '../src/core/analysis/shapes';
import { analyzeDependencies } from '../src/core/analysis/dependencyGroups';
import { buildGatedModel } from '../src/core/prune/gatedModel';
import { buildGradientModel } from '../src/core/autodiff';
import { ort } from '../src/core/runtime/session';
import { Rng } from '../src/core/util/rng';

interface Timing {
  wall: number[];
  /** Σ over nodes of the node's minimum kernel time, ms. */
  nodeMinSum: number;
  byOp: Map<string, number>;
}

async function measure(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, fetches: string[], reps: number, threads: number | undefined): Promise<Timing> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-gradbench-'));
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: path.join(dir, 'p') };
  if (threads) options.intraOpNumThreads = threads;
  const session = await ort.InferenceSession.create(bytes, options);
  await session.run(feeds, fetches); // warm-up: allocations, kernel selection
  const wall: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await session.run(feeds, fetches);
    wall.push(performance.now() - t0);
  }
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  const events = file ? (JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[]) : [];
  rmSync(dir, { recursive: true, force: true });
  const perNode = new Map<string, { op: string; min: number; seen: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const cur = perNode.get(e.name);
    // The first occurrence of each node is the warm-up run; skip it.
    if (!cur) perNode.set(e.name, { op: e.args?.op_name ?? '?', min: Infinity, seen: 0 });
    else cur.min = Math.min(cur.min, e.dur / 1000);
  }
  let nodeMinSum = 0;
  const byOp = new Map<string, number>();
  for (const v of perNode.values()) {
    if (!Number.isFinite(v.min)) continue;
    nodeMinSum += v.min;
    byOp.set(v.op, (byOp.get(v.op) ?? 0) + v.min);
  }
  return { wall: wall.sort((a, b) => a - b), nodeMinSum, byOp };
}

const median = (t: number[]) => t[Math.floor(t.length / 2)]!;
const top = (m: Map<string, number>, k: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([op, ms]) => `${op} ${ms.toFixed(1)}`)
    .join(', ');

async function main(): Promise<void> {
  const [name = 'halfunet', batchS = '8', sizeS = '128', repsS = '9', threadsS = '0'] = process.argv.slice(2);
  const batch = Number(batchS);
  const size = Number(sizeS);
  const reps = Number(repsS);
  const threads = Number(threadsS) || undefined;
  const model = await loadModel(`test/fixtures/${name}.onnx`);
  const classify = name === 'classifier';
  const out = model.outputNames[0]!;
  const shapes = await inferShapes(model, [1, 3, size, size]);
  const gated = buildGatedModel(model, analyzeDependencies(model, shapes), { layout: 'per-sample' });
  const t0 = performance.now();
  const gm = buildGradientModel(gated.model, {
    wrt: gated.gateInputs.map((g) => g.name),
    loss: classify ? { kind: 'cross-entropy', output: out, labels: 'labels' } : { kind: 'mse', output: out, target: 'target' },
  });
  const buildMs = performance.now() - t0;

  const rng = new Rng(1);
  const n = batch * 3 * size * size;
  const input = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.next()), [batch, 3, size, size]);
  const gates: Record<string, ort.Tensor> = {};
  for (const g of gated.gateInputs) gates[g.name] = new ort.Tensor('float32', new Float32Array(batch * g.size).fill(1), [batch, g.size, 1, 1]);
  const lossFeed: Record<string, ort.Tensor> = classify
    ? { labels: new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 4)), [batch]) }
    : { target: new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.next()), [batch, 3, size, size]) };
  const inputName = model.inputNames[0]!;

  const plain = await measure(model.toBytes(), { [inputName]: input }, [out], reps, threads);
  const gatedT = await measure(gated.model.toBytes(), { [inputName]: input, ...gates }, [out], reps, threads);
  const grad = await measure(gm.model.toBytes(), { [inputName]: input, ...gates, ...lossFeed }, [gm.lossOutput, ...Object.values(gm.gradOutputs)], reps, threads);

  console.log(`model ${name}, batch ${batch}, ${size}×${size}, CPU provider, intra-op threads ${threads ?? 'default'}, ${reps} timed runs after 1 warm-up`);
  console.log(`gradient graph: ${gm.addedNodes} nodes added to the gated model's ${gated.model.nodes.length}, built in ${buildMs.toFixed(0)} ms; ${gated.gateInputs.length} gate inputs`);
  const row = (label: string, t: Timing) =>
    console.log(`${label.padEnd(15)} wall median ${median(t.wall).toFixed(0).padStart(5)} ms (min ${t.wall[0]!.toFixed(0)})   Σ node minima ${t.nodeMinSum.toFixed(0).padStart(5)} ms`);
  row('plain forward', plain);
  row('gated forward', gatedT);
  row('gradient pass', grad);
  console.log(`gradient / plain forward: ${(median(grad.wall) / median(plain.wall)).toFixed(2)}× (wall medians), ${(grad.nodeMinSum / plain.nodeMinSum).toFixed(2)}× (Σ node minima)`);
  console.log(`gradient pass by op (Σ node minima, ms): ${top(grad.byOp, 10)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

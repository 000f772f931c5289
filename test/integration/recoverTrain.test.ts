// The recovery trainer end to end on a small fixture: it improves a damaged student, keeps the
// starting model when no step helps, is deterministic with a seed and stops on cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { firstSamples, loadDataset } from '../../src/core/data';
import { DataType, loadModel, makeValueInfo, type OnnxModel } from '../../src/core/onnx';
import { buildTrainingGraph, recalibrateBatchNorm, recoverWeights, trainableTensors, type RecoverOptions } from '../../src/core/recover';
import { openSession, ort } from '../../src/core/runtime/session';
import { CancelledError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/rng';

const FIX = path.join(__dirname, '..', 'fixtures');

/** The teacher with every trainable weight shifted by seeded noise of 15 % of its RMS. */
function damaged(model: OnnxModel): OnnxModel {
  const m = model.clone();
  const rng = new Rng(2);
  for (const w of trainableTensors(model)) {
    const rms = Math.sqrt(w.initial.reduce((a, v) => a + v * v, 0) / w.initial.length) || 1e-3;
    m.setInitializer(w.name, w.dims, w.initial.map((v) => v + 0.15 * rms * rng.normal()));
  }
  return m;
}

const base = (extra: Partial<RecoverOptions> = {}): RecoverOptions => ({ steps: 30, lr: 1e-4, batch: 4, crop: 32, timeBudgetSeconds: 0, patience: 100, validateEvery: 10, seed: 1, threads: 1, ...extra });

async function setup() {
  const teacher = await loadModel(path.join(FIX, 'dncnn.onnx'));
  const data = await loadDataset(path.join(FIX, 'data'), { patch: 48, seed: 0, maxPerSplit: { calib: 8, val: 4, test: 1 } });
  return { teacher, student: damaged(teacher), calib: data.calib, val: data.val, task: 'denoise' as const };
}

test('recovery improves a damaged student on the validation split, deterministically', async () => {
  const inp = await setup();
  const a = await recoverWeights(inp, base());
  assert.equal(a.metric, 'psnr');
  assert.ok(a.improved && a.after > a.before + 0.1, `validation PSNR ${a.before.toFixed(3)} → ${a.after.toFixed(3)}`);
  assert.equal(a.steps, 30);
  assert.equal(a.trace.filter((t) => t.validation !== undefined).length, 3);
  const b = await recoverWeights(inp, base());
  assert.deepEqual(b.trace, a.trace, 'same seed, same losses and validation values');
});

test('recovery never returns a model worse than its start: a diverging run keeps the student', async () => {
  const inp = await setup();
  // BN re-estimation off: it would improve the damaged student before any training step.
  const r = await recoverWeights(inp, base({ lr: 0.9, steps: 10, validateEvery: 2, recalibrateBatchNorm: false }));
  assert.equal(r.improved, false, `lr 0.9 should not help (validation ${r.before} → ${r.trace.map((t) => t.validation).join(',')})`);
  assert.equal(r.after, r.before);
  for (const w of trainableTensors(inp.student)) {
    assert.deepEqual(r.model.floatInitializer(w.name).data, w.initial, `${w.name} must be the student's own`);
  }
});

test('recovery stops by patience and by time budget, and on cancellation', async () => {
  const inp = await setup();
  const p = await recoverWeights(inp, base({ lr: 0.9, steps: 50, validateEvery: 2, patience: 2 }));
  assert.ok(p.stoppedBy === 'patience' || p.stoppedBy === 'diverged', p.stoppedBy);
  assert.ok(p.steps < 50);
  const t = await recoverWeights(inp, base({ steps: 100000, timeBudgetSeconds: 2 }));
  assert.equal(t.stoppedBy, 'time');
  const ac = new AbortController();
  await assert.rejects(recoverWeights(inp, base({ signal: ac.signal, onProgress: (s) => s.step === 3 && ac.abort() })), CancelledError);
});

test('recovery rejects bad settings by name', async () => {
  const inp = await setup();
  await assert.rejects(recoverWeights(inp, base({ steps: 0 })), /recover\.steps/);
  await assert.rejects(recoverWeights(inp, base({ lr: -1 })), /recover\.lr/);
  await assert.rejects(recoverWeights(inp, base({ batch: 1.5 })), /recover\.batch/);
});

test('BatchNormalization re-estimation: the first BN gets the mean and variance of its input over the data', async () => {
  const teacher = await loadModel(path.join(FIX, 'dncnn.onnx'));
  const data = await loadDataset(path.join(FIX, 'data'), { patch: 32, seed: 0, maxPerSplit: { calib: 8, val: 2, test: 1 } });
  const calib = await firstSamples(data.calib, data.calib.count);
  const bn = teacher.graph.node.find((n) => n.opType === 'BatchNormalization')!;
  const r = await recalibrateBatchNorm(teacher, calib.input, calib.shape, 4, { provider: 'cpu', threads: 1 });
  assert.ok(r && r.layers >= 1);
  // The first BN's input does not depend on any BN, so plain moments of it are the reference.
  const probe = teacher.clone();
  probe.graph.output.push(makeValueInfo(bn.input[0]!, undefined, DataType.FLOAT));
  probe.invalidate();
  const s = await openSession(probe.toBytes(), { provider: 'cpu', threads: 1 });
  const x = (await s.session.run({ [s.session.inputNames[0]!]: new ort.Tensor('float32', calib.input, calib.shape) }, [bn.input[0]!]))[bn.input[0]!]!;
  await s.session.release();
  const [n, c, h, w] = x.dims as number[];
  const d = x.data as Float32Array;
  const mean = r!.model.constant(bn.input[3]!)!.data as Float32Array;
  const variance = r!.model.constant(bn.input[4]!)!.data as Float32Array;
  for (let ch = 0; ch < c!; ch++) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n!; i++) for (let k = 0; k < h! * w!; k++) {
      const v = d[(i * c! + ch) * h! * w! + k]!;
      s1 += v;
      s2 += v * v;
    }
    const m = s1 / (n! * h! * w!);
    const varRef = s2 / (n! * h! * w!) - m * m;
    assert.ok(Math.abs(mean[ch]! - m) <= 1e-4 * (1 + Math.abs(m)), `channel ${ch}: mean ${mean[ch]} vs ${m}`);
    assert.ok(Math.abs(variance[ch]! - varRef) <= 1e-3 * (1 + varRef), `channel ${ch}: variance ${variance[ch]} vs ${varRef}`);
  }
  // The stored statistics differ from these (they came from the training data), so the check bites.
  const stored = teacher.constant(bn.input[3]!)!.data as Float32Array;
  assert.ok(stored.some((v, k) => Math.abs(v - mean[k]!) > 1e-3));
});

test('a classifier trains on logit distillation plus cross-entropy on its labels', async () => {
  const teacher = await loadModel(path.join(FIX, 'classifier.onnx'));
  const data = await loadDataset(path.join(FIX, 'cls'), { seed: 0, maxPerSplit: { calib: 16, val: 8, test: 1 } });
  const graph = buildTrainingGraph(damaged(teacher), { labelWeight: 1 });
  assert.ok(graph.labels, 'the graph has a labels input');
  // The in-graph loss equals MSE(logits, target) + cross-entropy, computed here from the logits.
  const calib = await firstSamples(data.calib, 4);
  const s = await openSession(graph.model.toBytes(), { provider: 'cpu', threads: 1 });
  const x = new ort.Tensor('float32', calib.input, calib.shape);
  const fwd = await openSession(teacher.toBytes(), { provider: 'cpu', threads: 1 });
  const t = (await fwd.session.run({ [fwd.session.inputNames[0]!]: x }))[fwd.session.outputNames[0]!]!;
  await fwd.session.release();
  const feeds: Record<string, ort.Tensor> = { [graph.input]: x, [graph.teacher]: t, [graph.labels!]: new ort.Tensor('int64', BigInt64Array.from(calib.labels!, (v) => BigInt(v)), [4]) };
  for (const w of graph.weights) feeds[w.name] = new ort.Tensor('float32', w.initial, w.dims);
  const out = await s.session.run(feeds, [graph.lossOutput, graph.output]);
  await s.session.release();
  const z = out[graph.output]!.data as Float32Array;
  const k = z.length / 4;
  const td = t.data as Float32Array;
  const loss = out[graph.lossOutput]!.data as Float32Array;
  for (let i = 0; i < 4; i++) {
    const row = z.subarray(i * k, (i + 1) * k);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
    let mse = 0;
    for (let j = 0; j < k; j++) mse += (row[j]! - td[i * k + j]!) ** 2;
    const want = mse / k + (lse - row[calib.labels![i]!]!);
    assert.ok(Math.abs(loss[i]! - want) <= 1e-4 * (1 + want), `sample ${i}: ${loss[i]} vs ${want}`);
  }
  const r = await recoverWeights({ teacher, student: damaged(teacher), calib: data.calib, val: data.val, task: 'classify' }, base({ steps: 10, validateEvery: 5, lr: 1e-3 }));
  assert.equal(r.metric, 'accuracy');
  assert.ok(r.after >= r.before);
  assert.equal(r.setup.poolSamples, data.calib.count, 'classifiers use every calibration sample');
});

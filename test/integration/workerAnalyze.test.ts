// The editor's analysis through the real worker process: one request per model, the open input
// size taken from the request (and named in the document), the model's own size kept when it
// fixes one, progress steps announced, and failures carrying their kind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startAnalyze, type WorkerClientOptions } from '../../src/worker/client';
import type { AnalysisStep } from '../../src/core/analysis/report';
import { FIXTURES, ROOT, TSX, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';

const WORKER = path.join(ROOT, 'src', 'worker', 'worker.ts');
after(removeTempDirs);

const needs = (name: string) => (existsSync(path.join(FIXTURES, name)) ? false : `test/fixtures/${name} missing: run tools/make_fixtures.py`);

function analyze(model: string, shape: { size?: number; inputShape?: number[] }) {
  const steps: AnalysisStep[] = [];
  const opts: WorkerClientOptions = { workerPath: WORKER, execArgv: ['--import', TSX], onAnalysisProgress: (s) => steps.push(s) };
  return startAnalyze(model, opts, shape).finished.then((outcome) => ({ outcome, steps }));
}

test('an open height/width is analysed at the request\'s size in one request, with the steps reported', { skip: needs('dncnn.onnx') }, async () => {
  // One worker process answers with the document: no failed first try to fill the size from.
  const { outcome, steps } = await analyze(path.join(FIXTURES, 'dncnn.onnx'), { size: 96 });
  assert.equal(outcome.kind, 'analysis', JSON.stringify(outcome));
  const doc = (outcome as { document: { inputShape: number[]; warnings: string[]; totals: { macs: number } } }).document;
  assert.deepEqual(doc.inputShape, [1, 3, 96, 96]);
  assert.equal(doc.warnings[0], "the model's input size is open; figures are for input 1×3×96×96 (setting quboPrune.analysisSize)");
  assert.deepEqual(steps, ['reading', 'shapes', 'dependencies']);
  // The figures follow the size: the same model at 48 has a quarter of the MACs.
  const small = await analyze(path.join(FIXTURES, 'dncnn.onnx'), { size: 48 });
  assert.equal((small.outcome as { document: { totals: { macs: number } } }).document.totals.macs * 4, doc.totals.macs);
});

test('a model that fixes its input size keeps it; the size is not used and no note is added', { skip: needs('classifier.onnx') }, async () => {
  const { outcome } = await analyze(path.join(FIXTURES, 'classifier.onnx'), { size: 17 });
  assert.equal(outcome.kind, 'analysis', JSON.stringify(outcome));
  const doc = (outcome as { document: { inputShape: number[]; warnings: string[] } }).document;
  assert.ok(!doc.inputShape.slice(2).includes(17), `analysed at ${doc.inputShape.join('×')}`);
  assert.ok(!doc.warnings.some((w) => /input size is open/.test(w)));
});

test('a file that is not a model fails as an input error; the kind crosses the protocol', async () => {
  const bad = path.join(tempDir('qp-worker-analyze-'), 'bad.onnx');
  writeFileSync(bad, 'not a protobuf at all');
  const { outcome, steps } = await analyze(bad, { size: 64 });
  assert.equal(outcome.kind, 'failed');
  assert.equal((outcome as { errorKind: string }).errorKind, 'input', JSON.stringify(outcome));
  assert.deepEqual(steps, ['reading']);
});

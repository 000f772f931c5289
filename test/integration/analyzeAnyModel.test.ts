// `qubo-prune analyze` on the model files users bring: open height/width, external data, the
// oldest and newest supported opsets. (Files over 100 MB are measured by hand, docs/ANALYSIS.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runAnalyze } from '../../src/cli/commands/analyze';
import { tinyConvNet } from '../helpers/tinyModels';

const fixtures = path.join(__dirname, '..', 'fixtures');
const tmp = mkdtempSync(path.join(tmpdir(), 'qp-any-model-'));
const needs = (name: string) => (existsSync(path.join(fixtures, name)) ? false : `test/fixtures/${name} missing: run tools/make_fixtures.py`);

test('an [N,3,H,W] model with symbolic H and W is analysed at the default size, and says so', { skip: needs('dncnn.onnx') }, async () => {
  const r = await runAnalyze([path.join(fixtures, 'dncnn.onnx')]);
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.document!.inputShape, [1, 3, 256, 256]);
  assert.match(r.document!.warnings[0]!, /figures are for input 1×3×256×256/);
  assert.match(r.stdout, /input +\S+ \[1,3,256,256\]/);
  assert.match(r.stdout, /warning +the model's input size is open; figures are for input 1×3×256×256/);
  // The figures follow the size: MACs scale with the pixel count, parameters do not move.
  const small = await runAnalyze([path.join(fixtures, 'dncnn.onnx'), '--input-shape', '1,3,64,64']);
  assert.equal(small.document!.totals.params, r.document!.totals.params);
  assert.equal(small.document!.totals.macs * 16, r.document!.totals.macs);
  assert.ok(!small.document!.warnings.some((w) => /input size is open/.test(w)), 'no note when the size is given');
});

test('a model with external data gives the figures of the same model stored inline', { skip: needs('halfunet_ext.onnx') || needs('halfunet.onnx') }, async () => {
  const ext = await runAnalyze([path.join(fixtures, 'halfunet_ext.onnx'), '--json', '-']);
  const inline = await runAnalyze([path.join(fixtures, 'halfunet.onnx'), '--json', '-']);
  assert.equal(ext.exitCode, 0);
  assert.deepEqual(ext.document!.totals, inline.document!.totals);
  assert.deepEqual(ext.document!.groups.map((g) => g.size), inline.document!.groups.map((g) => g.size));
});

for (const opset of [11, 21]) {
  test(`opset ${opset} with open height/width analyses like opset 17`, async () => {
    const file = path.join(tmp, `tiny${opset}.onnx`);
    await tinyConvNet(1, opset).save(file);
    const ref = path.join(tmp, 'tiny17.onnx');
    await tinyConvNet(1, 17).save(ref);
    const r = await runAnalyze([file]);
    const base = await runAnalyze([ref]);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, new RegExp(`opset ${opset}\\b`));
    assert.deepEqual(r.document!.inputShape, [1, 3, 256, 256]);
    assert.deepEqual(r.document!.totals, base.document!.totals);
    assert.equal(r.document!.groups.length, base.document!.groups.length);
  });
}

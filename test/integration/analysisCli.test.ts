import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseInputShapeOption, runAnalyze, strictProblems } from '../../src/cli/commands/analyze';
import { CliError } from '../../src/cli/cliError';
import { OnnxModelError } from '../../src/core/onnx';
import { ShapeInferenceError } from '../../src/core/analysis/shapes';
import { ANALYSIS_SCHEMA_VERSION, analyzeModel, formatAnalysisText, type AnalysisDocument } from '../../src/core/analysis/report';
import { layerZoo, unknownOpNet } from '../helpers/analysisGraphs';
import { tinyConvNet } from '../helpers/tinyModels';

const root = path.join(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures');
const tmp = mkdtempSync(path.join(tmpdir(), 'qp-analyze-'));
const skipNoFixture = (name: string) => (existsSync(path.join(fixtures, `${name}.onnx`)) ? false : `test/fixtures/${name}.onnx missing: run tools/make_fixtures.py`);

describe('analyze command', () => {
  test('--input-shape parsing', () => {
    assert.equal(parseInputShapeOption(undefined), undefined);
    assert.deepEqual(parseInputShapeOption(['1,3,256,256']), [1, 3, 256, 256]);
    assert.deepEqual(parseInputShapeOption(['1x3x64x64']), [1, 3, 64, 64]);
    assert.deepEqual(parseInputShapeOption(['img=1,3,8,8', 'mask=1,1,8,8']), { img: [1, 3, 8, 8], mask: [1, 1, 8, 8] });
    for (const bad of [['1,3,a,4'], ['1,,3'], ['1,3,0,4'], ['1,3,8,8', '1,3,4,4'], ['img=1,3,8,8', '1,1,8,8'], ['=1,2']]) {
      assert.throws(() => parseInputShapeOption(bad), CliError, bad.join(' '));
    }
  });

  test('table and JSON document for a hand-built model', async () => {
    const file = path.join(tmp, 'zoo.onnx');
    await layerZoo().save(file);
    const out = path.join(tmp, 'zoo.json');
    const r = await runAnalyze([file, '--input-shape', '1,4,16,16', '--json', out]);
    assert.equal(r.exitCode, 0);
    for (const s of ['conv_s', 'conv_g', 'convT', 'gemm', 'matmul', '4→8', '8→6', '772', '43.07K']) assert.ok(r.stdout.includes(s), `table shows ${s}\n${r.stdout}`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as AnalysisDocument;
    assert.equal(doc.schemaVersion, ANALYSIS_SCHEMA_VERSION);
    assert.equal(doc.kind, 'qubo-prune.analysis');
    assert.deepEqual(doc.inputShape, [1, 4, 16, 16]);
    assert.deepEqual(doc.inputShapes, { x: [1, 4, 16, 16] });
    assert.deepEqual(doc.model.inputs, [{ name: 'x', declared: ['N', 4, 'H', 'W'], shape: [1, 4, 16, 16], dtype: 'float32' }]);
    assert.deepEqual(doc.model.outputs.map((o) => [o.name, o.shape]), [['y', [1, 7]], ['gram', [5, 5]]]);
    assert.equal(doc.model.opTypes.Conv, 2);
    assert.equal(doc.totals.params, 772);
    assert.equal(doc.totals.macs, 18432 + 18432 + 6144 + 30 + 35);
    assert.deepEqual(doc.layers.map((l) => l.node), ['conv_s', 'conv_g', 'convT', 'gemm', 'matmul']);
    assert.deepEqual(doc.layers[0]!.outputShape, [1, 8, 8, 8]);
    assert.ok(Array.isArray(doc.groups) && Array.isArray(doc.locked) && Array.isArray(doc.unknownOps));
    assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'atomic write leaves no temp file');
  });

  test("--json - prints the document instead of the table", async () => {
    const file = path.join(tmp, 'zoo2.onnx');
    await layerZoo(['N', 4, 8, 8]).save(file);
    const r = await runAnalyze([file, '--json', '-']);
    const doc = JSON.parse(r.stdout) as AnalysisDocument;
    assert.deepEqual(doc.inputShapes, { x: [1, 4, 8, 8] });
    assert.equal(doc.model.path, file);
  });

  test('bad input: specific errors', async () => {
    await assert.rejects(runAnalyze([]), (e: CliError) => e instanceof CliError && e.message.includes('missing the model file'));
    await assert.rejects(runAnalyze(['a.onnx', 'b.onnx']), CliError);
    await assert.rejects(runAnalyze(['--bogus', 'a.onnx']), CliError);
    await assert.rejects(runAnalyze([path.join(tmp, 'nope.onnx')]), (e: OnnxModelError) => e.code === 'file-not-found');
    const file = path.join(tmp, 'sym.onnx');
    await layerZoo().save(file);
    // Symbolic height/width: analysed at the documented default, and the output says so.
    const filled = await runAnalyze([file]);
    assert.equal(filled.exitCode, 0);
    assert.deepEqual(filled.document!.inputShape.slice(2), [256, 256]);
    assert.match(filled.stdout, /figures are for input 1×\d+×256×256 \(default; set --input-shape to change\)/);
    await assert.rejects(runAnalyze([file, '--input-shape', '1,3,16,16']), (e: ShapeInferenceError) => e.code === 'bad-input-shape');
    await assert.rejects(
      runAnalyze([file, '--input-shape', '1,4,16,16', '--json', path.join(tmp, 'no-such-dir', 'x.json')]),
      // Checked before the analysis, as every output path is (test/integration/outputSafety.test.ts).
      (e: Error & { code?: string }) => e.name === 'OutputError' && e.code === 'output-unwritable' && e.message.startsWith('cannot write') && /no-such-dir/.test(e.message),
    );
    const help = await runAnalyze(['--help']);
    assert.equal(help.exitCode, 0);
    assert.ok(help.stdout.includes('--input-shape'));
  });

  test('the CLI prints one clean line and exits 1 for a file that is not ONNX', () => {
    const notOnnx = path.join(tmp, 'notes.onnx');
    writeFileSync(notOnnx, 'just some text, certainly not a protobuf model\n'.repeat(3));
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), 'analyze', notOnnx], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`qubo-prune analyze: '${notOnnx}' is `), lines[0]);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });

  test('group and lock columns', async () => {
    const doc = await analyzeModel(tinyConvNet(), { inputShape: [1, 3, 8, 8] });
    assert.equal(doc.dependenciesAnalysed, true);
    const [conv1, conv2] = doc.layers;
    assert.deepEqual([conv1!.status, conv1!.group, conv1!.lockReason], ['prunable', 'conv1', null]);
    assert.deepEqual([conv2!.status, conv2!.group, conv2!.lockReason], ['locked', null, 'graph-output']);
    assert.deepEqual(doc.groups.map((g) => [g.id, g.size, g.producers, g.consumers]), [['conv1', 8, ['conv1'], ['conv2']]]);
    assert.deepEqual([doc.totals.groups, doc.totals.variables], [1, 8]);
    assert.equal(doc.totals.lockedChannels, doc.locked.reduce((s, l) => s + l.channels, 0));
    assert.deepEqual(strictProblems(doc), []);
    const text = formatAnalysisText(doc);
    assert.match(text, /^1 +conv1 +Conv +3→8 .* g0 +prunable$/m);
    assert.match(text, /^2 +conv2 +Conv +8→3 .* - +locked: graph-output$/m);
    assert.match(text, /^ +g0 +8 channels +conv1$/m);
  });

  test('--strict fails on ops the channel analysis does not know, after printing the report', async () => {
    const file = path.join(tmp, 'shrink.onnx');
    await unknownOpNet().save(file);
    const plain = await runAnalyze([file]);
    assert.equal(plain.exitCode, 0);
    assert.deepEqual(plain.document!.unknownOps, ['Shrink']);
    assert.ok(plain.stdout.includes('warning  unknown ops: Shrink'), plain.stdout);
    const strict = await runAnalyze([file, '--strict']);
    assert.equal(strict.exitCode, 1);
    assert.ok(strict.stdout.includes('conv1'), 'the report is still printed');
    assert.match(strict.stderr, /^strict: unknown ops: Shrink/);
  });

  test('fixture: dncnn table and totals', { skip: skipNoFixture('dncnn') }, async () => {
    const r = await runAnalyze([path.join(fixtures, 'dncnn.onnx'), '--input-shape', '1,3,32,32']);
    assert.equal(r.exitCode, 0);
    assert.equal(r.document!.totals.params, 57443);
    assert.equal(r.document!.layers.length, 8);
    assert.ok(r.stdout.includes('57,443'));
    assert.ok(r.stdout.includes('/body/body.0/Conv'));
  });

  test('fixture: classifier residual branches share one group', { skip: skipNoFixture('classifier') }, async () => {
    const r = await runAnalyze([path.join(fixtures, 'classifier.onnx'), '--strict']);
    assert.equal(r.exitCode, 0, r.stderr);
    const doc = r.document!;
    const group = (node: string) => doc.layers.find((l) => l.node === node)!.group;
    assert.ok(group('/main/main.3/Conv'));
    assert.equal(group('/main/main.3/Conv'), group('/shortcut/shortcut.0/Conv'), 'Add ties the two branches');
    assert.notEqual(group('/main/main.0/Conv'), group('/main/main.3/Conv'));
    assert.equal(doc.layers.find((l) => l.node === '/fc/Gemm')!.status, 'locked');
    assert.equal(doc.totals.variables, doc.groups.reduce((s, g) => s + g.size, 0));
    for (const l of doc.layers) if (l.group) assert.ok(doc.groups.find((g) => g.id === l.group)!.producers.includes(l.node), l.node);
  });
});

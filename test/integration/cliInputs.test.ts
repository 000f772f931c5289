// Bad input given to the CLI as a user would give it (a child process): every case must end with
// exit 1 and one line that names the problem, never a stack trace, a RangeError, a silently
// replaced value or a failure found only after the long stages have run.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core/onnx';
import { DATA, FIXTURES, modelCopy, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';
import { runCli, showRun, type CliResult } from '../helpers/cli';
import { GraphBuilder } from '../helpers/graphs';

const HALFUNET = path.join(FIXTURES, 'halfunet.onnx');

const cli = (args: string[]) => runCli(args);

const show = showRun;

/** Exit 1 with a message matching `pattern` and no crash markers. */
function assertBadInput(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, pattern, show(r));
  assert.doesNotMatch(r.stderr, /RangeError|\n\s+at |ambiguous/, show(r));
}

/** Overrides for a pipeline run of a few seconds. */
function tinyConfig(extra: Record<string, unknown> = {}, prefix = ''): string {
  const file = path.join(tempDir('qp-inputs-cfg-'), 'tiny.jsonc');
  const cfg = { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'off' }, recover: false, ...extra };
  writeFileSync(file, `${prefix}// test budgets\n${JSON.stringify(cfg, null, 1)}\n`);
  return file;
}

/** A copy of the Half-UNet whose input declares `dims` (numbers fixed, strings symbolic). */
async function modelDeclaring(dims: (number | string)[]): Promise<string> {
  const model = await loadModel(HALFUNET);
  const t = model.realInputs[0]!.type!.value;
  assert.equal(t.case, 'tensorType');
  t.value!.shape!.dim.forEach((d, i) => {
    const v = dims[i]!;
    d.value = typeof v === 'number' ? { case: 'dimValue', value: BigInt(v) } : { case: 'dimParam', value: v };
  });
  const file = path.join(tempDir('qp-inputs-dims-'), 'declared.onnx');
  writeFileSync(file, model.toBytes());
  return file;
}


/** Two convolutions from 3-channel images to `outChannels` channels at full resolution. */
async function imageModel(dir: string, name: string, outChannels: number): Promise<string> {
  const file = path.join(dir, name);
  const b = new GraphBuilder(21);
  b.conv('head', b.relu('relu1', b.conv('conv1', 'input', 3, 8)), 8, outChannels);
  await b.build('head').save(file);
  return file;
}

describe('huge or invalid shapes (exit 1, clear message)', () => {
  after(removeTempDirs);
  const out = () => path.join(tempDir('qp-inputs-out-'), 'p.onnx');

  test('--input-shape 1,3,100000,100000: analyze, data-free prune and the pipeline refuse it up front', async () => {
    assertBadInput(await cli(['analyze', HALFUNET, '--input-shape', '1,3,100000,100000']), /input shape \[1,3,100000,100000\].*smaller input shape/);
    assertBadInput(await cli(['prune', HALFUNET, '--sparsity', '0.3', '--out', out(), '--input-shape', '1,3,100000,100000']), /input shape \[1,3,100000,100000\]/);
    const r = await cli(['prune', HALFUNET, '--data', DATA, '--config', tinyConfig(), '--out', out(), '--input-shape', '1,3,100000,100000']);
    assertBadInput(r, /input shape \[1,3,100000,100000\]/);
  });

  test('a shape within the array limit but over the memory budget names the estimate and the limit', async () => {
    const r = await cli(['analyze', HALFUNET, '--input-shape', '1,3,20000,20000']);
    assertBadInput(r, /is too large: its largest activation \(32 channels\) would take about [\d.]+ GiB, over the [\d.]+ [GM]iB limit/);
  });

  test('a model that declares 100000×100000', async () => {
    const model = await modelDeclaring(['batch', 3, 100000, 100000]);
    assertBadInput(await cli(['analyze', model]), /input shape \[1,3,100000,100000\]/);
    assertBadInput(await cli(['prune', model, '--sparsity', '0.3', '--out', out()]), /input shape \[1,3,100000,100000\]/);
  });

  test('a model that declares −5 or 0 as a size (onnxruntime refuses any feed against it, so a given shape cannot help)', async () => {
    for (const dims of [['batch', 3, -5, 64], ['batch', 3, 0, 0]] as (number | string)[][]) {
      const model = await modelDeclaring(dims);
      const bad = /declares \[batch,3,(-5,64|0,0)\]: (-5 \(axis 2\)|0 \(axis 2\), 0 \(axis 3\)) is not a valid size; re-export the model/;
      assertBadInput(await cli(['analyze', model]), bad);
      assertBadInput(await cli(['analyze', model, '--input-shape', '1,3,64,64']), bad);
      assertBadInput(await cli(['prune', model, '--sparsity', '0.3', '--out', out()]), bad);
      assertBadInput(await cli(['prune', model, '--data', DATA, '--config', tinyConfig(), '--out', out()]), bad);
    }
  });

  test('solve: 2e7 locked channels, and 30000 channels in one group', async () => {
    const dir = tempDir('qp-inputs-solve-');
    const locked = path.join(dir, 'locked.json');
    writeFileSync(locked, JSON.stringify({ objective: 'direct', beta: 0, sparsity: 0.3, groups: [{ id: 'stem', size: 2e7, locked: true }, { id: 'a', h: [1, 2, 3, 4] }] }));
    assertBadInput(await cli(['solve', locked]), /group 'stem' has 20000000 channels: .*split it into smaller groups/);
    const wide = path.join(dir, 'wide.json');
    writeFileSync(wide, JSON.stringify({ objective: 'direct', beta: 0, sparsity: 0.3, groups: [{ id: 'wide', h: Array.from({ length: 30000 }, (_, i) => i % 7) }] }));
    assertBadInput(await cli(['solve', wide]), /30000 channels in 1 group, largest 'wide'.* needs about [\d.]+ GiB .* over the [\d.]+ [GM]iB limit/);
  });
});

describe('flags and advice', () => {
  after(removeTempDirs);
  const out = () => path.join(tempDir('qp-inputs-out-'), 'p.onnx');

  test("--sparsity '' is refused, not replaced by a default (both forms)", async () => {
    assertBadInput(await cli(['prune', HALFUNET, '--sparsity', '', '--out', out()]), /--sparsity needs a value/);
    assertBadInput(await cli(['prune', HALFUNET, '--data', DATA, '--config', tinyConfig(), '--sparsity', '', '--out', out()]), /--sparsity needs a value/);
  });

  test('a model whose output fits no task (3-channel images in, 1 channel out) is refused before calibration', async () => {
    const dir = tempDir('qp-inputs-task-');
    const model = await imageModel(dir, 'onechannel.onnx', 1);
    const r = await cli(['prune', model, '--data', DATA, '--config', tinyConfig(), '--out', path.join(dir, 'p.onnx')]);
    assertBadInput(r, /maps 3-channel images to outputs \[N, 1, 32, 32\]; pruning with data supports classifiers .*segmentation maps/);
    assert.doesNotMatch(r.stderr, /Calibrate/, showRun(r));
  });

  test('a segmentation-like model (3-channel images in, 5 channels out) runs as segmentation, scored against its own prediction', async () => {
    const dir = tempDir('qp-inputs-seg-');
    const model = await imageModel(dir, 'seg.onnx', 5);
    const r = await cli(['prune', model, '--data', DATA, '--config', tinyConfig(), '--out', path.join(dir, 'p.onnx')]);
    assert.equal(r.code, 0, showRun(r));
    assert.match(r.stderr + r.stdout, /segmentation/, showRun(r));
    const report = JSON.parse(readFileSync(path.join(dir, 'p.report.json'), 'utf8')) as { data: { task: string }; metrics: { after: { pixelAgreement?: number } } };
    assert.equal(report.data.task, 'segment');
    const agreement = report.metrics.after.pixelAgreement;
    assert.ok(agreement !== undefined && agreement >= 0 && agreement <= 1, `pixel agreement ${agreement}`);
  });

  test('--round-to at or above the largest group is refused, naming its size (both forms)', async () => {
    assertBadInput(await cli(['prune', HALFUNET, '--sparsity', '0.3', '--round-to', '1000', '--out', out()]), /--round-to 1000 would keep every channel: .*largest group has 32 channels; use a value below 32/);
    const r = await cli(['prune', HALFUNET, '--data', DATA, '--config', tinyConfig({ roundTo: 32 }), '--out', out()]);
    assertBadInput(r, /roundTo 32 would keep every channel/);
    assert.doesNotMatch(r.stderr, /Calibrate/, 'refused right after the analysis');
  });

  test('--method hybrid | taylor | l1-qubo without --data says it needs --data', async () => {
    for (const m of ['hybrid', 'taylor', 'l1-qubo']) {
      const r = await cli(['prune', HALFUNET, '--sparsity', '0.3', '--method', m, '--out', out()]);
      assertBadInput(r, new RegExp(`method '${m}' is data-driven: it needs --data DIR`));
      assert.doesNotMatch(r.stderr, /unknown/);
    }
    assertBadInput(await cli(['prune', HALFUNET, '--sparsity', '0.3', '--method', 'bogus', '--out', out()]), /unknown pruning method 'bogus'/);
  });

  test('negative numbers reach the range checks instead of "argument is ambiguous"', async () => {
    assertBadInput(await cli(['prune', HALFUNET, '--sparsity', '-0.3', '--out', out()]), /sparsity must be in \[0, 1\), got -0\.3/);
    assertBadInput(await cli(['prune', HALFUNET, '--data', DATA, '--config', tinyConfig(), '--seed', '-3', '--out', out()]), /seed: must be in \[0, \d+\], got -3/);
    assertBadInput(await cli(['solve', path.join(FIXTURES, 'models.json'), '--seed', '-3']), /--seed must be an integer ≥ 0, got '-3'/);
    const { dir, model } = modelCopy('qp-inputs-neg-');
    const ok = await cli(['prune', model, '--sparsity', '0.3', '--seed', '-3', '--method', 'random', '--out', path.join(dir, 'p.onnx')]);
    assert.equal(ok.code, 0, show(ok));
  });

  test('a config file saved with a UTF-8 byte-order mark is read', async () => {
    // An out-of-range value in the file proves it was parsed (and reached validation).
    const r = await cli(['prune', HALFUNET, '--data', DATA, '--config', tinyConfig({ sparsity: 2 }, '\uFEFF'), '--out', out()]);
    assertBadInput(r, /sparsity: must be in \[0, 1\), got 2/);
    assert.doesNotMatch(r.stderr, /not valid JSON/);
  });

  test('--noise is an option of prune --data, documented in its usage', async () => {
    const help = await cli(['prune', '--help']);
    assert.equal(help.code, 0, show(help));
    assert.match(help.stdout, /--noise SPEC/);
    assertBadInput(await cli(['prune', HALFUNET, '--data', DATA, '--noise', 'bogus', '--out', out()]), /noise: must be null, 'gaussian:σ'/);
    // Clean images only (flat folder): the noise is what makes them a denoising set.
    const clean = tempDir('qp-inputs-clean-');
    for (const split of ['calib', 'val', 'test']) {
      for (const f of readdirSync(path.join(DATA, split, 'clean'))) copyFileSync(path.join(DATA, split, 'clean', f), path.join(clean, `${split}-${f}`));
    }
    const { dir, model } = modelCopy('qp-inputs-noise-');
    const r = await cli(['prune', model, '--data', clean, '--noise', 'gaussian:25', '--config', tinyConfig(), '--sparsity', '0.25']);
    assert.equal(r.code, 0, show(r));
    const report = JSON.parse(readFileSync(path.join(dir, 'halfunet.pruned.report.json'), 'utf8'));
    assert.equal(report.settings.noise, 'gaussian:25');
  });

  test("advice names settings the pipeline has (no splits.val = 0, no pad: 'reflect')", async () => {
    // Pre-split without val/.
    const noVal = tempDir('qp-inputs-noval-');
    for (const split of ['calib', 'test']) cpSync(path.join(DATA, split), path.join(noVal, split), { recursive: true });
    const r1 = await cli(['prune', HALFUNET, '--data', noVal, '--config', tinyConfig(), '--out', out()]);
    assertBadInput(r1, /has no val\/ sub-folder \(add a val\/ sub-folder, or put all images in one folder/);
    assert.doesNotMatch(r1.stderr, /splits\./);
    // Images smaller than the patch.
    const small = path.join(tempDir('qp-inputs-small-'), 'small');
    for (const side of ['noisy', 'clean']) {
      mkdirSync(path.join(small, side), { recursive: true });
      for (const f of readdirSync(path.join(FIXTURES, 'cls', 'calib', 'rot0'))) copyFileSync(path.join(FIXTURES, 'cls', 'calib', 'rot0', f), path.join(small, side, f));
    }
    const r2 = await cli(['prune', HALFUNET, '--data', small, '--config', tinyConfig({ patch: 256 }), '--out', out()]);
    assertBadInput(r2, /is larger than .* Use a smaller patch: the setting 'patch' \(now 256\) in --config, or --input-shape/);
    assert.doesNotMatch(r2.stderr, /reflect/);
  });

  test('classification data given to a denoiser is reported as such, not as "patch too large"', async () => {
    const r = await cli(['prune', HALFUNET, '--data', path.join(FIXTURES, 'cls'), '--config', tinyConfig({ patch: 256 }), '--out', out()]);
    assertBadInput(r, /holds one folder per class \(classification data\), but the model is a denoiser/);
    assert.doesNotMatch(r.stderr, /larger than|patch/i);
  });

  test('a corrupt PNG fails before calibration starts, naming the file', async () => {
    const data = path.join(tempDir('qp-inputs-corrupt-'), 'data');
    cpSync(DATA, data, { recursive: true });
    // Header intact (so loading the headers passes), pixel data cut off; in the test split, which only the last stage reads.
    const bad = path.join(data, 'test', 'noisy', '005.png');
    truncateSync(bad, 300);
    const r = await cli(['prune', HALFUNET, '--data', data, '--config', tinyConfig(), '--out', out()]);
    assertBadInput(r, /005\.png/);
    assert.doesNotMatch(r.stderr, /Calibrate|QUBO|Export|Evaluate/, show(r));
  });

  test('analyze of a model with symbolic height/width works without --input-shape and says which size it used', async () => {
    const r = await cli(['analyze', HALFUNET]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /figures are for input 1×3×256×256 \(default; set --input-shape to change\)/);
    assert.match(r.stdout, /MACs .* at \[1,3,256,256\]/);
    const json = await cli(['analyze', HALFUNET, '--json', '-']);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(doc.inputShape, [1, 3, 256, 256]);
    assert.match(doc.warnings[0], /figures are for input 1×3×256×256/);
  });
});

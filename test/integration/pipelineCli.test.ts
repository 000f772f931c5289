// `qubo-prune prune model.onnx --data DIR` as a user runs it: a child process (node + tsx, so no
// build is needed), checked by exit code, output files, printed summary and what is left on disk.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA, checkReports, listing, modelCopy, recomputePsnr, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';
import { runCli, showRun, type CliOptions, type CliResult } from '../helpers/cli';


/** Preset overrides for a run of about a second (the config file is the CLI's way to set them). */
function tinyConfig(extra: Record<string, unknown> = {}, refine: Record<string, unknown> = {}): string {
  const dir = tempDir('qp-cli-config-');
  const file = path.join(dir, 'tiny.jsonc');
  const cfg = { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, recover: false, ...extra, refine: { scope: 'network', evaluations: 10, seconds: 5, valSamples: 2, ...refine } };
  writeFileSync(file, `// test budgets\n${JSON.stringify(cfg, null, 1)}\n`);
  return file;
}

function cli(args: string[], onStderr?: CliOptions['onStderr']): Promise<CliResult> {
  return runCli(args, onStderr ? { onStderr } : {});
}

const show = showRun;

describe('qubo-prune prune --data (child process)', () => {
  after(removeTempDirs);

  test('exit 0: the pruned model and both reports, and a summary whose PSNR is the report’s and the file’s', async () => {
    const { dir, model } = modelCopy('qp-cli-ok-');
    const r = await cli(['prune', model, '--data', DATA, '--preset', 'fast', '--config', tinyConfig(), '--compare']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(listing(dir), ['halfunet.onnx', 'halfunet.pruned.onnx', 'halfunet.pruned.report.json', 'halfunet.pruned.report.md']);
    const report = checkReports(path.join(dir, 'halfunet.pruned.report.json'), path.join(dir, 'halfunet.pruned.report.md'));
    assert.equal(report.output, path.join(dir, 'halfunet.pruned.onnx'));
    assert.equal(report.preset, 'fast');
    assert.equal(report.settings.samples, 4, 'the config file overrides the preset');
    // Progress goes to stderr, one line per stage in order (not a TTY).
    const stageLines = r.stderr.split('\n').filter((l) => / (done in [\d.]+ s|skipped)$/.test(l)).map((l) => l.split(/ {2,}/)[0]!.trim());
    assert.deepEqual(stageLines, ['Analyze', 'Calibrate (gradients)', 'Importance', 'QUBO search', 'TT refinement', 'Export', 'Recovery fine-tuning', 'Evaluate (test split)']);
    // The summary table on stdout: 'PSNR (test)  31.87 dB  31.70 dB (-0.18)'.
    const row = r.stdout.split('\n').find((l) => l.startsWith('PSNR (test)'));
    assert.ok(row, show(r));
    const m = /^PSNR \(test\)\s+(-?[\d.]+) dB\s+(-?[\d.]+) dB \(([+-][\d.]+)\)/.exec(row!);
    assert.ok(m, row);
    const { before: was, after: now } = report.metrics;
    assert.equal(m![1], was.psnr!.toFixed(2));
    assert.equal(m![2], now.psnr!.toFixed(2));
    assert.equal(m![3], `${now.psnr! - was.psnr! >= 0 ? '+' : ''}${(now.psnr! - was.psnr!).toFixed(2)}`);
    assert.match(r.stdout, /^Parameters\s+56,483\s+/m);
    assert.match(r.stdout, /provider cpu, [\d.]+ s in all/);
    assert.ok(r.stdout.includes(`pruned model: ${report.output}`));
    for (const c of report.comparison!) assert.match(r.stdout, new RegExp(`^  ${c.method.replace('+', '\\+')}\\s+${c.psnr!.toFixed(2)} dB`, 'm'));
    const psnr = await recomputePsnr(report);
    assert.ok(Math.abs(psnr.after - now.psnr!) < 1e-3, `recomputed ${psnr.after} vs reported ${now.psnr}`);
  });

  const badInputs: [string, (d: { dir: string; model: string }) => string[], RegExp][] = [
    ['a missing model', (d) => ['prune', path.join(d.dir, 'nope.onnx'), '--data', DATA], /nope\.onnx/],
    ['an unknown preset', (d) => ['prune', d.model, '--data', DATA, '--preset', 'turbo'], /turbo/],
    ['a sparsity that is not a number', (d) => ['prune', d.model, '--data', DATA, '--sparsity', 'lots'], /--sparsity must be a number, got 'lots'/],
    ['a sparsity out of range', (d) => ['prune', d.model, '--data', DATA, '--sparsity', '1.5'], /sparsity: must be in \[0, 1\), got 1\.5/],
    ['an unknown provider', (d) => ['prune', d.model, '--data', DATA, '--provider', 'tpu'], /provider: must be one of 'auto', 'cpu', 'webgpu', 'cuda', got "tpu"/],
    ['an unknown flag', (d) => ['prune', d.model, '--data', DATA, '--turbo'], /--turbo/],
    ['a data folder that does not exist', (d) => ['prune', d.model, '--data', path.join(d.dir, 'no-data')], /no-data/],
    ['an output folder that is a file', (d) => ['prune', d.model, '--data', DATA, '--config', tinyConfig(), '--out', path.join(d.model, 'x.onnx')], /halfunet\.onnx' is not a folder/],
  ];
  for (const [what, args, message] of badInputs) {
    test(`exit 1 for ${what}, with a clear message and no output`, async () => {
      const d = modelCopy('qp-cli-bad-');
      const r = await cli(args(d));
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.stdout, '');
      assert.deepEqual(listing(d.dir), ['halfunet.onnx']);
    });
  }

  test('exit 130 on SIGINT mid-search, with nothing written (no model, no reports, no temporary files)', async () => {
    const { dir, model } = modelCopy('qp-cli-sigint-');
    let sent = false;
    // The search would run for a minute; the interrupt must end it.
    const r = await cli(['prune', model, '--data', DATA, '--config', tinyConfig({ searchTimeMs: 60_000 })], (text, child) => {
      if (!sent && /^Importance\s+done in/m.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(sent, show(r));
    assert.equal(r.code, 130, show(r));
    assert.match(r.stderr, /cancelled; nothing was written/);
    assert.doesNotMatch(r.stderr, /Export\s+done/);
    assert.equal(r.stdout, '');
    assert.deepEqual(listing(dir), ['halfunet.onnx']);
  });
});

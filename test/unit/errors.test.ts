// One coded-error base for the whole project, and one mapping from an error's kind to what the
// CLI prints and exits with.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CancelledError, errorKind, QuboPruneError, throwIfCancelled, type ErrorKind } from '../../src/core/errors';
import { OnnxModelError } from '../../src/core/onnx/errors';
import { DataError } from '../../src/core/data/errors';
import { PruneError } from '../../src/core/prune/errors';
import { QuboError } from '../../src/core/qubo/errors';
import { MetricError } from '../../src/core/metrics/errors';
import { TtError } from '../../src/core/tt/errors';
import { RefineError } from '../../src/core/refine/errors';
import { AutodiffError } from '../../src/core/autodiff/errors';
import { RecoverError } from '../../src/core/recover/errors';
import { OpsetTooLow } from '../../src/core/autodiff/opsetUpgrade';
import { PipelineError, CancelledError as PipelineCancelledError } from '../../src/core/pipeline/cancel';
import { PresetError } from '../../src/core/presets';
import { ShapeInferenceError } from '../../src/core/analysis/shapes';
import { ProviderError } from '../../src/core/runtime/session';
import { OutputError } from '../../src/core/util/outputGuard';
import { FileReadError } from '../../src/core/util/readRegularFile';
import { CliError } from '../../src/cli/cliError';
import { EXIT, exitCodeFor, reportFailure } from '../../src/cli/exitCodes';
import { SettingsError } from '../../src/extension/settingsMapping';
import { ReportFileError } from '../../src/extension/reportFile';
import { AnalysisFormatError } from '../../src/view/analysisModel';
import { runCli } from '../helpers/cli';
import { FIXTURES, ROOT } from '../helpers/pipelineOutputs';

/** One instance of every error class, with the kind its code must have. */
const SAMPLES: Array<[QuboPruneError, string, ErrorKind]> = [
  [new OnnxModelError('not-onnx', 'x'), 'OnnxModelError', 'input'],
  [new DataError('no-images', 'x'), 'DataError', 'input'],
  [new PruneError('bad-option', 'x'), 'PruneError', 'input'],
  [new PruneError('invalid-export', 'x'), 'PruneError', 'internal'],
  [new QuboError('bad-json', 'x'), 'QuboError', 'input'],
  [new MetricError('too-small', 'x'), 'MetricError', 'input'],
  [new MetricError('shape-mismatch', 'x'), 'MetricError', 'internal'],
  [new TtError('bad-option', 'x'), 'TtError', 'internal'],
  [new RefineError('bad-input', 'x'), 'RefineError', 'internal'],
  [new AutodiffError('no-gradient-rule', 'x'), 'AutodiffError', 'input'],
  [new AutodiffError('bad-option', 'x'), 'AutodiffError', 'internal'],
  [new OpsetTooLow(16, 'x'), 'AutodiffError', 'input'],
  [new RecoverError('bad-setting', 'x'), 'RecoverError', 'input'],
  [new RecoverError('unsupported-model', 'x'), 'RecoverError', 'input'],
  [new PipelineError('task-mismatch', 'x'), 'PipelineError', 'input'],
  [new PipelineError('export-mismatch', 'x'), 'PipelineError', 'internal'],
  [new PipelineError('internal', 'x'), 'PipelineError', 'internal'],
  [new PresetError('refine.rank', 'x'), 'PresetError', 'input'],
  [new ShapeInferenceError('symbolic-input', 'x'), 'ShapeInferenceError', 'input'],
  [new ProviderError('x'), 'ProviderError', 'input'],
  [new OutputError('output-busy', 'x'), 'OutputError', 'input'],
  [new FileReadError('missing', 'f', 'missing', 'x'), 'FileReadError', 'input'],
  [new CliError('x'), 'CliError', 'input'],
  [new SettingsError('quboPrune.presets', 'x'), 'SettingsError', 'input'],
  [new ReportFileError('x'), 'ReportFileError', 'input'],
  [new AnalysisFormatError('x'), 'AnalysisFormatError', 'internal'],
  [new CancelledError(), 'CancelledError', 'cancelled'],
];

/** Every `class X extends Y` under src/, by file. */
function classDeclarations(): Array<{ file: string; name: string; base: string }> {
  const out: Array<{ file: string; name: string; base: string }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(full, 'utf8').matchAll(/class\s+(\w+)(?:<[^>]*>)?\s+extends\s+(\w+)/g)) out.push({ file: path.relative(ROOT, full), name: m[1]!, base: m[2]! });
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return out;
}

describe('coded errors', () => {
  test('every error class is a QuboPruneError with its code, kind, name and a one-line message', () => {
    for (const [err, name, kind] of SAMPLES) {
      assert.ok(err instanceof QuboPruneError, name);
      assert.ok(err instanceof Error, name);
      assert.equal(err.name, name);
      assert.equal(typeof err.code, 'string', name);
      assert.notEqual(err.code, '', name);
      assert.equal(err.kind, kind, `${name} [${err.code}]`);
      assert.equal(errorKind(err), kind, name);
    }
    // Names from user files may hold line breaks; the base escapes them for every class.
    assert.equal(new QuboError('bad-json', "unknown field 'a\nb'").message, "unknown field 'a\\nb'");
    assert.equal(new DataError('corrupt-image', 'x\ty').message, 'x\\ty');
  });

  test('no error class under src/ extends Error directly, other than the base', () => {
    const classes = classDeclarations();
    const errorClasses = classes.filter((c) => c.name.endsWith('Error') || c.base.endsWith('Error'));
    const sampled = new Set(SAMPLES.map(([, name]) => name));
    // The scan must see the classes it guards (a broken pattern would pass vacuously).
    assert.ok(errorClasses.length >= sampled.size, `found ${errorClasses.length} error classes`);
    const direct = errorClasses.filter((c) => c.base === 'Error' && c.name !== 'QuboPruneError');
    assert.deepEqual(direct, [], 'extend QuboPruneError (src/core/errors.ts) instead');
    // Every error class found is exercised above, so a new one has to choose its kind here too.
    const unsampled = errorClasses.filter((c) => c.name !== 'QuboPruneError' && c.name !== 'OpsetTooLow' && !sampled.has(c.name));
    assert.deepEqual(unsampled, []);
  });

  test('one CancelledError: the pipeline re-exports the same class, and throwIfCancelled throws it', () => {
    assert.equal(PipelineCancelledError, CancelledError);
    const c = new AbortController();
    throwIfCancelled(c.signal);
    c.abort();
    assert.throws(() => throwIfCancelled(c.signal), (e: unknown) => e instanceof CancelledError && e.code === 'cancelled');
  });

  test('what was not raised on purpose is internal; the platform AbortError is a cancellation', () => {
    assert.equal(errorKind(new TypeError('x')), 'internal');
    assert.equal(errorKind(Object.assign(new Error('x'), { code: 'ENOENT' })), 'internal');
    assert.equal(errorKind('a string'), 'internal');
    assert.equal(errorKind(undefined), 'internal');
    assert.equal(errorKind(AbortSignal.abort().reason), 'cancelled');
  });
});

describe('CLI exit codes', () => {
  const capture = () => {
    let text = '';
    return { write: (t: string) => void (text += t), text: () => text };
  };

  test('each kind has its documented exit code', () => {
    assert.deepEqual({ ok: EXIT.ok, input: exitCodeFor('input'), internal: exitCodeFor('internal'), cancelled: exitCodeFor('cancelled') }, { ok: 0, input: 1, internal: 2, cancelled: 130 });
  });

  test('input errors print one line (then a usage), bugs their stack, cancellations what was left', () => {
    const input = capture();
    assert.equal(reportFailure(new PruneError('bad-option', '--round-to 99 would keep every channel'), input.write, 'qubo-prune prune: '), 1);
    assert.equal(input.text(), 'qubo-prune prune: --round-to 99 would keep every channel\n');

    const usage = capture();
    assert.equal(reportFailure(new CliError('missing --out', 'usage: qubo-prune prune MODEL'), usage.write, 'p: '), 1);
    assert.equal(usage.text(), 'p: missing --out\nusage: qubo-prune prune MODEL\n');

    const bug = capture();
    assert.equal(reportFailure(new PipelineError('export-mismatch', 'differs by 1e-2'), bug.write, 'error: '), 2);
    assert.match(bug.text(), /^error: PipelineError: differs by 1e-2\n\s+at /);

    const foreign = capture();
    assert.equal(reportFailure(new RangeError('Invalid array length'), foreign.write, 'error: '), 2);
    assert.match(foreign.text(), /RangeError: Invalid array length\n\s+at /);

    const cancelled = capture();
    assert.equal(reportFailure(new CancelledError(), cancelled.write, 'error: '), 130);
    assert.equal(cancelled.text(), 'cancelled; nothing was written\n');
  });

  test('any failure after the signal fired counts as the cancellation', () => {
    const c = new AbortController();
    c.abort();
    const out = capture();
    assert.equal(reportFailure(new DataError('corrupt-image', 'a stream closed under a read'), out.write, 'error: ', c.signal), 130);
    assert.equal(out.text(), 'cancelled; nothing was written\n');
  });

  test('a PruneError outside the pipeline (data-free prune) exits with the input code, one line, no stack', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qp-errors-'));
    const out = path.join(dir, 'pruned.onnx');
    const r = await runCli(['prune', path.join(FIXTURES, 'dncnn.onnx'), '--method', 'l1', '--sparsity', '0.3', '--round-to', '4096', '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^qubo-prune prune: --round-to 4096 would keep every channel/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    assert.equal(existsSync(out), false);
  });
});

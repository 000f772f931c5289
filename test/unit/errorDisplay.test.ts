// The extension's error display is chosen by the error's kind: input errors plainly, internal
// ones as a bug with Report Issue / Show Log, cancellations quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorDisplay, REPORT_ISSUE, SHOW_LOG } from '../../src/extension/errorDisplay';
import { CancelledError, errorKind } from '../../src/core/errors';
import { ReportFileError } from '../../src/extension/reportFile';

test('an input error is a plain error naming what to fix, without buttons or code', () => {
  const d = errorDisplay('pruning net.onnx', { kind: 'input', code: 'output-unwritable', message: "cannot write '/w/out/x.onnx': the folder '/w/out' does not exist" });
  assert.deepEqual(d, { level: 'error', text: "QUBO Prune: pruning net.onnx failed: cannot write '/w/out/x.onnx': the folder '/w/out' does not exist", actions: [] });
  assert.doesNotMatch(d.text, /bug|output-unwritable/);
});

test('an internal error says it is a bug and offers Report Issue and Show Log', () => {
  const d = errorDisplay('analyzing net.onnx', { kind: 'internal', code: 'worker-crashed', message: 'the worker process ended unexpectedly (signal SIGSEGV)' });
  assert.equal(d.level, 'error');
  assert.match(d.text, /^QUBO Prune: analyzing net\.onnx failed because of an internal error \[worker-crashed\]: the worker process ended unexpectedly \(signal SIGSEGV\)\. This is a bug in QUBO Prune/);
  assert.deepEqual(d.actions, [REPORT_ISSUE, SHOW_LOG]);
});

test('a cancellation shows nothing, or an information line when asked', () => {
  const e = { kind: 'cancelled' as const, code: 'cancelled', message: 'the run was cancelled' };
  assert.equal(errorDisplay('analyzing net.onnx', e).level, 'none');
  assert.deepEqual(errorDisplay('analyzing net.onnx', e, { announceCancel: true }), { level: 'info', text: 'QUBO Prune: analyzing net.onnx was cancelled.', actions: [] });
});

test('the kinds the errors themselves carry pick the display', () => {
  const of = (err: unknown) => errorDisplay('x', { kind: errorKind(err), code: 'c', message: (err as Error).message });
  assert.equal(of(new ReportFileError('/w/a.report.json: not a QUBO Prune report (missing kind)')).actions.length, 0);
  assert.deepEqual(of(new TypeError("cannot read properties of undefined (reading 'dims')")).actions, [REPORT_ISSUE, SHOW_LOG]);
  assert.equal(of(new CancelledError()).level, 'none');
});

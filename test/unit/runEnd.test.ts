// How the extension ends a run that went wrong, without VS Code: every fault the worker reports
// (killed, disk full, output folder gone, output held by another run) becomes a failed state with
// its cause and an error notification; a cancel says nothing was written; a second run of the
// same model while one is going is refused with a message that says so.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { endNotice, RunTracker, secondRunMessage } from '../../src/extension/runState';
import type { WorkerOutcome } from '../../src/worker/client';

function ended(outcome: WorkerOutcome) {
  const t = new RunTracker('r1', '/w/models/net.onnx', 'fast', '/w/models/net.pruned.onnx');
  t.onEvent({ type: 'stage-start', stage: 'analyze' });
  t.onEvent({ type: 'stage-end', stage: 'analyze', seconds: 0.1 });
  t.onEvent({ type: 'stage-start', stage: 'calibrate' });
  t.finish(outcome);
  return t.state;
}

describe('a run that ends without a result', () => {
  const faults: [string, WorkerOutcome, RegExp][] = [
    ['worker killed', { kind: 'failed', code: 'worker-crashed', message: 'the worker process ended unexpectedly (signal SIGKILL)', errorKind: 'internal' }, /failed: the worker process ended unexpectedly \(signal SIGKILL\) \[worker-crashed\]$/],
    ['disk full', { kind: 'failed', code: 'output-unwritable', message: "cannot write '/w/models/net.pruned.onnx': no space left on the device", errorKind: 'input' }, /no space left on the device \[output-unwritable\]$/],
    ['folder deleted', { kind: 'failed', code: 'output-unwritable', message: "cannot write '/w/out/x.onnx': the folder '/w/out' does not exist", errorKind: 'input' }, /the folder '\/w\/out' does not exist/],
    ['output held by another run', { kind: 'failed', code: 'output-busy', message: "another run (pid 42, started 2025-01-01T00:00:00.000Z) is writing '/w/models/net.pruned.onnx'", errorKind: 'input' }, /another run \(pid 42.*\[output-busy\]$/],
  ];
  for (const [what, outcome, text] of faults) {
    test(`${what}: failed state, the running stage marked failed, an error notification naming the cause`, () => {
      const s = ended(outcome);
      assert.equal(s.status, 'failed');
      assert.equal(s.stages.find((x) => x.name === 'calibrate')!.status, 'failed');
      assert.equal(s.stages.find((x) => x.name === 'analyze')!.status, 'done');
      const n = endNotice(s)!;
      assert.equal(n.level, 'error');
      assert.match(n.text, /^QUBO Prune: pruning net\.onnx failed: /);
      assert.match(n.text, text);
    });
  }

  test('cancelled: an information notice that nothing was written', () => {
    const n = endNotice(ended({ kind: 'cancelled' }))!;
    assert.deepEqual(n, { level: 'info', text: 'QUBO Prune: pruning net.onnx was cancelled; nothing was written.' });
  });

  test('a late event cannot reopen a failed run', () => {
    const t = new RunTracker('r1', '/w/net.onnx', 'fast');
    t.finish({ kind: 'failed', code: 'worker-crashed', message: 'gone', errorKind: 'internal' });
    t.onEvent({ type: 'stage-start', stage: 'search' });
    assert.equal(t.state.status, 'failed');
    assert.ok(endNotice(t.state));
  });
});

describe('a second run while one is going', () => {
  test('the same model: refused, saying it is already being pruned', () => {
    assert.equal(secondRunMessage({ model: '/w/net.onnx', status: 'search 40%' }, '/w/./net.onnx'), 'QUBO Prune: net.onnx is already being pruned (search 40%); wait for that run or cancel it.');
  });
  test('another model: refused, one run at a time', () => {
    assert.match(secondRunMessage({ model: '/w/net.onnx', status: 'starting' }, '/w/other.onnx'), /a run on net\.onnx is still going \(starting\); one run at a time/);
  });
});

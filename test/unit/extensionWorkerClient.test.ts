// The extension's side of the worker protocol: the client in src/worker/client.ts driving fake
// worker scripts (well-behaved, malformed, crashing, stubborn), and RunTracker folding what
// arrives into the report panel's state.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAnalyze, startPrune, type WorkerClientOptions } from '../../src/worker/client';
import { RunTracker } from '../../src/extension/runState';
import { DEFAULT_SETTINGS, resolvePreset } from '../../src/core/presets';
import { PROTOCOL_VERSION, STAGES, type PipelineEvent, type PruneRequest, type RunSummary } from '../../src/protocol';

let dir: string;
const SUMMARY: RunSummary = {
  model: '/m.onnx',
  output: '/m.pruned.onnx',
  reportJson: '/m.pruned.report.json',
  reportMarkdown: '/m.pruned.report.md',
  preset: 'fast',
  method: 'hybrid',
  sparsity: 0.36,
  provider: 'cpu',
  before: { psnr: 30, params: 1000, macs: 5000 },
  after: { psnr: 29.5, params: 640, macs: 3200 },
  groups: [{ id: 'conv1', kept: 5, total: 8 }],
  seconds: 1.5,
  stageSeconds: { analyze: 0.1 },
};

// Each fake worker is plain CommonJS; `send` waits for the IPC write like the real worker does.
const PRELUDE = `const send = (m) => new Promise((r) => process.send(m, undefined, {}, () => r()));\n`;
const WORKERS: Record<string, string> = {
  good: `${PRELUDE}
process.on('message', async (req) => {
  await send({ type: 'hello', version: ${PROTOCOL_VERSION}, pid: process.pid });
  if (req.type === 'analyze') {
    for (const step of ['reading', 'shapes', 'dependencies']) await send({ type: 'analysis-progress', step });
    await send({ type: 'analysis', document: { layers: [{ node: 'c1', op: 'Conv' }], model: req.model, size: req.size ?? null } });
    process.exit(0);
  }
  await send({ type: 'event', event: { type: 'run-start', model: req.request.model, preset: 'fast', settings: req.request.settings, startedAt: 'now' } });
  await send({ type: 'event', event: { type: 'stage-start', stage: 'analyze' } });
  await send({ type: 'event', event: { type: 'stage-end', stage: 'analyze', seconds: 0.1 } });
  await send({ type: 'event', event: { type: 'stage-start', stage: 'search' } });
  await send({ type: 'event', event: { type: 'capacities', groups: [{ id: 'conv1', kept: 6, total: 8 }] } });
  await send({ type: 'event', event: { type: 'solver-trace', points: [{ iteration: 1, energy: -3 }, { iteration: 2, energy: -4 }] } });
  await send({ type: 'event', event: { type: 'stage-progress', stage: 'search', fraction: 0.5 } });
  await send({ type: 'done', summary: ${JSON.stringify(SUMMARY)} });
  process.exit(0);
});`,
  malformed: `${PRELUDE}
process.on('message', async () => {
  await send('just a string');
  await send({ type: 'bogus', x: 1 });
  await send(null);
  await send({ type: 'event', event: { type: 'log', level: 'info', message: 'still alive' } });
  await send({ type: 'done', summary: ${JSON.stringify(SUMMARY)} });
  process.exit(0);
});`,
  crash: `${PRELUDE}
process.on('message', async () => {
  await send({ type: 'event', event: { type: 'stage-start', stage: 'analyze' } });
  process.stderr.write('native code said goodbye\\n');
  setTimeout(() => process.exit(3), 20);
});`,
  oom: `${PRELUDE}
process.on('message', async () => {
  process.stderr.write('FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\\n');
  setTimeout(() => process.abort(), 20);
});`,
  failed: `${PRELUDE}
process.on('message', async () => {
  await send({ type: 'failed', error: { code: 'bad-model', message: 'not an ONNX model', kind: 'input' } });
  process.exit(0);
});`,
  cooperative: `${PRELUDE}
process.on('message', async (req) => {
  if (req.type === 'cancel') { await send({ type: 'cancelled' }); process.exit(0); }
  await send({ type: 'event', event: { type: 'stage-start', stage: 'analyze' } });
  setInterval(() => {}, 1000);
});`,
  stubborn: `${PRELUDE}
process.on('message', async (req) => {
  if (req.type === 'cancel') return;
  await send({ type: 'event', event: { type: 'stage-start', stage: 'analyze' } });
  setInterval(() => {}, 1000);
});`,
};

function opts(name: string, extra: Partial<WorkerClientOptions> = {}): WorkerClientOptions {
  return { workerPath: path.join(dir, `${name}.cjs`), execPath: process.execPath, cancelGraceMs: 300, ...extra };
}

const REQUEST: PruneRequest = { model: '/m.onnx', data: '/d', out: '/m.pruned.onnx', presetName: 'fast', settings: DEFAULT_SETTINGS, compare: false, timeBudgetSeconds: 0 };

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-worker-'));
  for (const [name, src] of Object.entries(WORKERS)) fs.writeFileSync(path.join(dir, `${name}.cjs`), src);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts a run the way RunController does and returns the tracker once it has ended. */
async function track(name: string, extra: Partial<WorkerClientOptions> = {}, onStart?: (cancel: () => void, events: PipelineEvent[]) => void) {
  const tracker = new RunTracker('r1', REQUEST.model, REQUEST.presetName);
  const events: PipelineEvent[] = [];
  const stderr: string[] = [];
  const run = startPrune(REQUEST, {
    ...opts(name, extra),
    onEvent: (e) => {
      events.push(e);
      tracker.onEvent(e);
      if (onStart && events.length === 1) onStart(() => run.cancel(), events);
    },
    onStderr: (l) => stderr.push(l),
  });
  const outcome = await run.finished;
  tracker.finish(outcome);
  return { tracker, outcome, events, stderr };
}

describe('worker client + RunTracker', () => {
  test('events are folded in order and done carries the summary', async () => {
    const { tracker, outcome, events } = await track('good');
    assert.equal(outcome.kind, 'done');
    assert.deepEqual(
      events.map((e) => e.type),
      ['run-start', 'stage-start', 'stage-end', 'stage-start', 'capacities', 'solver-trace', 'stage-progress'],
    );
    const s = tracker.state;
    assert.equal(s.status, 'done');
    assert.equal(s.summary?.after.psnr, 29.5);
    assert.deepEqual(s.capacities, SUMMARY.groups, 'final capacities come from the summary');
    assert.equal(s.stages.find((x) => x.name === 'analyze')?.status, 'done');
    assert.equal(s.stages.find((x) => x.name === 'search')?.fraction, 0.5);
    assert.deepEqual(s.energy.map((p) => p.energy), [-3, -4]);
  });

  test('analyze sends the open-input size in its one request and forwards the steps', async () => {
    const steps: string[] = [];
    const run = startAnalyze('/x.onnx', { ...opts('good'), onAnalysisProgress: (s) => steps.push(s) }, { size: 128 });
    const o = await run.finished;
    assert.equal(o.kind, 'analysis');
    assert.deepEqual((o as { document: unknown }).document, { layers: [{ node: 'c1', op: 'Conv' }], model: '/x.onnx', size: 128 });
    assert.deepEqual(steps, ['reading', 'shapes', 'dependencies']);
    const plain = await startAnalyze('/x.onnx', opts('good')).finished;
    assert.equal((plain as { document: { size: unknown } }).document.size, null, 'no size asked, none sent');
  });

  test('malformed messages are reported on stderr and skipped; the run still completes', async () => {
    const { outcome, events, stderr, tracker } = await track('malformed');
    assert.equal(outcome.kind, 'done');
    assert.equal(events.length, 1);
    assert.equal(stderr.filter((l) => l.startsWith('ignored malformed message')).length, 3);
    assert.deepEqual(tracker.state.log, ['[info] still alive']);
  });

  test('a crashed child becomes a failed run with its last output, and the running stage is marked failed', async () => {
    const { outcome, tracker } = await track('crash');
    assert.equal(outcome.kind, 'failed');
    assert.equal((outcome as { code: string }).code, 'worker-crashed');
    assert.match((outcome as { message: string }).message, /exit code 3/);
    assert.match((outcome as { message: string }).message, /native code said goodbye/);
    assert.equal(tracker.state.status, 'failed');
    assert.match(tracker.state.error ?? '', /\[worker-crashed\]/);
    assert.equal(tracker.state.stages.find((x) => x.name === 'analyze')?.status, 'failed');
  });

  test('a child dying of heap exhaustion is reported as out of memory', async () => {
    const { outcome } = await track('oom');
    assert.equal(outcome.kind, 'failed');
    assert.equal((outcome as { code: string }).code, 'out-of-memory');
  });

  test('a failed message keeps the worker’s error code and kind', async () => {
    const { outcome, tracker } = await track('failed');
    assert.deepEqual(outcome, { kind: 'failed', code: 'bad-model', message: 'not an ONNX model', errorKind: 'input' });
    assert.equal(tracker.state.error, 'not an ONNX model [bad-model]');
  });

  test('cancel: a cooperative worker answers cancelled', async () => {
    const { outcome, tracker } = await track('cooperative', {}, (cancel) => cancel());
    assert.equal(outcome.kind, 'cancelled');
    assert.equal(tracker.state.status, 'cancelled');
  });

  test('cancel: a worker that ignores it is killed after the grace period and the run ends cancelled', async () => {
    const { outcome } = await track('stubborn', { cancelGraceMs: 200 }, (cancel) => cancel());
    assert.equal(outcome.kind, 'cancelled');
  });

  test('a missing worker script fails instead of hanging', async () => {
    const run = startPrune(REQUEST, { workerPath: path.join(dir, 'nope.cjs'), execPath: process.execPath });
    const o = await run.finished;
    assert.equal(o.kind, 'failed');
  });
});

describe('RunTracker', () => {
  test('late events do not reopen a finished run; log lines still land', () => {
    const t = new RunTracker('r', '/m.onnx', 'fast');
    t.finish({ kind: 'done', summary: SUMMARY });
    t.onEvent({ type: 'stage-start', stage: 'refine' });
    t.onEvent({ type: 'log', level: 'warn', message: 'late' });
    assert.equal(t.state.status, 'done');
    assert.equal(t.state.stages.find((x) => x.name === 'refine')?.status, 'pending');
    assert.deepEqual(t.state.log, ['[warn] late']);
  });

  test('overall progress and status text', () => {
    const t = new RunTracker('r', '/m.onnx', 'fast');
    assert.equal(t.overallFraction(), 0);
    assert.equal(t.statusText(), 'starting');
    t.onEvent({ type: 'stage-start', stage: 'analyze' });
    t.onEvent({ type: 'stage-end', stage: 'analyze', seconds: 1 });
    t.onEvent({ type: 'stage-end', stage: 'calibrate', seconds: 0, skipped: true });
    t.onEvent({ type: 'stage-start', stage: 'importance' });
    t.onEvent({ type: 'stage-progress', stage: 'importance', fraction: 0.5 });
    // Every stage counts the same: two done, one half done.
    assert.equal(t.overallFraction(), 2.5 / STAGES.length);
    assert.match(t.statusText(), /^importance 50% · \d+:\d\d/);
  });

  test('status text carries elapsed time, the stage note and the time left of a time-boxed stage', () => {
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    const t = new RunTracker('r', '/m.onnx', 'fast', undefined, new Date(t0));
    t.onEvent({ type: 'run-start', model: '/m.onnx', preset: 'fast', settings: resolvePreset('balanced').settings, startedAt: new Date(t0).toISOString() }, t0);
    t.onEvent({ type: 'stage-start', stage: 'refine' }, t0 + 30_000);
    t.onEvent({ type: 'stage-progress', stage: 'refine', fraction: 0.1 }, t0 + 40_000);
    // 10 s for 10% of the evaluations: 90 s by progress, but the budget of 60 s ends first.
    assert.equal(t.statusText(t0 + 40_000), 'refine 10% · 0:40 · ≈0:50 left');
    t.onEvent({ type: 'stage-end', stage: 'refine', seconds: 60 }, t0 + 90_000);
    t.onEvent({ type: 'stage-start', stage: 'evaluate' }, t0 + 90_000);
    t.onEvent({ type: 'stage-progress', stage: 'evaluate', fraction: 0.5, message: 'l1 (2/5)' }, t0 + 94_000);
    assert.equal(t.statusText(t0 + 94_000), 'evaluate l1 (2/5) 50% · 1:34 · ≈0:04 left');
  });

  test('interrupted marks a restored running snapshot as cancelled, leaves finished ones alone', () => {
    const t = new RunTracker('r', '/m.onnx', 'fast');
    t.onEvent({ type: 'stage-start', stage: 'search' });
    const s = RunTracker.interrupted(t.state);
    assert.equal(s.status, 'cancelled');
    assert.match(s.error ?? '', /interrupted/);
    assert.equal(s.stages.find((x) => x.name === 'search')?.status, 'failed');
    t.finish({ kind: 'done', summary: SUMMARY });
    assert.equal(RunTracker.interrupted(t.state), t.state);
  });
});

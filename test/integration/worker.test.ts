// The real worker process (src/worker/worker.ts run through tsx) driven by the real client: a
// whole small-budget run of the Half-UNet fixture, cancellation mid-search and mid-refinement,
// a bad model and a killed worker. Every outcome must arrive through `finished`, never as a throw.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { startPrune, type WorkerClientOptions, type WorkerOutcome } from '../../src/worker/client';
import { mergeSettings } from '../../src/core/presets';
import { STAGES, type PipelineEvent, type PruneRequest, type PruneSettings } from '../../src/protocol';
import { DATA, ROOT, TINY, TSX, checkReports, listing, modelCopy, recomputePsnr, removeTempDirs } from '../helpers/pipelineOutputs';

const WORKER = path.join(ROOT, 'src', 'worker', 'worker.ts');

function request(model: string, settings: PruneSettings = TINY, compare = false): PruneRequest {
  return { model, data: DATA, out: model.replace(/\.onnx$/, '.pruned.onnx'), presetName: 'tiny', settings, compare, timeBudgetSeconds: 0 };
}

interface Ran {
  outcome: WorkerOutcome;
  events: PipelineEvent[];
  stderr: string[];
}

/** Runs one request in a fresh worker; `onEvent` may act on the run (cancel, kill). */
async function runWorker(req: PruneRequest, onEvent?: (e: PipelineEvent, run: ReturnType<typeof startPrune>) => void, extra: Partial<WorkerClientOptions> = {}): Promise<Ran> {
  const events: PipelineEvent[] = [];
  const stderr: string[] = [];
  const run = startPrune(req, {
    workerPath: WORKER,
    execArgv: ['--import', TSX],
    cancelGraceMs: 20_000,
    onStderr: (l) => stderr.push(l),
    onEvent: (e) => {
      events.push(e);
      onEvent?.(e, run);
    },
    ...extra,
  });
  const outcome = await run.finished;
  return { outcome, events, stderr };
}

const failure = (r: Ran) => `${JSON.stringify(r.outcome)}\n${r.stderr.slice(-10).join('\n')}`;

describe('worker process', () => {
  after(removeTempDirs);

  test('a whole run: typed events in stage order, a summary, valid files and a PSNR that the written model reproduces', async () => {
    const { dir, model } = modelCopy('qp-worker-run-');
    const r = await runWorker(request(model, TINY, true));
    assert.equal(r.outcome.kind, 'done', failure(r));
    const summary = (r.outcome as Extract<WorkerOutcome, { kind: 'done' }>).summary;

    // Events: run-start first, result last, each stage started and ended in order, nothing outside a stage but logs.
    assert.equal(r.events[0]?.type, 'run-start');
    const last = r.events[r.events.length - 1]!;
    assert.equal(last.type, 'result');
    assert.deepEqual((last as Extract<PipelineEvent, { type: 'result' }>).summary, summary);
    const marks = r.events.filter((e) => e.type === 'stage-start' || e.type === 'stage-end').map((e) => `${e.type === 'stage-start' ? '+' : '-'}${(e as { stage: string }).stage}`);
    assert.deepEqual(marks, STAGES.flatMap((s) => [`+${s}`, `-${s}`]));
    let current: string | null = null;
    for (const e of r.events) {
      if (e.type === 'stage-start') current = e.stage;
      else if (e.type === 'stage-end') current = null;
      else if (e.type === 'stage-progress') assert.equal(e.stage, current, 'progress belongs to the running stage');
      else if (e.type === 'solver-trace') assert.equal(current, 'search');
      else if (e.type === 'refine-progress') assert.equal(current, 'refine');
    }
    assert.ok(r.events.some((e) => e.type === 'provider' && e.provider === 'cpu'));
    assert.ok(r.events.some((e) => e.type === 'capacities'));
    assert.ok(r.events.some((e) => e.type === 'refine-progress'));
    // One numbering for the solver trace: the final trace replaces the live points and spans them.
    const traces = r.events.filter((e): e is Extract<PipelineEvent, { type: 'solver-trace' }> => e.type === 'solver-trace');
    assert.equal(traces.filter((t) => t.final).length, 1);
    assert.equal(traces[traces.length - 1]!.final, true);
    const fin = traces[traces.length - 1]!.points;
    for (let i = 1; i < fin.length; i++) assert.ok(fin[i]!.iteration >= fin[i - 1]!.iteration && fin[i]!.energy <= fin[i - 1]!.energy);
    for (const t of traces.slice(0, -1)) for (const p of t.points) assert.ok(p.iteration <= fin[fin.length - 1]!.iteration);

    // Files: exactly the three outputs beside the model copy, reports valid and in agreement.
    assert.deepEqual(listing(dir), ['halfunet.onnx', 'halfunet.pruned.onnx', 'halfunet.pruned.report.json', 'halfunet.pruned.report.md']);
    const report = checkReports(summary.reportJson, summary.reportMarkdown);
    assert.equal(report.output, summary.output);
    assert.deepEqual(report.metrics.after, summary.after);
    // The live view's final trace is the report's, on the same iteration counter, up to the last iteration.
    assert.deepEqual(fin.slice(0, report.search.trace.length), report.search.trace.map((t) => ({ iteration: t.iteration, energy: t.energy })));
    assert.equal(fin[fin.length - 1]!.iteration, report.search.iterations);
    assert.ok(report.comparison && report.comparison.length >= 5);
    assert.ok(summary.after.params < summary.before.params);
    const psnr = await recomputePsnr(report);
    assert.ok(Math.abs(psnr.after - summary.after.psnr!) < 1e-3, `pruned: recomputed ${psnr.after} vs reported ${summary.after.psnr}`);
    assert.ok(Math.abs(psnr.before - summary.before.psnr!) < 1e-3, `original: recomputed ${psnr.before} vs reported ${summary.before.psnr}`);
  });

  for (const stage of ['search', 'refine'] as const) {
    test(`cancel during ${stage} ends 'cancelled' and writes nothing`, async () => {
      const { dir, model } = modelCopy(`qp-worker-cancel-${stage}-`);
      // Budgets far beyond the test: only the cancel can end the stage soon.
      const settings = mergeSettings(TINY, stage === 'search' ? { searchTimeMs: 60_000 } : { refine: { evaluations: 1_000_000, seconds: 60 } });
      let cancelled = false;
      const r = await runWorker(request(model, settings), (e, run) => {
        if (!cancelled && e.type === 'stage-start' && e.stage === stage) {
          cancelled = true;
          run.cancel();
        }
      });
      assert.ok(cancelled, 'the stage started');
      assert.deepEqual(r.outcome, { kind: 'cancelled' }, failure(r));
      assert.ok(!r.events.some((e) => e.type === 'result'));
      assert.ok(!r.events.some((e) => e.type === 'stage-start' && STAGES.indexOf(e.stage) > STAGES.indexOf(stage)), 'no later stage starts');
      assert.deepEqual(listing(dir), ['halfunet.onnx']);
    });
  }

  test('a model that cannot be read fails with its code and message; the client does not throw', async () => {
    const { dir } = modelCopy('qp-worker-bad-');
    const missing = path.join(dir, 'missing.onnx');
    const r = await runWorker(request(missing));
    assert.equal(r.outcome.kind, 'failed', failure(r));
    const o = r.outcome as Extract<WorkerOutcome, { kind: 'failed' }>;
    assert.equal(o.code, 'file-not-found');
    assert.match(o.message, /missing\.onnx/);
    assert.deepEqual(listing(dir), ['halfunet.onnx']);
  });

  test('a worker killed mid-run is reported as crashed, with no output left', async () => {
    const { dir, model } = modelCopy('qp-worker-kill-');
    let killed = false;
    const r = await runWorker(request(model, mergeSettings(TINY, { searchTimeMs: 60_000 })), (e, run) => {
      if (!killed && e.type === 'stage-start' && e.stage === 'search') {
        killed = true;
        process.kill(run.pid!, 'SIGKILL');
      }
    });
    assert.ok(killed);
    assert.equal(r.outcome.kind, 'failed', failure(r));
    const o = r.outcome as Extract<WorkerOutcome, { kind: 'failed' }>;
    assert.equal(o.code, 'worker-crashed');
    assert.match(o.message, /SIGKILL/);
    assert.ok(!existsSync(path.join(dir, 'halfunet.pruned.onnx')));
    // A SIGKILLed run cannot remove its output lock; the next run takes it over (faults.test.ts).
    assert.deepEqual(listing(dir), ['.halfunet.pruned.onnx.lock', 'halfunet.onnx']);
  });
});

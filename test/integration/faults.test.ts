// Faults in the middle of a run, through the real worker process and the real CLI: a worker
// killed at every stage and inside the write phase, a disk that fills (tmpfs), an output folder
// deleted or replaced by a file mid-run, and two runs writing the same output. Each must end in a
// clear message, leave no partial file and no mixed set (model and reports of different runs),
// and leave nothing behind once the next run has started in that folder.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { startPrune, type WorkerOutcome } from '../../src/worker/client';
import { mergeSettings } from '../../src/core/presets';
import { acquireOutputLock, lockPathFor } from '../../src/core/util/outputLock';
import { cleanStaleTemps } from '../../src/core/util/outputGuard';
import type { PipelineEvent, PruneRequest, PruneSettings } from '../../src/protocol';
import type { RunReport } from '../../src/core/pipeline/report';
import { DATA, FIXTURES, ROOT, TINY, TSX, checkReports, listing, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';
import { runCli, showRun, type CliResult } from '../helpers/cli';

const WORKER = path.join(ROOT, 'src', 'worker', 'worker.ts');
const HOOK = path.join(ROOT, 'test', 'helpers', 'faultHooks.cjs');
const OUTPUTS = ['halfunet.pruned.onnx', 'halfunet.pruned.report.json', 'halfunet.pruned.report.md'];
const LOCK = '.halfunet.pruned.onnx.lock';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const bytesOf = (dir: string, names: string[]) => new Map(names.map((n) => [n, readFileSync(path.join(dir, n))]));

/** The three outputs in `dir` are one run's: valid reports whose digest is the model file's. */
function assertOneRunsSet(dir: string, stem = 'halfunet.pruned'): RunReport {
  const report = checkReports(path.join(dir, `${stem}.report.json`), path.join(dir, `${stem}.report.md`));
  assert.equal(report.export.sha256, sha256(path.join(dir, `${stem}.onnx`)), 'the report describes the model file beside it');
  assert.equal(report.export.bytes, statSync(path.join(dir, `${stem}.onnx`)).size);
  return report;
}

interface Ran {
  outcome: WorkerOutcome;
  events: PipelineEvent[];
  stderr: string[];
}

/** One request in a fresh worker, with the fault hooks preloaded; the callbacks may kill it. */
async function runWorker(
  req: PruneRequest,
  opts: { fault?: string; onEvent?: (e: PipelineEvent, pid: number) => void; onStderr?: (line: string, pid: number) => void } = {},
): Promise<Ran> {
  const events: PipelineEvent[] = [];
  const stderr: string[] = [];
  const run = startPrune(req, {
    workerPath: WORKER,
    execArgv: ['--require', HOOK, '--import', TSX],
    env: { ...process.env, QP_FAULT: opts.fault ?? '' },
    onStderr: (l) => {
      stderr.push(l);
      opts.onStderr?.(l, run.pid!);
    },
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e, run.pid!);
    },
  });
  return { outcome: await run.finished, events, stderr };
}

const failure = (r: Ran) => `${JSON.stringify(r.outcome)}\n${r.stderr.slice(-10).join('\n')}`;
const failed = (r: Ran) => {
  assert.equal(r.outcome.kind, 'failed', failure(r));
  return r.outcome as Extract<WorkerOutcome, { kind: 'failed' }>;
};

function request(dir: string, settings: PruneSettings = TINY, data = DATA): PruneRequest {
  const model = path.join(dir, 'halfunet.onnx');
  return { model, data, out: path.join(dir, 'halfunet.pruned.onnx'), presetName: 'tiny', settings, compare: false, timeBudgetSeconds: 0 };
}

function cli(args: string[], onStderr?: (text: string) => void, fault = ''): Promise<CliResult> {
  return runCli(args, { nodeArgs: ['--require', HOOK], env: { QP_FAULT: fault }, ...(onStderr ? { onStderr: (t: string) => onStderr(t) } : {}) });
}

const show = showRun;

function assertOneLineError(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, message, show(r));
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, show(r));
  assert.equal(r.stdout, '');
}

function config(extra: Record<string, unknown> = {}): string {
  const file = path.join(tempDir('qp-fault-config-'), 'tiny.jsonc');
  writeFileSync(file, JSON.stringify({ provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'off' }, ...extra }));
  return file;
}

/** A folder with the model; outputs go to `out` (a subfolder when given). */
function workspace(prefix: string, sub?: string) {
  const dir = tempDir(prefix);
  copyFileSync(path.join(FIXTURES, 'halfunet.onnx'), path.join(dir, 'halfunet.onnx'));
  const outDir = sub ? path.join(dir, sub) : dir;
  if (sub) mkdirSync(outDir);
  return { dir, model: path.join(dir, 'halfunet.onnx'), outDir, out: path.join(outDir, 'x.onnx') };
}

describe('worker killed mid-run', () => {
  after(removeTempDirs);
  // One successful run whose outputs every test starts from: a kill must not touch them.
  let base: string;
  before(async () => {
    base = tempDir('qp-fault-base-');
    copyFileSync(path.join(FIXTURES, 'halfunet.onnx'), path.join(base, 'halfunet.onnx'));
    const r = await runWorker(request(base));
    assert.equal(r.outcome.kind, 'done', failure(r));
    assertOneRunsSet(base);
  });
  function fromBase(prefix: string) {
    const dir = tempDir(prefix);
    for (const f of ['halfunet.onnx', ...OUTPUTS]) copyFileSync(path.join(base, f), path.join(dir, f));
    return { dir, before: bytesOf(dir, ['halfunet.onnx', ...OUTPUTS]) };
  }
  const unchanged = (dir: string, before: Map<string, Buffer>) => {
    for (const [f, b] of before) assert.ok(readFileSync(path.join(dir, f)).equals(b), `${f} changed`);
  };
  /** The next run in the folder (one that fails on its data at once) cleans what the kill left. */
  const nextRun = async (dir: string) => {
    const r = await runWorker(request(dir, TINY, path.join(dir, 'no-data')));
    assert.equal(failed(r).code, 'not-found', failure(r));
  };
  const crashed = (r: Ran) => {
    const o = failed(r);
    assert.equal(o.code, 'worker-crashed');
    assert.match(o.message, /ended unexpectedly \(signal SIGKILL/);
  };

  for (const stage of ['calibrate', 'search', 'refine'] as const) {
    test(`killed during ${stage}: 'worker-crashed', the earlier outputs intact, nothing left after the next run`, async () => {
      const { dir, before } = fromBase(`qp-fault-kill-${stage}-`);
      let killed = false;
      const r = await runWorker(request(dir, mergeSettings(TINY, { searchTimeMs: 2000 })), {
        onEvent: (e, pid) => {
          if (!killed && e.type === 'stage-start' && e.stage === stage) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        },
      });
      assert.ok(killed, `${stage} started`);
      crashed(r);
      // Only the lock of the killed run is left (it cannot remove it when SIGKILLed).
      assert.deepEqual(listing(dir), [LOCK, 'halfunet.onnx', ...OUTPUTS]);
      unchanged(dir, before);
      await nextRun(dir);
      assert.deepEqual(listing(dir), ['halfunet.onnx', ...OUTPUTS]);
      unchanged(dir, before);
      assertOneRunsSet(dir);
    });
  }

  test('killed with every output staged, before the first rename: the earlier outputs stay whole; the next run removes the staged files', async () => {
    const { dir, before } = fromBase('qp-fault-kill-staged-');
    let stalled = '';
    const r = await runWorker(request(dir, mergeSettings(TINY, { seed: 7 })), {
      fault: 'stall-before-commit',
      onStderr: (l, pid) => {
        if (!stalled && l.startsWith('qp-fault:')) {
          stalled = l;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    assert.match(stalled, /stall-before-commit at halfunet\.pruned\.onnx/, failure(r));
    crashed(r);
    const left = listing(dir).filter((f) => !['halfunet.onnx', ...OUTPUTS].includes(f));
    assert.equal(left.filter((f) => f.endsWith('.tmp')).length, 3, `staged files: ${left}`);
    assert.ok(left.some((f) => f.endsWith('.commit')), 'the commit journal');
    unchanged(dir, before);
    await nextRun(dir);
    assert.deepEqual(listing(dir), ['halfunet.onnx', ...OUTPUTS]);
    unchanged(dir, before);
  });

  test('killed between two renames: the mix is visible by digest until the next run, which completes the commit', async () => {
    const { dir, before } = fromBase('qp-fault-kill-commit-');
    let stalled = '';
    const r = await runWorker(request(dir, mergeSettings(TINY, { seed: 7 })), {
      fault: 'stall-mid-commit',
      onStderr: (l, pid) => {
        if (!stalled && l.startsWith('qp-fault:')) {
          stalled = l;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    assert.match(stalled, /stall-mid-commit at halfunet\.pruned\.report\.json/, failure(r));
    crashed(r);
    // The new model beside the old reports: the old report's digest no longer matches.
    assert.ok(!readFileSync(path.join(dir, OUTPUTS[0]!)).equals(before.get(OUTPUTS[0]!)!), 'the model was renamed');
    const old = JSON.parse(readFileSync(path.join(dir, OUTPUTS[1]!), 'utf8')) as RunReport;
    assert.notEqual(old.export.sha256, sha256(path.join(dir, OUTPUTS[0]!)));
    await nextRun(dir);
    assert.deepEqual(listing(dir), ['halfunet.onnx', ...OUTPUTS]);
    const report = assertOneRunsSet(dir);
    assert.equal(report.settings.seed, 7, 'the killed run’s complete set');
  });

  test('a run after a kill writes its outputs and leaves no temporary file or lock', async () => {
    const { dir } = fromBase('qp-fault-kill-rerun-');
    let stalled = false;
    await runWorker(request(dir), {
      fault: 'stall-before-commit',
      onStderr: (l, pid) => {
        if (!stalled && l.startsWith('qp-fault:')) {
          stalled = true;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    assert.ok(stalled);
    assert.ok(listing(dir).length > 4);
    const r = await runWorker(request(dir, mergeSettings(TINY, { seed: 3 })));
    assert.equal(r.outcome.kind, 'done', failure(r));
    assert.deepEqual(listing(dir), ['halfunet.onnx', ...OUTPUTS]);
    assert.equal(assertOneRunsSet(dir).settings.seed, 3);
  });
});

describe('disk full (a small tmpfs as the output folder)', () => {
  const mounts: string[] = [];
  after(() => {
    for (const m of mounts.splice(0)) spawnSync('umount', [m]);
    removeTempDirs();
  });
  let sizes: { model: number; json: number } | undefined;
  let noMount = '';
  before(async () => {
    const probe = tempDir('qp-fault-mountprobe-');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
    if (m.status !== 0) {
      noMount = `cannot mount a tmpfs here (${(m.stderr || m.error?.message || `exit ${m.status}`).trim()}); needs root`;
      return;
    }
    spawnSync('umount', [probe]);
    // Output sizes of this configuration, to size a disk that fills in the middle of the write.
    const w = workspace('qp-fault-sizes-');
    const r = await cli(['prune', w.model, '--data', DATA, '--config', config(), '--out', w.out]);
    assert.equal(r.code, 0, show(r));
    sizes = { model: statSync(w.out).size, json: statSync(path.join(w.dir, 'x.report.json')).size };
  });
  const tmpfs = (bytes: number) => {
    const dir = tempDir('qp-fault-tmpfs-');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    mounts.push(dir);
    return dir;
  };
  const page = 4096;
  const pages = (n: number) => Math.ceil(n / page) * page;

  const cases: [string, () => number, RegExp][] = [
    // Room for the lock and the probe, none for the model.
    ['64 KiB: the model does not fit', () => 64 * 1024, /cannot write '[^']*x\.onnx': no space left on the device/],
    // The model fits, the JSON report does not: a staged model must not survive the failure.
    ['the model fits, the JSON report does not', () => pages(sizes!.model) + 2 * page, /cannot write '[^']*x\.report\.json': no space left on the device/],
  ];
  for (const [what, size, message] of cases) {
    test(`CLI, ${what}: exit 1 naming the file, nothing left on the disk`, async (t) => {
      if (noMount) return t.skip(noMount);
      if (size() >= sizes!.model + sizes!.json) return t.skip('the outputs are smaller than expected');
      const w = workspace('qp-fault-enospc-');
      const dir = tmpfs(size());
      const r = await cli(['prune', w.model, '--data', DATA, '--config', config(), '--out', path.join(dir, 'x.onnx')]);
      assertOneLineError(r, message);
      assert.deepEqual(listing(dir), []);
      assert.deepEqual(listing(w.dir), ['halfunet.onnx']);
    });
  }

  test('worker: the disk fills during the write → failed (output-unwritable), nothing left', async (t) => {
    if (noMount) return t.skip(noMount);
    const w = workspace('qp-fault-enospc-worker-');
    const dir = tmpfs(64 * 1024);
    const r = await runWorker({ ...request(w.dir, mergeSettings(TINY, { refine: { scope: 'off' } })), out: path.join(dir, 'x.onnx') });
    const o = failed(r);
    assert.equal(o.code, 'output-unwritable');
    assert.match(o.message, /^cannot write '[^']*x\.onnx': no space left on the device$/);
    assert.deepEqual(listing(dir), []);
  });
});

describe('output folder deleted or replaced mid-run', () => {
  after(removeTempDirs);
  // The output check runs before the first stage, so by the end of 'Analyze' it has passed; the
  // 1.5 s search leaves the test time to act before the write.
  const slow = () => config({ searchTimeMs: 1500 });
  const cases: [string, (outDir: string) => void, RegExp][] = [
    ['deleted', (d) => rmSync(d, { recursive: true }), /cannot write '[^']*x\.onnx': the folder '[^']*out' does not exist/],
    [
      'replaced by a file',
      (d) => {
        rmSync(d, { recursive: true });
        writeFileSync(d, 'not a folder');
      },
      /cannot write '[^']*x\.onnx': '[^']*out' or one of its parents is not a folder/,
    ],
  ];
  for (const [what, act, message] of cases) {
    test(`CLI, folder ${what} after the check: exit 1, one line naming the folder, nothing written anywhere`, async () => {
      const w = workspace(`qp-fault-gone-`, 'out');
      let acted = false;
      const r = await cli(['prune', w.model, '--data', DATA, '--config', slow(), '--out', w.out], (text) => {
        if (!acted && /^Analyze\s+done/m.test(text)) {
          acted = true;
          act(w.outDir);
        }
      });
      assert.ok(acted, show(r));
      assertOneLineError(r, message);
      assert.deepEqual(listing(w.dir), ['halfunet.onnx', ...(what === 'deleted' ? [] : ['out'])]);
      if (what !== 'deleted') assert.equal(readFileSync(w.outDir, 'utf8'), 'not a folder');
    });
  }

  test('worker, folder deleted after the check: failed (output-unwritable) naming the folder', async () => {
    const w = workspace('qp-fault-gone-worker-', 'out');
    const r = await runWorker({ ...request(w.dir, mergeSettings(TINY, { searchTimeMs: 1500, refine: { scope: 'off' } })), out: w.out }, {
      onEvent: (e) => e.type === 'stage-end' && e.stage === 'analyze' && rmSync(w.outDir, { recursive: true }),
    });
    const o = failed(r);
    assert.equal(o.code, 'output-unwritable');
    assert.match(o.message, /the folder '[^']*out' does not exist/);
    assert.deepEqual(listing(w.dir), ['halfunet.onnx']);
  });
});

describe('two runs writing the same output', () => {
  after(removeTempDirs);

  test('a second CLI run while the first holds the output: exit 1 "another run (pid N) is writing"; the first completes', async () => {
    const w = workspace('qp-fault-twice-');
    const cfg = config({ searchTimeMs: 1500 });
    let second: Promise<CliResult> | undefined;
    const first = await cli(['prune', w.model, '--data', DATA, '--config', cfg, '--seed', '1', '--out', w.out], (text) => {
      if (!second && /^Analyze\s+done/m.test(text)) second = cli(['prune', w.model, '--data', DATA, '--config', cfg, '--seed', '2', '--out', w.out]);
    });
    assert.ok(second);
    const r2 = await second!;
    assert.equal(first.code, 0, show(first));
    assertOneLineError(r2, /another run \(pid \d+, started [^)]+\) is writing '[^']*x\.onnx'/);
    assert.deepEqual(listing(w.dir), ['halfunet.onnx', 'x.onnx', 'x.report.json', 'x.report.md']);
    assert.equal(assertOneRunsSet(w.dir, 'x').settings.seed, 1);
  });

  test('two CLI runs started together: one set, from one run, whatever the timing', async () => {
    const w = workspace('qp-fault-race-');
    const cfg = config();
    const runs = await Promise.all([1, 2].map((seed) => cli(['prune', w.model, '--data', DATA, '--config', cfg, '--seed', String(seed), '--out', w.out])));
    assert.ok(runs.some((r) => r.code === 0), runs.map(show).join('\n'));
    for (const r of runs) if (r.code !== 0) assertOneLineError(r, /another run \(pid \d+.*\) is writing/);
    assert.deepEqual(listing(w.dir), ['halfunet.onnx', 'x.onnx', 'x.report.json', 'x.report.md']);
    const report = assertOneRunsSet(w.dir, 'x');
    const winners = runs.map((r, i) => (r.code === 0 ? i + 1 : 0)).filter(Boolean);
    assert.ok(winners.includes(report.settings.seed), 'the set is from a run that succeeded');
  });
});

describe('the output lock', () => {
  after(removeTempDirs);

  test('one holder at a time; released once; the file goes with the release', () => {
    const dir = tempDir('qp-lock-');
    const out = path.join(dir, 'x.onnx');
    const lock = acquireOutputLock(out);
    assert.ok(existsSync(lockPathFor(out)));
    assert.throws(() => acquireOutputLock(out), (e: Error & { code?: string }) => e.code === 'output-busy' && new RegExp(`pid ${process.pid}`).test(e.message) && e.message.includes(lockPathFor(out)));
    lock.release();
    lock.release();
    assert.deepEqual(listing(dir), []);
    acquireOutputLock(out).release();
    assert.deepEqual(listing(dir), []);
  });

  test('a stale lock (dead pid, or torn) is taken over; a process that exits without releasing leaves none', () => {
    const dir = tempDir('qp-lock-stale-');
    const out = path.join(dir, 'x.onnx');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lockPathFor(out), JSON.stringify({ pid: deadPid, host: hostname(), token: 't', startedAt: 'then' }));
    acquireOutputLock(out).release();
    writeFileSync(lockPathFor(out), '{"pid": 12');
    acquireOutputLock(out).release();
    assert.deepEqual(listing(dir), []);
    const src = path.join(ROOT, 'src', 'core', 'util', 'outputLock.ts');
    const child = spawnSync(process.execPath, ['--import', TSX, '-e', `require(${JSON.stringify(src)}).acquireOutputLock(${JSON.stringify(out)}); process.exit(3)`], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    assert.deepEqual(listing(dir), []);
  });

  test('stale-file cleanup removes locks of dead writers, keeps live ones and files not of our format', async () => {
    const dir = tempDir('qp-lock-clean-');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(path.join(dir, '.a.onnx.lock'), JSON.stringify({ pid: deadPid, host: hostname(), token: 't', startedAt: 'then' }));
    writeFileSync(path.join(dir, '.b.onnx.lock'), 'someone else’s');
    const live = acquireOutputLock(path.join(dir, 'c.onnx'));
    assert.deepEqual(await cleanStaleTemps(dir), ['.a.onnx.lock']);
    assert.deepEqual(listing(dir), ['.b.onnx.lock', '.c.onnx.lock']);
    live.release();
  });
});

// Where the commands write: never onto the source model or its external data (however the path
// is spelled), a bad output path fails at once with one line and exit 1, a cancelled run leaves
// nothing (all or nothing), and temporary files of killed runs are cleaned at the next run.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA, FIXTURES, ROOT, TINY, TSX, listing, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';
import { runCli, showRun, type CliOptions, type CliResult } from '../helpers/cli';
import { parsePruneArgs, runPrune, type PruneRequest } from '../../src/cli/commands/prune';
import { runPipeline, CancelledError } from '../../src/core/pipeline';
import { writeFilesAtomic } from '../../src/core/util/atomicWrite';
import { outputErrorFrom, OutputError } from '../../src/core/util/outputGuard';
import { startPrune } from '../../src/worker/client';


function cli(args: string[], onStderr?: CliOptions['onStderr']): Promise<CliResult> {
  return runCli(args, onStderr ? { onStderr } : {});
}

const show = showRun;

function tinyConfig(extra: Record<string, unknown> = {}): string {
  const file = path.join(tempDir('qp-safety-config-'), 'tiny.jsonc');
  writeFileSync(file, JSON.stringify({ provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'off' }, recover: false, ...extra }));
  return file;
}

/** A folder with both fixtures (the external-data one with its .data file) and their bytes. */
function workspace(prefix: string) {
  const dir = tempDir(prefix);
  const files = ['halfunet.onnx', 'halfunet_ext.onnx', 'halfunet_ext.onnx.data'];
  for (const f of files) copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  const bytes = new Map(files.map((f) => [f, readFileSync(path.join(dir, f))]));
  return {
    dir,
    model: path.join(dir, 'halfunet.onnx'),
    ext: path.join(dir, 'halfunet_ext.onnx'),
    extData: path.join(dir, 'halfunet_ext.onnx.data'),
    /** The sources are byte for byte what they were. */
    unchanged() {
      for (const [f, b] of bytes) assert.ok(readFileSync(path.join(dir, f)).equals(b), `${f} was modified`);
    },
  };
}

type Ws = ReturnType<typeof workspace>;

function assertOneLineError(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, message, show(r));
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').filter((l) => /qubo-prune|error:/.test(l)).length, 1, show(r));
}

describe('outputs never overwrite the source model or its external data', () => {
  after(removeTempDirs);
  const cases: [string, (w: Ws) => string[], RegExp][] = [
    ['analyze --json onto the model', (w) => ['analyze', w.model, '--json', w.model], /it is the source model/],
    ['analyze --json onto the external data file', (w) => ['analyze', w.ext, '--json', w.extData], /external data file/],
    ['importance --json onto the model', (w) => ['importance', w.ext, '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'cpu', '--json', w.ext], /it is the source model/],
    ['importance --json onto the external data file', (w) => ['importance', w.ext, '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'cpu', '--json', w.extData], /external data file/],
    ['data-free prune --out onto the external data file', (w) => ['prune', w.ext, '--sparsity', '0.3', '--out', w.extData], /external data file/],
    ['data-free prune --force --out onto the external data file', (w) => ['prune', w.ext, '--sparsity', '0.3', '--force', '--out', w.extData], /external data file/],
    ['pipeline prune --out onto the external data file', (w) => ['prune', w.ext, '--data', DATA, '--config', tinyConfig(), '--out', w.extData], /external data file/],
    ['pipeline prune --out onto the model', (w) => ['prune', w.model, '--data', DATA, '--config', tinyConfig(), '--out', w.model], /it is the source model/],
    [
      'data-free prune --out a symlink to the model',
      (w) => {
        symlinkSync(w.model, path.join(w.dir, 'link.onnx'));
        return ['prune', w.model, '--sparsity', '0.3', '--out', path.join(w.dir, 'link.onnx')];
      },
      /source model .* \(through a link\)/,
    ],
    [
      'analyze --json a hard link to the model',
      (w) => {
        linkSync(w.model, path.join(w.dir, 'hard.json'));
        return ['analyze', w.model, '--json', path.join(w.dir, 'hard.json')];
      },
      /source model .* \(through a link\)/,
    ],
    [
      'pipeline prune --out a hard link to the external data file',
      (w) => {
        linkSync(w.extData, path.join(w.dir, 'copy.onnx'));
        return ['prune', w.ext, '--data', DATA, '--config', tinyConfig(), '--out', path.join(w.dir, 'copy.onnx')];
      },
      /external data file/,
    ],
    [
      'pipeline prune --out the model through a symlinked folder',
      (w) => {
        symlinkSync(w.dir, path.join(w.dir, 'again'));
        return ['prune', w.model, '--data', DATA, '--config', tinyConfig(), '--out', path.join(w.dir, 'again', 'halfunet.onnx')];
      },
      /source model .* \(through a link\)/,
    ],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: exit 1, one line, the sources untouched, nothing written`, async () => {
      const w = workspace('qp-safety-src-');
      const a = args(w);
      const before = listing(w.dir);
      const r = await cli(a);
      assertOneLineError(r, message);
      assert.doesNotMatch(r.stderr, /Calibrate/, 'refused before any work');
      w.unchanged();
      assert.deepEqual(listing(w.dir), before);
    });
  }
});

describe('output paths that cannot be written: exit 1 before any work, one line naming the place', () => {
  after(removeTempDirs);
  const cases: [string, (w: Ws) => string, RegExp][] = [
    ['a missing folder', (w) => path.join(w.dir, 'no', 'such', 'x.onnx'), /the folder '.*no[/\\]such' does not exist/],
    ['a parent that is a file', (w) => path.join(w.model, 'sub', 'x.onnx'), /halfunet\.onnx' is not a folder/],
    ['an output that is a folder', (w) => (mkdirSync(path.join(w.dir, 'x.onnx')), path.join(w.dir, 'x.onnx')), /x\.onnx' is a folder/],
    ['/proc', () => '/proc/x.onnx', /'\/proc' is a virtual file system/],
  ];
  for (const [what, out, message] of cases) {
    for (const form of ['analyze', 'data-free prune', 'pipeline prune'] as const) {
      test(`${form}: ${what}`, async () => {
        const w = workspace('qp-safety-out-');
        const o = out(w);
        const before = listing(w.dir);
        const args =
          form === 'analyze'
            ? ['analyze', w.model, '--json', o]
            : form === 'data-free prune'
              ? ['prune', w.model, '--sparsity', '0.3', '--out', o]
              : ['prune', w.model, '--data', DATA, '--config', tinyConfig(), '--out', o];
        const r = await cli(args);
        assertOneLineError(r, message);
        assert.doesNotMatch(r.stderr, /Analyze|Calibrate|prunable channels/, 'checked before any work');
        w.unchanged();
        assert.deepEqual(listing(w.dir), before);
      });
    }
  }
});

describe('all or nothing: cancellation and temporary files', () => {
  after(removeTempDirs);

  test('data-free prune: SIGINT mid-run exits 130 and leaves nothing', async () => {
    const w = workspace('qp-safety-int-');
    const before = listing(w.dir);
    let sent = false;
    const r = await cli(['prune', w.model, '--sparsity', '0.3', '--out', path.join(w.dir, 'x.onnx')], (text, child) => {
      if (!sent && /prunable channels/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(sent, show(r));
    assert.equal(r.code, 130, show(r));
    assert.match(r.stderr, /cancelled; nothing was written/);
    assert.equal(r.stdout, '');
    assert.deepEqual(listing(w.dir), before);
  });

  test('data-free prune in process: an abort after the analysis rejects with CancelledError and writes nothing', async () => {
    const w = workspace('qp-safety-abort-');
    const before = listing(w.dir);
    const controller = new AbortController();
    const req = parsePruneArgs([w.ext, '--sparsity', '0.3', '--out', path.join(w.dir, 'x.onnx')]) as PruneRequest;
    await assert.rejects(runPrune(req, () => controller.abort(), controller.signal), CancelledError);
    assert.deepEqual(listing(w.dir), before);
    w.unchanged();
  });

  test('pipeline in process: an abort when evaluation ends writes nothing', async () => {
    const w = workspace('qp-safety-pabort-');
    const before = listing(w.dir);
    const controller = new AbortController();
    const req = { model: w.model, data: DATA, out: path.join(w.dir, 'x.onnx'), presetName: 'tiny', settings: { ...TINY, refine: { ...TINY.refine, scope: 'off' as const } }, compare: false, timeBudgetSeconds: 0 };
    await assert.rejects(
      runPipeline(req, { signal: controller.signal, onEvent: (e) => e.type === 'stage-end' && e.stage === 'evaluate' && controller.abort() }),
      CancelledError,
    );
    assert.deepEqual(listing(w.dir), before);
  });

  test('pipeline CLI: SIGINT during the write phase gives all or nothing, and says which', async () => {
    const w = workspace('qp-safety-pint-');
    const before = listing(w.dir);
    let sent = false;
    const r = await cli(['prune', w.model, '--data', DATA, '--config', tinyConfig(), '--out', path.join(w.dir, 'x.onnx')], (text, child) => {
      if (!sent && /Evaluate[^\n]*done/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(sent, show(r));
    assert.doesNotMatch(r.stderr, /no output will be written/);
    if (r.code === 130) {
      assert.match(r.stderr, /cancelled; nothing was written/);
      assert.deepEqual(listing(w.dir), before);
    } else {
      // The interrupt may land after the commit; then the outputs are complete and the CLI says so.
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /after the outputs were written/);
      assert.deepEqual(listing(w.dir), [...before, 'x.onnx', 'x.report.json', 'x.report.md'].sort());
    }
    w.unchanged();
  });

  test('writeFilesAtomic: a throwing beforeCommit writes nothing; a failed rename undoes the renames before it', async () => {
    const dir = tempDir('qp-safety-atomic-');
    const files = ['a.onnx', 'a.report.json'].map((f) => ({ path: path.join(dir, f), data: f }));
    await assert.rejects(
      writeFilesAtomic(files, {
        beforeCommit: () => {
          throw new CancelledError();
        },
      }),
      CancelledError,
    );
    assert.deepEqual(listing(dir), []);
    // The second target is a non-empty folder: renaming a file over it fails mid-commit.
    mkdirSync(path.join(dir, 'a.report.json'));
    writeFileSync(path.join(dir, 'a.report.json', 'keep'), '');
    await assert.rejects(writeFilesAtomic(files), (e: Error & { code?: string }) => e.name === 'OutputError' && e.code === 'output-unwritable' && /a\.report\.json/.test(e.message));
    assert.deepEqual(listing(dir), ['a.report.json']);
  });

  test('write errors a test cannot provoke as root (disk full, read-only, permissions) map to one-line input errors', () => {
    const errno = (code: string) => Object.assign(new Error(`${code}: raw node message, write '/x/y.onnx'`), { code });
    for (const [code, reason] of [
      ['ENOSPC', /no space left on the device/],
      ['EDQUOT', /quota/],
      ['EROFS', /'\/x' is on a read-only file system/],
      ['EACCES', /permission denied in '\/x'/],
      ['EPERM', /permission denied in '\/x'/],
    ] as const) {
      const e = outputErrorFrom(errno(code), '/x/y.onnx');
      assert.ok(e instanceof OutputError, code);
      assert.equal((e as OutputError).code, 'output-unwritable');
      assert.match(e.message, /^cannot write '\/x\/y\.onnx': /);
      assert.match(e.message, reason);
      assert.doesNotMatch(e.message, /\n/);
    }
    const other = new Error('not an errno error');
    assert.equal(outputErrorFrom(other, '/x/y.onnx'), other);
  });

  test('stale temporary files of a dead writer are removed at the next run; a live one is kept', async () => {
    const w = workspace('qp-safety-stale-');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    const dead = `.x.onnx.${deadPid}.m3k9zq1abc12.tmp`;
    const live = `.x.onnx.${process.pid}.m3k9zq1abc34.tmp`;
    const other = `.notes.${deadPid}.tmp`;
    for (const f of [dead, live, other]) writeFileSync(path.join(w.dir, f), 'partial');
    const r = await cli(['prune', w.model, '--sparsity', '0.3', '--out', path.join(w.dir, 'x.onnx')]);
    assert.equal(r.code, 0, show(r));
    const names = listing(w.dir);
    assert.ok(!names.includes(dead), 'the dead writer’s temp file is gone');
    assert.ok(names.includes(live), 'a live writer’s temp file is kept');
    assert.ok(names.includes(other), 'files not of our pattern are kept');
    assert.ok(names.includes('x.onnx'));
    w.unchanged();
  });

  test('the worker reports a refused output as failed with its code, writing nothing', async () => {
    const w = workspace('qp-safety-worker-');
    const before = listing(w.dir);
    const run = startPrune(
      { model: w.ext, data: DATA, out: w.extData, presetName: 'tiny', settings: TINY, compare: false, timeBudgetSeconds: 0 },
      { workerPath: path.join(ROOT, 'src', 'worker', 'worker.ts'), execArgv: ['--import', TSX] },
    );
    const outcome = await run.finished;
    assert.equal(outcome.kind, 'failed');
    assert.equal((outcome as { code: string }).code, 'overwrite-source');
    assert.deepEqual(listing(w.dir), before);
    w.unchanged();
    assert.ok(!existsSync(path.join(w.dir, 'halfunet_ext.onnx.report.json')));
  });
});

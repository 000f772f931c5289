// Big models (issue 19, item 3): the memory-saving serialisation and weight sharing keep the model
// the same, and a model too large for the memory available is refused up front with a coded
// message, in the library, the CLI and the worker. The memory limit is faked with
// QUBO_PRUNE_MEMORY_LIMIT instead of allocating gigabytes. The measured figures come from
// `npm run bench:big` (docs/RELIABILITY.md).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { equals, fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { loadModel, OnnxModelError, parseModel } from '../../src/core/onnx';
import { inferShapes } from '../../src/core/analysis/shapes';
import { memoryLimit, parseByteSize, MEMORY_LIMIT_ENV } from '../../src/core/util/memory';
import { startPrune, type WorkerOutcome } from '../../src/worker/client';
import { DATA, FIXTURES, ROOT, TINY, TSX, modelCopy, removeTempDirs } from '../helpers/pipelineOutputs';

const HALFUNET = path.join(FIXTURES, 'halfunet.onnx');
const HALFUNET_EXT = path.join(FIXTURES, 'halfunet_ext.onnx');

/** Runs `fn` with QUBO_PRUNE_MEMORY_LIMIT set, restoring the environment after. */
async function withLimit<T>(limit: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env[MEMORY_LIMIT_ENV];
  process.env[MEMORY_LIMIT_ENV] = limit;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[MEMORY_LIMIT_ENV];
    else process.env[MEMORY_LIMIT_ENV] = saved;
  }
}

const tooLarge = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof OnnxModelError, String(e));
  assert.equal(e.code, 'too-large-for-memory');
  assert.match(e.message, pattern);
  return true;
};

describe('memory-saving model handling', () => {
  test('toBytes with large tensors spliced in parses back to the same model', async () => {
    const model = await loadModel(HALFUNET);
    // Above the splice threshold (64 KiB), unaligned on purpose, next to the fixture's small ones.
    const big = new Float32Array(70_000).map((_, i) => Math.sin(i));
    model.setInitializer('big_unused', [70_000], big);
    const bytes = model.toBytes();
    const back = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: true });
    assert.ok(equals(ModelProtoSchema, back, model.proto), 'the spliced serialisation decodes to the same message');
    const reread = parseModel(bytes);
    assert.deepEqual(Array.from(reread.floatInitializer('big_unused').data.subarray(0, 5)), Array.from(big.subarray(0, 5)));
  });

  test('an external-data model serialises self-contained, equal to its deep-copied inlined form', async () => {
    const model = await loadModel(HALFUNET_EXT);
    const viaViews = fromBinary(ModelProtoSchema, model.toBytes());
    assert.ok(equals(ModelProtoSchema, viaViews, model.clone().proto));
    assert.ok(model.externalTensors().length > 0, 'the source stays external');
  });

  test('deriveSharingWeights shares bytes, and edits of the copy leave the source alone', async () => {
    const model = await loadModel(HALFUNET);
    const copy = model.deriveSharingWeights();
    assert.ok(equals(ModelProtoSchema, copy.proto, model.proto));
    const name = model.graph.initializer.find((t) => t.rawData.byteLength > 0)!.name;
    assert.equal(copy.initializers().get(name)!.rawData, model.initializers().get(name)!.rawData, 'same bytes, not a copy');
    const before = Array.from(model.floatInitializer(name).data);
    copy.setInitializer(name, [1], Float32Array.of(42));
    assert.deepEqual(Array.from(model.floatInitializer(name).data), before);
    copy.graph.node[0]!.name = 'renamed';
    assert.notEqual(model.graph.node[0]!.name, 'renamed');
  });

  test('the shape probe leaves the model untouched and gives the same shapes for external data', async () => {
    const model = await loadModel(HALFUNET);
    const outputs = model.graph.output.length;
    const inits = model.graph.initializer.length;
    const shapes = await inferShapes(model, [1, 3, 64, 64]);
    assert.equal(model.graph.output.length, outputs);
    assert.equal(model.graph.initializer.length, inits);
    const ext = await inferShapes(await loadModel(HALFUNET_EXT), [1, 3, 64, 64]);
    assert.deepEqual([...ext.entries()].sort(), [...shapes.entries()].sort());
  });
});

describe('a model too large for the memory available', () => {
  after(removeTempDirs);

  test('QUBO_PRUNE_MEMORY_LIMIT parses sizes and wins over the machine figure', async () => {
    assert.equal(parseByteSize('1G'), 1024 ** 3);
    assert.equal(parseByteSize('1.5GiB'), 1.5 * 1024 ** 3);
    assert.equal(parseByteSize('512m'), 512 * 1024 ** 2);
    assert.equal(parseByteSize('4096'), 4096);
    assert.equal(parseByteSize('lots'), undefined);
    await withLimit('64M', async () => assert.deepEqual(memoryLimit(), { bytes: 64 * 1024 ** 2, source: `${MEMORY_LIMIT_ENV}=64M` }));
    assert.ok(memoryLimit().bytes > 0);
  });

  test('loadModel refuses before reading, naming the sizes, the factor and the limit', async () => {
    await withLimit('100M', () =>
      assert.rejects(loadModel(HALFUNET), tooLarge(/model '.*halfunet\.onnx' \(\d+ KiB\) is too large for the memory available: working on it takes about \d+ MiB \(3× its size plus the runtime\), and only 100 MiB is available \(QUBO_PRUNE_MEMORY_LIMIT=100M\)/)),
    );
    // A generous limit changes nothing.
    await withLimit('64G', async () => assert.ok(await loadModel(HALFUNET)));
  });

  test('external data counts: a small .onnx with a large data file is refused by its total size', async () => {
    const { model } = modelCopy('qp-big-ext-', 'halfunet_ext.onnx');
    copyFileSync(HALFUNET_EXT + '.data', model + '.data');
    // Room for the .onnx file and the runtime (150 MiB), not for three times the data as well.
    const limit = String(150 * 1024 ** 2 + 3 * statSync(model).size + statSync(model + '.data').size);
    await withLimit(limit, () => assert.rejects(loadModel(model), tooLarge(/with its external data\) is too large/)));
  });

  test('the CLI exits 1 with the message, no stack trace', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'src', 'cli', 'main.ts'), 'analyze', HALFUNET], {
        cwd: ROOT,
        env: { ...process.env, [MEMORY_LIMIT_ENV]: '1M' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /too large for the memory available/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('the worker reports a failure with code too-large-for-memory', async () => {
    const { model } = modelCopy('qp-big-worker-');
    const run = startPrune(
      { model, data: DATA, out: model.replace(/\.onnx$/, '.pruned.onnx'), presetName: 'tiny', settings: TINY, compare: false, timeBudgetSeconds: 0 },
      {
        workerPath: path.join(ROOT, 'src', 'worker', 'worker.ts'),
        execArgv: ['--import', TSX],
        env: { ...process.env, [MEMORY_LIMIT_ENV]: '1M' },
        onEvent: () => undefined,
      },
    );
    const outcome: WorkerOutcome = await run.finished;
    assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
    const failed = outcome as Extract<WorkerOutcome, { kind: 'failed' }>;
    assert.equal(failed.code, 'too-large-for-memory');
    assert.match(failed.message, /too large for the memory available/);
  });
});

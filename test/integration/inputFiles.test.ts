// Input files that are not what their names promise: FIFOs and devices where a model, its
// external data, a config or an image should be; weights holding NaN or Inf; JSON or text saved
// as .onnx; graphs onnxruntime refuses. Each must fail fast with a message naming the real problem
// (exit 1 from the CLI) and write nothing. Commands that could block run as child processes with
// a deadline, so a regression shows up as a failed test rather than a hung run.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadModel, OnnxModelError, floatTensor } from '../../src/core/onnx';
import { makeTensor, DataType } from '../../src/core/onnx/tensor';
import { loadDataset, DataError, decodeImageFile, readImageHeader } from '../../src/core/data';
import { isModelError } from '../../src/core/runtime/session';
import { tinyConvNet } from '../helpers/tinyModels';
import { constantNodeGraph } from '../helpers/graphs';
import { DATA, FIXTURES, listing, modelCopy, removeTempDirs, tempDir } from '../helpers/pipelineOutputs';
import { runCli, type CliResult } from '../helpers/cli';

/** A healthy run of these commands takes a few seconds; a blocked read would never end. */
const DEADLINE_MS = 60_000;

function cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult> {
  return runCli(args, { timeoutMs: DEADLINE_MS, ...(env ? { env } : {}) });
}

const show = (r: CliResult) => `exit ${r.code}${r.timedOut ? ' (killed at the deadline)' : ''} after ${r.ms} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function failsWith(r: CliResult, must: RegExp[], mustNot: RegExp[] = []): void {
  assert.equal(r.timedOut, false, show(r));
  assert.equal(r.code, 1, show(r));
  for (const re of must) assert.match(r.stderr, re, show(r));
  for (const re of mustNot) assert.doesNotMatch(r.stderr, re, show(r));
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace\n${show(r)}`);
}

const canMkfifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--version']).status === 0;
function mkfifo(file: string): void {
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0, String(r.stderr));
}

const noFifo = canMkfifo ? false : 'mkfifo is not available';
const noDevZero = process.platform !== 'win32' && existsSync('/dev/zero') ? false : 'no /dev/zero';

function tinyConfig(dir: string, provider = 'cpu'): string {
  const file = path.join(dir, 'tiny.jsonc');
  const cfg = { provider, samples: 4, patch: 32, searchTimeMs: 100, refine: { scope: 'network', evaluations: 10, seconds: 5, valSamples: 2 }, recover: false };
  writeFileSync(file, JSON.stringify(cfg, null, 1));
  return file;
}

/** The fixture model with one edit, saved in a fresh folder. */
async function editedModel(prefix: string, edit: (m: Awaited<ReturnType<typeof loadModel>>) => void): Promise<{ dir: string; model: string }> {
  const m = await loadModel(path.join(FIXTURES, 'halfunet.onnx'));
  edit(m);
  const dir = tempDir(prefix);
  const model = path.join(dir, 'edited.onnx');
  await m.save(model);
  return { dir, model };
}

async function firstConvWeight(): Promise<string> {
  const m = await loadModel(path.join(FIXTURES, 'halfunet.onnx'));
  return m.nodes.find((n) => n.opType === 'Conv')!.input[1]!;
}

describe('input files that are not regular files', () => {
  after(removeTempDirs);

  test('a model path that is a FIFO fails at once instead of waiting for a writer', { skip: noFifo }, async () => {
    const dir = tempDir('qp-in-fifo-');
    const f = path.join(dir, 'fifo.onnx');
    mkfifo(f);
    const r = await cli(['analyze', f, '--input-shape', '1,3,64,64']);
    failsWith(r, [/fifo\.onnx/, /FIFO/, /not a regular file/]);
  });

  test('a model path linked to /dev/zero fails at once instead of reading without end', { skip: noDevZero }, async () => {
    const dir = tempDir('qp-in-zero-');
    const f = path.join(dir, 'zero.onnx');
    symlinkSync('/dev/zero', f);
    const r = await cli(['analyze', f, '--input-shape', '1,3,64,64']);
    failsWith(r, [/zero\.onnx/, /character device/, /not a regular file/]);
    assert.ok(r.ms < 20_000, show(r));
  });

  for (const kind of ['FIFO', '/dev/zero link'] as const) {
    test(`external data that is a ${kind} is refused, naming the data file; nothing is written`, { skip: kind === 'FIFO' ? noFifo : noDevZero }, async () => {
      const { dir, model } = modelCopy('qp-in-ext-', 'halfunet_ext.onnx');
      const data = path.join(dir, 'halfunet_ext.onnx.data');
      if (kind === 'FIFO') mkfifo(data);
      else symlinkSync('/dev/zero', data);
      const out = path.join(dir, 'p.onnx');
      const r = await cli(['prune', model, '--method', 'l1', '--sparsity', '0.3', '--out', out]);
      failsWith(r, [/halfunet_ext\.onnx\.data/, kind === 'FIFO' ? /FIFO/ : /character device/, /not a regular file/]);
      assert.deepEqual(listing(dir), ['halfunet_ext.onnx', 'halfunet_ext.onnx.data']);
    });
  }

  test('a --config that is a FIFO is refused', { skip: noFifo }, async () => {
    const dir = tempDir('qp-in-cfg-');
    const cfg = path.join(dir, 'cfg.jsonc');
    mkfifo(cfg);
    const r = await cli(['prune', path.join(FIXTURES, 'halfunet.onnx'), '--data', DATA, '--config', cfg, '--out', path.join(dir, 'p.onnx')]);
    failsWith(r, [/cfg\.jsonc/, /FIFO/]);
  });

  test('an image in the data folder that is a FIFO or a /dev/zero link is named, not skipped', { skip: noFifo || noDevZero }, async () => {
    const d = tempDir('qp-in-data-');
    spawnSync('cp', ['-r', DATA, path.join(d, 'data')]);
    const root = path.join(d, 'data');
    const img = path.join(root, 'calib', 'noisy', '000.png');
    rmSync(img);
    mkfifo(img);
    await assert.rejects(loadDataset(root, { task: 'denoise' }), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.code, 'not-regular-file', e.message);
      assert.match(e.message, /calib\/noisy\/000\.png is a FIFO/);
      assert.deepEqual(e.files, [img]);
      return true;
    });
    // The readers refuse it too (a file swapped in after the folder was listed).
    for (const read of [readImageHeader, decodeImageFile]) {
      await assert.rejects(read(img), (e: unknown) => e instanceof DataError && e.code === 'not-regular-file' && e.message.includes(img));
    }
    rmSync(img);
    symlinkSync('/dev/zero', img);
    await assert.rejects(loadDataset(root, { task: 'denoise' }), (e: unknown) => e instanceof DataError && e.code === 'not-regular-file' && /000\.png is a character device/.test(e.message));
    for (const read of [readImageHeader, decodeImageFile]) {
      await assert.rejects(read(img), (e: unknown) => e instanceof DataError && e.code === 'not-regular-file' && /character device/.test(e.message));
    }
    // Through the CLI: a clear exit 1 naming the image.
    const r = await cli(['prune', path.join(FIXTURES, 'halfunet.onnx'), '--data', root, '--config', tinyConfig(d), '--out', path.join(d, 'p.onnx')]);
    failsWith(r, [/000\.png/, /not a regular file/], [/[Uu]nmatched/]);
  });
});

describe('non-finite weights', () => {
  after(removeTempDirs);

  test('loadModel names the initializer, the count and the first index (float32, float16, Constant nodes)', async () => {
    const dir = tempDir('qp-in-nan-');
    const m = tinyConvNet();
    const w = Float32Array.from(m.floatInitializer('w2').data);
    w[17] = NaN;
    w[20] = NaN;
    w[30] = -Infinity;
    m.setInitializer('w2', [3, 8, 3, 3], w);
    const f1 = path.join(dir, 'nan.onnx');
    await m.save(f1);
    await assert.rejects(loadModel(f1), (e: unknown) => {
      assert.ok(e instanceof OnnxModelError, String(e));
      assert.equal(e.code, 'non-finite-weights');
      assert.match(e.message, /initializer 'w2' in '.*nan\.onnx' has 2 NaN values and 1 infinite \(Inf\) value \(first at index 17\)/);
      assert.match(e.message, /weights are corrupt/);
      return true;
    });

    const h = tinyConvNet();
    h.graph.initializer.push(makeTensor('half', [4], Uint16Array.of(0x3c00, 0x7c00, 0x0000, 0x7e00), DataType.FLOAT16));
    const f2 = path.join(dir, 'half.onnx');
    await h.save(f2);
    await assert.rejects(loadModel(f2), /initializer 'half' .* has 1 NaN value and 1 infinite \(Inf\) value \(first at index 1\)/);

    const c = constantNodeGraph();
    const node = c.nodes.find((n) => n.opType === 'Constant')!;
    const value = node.attribute.find((a) => a.name === 'value')!;
    const bad = Float32Array.from({ length: 8 }, () => 1);
    bad[5] = Infinity;
    value.t = floatTensor(value.t!.name, bad, [1, 8, 1, 1]);
    const f3 = path.join(dir, 'const.onnx');
    await c.save(f3);
    await assert.rejects(loadModel(f3), new RegExp(`Constant node '${node.name}' .* has 1 infinite \\(Inf\\) value \\(first at index 5\\)`));

    // Healthy models still load, external data included.
    await loadModel(path.join(FIXTURES, 'halfunet.onnx'));
    await loadModel(path.join(FIXTURES, 'halfunet_ext.onnx'));
  });

  test('data-free prune of a NaN model exits 1 naming the tensor and writes nothing', async () => {
    const name = await firstConvWeight();
    const { dir, model } = await editedModel('qp-in-nan-cli-', (m) => {
      const t = m.floatInitializer(name);
      const d = t.data.slice();
      d[3] = NaN;
      m.setInitializer(name, t.dims, d);
    });
    const out = path.join(dir, 'p.onnx');
    const r = await cli(['prune', model, '--method', 'l1', '--sparsity', '0.3', '--out', out]);
    failsWith(r, [new RegExp(`initializer '${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`), /1 NaN value \(first at index 3\)/]);
    assert.deepEqual(listing(dir), ['edited.onnx']);
  });

  test('the pipeline refuses an Inf model at load, before any stage runs', async () => {
    const name = await firstConvWeight();
    const { dir, model } = await editedModel('qp-in-inf-cli-', (m) => {
      const t = m.floatInitializer(name);
      const d = t.data.slice();
      d[0] = Infinity;
      m.setInitializer(name, t.dims, d);
    });
    const r = await cli(['prune', model, '--data', DATA, '--config', tinyConfig(dir), '--out', path.join(dir, 'p.onnx')]);
    failsWith(r, [new RegExp(`'${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`), /infinite \(Inf\)/], [/done in/, /fisher/i]);
    assert.deepEqual(listing(dir), ['edited.onnx', 'tiny.jsonc']);
  });
});

describe('messages that name the real problem', () => {
  after(removeTempDirs);

  test('JSON or text saved as .onnx is "not an ONNX model", not "truncated"; a cut model still is truncated', async () => {
    const dir = tempDir('qp-in-notonnx-');
    const json = path.join(dir, 'j.onnx');
    writeFileSync(json, JSON.stringify({ model: 'x', layers: [1, 2, 3] }));
    failsWith(await cli(['analyze', json]), [/j\.onnx' is not an ONNX model: it looks like a JSON file/], [/truncated/]);
    const text = path.join(dir, 't.onnx');
    writeFileSync(text, 'this is not a model\nsecond line\n');
    failsWith(await cli(['analyze', text]), [/t\.onnx' is not an ONNX model: it looks like a text file/], [/truncated/]);
    await assert.rejects(loadModel(text), (e: unknown) => e instanceof OnnxModelError && e.code === 'not-onnx');

    const good = readFileSync(path.join(FIXTURES, 'halfunet.onnx'));
    const cut = path.join(dir, 'cut.onnx');
    writeFileSync(cut, good.subarray(0, Math.floor(good.length * 0.6)));
    await assert.rejects(loadModel(cut), (e: unknown) => e instanceof OnnxModelError && e.code === 'truncated' && /truncated/.test(e.message));
  });

  // A float Conv given a double bias: our parser accepts it, onnxruntime's type check does not.
  for (const provider of ['cpu', 'auto']) {
    test(`an invalid graph is reported as an invalid model, not a provider failure (provider ${provider})`, async () => {
      const { dir, model } = await editedModel(`qp-in-graph-${provider}-`, (m) => {
        const conv = m.nodes.find((n) => n.opType === 'Conv' && n.input.length > 2)!;
        const b = m.floatInitializer(conv.input[2]!);
        m.setInitializer(conv.input[2]!, b.dims, Float64Array.from(b.data), DataType.DOUBLE);
      });
      const r = await cli(['prune', model, '--data', DATA, '--config', tinyConfig(dir, provider), '--out', path.join(dir, 'p.onnx')]);
      failsWith(r, [/not a valid ONNX graph/, /tensor\(double\)/], [/could not start/, /execution provider/]);
      assert.deepEqual(listing(dir), ['edited.onnx', 'tiny.jsonc']);
    });
  }

  test('onnxruntime messages: graph problems are told apart from providers that cannot start', () => {
    for (const m of [
      'Load model from /tmp/m.onnx failed:Type Error: Type parameter (T) of Optype (Conv) bound to different types (tensor(float) and tensor(double) in node (c).',
      "Node (conv1) Op (Conv) [ShapeInferenceError] Attribute kernel_shape has incorrect size",
      'This is an invalid model. In Node, ("x", Foo, "", -1) : ("a": tensor(float),) -> ("b",) , Error No Op registered for Foo with domain_version of 17',
      "Could not find an implementation for Conv(11) node with name 'c'",
    ]) assert.ok(isModelError(m), m);
    for (const m of [
      'Failed to get a WebGPU adapter: No supported adapters',
      'Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory',
      'CUDA failure 100: no CUDA-capable device is detected',
    ]) assert.ok(!isModelError(m), m);
  });

  const fakeVulkan = (): string | undefined => {
    // A stand-in for a Vulkan driver that opens a Wayland connection while loading, as real ones
    // do; libwayland then complains when XDG_RUNTIME_DIR is unusable.
    if (process.platform !== 'linux') return undefined;
    if (!/libwayland-client\.so\.0/.test(spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '')) return undefined;
    const dir = tempDir('qp-in-vk-');
    const src = path.join(dir, 'fake.c');
    writeFileSync(
      src,
      `#include <dlfcn.h>
__attribute__((constructor)) static void connect_like_a_driver(void) {
  void *h = dlopen("libwayland-client.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  void *(*connect)(const char *) = (void *(*)(const char *))dlsym(h, "wl_display_connect");
  void (*disconnect)(void *) = (void (*)(void *))dlsym(h, "wl_display_disconnect");
  void *d = connect ? connect(0) : 0;
  if (d && disconnect) disconnect(d);
}
`,
    );
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libvulkan.so.1'), src, '-ldl']);
    return cc.status === 0 ? dir : undefined;
  };

  test('--provider auto keeps the WebGPU probe’s XDG_RUNTIME_DIR complaint off stderr', async (t) => {
    const dir = tempDir('qp-in-xdg-');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.XDG_RUNTIME_DIR;
    const vk = fakeVulkan();
    if (vk) env.LD_LIBRARY_PATH = [vk, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    else t.diagnostic('no C compiler or libwayland-client: the probe runs without a Wayland-opening driver');
    const r = await cli(['importance', path.join(FIXTURES, 'halfunet.onnx'), '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'auto', '--json', path.join(dir, 's.json')], env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /execution provider: /, show(r));
    assert.doesNotMatch(r.stderr, /XDG_RUNTIME_DIR/, show(r));
    assert.ok(existsSync(path.join(dir, 's.json')));
  });
});

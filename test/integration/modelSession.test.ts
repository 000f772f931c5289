// A model over the inline limit is written with external data and opened from the file; it runs
// exactly like the same model opened from bytes, and its temporary folder is gone after release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseModel } from '../../src/core/onnx';
import * as path from 'node:path';
import { buildGradientModel } from '../../src/core/autodiff';
import { openModelSession, tensorPayloadBytes, writeWithExternalData } from '../../src/core/runtime/modelSession';
import { ort } from '../../src/core/runtime/session';
import { compositeCase } from '../helpers/autodiffGraphs';
import { toOrt } from '../helpers/gradCheck';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';

function gradientCase() {
  const c = compositeCase('mse', { seed: 3 });
  const g = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
  const feeds = { ...toOrt(c.feeds), [(c.loss as { target: string }).target]: new ort.Tensor('float32', c.lossFeed.data as Float32Array, c.lossFeed.dims) };
  const fetch = [g.lossOutput, ...Object.values(g.gradOutputs)];
  return { model: g.model, feeds, fetch };
}

test('a gradient model over the inline limit runs from external data, same outputs', async () => {
  const { model, feeds, fetch } = gradientCase();
  const payload = tensorPayloadBytes(model.proto);
  assert.ok(payload > 4096, `the case should carry some weights (${payload} bytes)`);
  const inline = await openModelSession(model, { provider: 'cpu' });
  const external = await openModelSession(model, { provider: 'cpu', inlineLimitBytes: 1024 });
  try {
    assert.equal(inline.externalData, false);
    assert.equal(external.externalData, true);
    assert.ok(existsSync(path.join(external.folder!, 'model.onnx.data')));
    const a = await inline.session.run(feeds, fetch);
    const b = await external.session.run(feeds, fetch);
    for (const name of fetch) assert.deepEqual(Array.from(b[name]!.data as Float32Array), Array.from(a[name]!.data as Float32Array), name);
  } finally {
    await inline.release();
    await external.release();
  }
  assert.ok(external.folder && !existsSync(external.folder), `temporary folder ${external.folder} left behind`);
});

test('the written model keeps small tensors inline and page-aligns the large ones', async () => {
  const { model } = gradientCase();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qp-ext-test-'));
  try {
    const file = await writeWithExternalData(model, dir);
    const big = model.graph.initializer.filter((t) => t.rawData.byteLength >= 1024);
    const bigBytes = big.reduce((s, t) => s + t.rawData.byteLength, 0);
    assert.ok(big.length > 0);
    assert.ok(statSync(path.join(dir, 'model.onnx.data')).size >= bigBytes);
    // The model file holds everything but the large payloads (plus a short reference per tensor).
    assert.ok(statSync(file).size <= model.toBytes().byteLength - bigBytes + 100 * big.length, 'the model file should not hold the large payloads');
    const written = parseModel(readFileSync(file), dir);
    const refs = written.graph.initializer.filter((t) => t.dataLocation === 1);
    assert.equal(refs.length, big.length);
    for (const t of refs) {
      const offset = Number(t.externalData.find((e) => e.key === 'offset')!.value);
      assert.equal(offset % 4096, 0, `${t.name} at ${offset}`);
      // Read back through the IR's external-data reader: the same values.
      assert.deepEqual(written.constant(t.name)!.data, model.constant(t.name)!.data);
    }
    // The source model is untouched: its tensors still carry their bytes.
    assert.ok(big.every((t) => t.rawData.byteLength >= 1024 && t.dataLocation !== 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

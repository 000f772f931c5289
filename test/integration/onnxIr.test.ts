import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel, parseModel, OnnxModelError, serializeModelProto } from '../../src/core/onnx';
import { openSession, ort } from '../../src/core/runtime/session';
import { tinyConvNet } from '../helpers/tinyModels';
import { Rng } from '../../src/core/util/rng';

async function runModel(model: Uint8Array | string, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const { session } = await openSession(model, { provider: 'cpu', threads: 1 });
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
  const data = out[session.outputNames[0]!]!.data as Float32Array;
  await session.release();
  return data;
}

function randomInput(n: number, seed = 3): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

const tmp = mkdtempSync(path.join(tmpdir(), 'qp-ir-'));

describe('ONNX IR', () => {
  test('save → load gives the same graph and the same outputs', async () => {
    const model = tinyConvNet();
    const file = path.join(tmp, 'tiny.onnx');
    await model.save(file);
    const loaded = await loadModel(file);
    assert.deepEqual(loaded.nodes.map((n) => n.opType), ['Conv', 'Relu', 'Conv']);
    assert.deepEqual(loaded.floatInitializer('w1').dims, [8, 3, 3, 3]);
    assert.deepEqual(Array.from(loaded.floatInitializer('w1').data), Array.from(model.floatInitializer('w1').data));
    const again = path.join(tmp, 'tiny2.onnx');
    await loaded.save(again);
    assert.deepEqual(readFileSync(again), readFileSync(file), 'second save is byte-identical');
    const x = randomInput(2 * 3 * 8 * 8);
    const a = await runModel(model.toBytes(), x, [2, 3, 8, 8]);
    const b = await runModel(file, x, [2, 3, 8, 8]);
    assert.deepEqual(Array.from(a), Array.from(b));
  });

  test('refuses to overwrite the source model', async () => {
    const file = path.join(tmp, 'src.onnx');
    await tinyConvNet().save(file);
    const m = await loadModel(file);
    await assert.rejects(m.save(file), (e: OnnxModelError) => e.code === 'overwrite-source');
    await m.save(file, { allowOverwriteSource: true });
  });

  test('external data is read, kept external on save, and runs', async () => {
    const model = tinyConvNet(5);
    // Move w1 and w2 into a data file by hand, as onnx.save(..., save_as_external_data=True) does.
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const t of model.graph.initializer) {
      if (!t.name.startsWith('w')) continue;
      const bytes = Buffer.from(t.rawData);
      t.externalData = [
        { key: 'location', value: 'ext.onnx.data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.length) },
      ].map((e) => ({ ...e, $typeName: 'onnx.StringStringEntryProto' }) as never);
      t.dataLocation = 1;
      t.rawData = new Uint8Array(0);
      chunks.push(bytes);
      offset += bytes.length;
    }
    const dir = mkdtempSync(path.join(tmp, 'ext-'));
    writeFileSync(path.join(dir, 'ext.onnx.data'), Buffer.concat(chunks));
    writeFileSync(path.join(dir, 'ext.onnx'), serializeModelProto(model.proto));
    const loaded = await loadModel(path.join(dir, 'ext.onnx'));
    assert.deepEqual(loaded.externalTensors().sort(), ['w1', 'w2']);
    const ref = tinyConvNet(5);
    assert.deepEqual(Array.from(loaded.floatInitializer('w2').data), Array.from(ref.floatInitializer('w2').data));
    const out = path.join(dir, 'copy.onnx');
    await loaded.save(out);
    assert.ok(existsSync(path.join(dir, 'copy.onnx.data')));
    const x = randomInput(3 * 6 * 6);
    assert.deepEqual(Array.from(await runModel(out, x, [1, 3, 6, 6])), Array.from(await runModel(ref.toBytes(), x, [1, 3, 6, 6])));
    // The in-memory bytes inline everything, so they run without the data file.
    assert.deepEqual(Array.from(await runModel(loaded.toBytes(), x, [1, 3, 6, 6])), Array.from(await runModel(ref.toBytes(), x, [1, 3, 6, 6])));
  });

  test('specific errors for bad files', async () => {
    const good = tinyConvNet().toBytes();
    const write = (name: string, data: Uint8Array | string) => {
      const p = path.join(tmp, name);
      writeFileSync(p, data);
      return p;
    };
    const code = async (p: string) => {
      try {
        await loadModel(p);
        return 'loaded';
      } catch (e) {
        assert.ok(e instanceof OnnxModelError, String(e));
        return e.code;
      }
    };
    assert.equal(await code(path.join(tmp, 'missing.onnx')), 'file-not-found');
    assert.equal(await code(write('empty.onnx', new Uint8Array(0))), 'empty');
    assert.equal(await code(write('cut.onnx', good.subarray(0, Math.floor(good.length * 0.6)))), 'truncated');
    assert.equal(await code(write('text.onnx', 'this is a plain text file, not a model\n'.repeat(4))), 'not-onnx');
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    assert.equal(await code(write('image.onnx', png)), 'not-onnx');
    assert.equal(await code(write('opset9.onnx', tinyConvNet(1, 9).toBytes())), 'unsupported-opset');
    assert.equal(await code(write('opset30.onnx', tinyConvNet(1, 30).toBytes())), 'unsupported-opset');
    assert.throws(() => parseModel(good.subarray(0, 40)), (e: OnnxModelError) => e.code === 'truncated' || e.code === 'not-onnx');
  });
});

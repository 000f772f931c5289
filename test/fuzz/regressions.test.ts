// One test per problem the fuzz suite found, so each fix stays put even when a seed change moves
// the random cases elsewhere.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, type ModelProto } from 'onnx-buf';
import { readFileSync } from 'node:fs';
import { loadModel, OnnxModelError, parseModel } from '../../src/core/onnx';
import { DataError, decodeRaw } from '../../src/core/data';
import { PresetError, resolvePreset, parseJsonc } from '../../src/core/presets';
import { pipelinePreset } from '../../src/cli/commands/prunePipeline';
import { CliError } from '../../src/cli/cliError';
import { FIXTURES } from './cases';
import { encodePng } from './dataMutators';

const root = mkdtempSync(path.join(tmpdir(), 'qp-fuzz-regress-'));
after(() => rmSync(root, { recursive: true, force: true }));

function proto(file: string): ModelProto {
  return fromBinary(ModelProtoSchema, new Uint8Array(readFileSync(path.join(FIXTURES, file))));
}

const modelError = (code: string, pattern: RegExp) => (e: unknown) => e instanceof OnnxModelError && e.code === code && pattern.test(e.message) && !e.message.includes('\n');

describe('external data stays inside the model folder', () => {
  /** A copy of halfunet_ext with its data file outside the model's folder, reached through `link`. */
  function escaped(name: string, link: (modelDir: string, outside: string) => string): string {
    const dir = path.join(root, name);
    const modelDir = path.join(dir, 'model');
    const outside = path.join(dir, 'outside');
    mkdirSync(modelDir, { recursive: true });
    mkdirSync(outside);
    copyFileSync(path.join(FIXTURES, 'halfunet_ext.onnx.data'), path.join(outside, 'halfunet_ext.onnx.data'));
    const location = link(modelDir, outside);
    const p = proto('halfunet_ext.onnx');
    for (const t of p.graph!.initializer) {
      for (const e of t.externalData) if (e.key === 'location') e.value = location;
    }
    writeFileSync(path.join(modelDir, 'm.onnx'), toBinary(ModelProtoSchema, p));
    return path.join(modelDir, 'm.onnx');
  }

  test('a symlinked file inside the folder that points outside is refused', async () => {
    const m = escaped('file-link', (d, o) => {
      symlinkSync(path.join(o, 'halfunet_ext.onnx.data'), path.join(d, 'w.data'));
      return 'w.data';
    });
    await assert.rejects(loadModel(m), modelError('external-data', /outside the model's folder/));
  });

  test('a symlinked sub-folder that points outside is refused', async () => {
    const m = escaped('dir-link', (d, o) => {
      symlinkSync(o, path.join(d, 'sub'));
      return 'sub/halfunet_ext.onnx.data';
    });
    await assert.rejects(loadModel(m), modelError('external-data', /outside the model's folder/));
  });

  test('a symlink to the data file inside the folder is still read', async () => {
    const dir = path.join(root, 'inside-link');
    mkdirSync(dir);
    copyFileSync(path.join(FIXTURES, 'halfunet_ext.onnx.data'), path.join(dir, 'halfunet_ext.onnx.data'));
    symlinkSync('halfunet_ext.onnx.data', path.join(dir, 'alias.data'));
    const p = proto('halfunet_ext.onnx');
    for (const t of p.graph!.initializer) for (const e of t.externalData) if (e.key === 'location') e.value = 'alias.data';
    writeFileSync(path.join(dir, 'm.onnx'), toBinary(ModelProtoSchema, p));
    const m = await loadModel(path.join(dir, 'm.onnx'));
    assert.equal(m.externalTensors().length, p.graph!.initializer.length);
  });

  test("offsets and lengths must be decimal integers ('0x10', '1e3', ' 12' are refused)", async () => {
    for (const bad of ['0x10', '1e3', ' 12', '-1']) {
      const dir = path.join(root, `offset-${bad.trim()}`);
      mkdirSync(dir);
      copyFileSync(path.join(FIXTURES, 'halfunet_ext.onnx.data'), path.join(dir, 'halfunet_ext.onnx.data'));
      const p = proto('halfunet_ext.onnx');
      const t = p.graph!.initializer[0]!;
      t.externalData = t.externalData.filter((e) => e.key !== 'offset');
      t.externalData.push(create(StringStringEntryProtoSchema, { key: 'offset', value: bad }));
      writeFileSync(path.join(dir, 'm.onnx'), toBinary(ModelProtoSchema, p));
      await assert.rejects(loadModel(path.join(dir, 'm.onnx')), modelError('external-data', /not a whole number/), bad);
    }
  });
});

describe('graphs that define a tensor twice, or nothing', () => {
  const parse = (p: ModelProto) => () => parseModel(toBinary(ModelProtoSchema, p), undefined, 'm.onnx');

  test('two initializers of one name are an invalid graph, not an export failure', () => {
    const p = proto('halfunet.onnx');
    const inits = p.graph!.initializer;
    inits.push({ ...inits[0]!, name: inits[2]!.name });
    assert.throws(parse(p), modelError('invalid-graph', /defined twice/));
  });

  test('two nodes writing one tensor are an invalid graph', () => {
    const p = proto('halfunet.onnx');
    p.graph!.node[3]!.output[0] = p.graph!.node[1]!.output[0]!;
    assert.throws(parse(p), modelError('invalid-graph', /defined twice/));
  });

  test('a graph without outputs is an invalid graph', () => {
    const p = proto('classifier.onnx');
    p.graph!.output = [];
    assert.throws(parse(p), modelError('invalid-graph', /no outputs/));
  });

  test('tensor names with line breaks do not break the one-line message', () => {
    const p = proto('halfunet.onnx');
    p.graph!.node[2]!.input[0] = 'bad\nname\x1b[31m';
    assert.throws(parse(p), (e: unknown) => e instanceof OnnxModelError && e.message.includes('bad\\nname\\x1b[31m') && !e.message.includes('\n'));
  });
});

describe('images whose header asks for gigabytes', () => {
  test('a PNG declaring 60000×60000 is refused before pngjs allocates it', () => {
    const b = encodePng(4, 4, () => [1, 2, 3]);
    b.writeUInt32BE(60000, 16);
    b.writeUInt32BE(60000, 20);
    b.writeUInt32BE(crc32(b.subarray(12, 29)) >>> 0, 29);
    assert.throws(() => decodeRaw(b, 'huge.png'), (e: unknown) => e instanceof DataError && e.code === 'image-too-large' && /60000×60000/.test(e.message));
  });
});

describe('presets and --config files', () => {
  test("preset names of Object.prototype ('constructor', 'toString', '__proto__') are unknown presets", () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.throws(() => resolvePreset(name), (e: unknown) => e instanceof PresetError && /unknown preset/.test(e.message), name);
    }
  });

  test('a --config holding an array, a string or a number is refused by name (null means no overrides)', () => {
    assert.equal(pipelinePreset({}, parseJsonc('null', 'c.jsonc')).name, 'balanced');
    for (const text of ['[]', '"fast"', '42', 'true']) {
      assert.throws(() => pipelinePreset({}, parseJsonc(text, 'c.jsonc')), (e: unknown) => e instanceof CliError && /--config/.test(e.message), text);
    }
  });

  test("a --config whose 'refine' is not an object is refused, with or without --refine", () => {
    for (const flags of [{}, { refine: 'off' }]) {
      assert.throws(() => pipelinePreset(flags, { refine: 'off' }), (e: unknown) => e instanceof CliError && /refine/.test(e.message), JSON.stringify(flags));
    }
  });

  test('JSON syntax errors are reported on one line', () => {
    assert.throws(() => parseJsonc('{\n  "samples": Infinity\n}', 'c.jsonc'), (e: unknown) => e instanceof PresetError && !e.message.includes('\n'));
  });
});

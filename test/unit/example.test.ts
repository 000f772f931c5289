import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { copyExample, EXAMPLE_SOURCE } from '../../src/extension/example';

const root = path.join(__dirname, '..', '..');
const skip = existsSync(path.join(root, EXAMPLE_SOURCE.model)) ? false : 'test/fixtures/halfunet.onnx missing: run tools/make_fixtures.py';

test('the example is copied with its splits, reused when identical, and never written over other files', { skip }, async () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'qp-example-'));
  const first = await copyExample(root, parent);
  assert.equal(first.created, true);
  assert.equal(first.folder, path.join(parent, 'qubo-prune-example'));
  assert.deepEqual(readFileSync(first.model), readFileSync(path.join(root, EXAMPLE_SOURCE.model)));
  assert.deepEqual(readdirSync(first.data).sort(), ['calib', 'test', 'val']);
  assert.equal(readdirSync(path.join(first.data, 'calib', 'clean')).length, readdirSync(path.join(root, EXAMPLE_SOURCE.data, 'calib', 'clean')).length);

  const again = await copyExample(root, parent);
  assert.deepEqual(again, { ...first, created: false });

  // A user's own model under the example's name: left alone, the copy goes to the next name.
  writeFileSync(first.model, 'my own model');
  const third = await copyExample(root, parent);
  assert.equal(third.created, true);
  assert.equal(third.folder, path.join(parent, 'qubo-prune-example-2'));
  assert.equal(readFileSync(first.model, 'utf8'), 'my own model');
  assert.deepEqual(readdirSync(parent).sort(), ['qubo-prune-example', 'qubo-prune-example-2'], 'no staging folder left behind');
});

test('a folder of that name without the example is skipped too', { skip }, async () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'qp-example-'));
  mkdirSync(path.join(parent, 'qubo-prune-example'));
  writeFileSync(path.join(parent, 'qubo-prune-example', 'notes.txt'), 'mine');
  const c = await copyExample(root, parent);
  assert.equal(c.folder, path.join(parent, 'qubo-prune-example-2'));
  assert.deepEqual(readdirSync(path.join(parent, 'qubo-prune-example')), ['notes.txt']);
});

test('a missing bundled model is reported, not half-copied', async () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'qp-example-'));
  await assert.rejects(copyExample(path.join(parent, 'no-extension'), parent), /bundled example model is missing/);
  assert.deepEqual(readdirSync(parent), []);
});

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DataError, loadDataset, parseNoiseSpec, type DataErrorCode, type LoadDatasetOptions } from '../../src/core/data';
import { pattern, tempDir, writePng } from '../helpers/dataImages';

const tmp = tempDir('errors');
after(() => tmp.cleanup());
let n = 0;
const newDir = () => {
  const d = path.join(tmp.dir, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function pair(root: string, name: string, size = 12, cleanSize = size): void {
  writePng(path.join(root, 'noisy', name), size, size, 3, pattern(1));
  writePng(path.join(root, 'clean', name), cleanSize, cleanSize, 3, pattern(2));
}

async function expectCode(p: Promise<unknown>, code: DataErrorCode, message?: RegExp): Promise<DataError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DataError, `expected DataError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

const three: LoadDatasetOptions = { splits: { calib: 1, val: 1, test: 1 } };

describe('data errors carry specific codes', () => {
  test('not-found', async () => {
    await expectCode(loadDataset(path.join(tmp.dir, 'nope')), 'not-found', /nope/);
  });

  test('empty-folder', async () => {
    await expectCode(loadDataset(newDir()), 'empty-folder');
    const d = newDir();
    mkdirSync(path.join(d, 'sub'));
    await expectCode(loadDataset(d), 'empty-folder');
  });

  test('no-images', async () => {
    const d = newDir();
    writeFileSync(path.join(d, 'notes.txt'), 'hello');
    await expectCode(loadDataset(d, { noise: 'gaussian:25' }), 'no-images');
  });

  test('unmatched-pairs names the lonely files', async () => {
    const d = newDir();
    pair(d, 'a.png');
    pair(d, 'b.png');
    writePng(path.join(d, 'noisy', 'c.png'), 12, 12, 3, pattern(0));
    writePng(path.join(d, 'clean', 'zz.png'), 12, 12, 3, pattern(0));
    const e = await expectCode(loadDataset(d, three), 'unmatched-pairs', /noisy\/c\.png/);
    assert.match(e.message, /clean\/zz\.png/);
    assert.doesNotMatch(e.message, /a\.png|b\.png/);
  });

  test('unmatched-pairs in the SIDD layout', async () => {
    const d = newDir();
    writePng(path.join(d, 'S1', 'NOISY_SRGB_010.PNG'), 12, 12, 3, pattern(0));
    writePng(path.join(d, 'S1', 'GT_SRGB_010.PNG'), 12, 12, 3, pattern(0));
    writePng(path.join(d, 'S2', 'NOISY_SRGB_010.PNG'), 12, 12, 3, pattern(0));
    writePng(path.join(d, 'S2', 'GT_SRGB_011.PNG'), 12, 12, 3, pattern(0));
    const e = await expectCode(loadDataset(d), 'unmatched-pairs', /S2\/NOISY_SRGB_010\.PNG/);
    assert.match(e.message, /S2\/GT_SRGB_011\.PNG/);
  });

  test('size-mismatch between noisy and clean', async () => {
    const d = newDir();
    pair(d, 'a.png');
    pair(d, 'b.png', 12, 10);
    pair(d, 'c.png');
    await expectCode(loadDataset(d, three), 'size-mismatch', /b\.png \(12×12 vs 10×10\)/);
  });

  test('corrupt-image names the file', async () => {
    const d = newDir();
    pair(d, 'a.png');
    pair(d, 'b.png');
    writeFileSync(path.join(d, 'noisy', 'c.png'), 'garbage');
    writePng(path.join(d, 'clean', 'c.png'), 12, 12, 3, pattern(0));
    await expectCode(loadDataset(d, three), 'corrupt-image', /noisy\/c\.png/);
  });

  test('corrupt-image found only when decoding (intact header, broken data)', async () => {
    const d = newDir();
    for (const k of ['a', 'b', 'c']) writePng(path.join(d, `${k}.png`), 24, 24, 3, pattern(3));
    const bytes = readFileSync(path.join(d, 'b.png'));
    writeFileSync(path.join(d, 'b.png'), bytes.subarray(0, 60));
    const ds = await loadDataset(d, { ...three, noise: 'gaussian:10', splits: { calib: 0, val: 0, test: 3 } });
    const run = async () => {
      for await (const _ of ds.test.batches(3)) void _;
    };
    await expectCode(run(), 'corrupt-image', /b\.png/);
  });

  test('unknown-noise-spec and missing-noise-spec', async () => {
    for (const bad of ['gauss:25', 'gaussian:', 'poisson-gaussian:0.1', 'gaussian:-3', 'salt']) {
      assert.throws(() => parseNoiseSpec(bad), (e: unknown) => e instanceof DataError && e.code === 'unknown-noise-spec', bad);
    }
    assert.deepEqual(parseNoiseSpec(' Gaussian: 15 '), { kind: 'gaussian', sigma255: 15 });
    assert.deepEqual(parseNoiseSpec('poisson-gaussian:0.01,4e-4'), { kind: 'poisson-gaussian', a: 0.01, b: 4e-4 });
    const d = newDir();
    for (const k of ['a', 'b', 'c']) writePng(path.join(d, `${k}.png`), 8, 8, 1, pattern(0));
    await expectCode(loadDataset(d, { ...three, noise: 'speckle:3' }), 'unknown-noise-spec', /speckle/);
    await expectCode(loadDataset(d, three), 'missing-noise-spec');
  });

  test('patch-too-large names the small images', async () => {
    const d = newDir();
    pair(d, 'a.png', 16);
    pair(d, 'small.png', 6);
    pair(d, 'c.png', 16);
    await expectCode(loadDataset(d, { ...three, patch: 8 }), 'patch-too-large', /small\.png \(6×6\)/);
  });

  test('empty-split and bad-split', async () => {
    const d = newDir();
    pair(d, 'a.png');
    pair(d, 'b.png');
    await expectCode(loadDataset(d), 'empty-split', /Only 2 image group/);
    assert.equal((await loadDataset(d, { splits: { calib: 1, val: 0, test: 1 } })).val.count, 0);
    await expectCode(loadDataset(d, { splits: { calib: 2, val: 1, test: 0 } }), 'bad-split');
    await expectCode(loadDataset(d, { splits: { calib: 0.6, val: 0.6, test: 0 } }), 'bad-split');
    await expectCode(loadDataset(d, { splits: { calib: 1.5, val: 0, test: 0 } }), 'bad-split');
    const pre = newDir();
    pair(path.join(pre, 'calib'), 'a.png');
    pair(path.join(pre, 'test'), 'b.png');
    await expectCode(loadDataset(pre), 'empty-split', /val\//);
    assert.equal((await loadDataset(pre, { splits: { val: 0 } })).test.count, 1);
  });

  test('layout and option mismatches', async () => {
    const d = newDir();
    pair(d, 'a.png');
    pair(d, 'b.png');
    pair(d, 'c.png');
    await expectCode(loadDataset(d, { ...three, task: 'classify' }), 'layout-mismatch');
    await expectCode(loadDataset(d, { ...three, noise: 'gaussian:5' }), 'bad-option');
    await expectCode(loadDataset(d, { ...three, cropsPerImage: 2, patch: 4 }), 'bad-option');
    await expectCode(loadDataset(d, { ...three, patch: 0 }), 'bad-option');
    await expectCode(loadDataset(d, { ...three, layout: 'sidd' }), 'layout-mismatch');
    const c = newDir();
    for (const k of ['x', 'y']) for (const i of [0, 1]) writePng(path.join(c, k, `${i}.png`), 8, 8, 3, pattern(i));
    await expectCode(loadDataset(c, { splits: { calib: 1, val: 1, test: 1 }, classes: ['x'] }), 'bad-option', /y/);
  });

  test('batch-shape when whole images of different sizes share a batch', async () => {
    const d = newDir();
    pair(d, 'a.png', 12);
    pair(d, 'b.png', 14);
    const ds = await loadDataset(d, { splits: { calib: 0, val: 0, test: 2 } });
    await expectCode(ds.test.get([0, 1]), 'batch-shape', /patch size/);
    assert.equal((await ds.test.get([1])).shape[0], 1);
  });
});

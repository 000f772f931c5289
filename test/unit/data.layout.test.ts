import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { DataError, decodeImageFile, loadDataset, splitCounts, type Batch, type DataSplit } from '../../src/core/data';
import { DenoiseMetrics } from '../../src/core/metrics';
import { pattern, quant, tempDir, writeJpeg, writePng } from '../helpers/dataImages';

const tmp = tempDir('layout');
after(() => tmp.cleanup());
let dirCount = 0;
const newDir = (tag: string) => path.join(tmp.dir, `${tag}-${dirCount++}`);

async function all(split: DataSplit, batchSize = 4): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of split.batches(batchSize)) out.push(b);
  return out;
}

function imagesOf(split: DataSplit): Set<string> {
  return new Set(split.names().map((n) => n.split('@')[0]!));
}

/** Clean image k: a smooth pattern; its noisy partner adds a fixed per-image offset. */
function makePaired(root: string, n: number, noisyDir = 'noisy', cleanDir = 'clean', size = 12): void {
  for (let k = 0; k < n; k++) {
    const name = `img${String(k).padStart(2, '0')}.png`;
    writePng(path.join(root, cleanDir, name), size, size, 3, pattern(k));
    writePng(path.join(root, noisyDir, name), size, size, 3, (c, y, x) => pattern(k)(c, y, x) + 0.05);
  }
}

describe('dataset layouts', () => {
  test('(a) paired noisy/ + clean/ loads whole images with matching targets', async () => {
    const root = newDir('paired');
    makePaired(root, 8);
    const ds = await loadDataset(root, { seed: 3, splits: { calib: 2, val: 2, test: 4 } });
    assert.equal(ds.layout, 'paired');
    assert.equal(ds.task, 'denoise');
    assert.equal(ds.channels, 3);
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [2, 2, 4]);
    const [b] = await all(ds.test, 4);
    assert.deepEqual(b!.shape, [4, 3, 12, 12]);
    assert.ok(b!.target);
    assert.equal(b!.labels, undefined);
    const k = Number(/img(\d+)/.exec(b!.names[0]!)![1]);
    const px = (c: number, y: number, x: number) => c * 144 + y * 12 + x;
    assert.equal(b!.target![px(1, 2, 3)], Math.fround(quant(pattern(k)(1, 2, 3), 8) / 255));
    assert.equal(b!.input[px(1, 2, 3)], Math.fround(quant(pattern(k)(1, 2, 3) + 0.05, 8) / 255));
    const d = ds.describe();
    assert.equal(d.layout, 'paired');
    assert.deepEqual(d.splits.test, { images: 4, samples: 4 });
    assert.equal(d.noise, null);
  });

  test('(a) input/ + target/ with different extensions (stems match)', async () => {
    const root = newDir('inout');
    for (let k = 0; k < 3; k++) {
      writeJpeg(path.join(root, 'input', `s${k}.jpg`), 16, 16, pattern(k));
      writePng(path.join(root, 'target', `s${k}.png`), 16, 16, 3, pattern(k));
    }
    const ds = await loadDataset(root, { splits: { calib: 1, val: 1, test: 1 }, patch: 8 });
    assert.equal(ds.layout, 'paired');
    const [b] = await all(ds.calib);
    assert.deepEqual(b!.shape, [1, 3, 8, 8]);
    let maxDiff = 0;
    for (let i = 0; i < b!.input.length; i++) maxDiff = Math.max(maxDiff, Math.abs(b!.input[i]! - b!.target![i]!));
    assert.ok(maxDiff < 0.06, `JPEG input should be close to PNG target, got ${maxDiff}`);
  });

  test('(b) SIDD scene folders pair NOISY_SRGB_* with GT_SRGB_* and split by scene', async () => {
    const root = newDir('sidd');
    const scenes = ['0001_001_S6_00100_00060_3200_L', '0002_001_S6_00100_00020_3200_N', '0003_001_S6_00100_00020_3200_H', '0004_002_GP_00100_00350_5500_N'];
    scenes.forEach((s, i) => {
      for (const id of ['010', '011']) {
        writePng(path.join(root, 'Data', s, `GT_SRGB_${id}.PNG`), 20, 16, 3, pattern(i));
        writePng(path.join(root, 'Data', s, `NOISY_SRGB_${id}.PNG`), 20, 16, 3, pattern(i + 0.5));
      }
    });
    const ds = await loadDataset(root, { patch: 8, crop: 'random', cropsPerImage: 2, splits: { calib: 1, val: 1, test: 2 }, seed: 5 });
    assert.equal(ds.layout, 'sidd');
    assert.equal(ds.describe().splits.test.images, 4);
    assert.equal(ds.test.count, 8);
    const sceneOf = (n: string) => n.split('/')[1]!;
    const sets = [ds.calib, ds.val, ds.test].map((s) => new Set(s.names().map(sceneOf)));
    assert.deepEqual(sets.map((s) => s.size), [1, 1, 2]);
    const allScenes = [...sets[0]!, ...sets[1]!, ...sets[2]!];
    assert.equal(new Set(allScenes).size, 4, 'a scene must not appear in two splits');
    const [b] = await all(ds.calib, 8);
    assert.deepEqual(b!.shape, [4, 3, 8, 8]);
    assert.ok(b!.names.every((n) => /NOISY_SRGB_01[01]\.PNG@\d+,\d+$/.test(n)));
  });

  test('(c) clean-only folder with gaussian noise: right σ, deterministic by seed', async () => {
    const root = newDir('clean');
    for (let k = 0; k < 4; k++) writePng(path.join(root, `c${k}.png`), 64, 64, 1, () => 0.5);
    const load = (noiseSeed?: number) =>
      loadDataset(root, { noise: 'gaussian:25', splits: { calib: 1, val: 1, test: 2 }, seed: 9, ...(noiseSeed === undefined ? {} : { noiseSeed }) });
    const ds = await load();
    assert.equal(ds.layout, 'clean');
    assert.equal(ds.channels, 1);
    assert.equal(ds.describe().noise, 'gaussian:25');
    const [b] = await all(ds.test);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < b!.input.length; i++) {
      const d = b!.input[i]! - b!.target![i]!;
      s += d;
      s2 += d * d;
    }
    const n = b!.input.length;
    const sd = Math.sqrt(s2 / n - (s / n) ** 2);
    assert.ok(Math.abs(sd - 25 / 255) < 0.003, `noise sd ${sd * 255} (0–255 units) should be near 25`);
    assert.ok(b!.target!.every((v) => Math.abs(v - Math.fround(quant(0.5, 8) / 255)) < 1e-7));
    const [again] = await all((await load()).test);
    assert.deepEqual(again!.input, b!.input);
    const [other] = await all((await load(123)).test);
    assert.notDeepEqual(other!.input, b!.input);
    // Different images get different noise even with one seed.
    assert.notDeepEqual(b!.input.subarray(0, 4096), b!.input.subarray(4096, 8192));
  });

  test('(c) poisson-gaussian noise has variance a·x + b', async () => {
    const root = newDir('pg');
    for (let k = 0; k < 3; k++) writePng(path.join(root, `c${k}.png`), 48, 48, 3, () => 0.8);
    const ds = await loadDataset(root, { noise: 'poisson-gaussian:0.04,0.01', splits: { calib: 1, val: 1, test: 1 } });
    const [b] = await all(ds.val);
    const x = b!.target![0]!;
    let s2 = 0;
    for (let i = 0; i < b!.input.length; i++) s2 += (b!.input[i]! - b!.target![i]!) ** 2;
    const v = s2 / b!.input.length;
    const want = 0.04 * x + 0.01;
    assert.ok(Math.abs(v - want) / want < 0.06, `variance ${v} vs ${want}`);
  });

  test('(d) class folders: sorted class names give labels', async () => {
    const root = newDir('cls');
    const classes = ['zebra', 'ant', 'cat'];
    classes.forEach((c, ci) => {
      for (let k = 0; k < 4; k++) writePng(path.join(root, c, `${k}.png`), 10, 10, 3, () => (ci + 1) / 4);
    });
    const ds = await loadDataset(root, { patch: 8, seed: 1, splits: { calib: 0.25, val: 0.25, test: 0.5 } });
    assert.equal(ds.layout, 'classify');
    assert.equal(ds.task, 'classify');
    assert.deepEqual(ds.classes, ['ant', 'cat', 'zebra']);
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [3, 3, 6]);
    for (const split of [ds.calib, ds.val, ds.test]) {
      for (const b of await all(split, 5)) {
        assert.ok(b.labels instanceof Int32Array);
        assert.equal(b.target, undefined);
        b.names.forEach((n, i) => {
          const cls = n.split('/')[0]!;
          assert.equal(b.labels![i], ds.classes!.indexOf(cls));
          // Each class folder holds a constant image whose value encodes the folder.
          const value = (classes.indexOf(cls) + 1) / 4;
          assert.ok(Math.abs(b.input[i * 192]! - value) < 1 / 255);
        });
      }
    }
  });

  test('(e) pre-split root uses calib/ val/ test/ as given', async () => {
    const root = newDir('presplit');
    makePaired(path.join(root, 'calib'), 2);
    makePaired(path.join(root, 'val'), 3);
    makePaired(path.join(root, 'test'), 5);
    const ds = await loadDataset(root, { patch: 8 });
    assert.equal(ds.describe().presplit, true);
    assert.equal(ds.layout, 'paired');
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [2, 3, 5]);
    assert.ok(ds.calib.names().every((n) => n.startsWith('calib/')));
    assert.ok(ds.test.names().every((n) => n.startsWith('test/')));
    const capped = await loadDataset(root, { patch: 8, maxPerSplit: { test: 2 } });
    assert.equal(capped.test.count, 2);
    assert.equal(capped.val.count, 3);
  });

  test('(e) pre-split classification shares one class list across splits', async () => {
    const root = newDir('presplit-cls');
    for (const c of ['b', 'c']) writePng(path.join(root, 'calib', c, 'x.png'), 8, 8, 3, pattern(1));
    for (const c of ['a', 'c']) writePng(path.join(root, 'val', c, 'x.png'), 8, 8, 3, pattern(2));
    for (const c of ['a', 'b']) writePng(path.join(root, 'test', c, 'x.png'), 8, 8, 3, pattern(3));
    const ds = await loadDataset(root, { task: 'classify' });
    assert.deepEqual(ds.classes, ['a', 'b', 'c']);
    const [b] = await all(ds.calib);
    assert.deepEqual([...b!.names].sort(), ['calib/b/x.png', 'calib/c/x.png']);
    b!.names.forEach((n, i) => assert.equal(b!.labels![i], ['a', 'b', 'c'].indexOf(n.split('/')[1]!)));
  });
});

describe('splits, crops, channels, batching', () => {
  const root = newDir('many');
  makePaired(root, 20, 'noisy', 'clean', 12);

  test('splits are disjoint by image, cover the folder and are deterministic by seed', async () => {
    const load = (seed: number) => loadDataset(root, { seed, splits: { calib: 0.25, val: 0.25, test: 0.5 } });
    const a = await load(11);
    const sets = [a.calib, a.val, a.test].map(imagesOf);
    assert.deepEqual(sets.map((s) => s.size), [5, 5, 10]);
    const union = new Set(sets.flatMap((s) => [...s]));
    assert.equal(union.size, 20);
    const b = await load(11);
    assert.deepEqual(b.calib.names(), a.calib.names());
    assert.deepEqual(b.test.names(), a.test.names());
    let differs = false;
    for (const seed of [12, 13, 14]) differs ||= (await load(seed)).calib.names().join() !== a.calib.names().join();
    assert.ok(differs, 'another seed should give another split');
  });

  test('random crops: many per image stay inside the image split, deterministic', async () => {
    const opts = { seed: 2, patch: 6, crop: 'random' as const, cropsPerImage: 3, splits: { calib: 4, val: 4, test: 12 } };
    const a = await loadDataset(root, opts);
    assert.equal(a.calib.count, 12);
    const calibImages = imagesOf(a.calib);
    for (const s of [a.val, a.test]) for (const n of imagesOf(s)) assert.ok(!calibImages.has(n));
    const b = await loadDataset(root, opts);
    assert.deepEqual(a.test.names(), b.test.names());
    const [ba] = await all(a.val, 12);
    const [bb] = await all(b.val, 12);
    assert.deepEqual(ba!.input, bb!.input);
    assert.deepEqual(ba!.shape, [12, 3, 6, 6]);
  });

  test('maxPerSplit caps samples', async () => {
    const ds = await loadDataset(root, { patch: 4, crop: 'random', cropsPerImage: 2, maxPerSplit: 3, seed: 4 });
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [3, 3, 3]);
  });

  test('channels: RGB → 1 (luma) and gray → 3 (replicated)', async () => {
    const gray = await loadDataset(root, { channels: 1, splits: { calib: 1, val: 1, test: 1 } });
    const rgb = await loadDataset(root, { channels: 3, splits: { calib: 1, val: 1, test: 1 } });
    const [g] = await all(gray.calib);
    const [c] = await all(rgb.calib);
    assert.deepEqual(g!.shape, [1, 1, 12, 12]);
    const luma = 0.299 * c!.target![7]! + 0.587 * c!.target![144 + 7]! + 0.114 * c!.target![288 + 7]!;
    assert.ok(Math.abs(g!.target![7]! - luma) < 1e-6);

    const groot = newDir('gray');
    for (let k = 0; k < 3; k++) writePng(path.join(groot, `g${k}.png`), 8, 8, 1, pattern(k));
    const up = await loadDataset(groot, { channels: 3, noise: 'gaussian:0', splits: { calib: 1, val: 1, test: 1 } });
    const [u] = await all(up.test);
    assert.deepEqual(u!.shape, [1, 3, 8, 8]);
    assert.deepEqual(u!.target!.subarray(0, 64), u!.target!.subarray(64, 128));
    assert.deepEqual(u!.input, u!.target, 'σ = 0 leaves the input clean');
  });

  test('batches: sizes, dropLast, shuffle by seed, get()', async () => {
    const ds = await loadDataset(root, { patch: 8, splits: { calib: 0, val: 0, test: 20 } });
    assert.equal(ds.calib.count, 0);
    assert.deepEqual((await all(ds.test, 6)).map((b) => b.shape[0]), [6, 6, 6, 2]);
    const dropped: number[] = [];
    for await (const b of ds.test.batches(6, { dropLast: true })) dropped.push(b.shape[0]);
    assert.deepEqual(dropped, [6, 6, 6]);
    const order = async (s: number) => {
      const names: string[] = [];
      for await (const b of ds.test.batches(5, { shuffle: s })) names.push(...b.names);
      return names;
    };
    const s1 = await order(1);
    assert.deepEqual(await order(1), s1);
    assert.notDeepEqual(s1, ds.test.names());
    assert.deepEqual([...s1].sort(), [...ds.test.names()].sort());
    const one = await ds.test.get([3]);
    assert.equal(one.names[0], ds.test.names()[3]);
  });

  test('pixels are decoded lazily (a file removed after loading fails at batch time)', async () => {
    const r = newDir('lazy');
    makePaired(r, 3);
    const ds = await loadDataset(r, { splits: { calib: 1, val: 1, test: 1 }, cacheBytes: 0 });
    const victim = ds.test.names()[0]!;
    rmSync(path.join(r, victim));
    await assert.rejects(all(ds.test), (e: unknown) => e instanceof DataError && e.code === 'corrupt-image' && e.message.includes('img'));
    assert.equal((await all(ds.calib)).length, 1);
  });

  test('reflect padding for images smaller than the patch', async () => {
    const r = newDir('small');
    makePaired(r, 3, 'noisy', 'clean', 6);
    const ds = await loadDataset(r, { patch: 8, pad: 'reflect', splits: { calib: 1, val: 1, test: 1 } });
    const [b] = await all(ds.test);
    assert.deepEqual(b!.shape, [1, 3, 8, 8]);
    // Row 0 of the padded crop is image row 1 (reflection about row 0), column 0 is image column 1.
    const [plain] = await all((await loadDataset(r, { splits: { calib: 1, val: 1, test: 1 } })).test);
    assert.equal(b!.target![0], plain!.target![1 * 6 + 1]);
    assert.equal(b!.target![1 * 8 + 1], plain!.target![0]);
  });

  test('normalize applies (x − mean) / std to inputs only', async () => {
    const plain = await loadDataset(root, { splits: { calib: 1, val: 1, test: 1 } });
    const norm = await loadDataset(root, { splits: { calib: 1, val: 1, test: 1 }, normalize: { mean: [0.5], std: [0.25] } });
    const [p] = await all(plain.calib);
    const [n] = await all(norm.calib);
    assert.ok(Math.abs(n!.input[5]! - (p!.input[5]! - 0.5) / 0.25) < 1e-6);
    assert.deepEqual(n!.target, p!.target);
  });

  test('splitCounts: fractions, counts, rounding never empties a requested split', () => {
    assert.deepEqual(splitCounts(20, { calib: 0.25, val: 0.25, test: 0.5 }), { calib: 5, val: 5, test: 10 });
    assert.deepEqual(splitCounts(3, { calib: 0.25, val: 0.25, test: 0.5 }), { calib: 1, val: 1, test: 1 });
    assert.deepEqual(splitCounts(10, { calib: 2, val: 0, test: 0.5 }), { calib: 2, val: 0, test: 5 });
    assert.deepEqual(splitCounts(4, { calib: 0.1, val: 0.1, test: 0.8 }), { calib: 1, val: 1, test: 2 });
  });
});

describe('shared fixtures (test/fixtures, made by tools/make_fixtures.py)', () => {
  const fixtures = path.resolve('test/fixtures');
  const models = path.join(fixtures, 'models.json');
  const skip = (t: { skip: (m: string) => void }) => {
    if (existsSync(path.join(fixtures, 'data')) && existsSync(models)) return false;
    t.skip('test/fixtures/data or models.json does not exist yet (written by the fixtures helper)');
    return true;
  };

  test('denoise pairs: pre-split counts and the noisy-input PSNR that Python computed', async (t) => {
    if (skip(t)) return;
    const meta = JSON.parse(readFileSync(models, 'utf8'));
    const ds = await loadDataset(path.join(fixtures, 'data'));
    assert.equal(ds.layout, 'paired');
    assert.equal(ds.describe().presplit, true);
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [24, 12, 12]);
    for (const [split, key] of [[ds.test, 'test_psnr_noisy_db'], [ds.val, 'val_psnr_noisy_db']] as const) {
      const m = new DenoiseMetrics({ ssim: false });
      for await (const b of split.batches(5)) m.add(b.input, b.target!, b.shape);
      const want = meta.models.dncnn.metrics[key] as number;
      assert.ok(Math.abs(m.summary().psnr - want) < 1e-4, `${key}: ${m.summary().psnr} vs ${want}`);
    }
  });

  test('decoded pixels equal the float32 reference inputs bit for bit', async (t) => {
    if (skip(t)) return;
    const meta = JSON.parse(readFileSync(models, 'utf8'));
    for (const key of ['dncnn', 'classifier']) {
      const ref = meta.models[key].ref;
      const bytes = readFileSync(path.join(fixtures, ref.input));
      const want = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const img = await decodeImageFile(path.join(fixtures, ref.source));
      assert.equal(img.data.length, want.length);
      assert.deepEqual(img.data, Float32Array.from(want), key);
    }
  });

  test("rotation classes: the model's class order maps folders to labels", async (t) => {
    if (skip(t) || !existsSync(path.join(fixtures, 'cls'))) return;
    const meta = JSON.parse(readFileSync(models, 'utf8'));
    const classes = meta.models.classifier.classes as string[];
    const ds = await loadDataset(path.join(fixtures, 'cls'), { classes });
    assert.deepEqual(ds.classes, classes);
    assert.deepEqual([ds.calib.count, ds.val.count, ds.test.count], [64, 32, 32]);
    const sorted = await loadDataset(path.join(fixtures, 'cls'));
    assert.deepEqual(sorted.classes, [...classes].sort());
    for await (const b of ds.test.batches(32)) {
      assert.deepEqual(b.shape, [32, 3, 32, 32]);
      b.names.forEach((n, i) => assert.equal(b.labels![i], classes.indexOf(n.split('/')[1]!)));
    }
  });
});

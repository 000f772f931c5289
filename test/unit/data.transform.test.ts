// Classifier preprocessing like torchvision (issue 14 §5): Resize(shorter side, bilinear,
// antialiased) → CenterCrop → Normalize. Reference values were computed with torchvision 0.14
// (transforms.functional.resize(..., antialias=True), transforms.Resize / CenterCrop).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { autoResize, centerCropOffset, decodeRawFile, loadDataset, resizeImage, resizedSize, type RawImage } from '../../src/core/data';
import { PresetError, resolvePreset, validateOverrides } from '../../src/core/presets';
import { runPipeline } from '../../src/core/pipeline';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import { tempDir, writeJpeg, writePng } from '../helpers/dataImages';
import { FIXTURES, TINY } from '../helpers/pipelineOutputs';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));
function temp(tag: string): string {
  const t = tempDir(tag);
  dirs.push(t.cleanup);
  return t.dir;
}

/** 5 wide × 7 high gray ramp, value (37x + 91y) mod 256. */
function ramp(): RawImage {
  const src = new Uint8Array(35);
  for (let y = 0; y < 7; y++) for (let x = 0; x < 5; x++) src[y * 5 + x] = (x * 37 + y * 91) % 256;
  return { width: 5, height: 7, channels: 1, src, stride: 1, max: 255 };
}

// torchvision: F.resize(ramp[None] / 255, [4, 3], BILINEAR, antialias=True)
const DOWN_4x3 = [0.249113, 0.439942, 0.65733, 0.523361, 0.345342, 0.457345, 0.457165, 0.529011, 0.414095, 0.486648, 0.380019, 0.485101];
// ... and [11, 9] (upsampling), first two rows and the last.
const UP_11x9_ROWS = new Map([
  [0, [0.0, 0.048366, 0.128976, 0.209586, 0.290196, 0.370806, 0.451416, 0.532026, 0.580392]],
  [1, [0.16221, 0.210576, 0.291186, 0.371796, 0.452406, 0.533016, 0.613626, 0.694237, 0.742602]],
  [10, [0.133333, 0.181699, 0.262309, 0.342919, 0.423529, 0.504139, 0.584749, 0.66536, 0.713726]],
]);

describe('resize and crop as torchvision computes them', () => {
  test('antialiased bilinear resampling equals torchvision to float rounding', () => {
    const down = resizeImage(ramp(), 3, 4).src;
    DOWN_4x3.forEach((v, i) => assert.ok(Math.abs(down[i]! - v) < 2e-6, `down[${i}] = ${down[i]} vs ${v}`));
    const up = resizeImage(ramp(), 9, 11).src;
    for (const [row, vals] of UP_11x9_ROWS) vals.forEach((v, x) => assert.ok(Math.abs(up[row * 9 + x]! - v) < 2e-6, `up[${row}, ${x}] = ${up[row * 9 + x]} vs ${v}`));
  });

  test('shorter-side sizes and centre-crop offsets (half-way offsets round to even)', () => {
    assert.deepEqual(resizedSize(640, 480, 256), { width: 341, height: 256 });
    assert.deepEqual(resizedSize(301, 300, 36), { width: 36, height: 36 });
    assert.deepEqual(resizedSize(30, 60, 37), { width: 37, height: 74 });
    assert.equal(centerCropOffset(341, 224), 58);
    assert.equal(centerCropOffset(256, 224), 16);
    assert.equal(centerCropOffset(37, 32), 2);
    assert.equal(centerCropOffset(39, 32), 4);
    assert.equal(autoResize(224), 256);
    assert.equal(autoResize(32), 37);
  });
});

describe('preset keys resize and normalize', () => {
  test('valid values pass, others name the setting', () => {
    assert.deepEqual(validateOverrides({ resize: 'auto', normalize: 'imagenet' }), { resize: 'auto', normalize: 'imagenet' });
    assert.deepEqual(validateOverrides({ resize: 256, normalize: { mean: [0.5], std: [0.25] } }), { resize: 256, normalize: { mean: [0.5], std: [0.25] } });
    assert.deepEqual(validateOverrides({ resize: null, normalize: 'none' }), { resize: null, normalize: 'none' });
    const bad: [unknown, RegExp][] = [
      [{ resize: 'big' }, /^resize: must be null, 'auto'/],
      [{ resize: 4 }, /^resize: must be in \[8, 8192\]/],
      [{ resize: 100.5 }, /^resize: must be a whole number/],
      [{ normalize: 'torch' }, /^normalize: must be 'none', 'imagenet'/],
      [{ normalize: { mean: [0.5, 0.5], std: [1] } }, /^normalize\.mean: must be a list of 1 or 3 numbers/],
      [{ normalize: { mean: [0.5], std: [0] } }, /^normalize\.std\[0\]: must be a number in \(0, 10\]/],
      [{ normalize: { mean: [0.5], std: [1], scale: 2 } }, /^normalize\.scale: unknown setting/],
    ];
    for (const [raw, re] of bad) assert.throws(() => validateOverrides(raw), (e: unknown) => e instanceof PresetError && re.test(e.message), JSON.stringify(raw));
    const s = resolvePreset('fast', {}, { resize: 'auto' }).settings;
    assert.equal(s.resize, 'auto');
    assert.equal(s.normalize, 'none', 'defaults fill what is not set');
  });
});

/** The fixture classifier's images (32×32) rescaled to mixed sizes, some as JPEG, in class folders. */
async function mixedSizeFolder(): Promise<string> {
  const root = temp('mixed-cls');
  const src = path.join(FIXTURES, 'cls');
  const sizes: [number, number][] = [
    [48, 64],
    [40, 40],
    [75, 100],
    [50, 33],
    [37, 37],
  ];
  let k = 0;
  for (const split of readdirSync(src)) {
    for (const cls of readdirSync(path.join(src, split))) {
      for (const f of readdirSync(path.join(src, split, cls)).sort().slice(0, 3)) {
        const img = await decodeRawFile(path.join(src, split, cls, f));
        const [w, h] = sizes[k++ % sizes.length]!;
        const big = resizeImage(img, w, h);
        const px = (c: number, y: number, x: number) => big.src[(y * w + x) * big.stride + Math.min(c, big.channels - 1)]!;
        const out = path.join(root, split, cls, f.replace(/\.png$/, k % 3 === 0 ? '.jpg' : '.png'));
        if (k % 3 === 0) writeJpeg(out, w, h, px, 95);
        else writePng(out, w, h, 3, px);
      }
    }
  }
  return root;
}

describe('a fixed-size classifier on a folder of mixed-size images', () => {
  test('loadDataset resizes, centre-crops and normalises; the summary records it', async () => {
    const root = await mixedSizeFolder();
    await assert.rejects(loadDataset(root, { patch: 64, task: 'classify' }), /larger than/, 'without resize small images cannot give the patch');
    const ds = await loadDataset(root, { patch: 32, resize: 37, normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
    const b = await ds.calib.get([0, 1]);
    assert.deepEqual(b.shape, [2, 3, 32, 32]);
    assert.ok(b.input.some((v) => v < 0), 'normalised values leave [0, 1]');
    const d = ds.describe();
    assert.deepEqual(d.transform, { resize: 37, normalize: { name: 'imagenet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
    assert.deepEqual(d.patch, [32, 32]);
    assert.ok(d.imageSize.maxHeight === 100 && d.imageSize.minWidth === 37, 'the summary keeps the files’ own sizes');
    // The first sample's pixels are the centre crop of the resized image.
    const name = ds.calib.names()[0]!;
    const file = path.join(root, name.split('@')[0]!);
    const img = await decodeRawFile(file);
    const to = resizedSize(img.width, img.height, 37);
    const r = resizeImage(img, to.width, to.height);
    const y0 = centerCropOffset(to.height, 32);
    const x0 = centerCropOffset(to.width, 32);
    const expect = (r.src[(y0 * to.width + x0) * 3]! - 0.485) / 0.229;
    assert.ok(Math.abs(b.input[0]! - expect) < 1e-5, `${b.input[0]} vs ${expect}`);
  });

  test('resize is refused for denoising data', async () => {
    await assert.rejects(loadDataset(path.join(FIXTURES, 'data'), { patch: 32, resize: 40 }), /resize applies to classifier data/);
  });

  test('a pipeline run works and its report records resize, crop and normalisation', async () => {
    const root = await mixedSizeFolder();
    const out = path.join(temp('mixed-out'), 'classifier.pruned.onnx');
    const settings = { ...TINY, resize: 'auto' as const, normalize: 'imagenet' as const, refine: { ...TINY.refine, scope: 'off' as const } };
    const summary = await runPipeline({ model: path.join(FIXTURES, 'classifier.onnx'), data: root, out, presetName: 'test', settings, compare: false, timeBudgetSeconds: 0 });
    const report = JSON.parse(readFileSync(summary.reportJson, 'utf8'));
    assert.deepEqual(validateReport(report), []);
    const md = readFileSync(summary.reportMarkdown, 'utf8');
    assert.deepEqual(validateReportMarkdown(md, report), []);
    assert.equal(report.data.task, 'classify');
    assert.deepEqual(report.data.patch, [32, 32]);
    assert.equal(report.data.crop, 'center');
    assert.deepEqual(report.data.transform, { resize: 37, normalize: { name: 'imagenet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
    assert.equal(report.settings.resize, 'auto');
    assert.equal(report.settings.normalize, 'imagenet');
    assert.match(md, /Input transform: resize shorter side to 37 px \(bilinear, antialiased\) → centre crop 32×32 → normalise ImageNet mean/);
    assert.ok(summary.after.params < summary.before.params);
  });
});

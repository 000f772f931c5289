import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DataError, decodeImageFile, readImageHeader } from '../../src/core/data';
import { convertChannels, cropRects, extractCrop, reflectIndex } from '../../src/core/data/crop';
import { decodeRawFile } from '../../src/core/data/decode';
import { Rng } from '../../src/core/util/rng';
import { quant, tempDir, writeJpeg, writePalettePng, writePng } from '../helpers/dataImages';

const tmp = tempDir('decode');
after(() => tmp.cleanup());
const f = (name: string) => path.join(tmp.dir, name);

describe('image decoding', () => {
  test('8-bit RGB PNG decodes to planar CHW in [0,1] exactly', async () => {
    const fn = (c: number, y: number, x: number) => (10 * c + 3 * y + x) / 255;
    writePng(f('rgb8.png'), 5, 4, 3, fn);
    const img = await decodeImageFile(f('rgb8.png'));
    assert.equal(img.width, 5);
    assert.equal(img.height, 4);
    assert.equal(img.channels, 3);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++) assert.equal(img.data[c * 20 + y * 5 + x], Math.fround(quant(fn(c, y, x), 8) / 255));
  });

  test('16-bit gray PNG keeps all 16 bits', async () => {
    // Values that are not multiples of 257, so an 8-bit round trip would change them.
    const vals = [1, 1000, 33333, 65534];
    writePng(f('gray16.png'), 4, 1, 1, (_c, _y, x) => vals[x]! / 65535, { bitDepth: 16 });
    const h = await readImageHeader(f('gray16.png'));
    assert.deepEqual(h, { format: 'png', width: 4, height: 1, channels: 1, bitDepth: 16 });
    const img = await decodeImageFile(f('gray16.png'));
    assert.equal(img.channels, 1);
    assert.deepEqual([...img.data], vals.map((v) => Math.fround(v / 65535)));
  });

  test('16-bit RGBA PNG drops alpha and keeps 16-bit colour', async () => {
    writePng(f('rgba16.png'), 2, 2, 3, (c, y, x) => (c * 20000 + y * 300 + x * 7 + 11) / 65535, {
      bitDepth: 16,
      alpha: true,
    });
    const img = await decodeImageFile(f('rgba16.png'));
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, 12);
    assert.equal(img.data[2 * 4 + 1 * 2 + 1], Math.fround((2 * 20000 + 300 + 7 + 11) / 65535));
  });

  test('gray+alpha 8-bit PNG decodes to one channel', async () => {
    writePng(f('ga8.png'), 3, 2, 1, (_c, y, x) => (y * 3 + x) / 255, { alpha: true });
    const img = await decodeImageFile(f('ga8.png'));
    assert.equal(img.channels, 1);
    assert.deepEqual([...img.data], [0, 1, 2, 3, 4, 5].map((v) => Math.fround(v / 255)));
  });

  test('palette PNGs (8-bit and 4-bit) decode to RGB', async () => {
    const palette: [number, number, number][] = [
      [255, 0, 0],
      [0, 128, 0],
      [10, 20, 30],
    ];
    const index = (y: number, x: number) => (x + 2 * y) % 3;
    for (const depth of [8, 4] as const) {
      const file = f(`pal${depth}.png`);
      writePalettePng(file, 5, 3, palette, index, depth);
      const h = await readImageHeader(file);
      assert.equal(h.channels, 3);
      const img = await decodeImageFile(file);
      assert.equal(img.channels, 3);
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 5; x++)
          for (let c = 0; c < 3; c++)
            assert.equal(img.data[c * 15 + y * 5 + x], Math.fround(palette[index(y, x)]![c]! / 255), `depth ${depth} (${c},${y},${x})`);
    }
  });

  test('JPEG decodes close to its source and its header is read', async () => {
    writeJpeg(f('flat.jpg'), 16, 16, (c) => [0.2, 0.5, 0.8][c]!);
    const h = await readImageHeader(f('flat.jpg'));
    assert.deepEqual(h, { format: 'jpeg', width: 16, height: 16, channels: 3, bitDepth: 8 });
    const img = await decodeImageFile(f('flat.jpg'));
    assert.equal(img.channels, 3);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 256; i++) assert.ok(Math.abs(img.data[c * 256 + i]! - [0.2, 0.5, 0.8][c]!) < 3 / 255);
    }
  });

  test('garbage and truncated files give corrupt-image naming the file', async () => {
    writeFileSync(f('junk.png'), 'not an image at all');
    await assert.rejects(readImageHeader(f('junk.png')), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.code, 'corrupt-image');
      assert.match(e.message, /junk\.png/);
      return true;
    });
    writePng(f('whole.png'), 32, 32, 3, (c, y, x) => ((c + y * x) % 255) / 255);
    const bytes = readFileSync(f('whole.png'));
    writeFileSync(f('cut.png'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    // The header survives the cut; decoding does not.
    assert.equal((await readImageHeader(f('cut.png'))).width, 32);
    await assert.rejects(decodeImageFile(f('cut.png')), (e: unknown) => e instanceof DataError && e.code === 'corrupt-image' && /cut\.png/.test(e.message));
    writeFileSync(f('cut.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a]));
    await assert.rejects(readImageHeader(f('cut.jpg')), (e: unknown) => e instanceof DataError && e.code === 'corrupt-image');
  });
});

describe('crops and channel conversion', () => {
  test('reflectIndex mirrors without repeating the edge', () => {
    assert.deepEqual([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((i) => reflectIndex(i, 4)), [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    assert.equal(reflectIndex(7, 1), 0);
  });

  test('extractCrop cuts the right window and reflects outside', async () => {
    writePng(f('grid.png'), 6, 5, 1, (_c, y, x) => (10 * y + x) / 255);
    const raw = await decodeRawFile(f('grid.png'));
    const inside = extractCrop(raw, { y: 1, x: 2, h: 2, w: 3 });
    assert.deepEqual([...inside].map((v) => Math.round(v * 255)), [12, 13, 14, 22, 23, 24]);
    const outside = extractCrop(raw, { y: -1, x: -1, h: 2, w: 2 });
    assert.deepEqual([...outside].map((v) => Math.round(v * 255)), [11, 10, 1, 0]);
  });

  test('centre and random crop rects', () => {
    assert.deepEqual(cropRects(10, 8, 4, 4, 'center', 1, new Rng(1)), [{ y: 2, x: 3, h: 4, w: 4 }]);
    const a = cropRects(50, 40, 8, 8, 'random', 20, new Rng(7));
    const b = cropRects(50, 40, 8, 8, 'random', 20, new Rng(7));
    assert.deepEqual(a, b);
    for (const r of a) assert.ok(r.x >= 0 && r.y >= 0 && r.x + 8 <= 50 && r.y + 8 <= 40);
    assert.ok(new Set(a.map((r) => `${r.x},${r.y}`)).size > 10);
    // Smaller than the patch: centred overhang.
    assert.deepEqual(cropRects(4, 4, 8, 8, 'random', 1, new Rng(1)), [{ y: -2, x: -2, h: 8, w: 8 }]);
  });

  test('gray→RGB replicates and RGB→gray takes BT.601 luma', () => {
    const g = new Float32Array([0.1, 0.9]);
    assert.deepEqual([...convertChannels(g, 1, 3, 2)], [...g, ...g, ...g]);
    const rgb = new Float32Array([1, 0, 0, 1, 0, 0]);
    const y = convertChannels(rgb, 3, 1, 2);
    assert.ok(Math.abs(y[0]! - 0.299) < 1e-6 && Math.abs(y[1]! - 0.587) < 1e-6);
  });
});

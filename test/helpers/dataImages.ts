// Writes small PNG/JPEG test images into temp folders for the data-loading tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';

/** Pixel value in [0, 1] for channel c at row y, column x. */
export type PixelFn = (c: number, y: number, x: number) => number;

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `qp-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function ensureParent(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
}

/** Integer sample for value v at the given bit depth (rounded). */
export function quant(v: number, bits: 8 | 16): number {
  const max = bits === 16 ? 65535 : 255;
  return Math.round(Math.min(1, Math.max(0, v)) * max);
}

/** Writes a gray (channels 1) or RGB (channels 3) PNG, 8 or 16 bit, optionally with an alpha channel. */
export function writePng(
  file: string,
  w: number,
  h: number,
  channels: 1 | 3,
  fn: PixelFn,
  opts: { bitDepth?: 8 | 16; alpha?: boolean } = {},
): void {
  const bits = opts.bitDepth ?? 8;
  const n = w * h * 4;
  const samples = bits === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) samples[p + c] = quant(fn(channels === 1 ? 0 : c, y, x), bits);
      samples[p + 3] = bits === 16 ? 65535 : 255;
    }
  }
  const png = new PNG({ width: w, height: h });
  // pngjs reads 16-bit input through the buffer's ArrayBuffer, so it must own exactly these bytes.
  png.data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const colorType = channels === 1 ? (opts.alpha ? 4 : 0) : opts.alpha ? 6 : 2;
  ensureParent(file);
  writeFileSync(file, PNG.sync.write(png, { colorType, bitDepth: bits, inputColorType: 6, inputHasAlpha: true }));
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0, 0);
  return Buffer.concat([head, Buffer.from(data), crc]);
}

/** Writes a palette PNG (colour type 3) at bit depth 8 or 4; `index(y, x)` picks the palette entry. */
export function writePalettePng(
  file: string,
  w: number,
  h: number,
  palette: [number, number, number][],
  index: (y: number, x: number) => number,
  bitDepth: 4 | 8 = 8,
): void {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = 3;
  const rowBytes = Math.ceil((w * bitDepth) / 8);
  const raw = Buffer.alloc(h * (rowBytes + 1));
  for (let y = 0; y < h; y++) {
    const row = y * (rowBytes + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const v = index(y, x);
      if (bitDepth === 8) raw[row + 1 + x] = v;
      else raw[row + 1 + (x >> 1)]! |= (x & 1) === 0 ? v << 4 : v;
    }
  }
  const plte = Buffer.from(palette.flat());
  ensureParent(file);
  writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('PLTE', plte),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

/** Writes an RGB JPEG (jpeg-js always writes three components). */
export function writeJpeg(file: string, w: number, h: number, fn: PixelFn, quality = 100): void {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) data[p + c] = quant(fn(c, y, x), 8);
      data[p + 3] = 255;
    }
  }
  ensureParent(file);
  writeFileSync(file, jpeg.encode({ width: w, height: h, data }, quality).data);
}

/** A smooth, image-specific pattern so that different files have different pixels. */
export function pattern(seed: number): PixelFn {
  return (c, y, x) => 0.5 + 0.4 * Math.sin(0.37 * x + 0.23 * y + 1.3 * c + 0.7 * seed);
}

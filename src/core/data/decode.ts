import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import { FileReadError, openRegularFile, readRegularFile } from '../util/readRegularFile';
import { MAX_TYPED_ARRAY_LENGTH, formatBytes, memoryBudgetBytes } from '../util/memory';

export type ImageFormat = 'png' | 'jpeg';

/** What a file's header says, read without decoding pixels (cheap even for large SIDD images). */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** Native channels after our conversion rules: gray (1) or colour (3); alpha is never counted. */
  channels: 1 | 3;
  bitDepth: number;
}

/** A decoded image: planar CHW float32 in [0, 1]. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function formatFromName(file: string): ImageFormat | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith('.png')) return 'png';
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) return 'jpeg';
  return undefined;
}

function corrupt(file: string, why: string): DataError {
  return new DataError('corrupt-image', `Cannot read image ${file}: ${why}`, [file]);
}

function unreadable(file: string, err: unknown): DataError {
  if (err instanceof FileReadError && err.code === 'not-regular') {
    return new DataError('not-regular-file', `Image ${file} is ${err.what}, not a regular file; replace it with the image itself or remove it`, [file]);
  }
  return corrupt(file, (err as Error).message);
}

function sniff(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function pngHeader(bytes: Uint8Array, file: string): ImageHeader {
  if (bytes.length < 26) throw corrupt(file, 'truncated PNG header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  if (type !== 'IHDR') throw corrupt(file, 'PNG without IHDR chunk');
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  if (width === 0 || height === 0) throw corrupt(file, 'PNG with zero size');
  if (![0, 2, 3, 4, 6].includes(colorType)) throw corrupt(file, `PNG colour type ${colorType} is invalid`);
  // Colour types 0 and 4 are gray (with alpha); 2, 3 (palette) and 6 are colour.
  return { format: 'png', width, height, channels: colorType === 0 || colorType === 4 ? 1 : 3, bitDepth };
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks JPEG marker segments up to the frame header; returns undefined when more bytes are needed. */
function jpegHeader(bytes: Uint8Array, file: string, complete: boolean): ImageHeader | undefined {
  let p = 2;
  for (;;) {
    if (p + 4 > bytes.length) {
      if (complete) throw corrupt(file, 'JPEG without frame header');
      return undefined;
    }
    if (bytes[p] !== 0xff) throw corrupt(file, `bad JPEG marker at byte ${p}`);
    const marker = bytes[p + 1]!;
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw corrupt(file, 'JPEG scan data before frame header');
    const len = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (SOF_MARKERS.has(marker)) {
      if (p + 10 > bytes.length) {
        if (complete) throw corrupt(file, 'truncated JPEG frame header');
        return undefined;
      }
      const bitDepth = bytes[p + 4]!;
      const height = (bytes[p + 5]! << 8) | bytes[p + 6]!;
      const width = (bytes[p + 7]! << 8) | bytes[p + 8]!;
      const comps = bytes[p + 9]!;
      if (width === 0 || height === 0) throw corrupt(file, 'JPEG with zero size');
      if (comps !== 1 && comps !== 3 && comps !== 4) throw corrupt(file, `JPEG with ${comps} components`);
      return { format: 'jpeg', width, height, channels: comps === 1 ? 1 : 3, bitDepth };
    }
    p += 2 + len;
  }
}

/** Reads the size and channel count from the first bytes of a file (it reads more only for JPEGs with big EXIF blocks). */
export async function readImageHeader(file: string): Promise<ImageHeader> {
  let fh;
  let size: number;
  try {
    ({ handle: fh, size } = await openRegularFile(file));
  } catch (e) {
    throw unreadable(file, e);
  }
  try {
    let want = Math.min(size, 4096);
    for (;;) {
      const buf = new Uint8Array(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      const bytes = buf.subarray(0, bytesRead);
      const complete = bytesRead >= size;
      const format = sniff(bytes);
      if (format === 'png') return pngHeader(bytes, file);
      if (format === 'jpeg') {
        const h = jpegHeader(bytes, file, complete);
        if (h) return h;
      } else {
        throw corrupt(file, 'not a PNG or JPEG file');
      }
      if (complete) throw corrupt(file, 'JPEG without frame header');
      want = Math.min(size, want * 4);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Decoded pixels still in the decoder's interleaved layout. Crops are cut straight from it, so a
 * large image (SIDD: ~5000×3000) never exists as a full float32 copy.
 */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Interleaved samples; channel c of pixel p is src[p * stride + c]. */
  src: ArrayLike<number>;
  stride: number;
  /** Largest stored integer; value / max maps to [0, 1] (a division, so results equal numpy's x.astype(float32) / max). */
  max: number;
}

/** Decodes PNG (1/2/4/8/16-bit, gray, gray+alpha, RGB, RGBA, palette) or JPEG. Alpha is dropped, not composited. */
export function decodeRaw(bytes: Uint8Array, file: string): RawImage {
  const format = sniff(bytes);
  if (format === 'png') return decodePng(bytes, file);
  if (format === 'jpeg') return decodeJpeg(bytes, file);
  throw corrupt(file, 'not a PNG or JPEG file');
}

export async function decodeRawFile(file: string): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file);
  } catch (e) {
    throw unreadable(file, e);
  }
  return decodeRaw(bytes, file);
}

/** Whole image as planar CHW float32 in [0, 1]. */
export function toPlanar(raw: RawImage): DecodedImage {
  const { width, height, channels, src, stride, max } = raw;
  const plane = width * height;
  const data = new Float32Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    const off = c * plane;
    for (let i = 0, s = c; i < plane; i++, s += stride) data[off + i] = src[s]! / max;
  }
  return { width, height, channels, data };
}

export function decodeImageBuffer(bytes: Uint8Array, file: string): DecodedImage {
  return toPlanar(decodeRaw(bytes, file));
}

export async function decodeImageFile(file: string): Promise<DecodedImage> {
  return toPlanar(await decodeRawFile(file));
}

function decodePng(bytes: Uint8Array, file: string): RawImage {
  // pngjs allocates the whole RGBA image from the header's size before reading any pixel data, so
  // a 60000×60000 header on a few bytes would ask for gigabytes. (jpeg-js caps its own memory.)
  const h = pngHeader(bytes, file);
  const decoded = h.width * h.height * 4 * (h.bitDepth === 16 ? 2 : 1);
  if (decoded > memoryBudgetBytes() || decoded > MAX_TYPED_ARRAY_LENGTH) {
    throw new DataError('image-too-large', `Image ${file} declares ${h.width}×${h.height} pixels, which would take ${formatBytes(decoded)} to decode (limit ${formatBytes(Math.min(memoryBudgetBytes(), MAX_TYPED_ARRAY_LENGTH))}); use smaller images`, [file]);
  }
  let png;
  try {
    // skipRescale keeps 16-bit samples as 16-bit (pngjs would otherwise round them to 8 bits).
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    // pngjs reports a file cut short in terms of its stream internals; say what it means.
    const msg = (e as Error).message;
    throw corrupt(file, /read requests|unexpected end|premature/i.test(msg) ? 'the PNG data ends early (truncated or damaged file)' : `damaged PNG data (${msg})`);
  }
  const { width, height, colorType, depth } = png as unknown as {
    width: number;
    height: number;
    colorType: number;
    depth: number;
  };
  // pngjs expands every colour type to RGBA (gray copied into R, G, B); palette entries are 8-bit.
  const max = colorType === 3 ? 255 : 2 ** depth - 1;
  const channels: 1 | 3 = colorType === 0 || colorType === 4 ? 1 : 3;
  return { width, height, channels, src: png.data as unknown as ArrayLike<number>, stride: 4, max };
}

function decodeJpeg(bytes: Uint8Array, file: string): RawImage {
  try {
    const h = jpegHeader(bytes, file, true);
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    // jpeg-js always emits RGB; a one-component JPEG has R = G = B, so reading R alone is exact.
    return { width: img.width, height: img.height, channels: h?.channels ?? 3, src: img.data, stride: 3, max: 255 };
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw corrupt(file, (e as Error).message);
  }
}

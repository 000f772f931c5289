// Data-folder cases: a small copy of the denoising pairs or the class folders with one damage:
// corrupt PNG/JPEG headers and bodies, 1×1 and mixed sizes, 16-bit PNG, CMYK JPEG, symlink loops,
// empty files, links to devices, odd folder shapes.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import type { Rng } from '../../src/core/util/rng';
import { FIXTURES, pick, type CaseInput, type CaseMaker } from './cases';

type Verify = Extract<CaseInput, { kind: 'data' }>['verify'];

const DENOISE = path.join(FIXTURES, 'data');
const CLS = path.join(FIXTURES, 'cls');
const PER_SPLIT: Record<string, number> = { calib: 4, val: 2, test: 2 };

/** Copies the first few pairs (or images per class) of each split: small enough for many cases a second. */
function copySubset(from: string, to: string): string[] {
  const copied: string[] = [];
  for (const split of ['calib', 'val', 'test']) {
    const sdir = path.join(from, split);
    for (const sub of readdirSync(sdir).sort()) {
      const files = readdirSync(path.join(sdir, sub)).sort().slice(0, PER_SPLIT[split]! / (from === CLS ? 2 : 1));
      mkdirSync(path.join(to, split, sub), { recursive: true });
      for (const f of files) {
        copyFileSync(path.join(sdir, sub, f), path.join(to, split, sub, f));
        copied.push(`${split}/${sub}/${f}`);
      }
    }
  }
  return copied;
}

export function encodePng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number], opts: { bitDepth?: 8 | 16; gray?: boolean } = {}): Buffer {
  const depth = opts.bitDepth ?? 8;
  const png = new PNG({ width, height, bitDepth: depth, colorType: opts.gray ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
  const data = depth === 16 ? new Uint16Array(width * height * 4) : new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const i = (y * width + x) * 4;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = depth === 16 ? 65535 : 255;
    }
  }
  png.data = Buffer.from(data.buffer);
  return PNG.sync.write(png, { bitDepth: depth, colorType: opts.gray ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
}

function encodeJpeg(width: number, height: number, rng: Rng): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i & 3) === 3 ? 255 : rng.nextInt(256);
  return jpeg.encode({ data, width, height }, 90).data;
}

/**
 * A baseline JPEG with four components (CMYK), flat colour, 16×16: written by hand because no
 * encoder here makes one. Quantisation 1 and DC-only blocks make every decoded sample exactly the
 * stored value. With `adobe`, an APP14 marker says 'CMYK, no transform', the usual Photoshop form
 * (stored values are inverted ink).
 */
export function encodeCmykJpeg(stored: [number, number, number, number], adobe: boolean): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const out: number[] = [0xff, 0xd8];
  if (adobe) out.push(...seg(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0, 0, 0, 0, 0]));
  out.push(...seg(0xdb, [0x00, ...new Array(64).fill(1)]));
  out.push(...seg(0xc0, [8, 0, 16, 0, 16, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]));
  // DC table: categories 0–11, all 4-bit codes (0000–1011); AC table: EOB alone, code '0'.
  out.push(...seg(0xc4, [0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...Array.from({ length: 12 }, (_, i) => i)]));
  out.push(...seg(0xc4, [0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]));
  out.push(...seg(0xda, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]));
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push((v >> i) & 1);
  };
  const prev = [0, 0, 0, 0];
  for (let mcu = 0; mcu < 4; mcu++) {
    for (let c = 0; c < 4; c++) {
      const dc = 8 * (stored[c]! - 128);
      const diff = dc - prev[c]!;
      prev[c] = dc;
      const s = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(s, 4);
      if (s) put(diff >= 0 ? diff : diff + (1 << s) - 1, s);
      put(0, 1); // EOB
    }
  }
  while (bits.length % 8) bits.push(1);
  for (let i = 0; i < bits.length; i += 8) {
    const byte = parseInt(bits.slice(i, i + 8).join(''), 2);
    out.push(byte);
    if (byte === 0xff) out.push(0x00);
  }
  out.push(0xff, 0xd9);
  return Buffer.from(out);
}

/** Rewrites a PNG chunk's CRC after its bytes were edited, so only the edit itself is wrong. */
function fixIhdrCrc(b: Buffer): Buffer {
  const crc = crc32(b.subarray(12, 29));
  b.writeUInt32BE(crc >>> 0, 29);
  return b;
}

interface DataPlan {
  name: string;
  mustFail?: boolean;
  edit(root: string, files: string[], rng: Rng): void;
  verify?: Verify;
}

/** Writes `bytes` over both halves of a denoising pair (or over one class image). */
function replacePair(root: string, rel: string, noisy: Buffer, clean = noisy): void {
  writeFileSync(path.join(root, rel), noisy);
  const other = rel.includes('/noisy/') ? rel.replace('/noisy/', '/clean/') : undefined;
  if (other) writeFileSync(path.join(root, other), clean);
}

function anyImage(rng: Rng, files: string[], splitPrefix?: string): string {
  const pool = files.filter((f) => (splitPrefix ? f.startsWith(splitPrefix) : true) && !f.includes('/clean/'));
  return pick(rng, pool);
}

function plans(cls: boolean): ((rng: Rng) => DataPlan)[] {
  return [
    (rng) => {
      const where = pick(rng, [1, 8, 12, 16, 20, 24, 25, 29]);
      return {
        name: `PNG header byte ${where} changed`,
        edit: (root, files) => {
          const f = path.join(root, anyImage(rng, files));
          const b = readFileSync(f);
          b[where] = rng.nextInt(256);
          writeFileSync(f, where >= 16 && where < 29 && rng.next() < 0.7 ? fixIhdrCrc(b) : b);
        },
      };
    },
    (rng) => ({
      name: 'PNG IHDR declares a huge size (CRC fixed)',
      mustFail: true,
      edit: (root, files) => {
        const f = path.join(root, anyImage(rng, files));
        const b = readFileSync(f);
        b.writeUInt32BE(pick(rng, [60000, 65535, 2 ** 31 - 1, 1_000_000]), 16);
        b.writeUInt32BE(pick(rng, [60000, 65535, 2 ** 31 - 1, 1]), 20);
        writeFileSync(f, fixIhdrCrc(b));
      },
    }),
    (rng) => ({
      name: 'PNG body damaged (bit flips after the header)',
      edit: (root, files) => {
        const f = path.join(root, anyImage(rng, files));
        const b = readFileSync(f);
        for (let i = 0; i < 1 + rng.nextInt(8); i++) b[33 + rng.nextInt(b.length - 33)]! ^= 1 << rng.nextInt(8);
        writeFileSync(f, b);
      },
    }),
    (rng) => ({
      name: 'image truncated',
      mustFail: true,
      edit: (root, files) => {
        const f = path.join(root, anyImage(rng, files));
        const b = readFileSync(f);
        writeFileSync(f, b.subarray(0, rng.nextInt(b.length - 12)));
      },
    }),
    (rng) => ({
      name: 'empty image file',
      mustFail: true,
      edit: (root, files) => writeFileSync(path.join(root, anyImage(rng, files)), ''),
    }),
    (rng) => {
      const damage = pick(rng, ['none', 'marker', 'truncate', 'sof', 'flip'] as const);
      return {
        name: `JPEG image (${damage === 'none' ? 'valid' : `damage: ${damage}`})`,
        edit: (root, files) => {
          const rel = anyImage(rng, files);
          const b = encodeJpeg(32 + rng.nextInt(40), 32 + rng.nextInt(40), rng);
          if (damage === 'marker') b[2 + rng.nextInt(20)] = rng.nextInt(256);
          if (damage === 'sof') {
            const sof = b.indexOf(Buffer.from([0xff, 0xc0]));
            b[sof + 5 + rng.nextInt(5)] = pick(rng, [0, 0xff, 2, 5]);
          }
          if (damage === 'flip') for (let i = 0; i < 4; i++) b[rng.nextInt(b.length)]! ^= 0x10;
          const out = damage === 'truncate' ? b.subarray(0, rng.nextInt(b.length)) : b;
          const jpgRel = rel.replace(/\.png$/, '.jpg');
          rmSync(path.join(root, rel));
          if (rel.includes('/noisy/')) rmSync(path.join(root, rel.replace('/noisy/', '/clean/')));
          replacePair(root, jpgRel, out);
        },
      };
    },
    (rng) => ({
      name: '1×1 image pair',
      edit: (root, files) => replacePair(root, anyImage(rng, files), encodePng(1, 1, () => [1, 2, 3])),
    }),
    (rng) => {
      const v: [number, number, number] = [12345, 40000, 65535];
      const w = 32 + rng.nextInt(32);
      let rel = '';
      return {
        name: `16-bit PNG pair (${w}×${w}, flat colour)`,
        edit: (root, files) => {
          rel = anyImage(rng, files, 'calib/');
          replacePair(root, rel, encodePng(w, w, () => v, { bitDepth: 16 }));
        },
        verify: (batch) => {
          const i = batch.names.findIndex((n) => n.split('@')[0] === rel);
          if (i < 0) return undefined;
          const [, c, h, wd] = batch.shape as [number, number, number, number];
          for (let ch = 0; ch < c; ch++) {
            const got = batch.input[i * c * h * wd + ch * h * wd]!;
            if (Math.abs(got - v[ch]! / 65535) > 1e-6) return `16-bit sample of channel ${ch} decoded as ${got}, expected ${v[ch]! / 65535}`;
          }
          return undefined;
        },
      };
    },
    (rng) => {
      const stored: [number, number, number, number] = [rng.nextInt(256), rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)];
      const adobe = rng.next() < 0.7;
      let rel = '';
      return {
        name: `CMYK JPEG pair (stored ${stored.join(',')}, ${adobe ? 'Adobe APP14' : 'no Adobe marker'})`,
        edit: (root, files) => {
          rel = anyImage(rng, files, 'calib/');
          rmSync(path.join(root, rel));
          if (rel.includes('/noisy/')) rmSync(path.join(root, rel.replace('/noisy/', '/clean/')));
          rel = rel.replace(/\.png$/, '.jpg');
          replacePair(root, rel, encodeCmykJpeg(stored, adobe));
        },
        verify: (batch) => {
          const i = batch.names.findIndex((n) => n.split('@')[0] === rel);
          if (i < 0) return undefined;
          const [, c, h, w] = batch.shape as [number, number, number, number];
          // Adobe CMYK stores inverted ink: R = stored C · stored K / 255, and so on.
          for (let ch = 0; ch < 3; ch++) {
            const want = (stored[ch]! * stored[3]!) / 255 / 255;
            const got = batch.input[i * c * h * w + ch * h * w]!;
            if (Math.abs(got - want) > 2.5 / 255) return `CMYK JPEG channel ${ch} decoded as ${(got * 255).toFixed(1)}, expected ${(want * 255).toFixed(1)}`;
          }
          return undefined;
        },
      };
    },
    (rng) => {
      const mismatch = rng.next() < 0.5;
      const [w1, h1] = [33 + rng.nextInt(100), 33 + rng.nextInt(100)];
      return {
        name: mismatch ? 'pair halves of different sizes' : `one pair of another size (${w1}×${h1})`,
        mustFail: mismatch && !cls,
        edit: (root, files) => {
          const px = () => [rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)] as [number, number, number];
          replacePair(root, anyImage(rng, files), encodePng(w1, h1, px), encodePng(mismatch ? w1 + 8 : w1, h1, px));
        },
      };
    },
    (rng) => ({
      name: 'gray PNG among colour ones',
      edit: (root, files) => replacePair(root, anyImage(rng, files), encodePng(40, 40, (x) => [x * 6, x * 6, x * 6], { gray: true })),
    }),
    (rng) => {
      const what = pick(rng, ['dir-self', 'dir-parent', 'dir-root', 'file-loop', 'two-dir-loops'] as const);
      return {
        name: `symlink loop (${what})`,
        edit: (root, files) => {
          const dir = path.join(root, path.dirname(anyImage(rng, files)));
          if (what === 'dir-self') symlinkSync('.', path.join(dir, 'again'));
          else if (what === 'dir-parent') symlinkSync('..', path.join(dir, 'up'));
          else if (what === 'dir-root') symlinkSync(root, path.join(dir, 'root'));
          else if (what === 'two-dir-loops') {
            symlinkSync('.', path.join(dir, 'a'));
            symlinkSync('.', path.join(dir, 'b'));
            symlinkSync('..', path.join(root, 'c'));
          } else {
            symlinkSync('loop_b.png', path.join(dir, 'loop_a.png'));
            symlinkSync('loop_a.png', path.join(dir, 'loop_b.png'));
          }
        },
      };
    },
    (rng) => ({
      name: 'image is a link to /dev/zero',
      mustFail: true,
      edit: (root, files) => {
        const rel = anyImage(rng, files);
        rmSync(path.join(root, rel));
        symlinkSync('/dev/zero', path.join(root, rel));
      },
    }),
    (rng) => ({
      name: 'text file named .png',
      mustFail: true,
      edit: (root, files) => writeFileSync(path.join(root, anyImage(rng, files)), 'not an image\n'),
    }),
    (rng) => ({
      name: 'folder named like an image',
      edit: (root, files) => mkdirSync(path.join(root, path.dirname(anyImage(rng, files)), 'dir.png')),
    }),
    (rng) => {
      const what = pick(rng, ['split-empty', 'delete-one', 'delete-class', 'root-image', 'extra-files', 'only-one-split', 'unicode-name'] as const);
      return {
        name: `folder shape: ${what}`,
        edit: (root, files) => {
          const rel = anyImage(rng, files);
          if (what === 'split-empty') for (const f of files.filter((x) => x.startsWith(rel.split('/')[0]!))) rmSync(path.join(root, f));
          else if (what === 'delete-one') rmSync(path.join(root, rel));
          else if (what === 'delete-class') rmSync(path.join(root, path.dirname(rel)), { recursive: true });
          else if (what === 'root-image') copyFileSync(path.join(root, rel), path.join(root, 'stray.png'));
          else if (what === 'extra-files') {
            writeFileSync(path.join(root, path.dirname(rel), 'notes.txt'), 'x');
            writeFileSync(path.join(root, path.dirname(rel), '.hidden.png'), 'x');
          } else if (what === 'only-one-split') {
            rmSync(path.join(root, 'val'), { recursive: true });
            rmSync(path.join(root, 'test'), { recursive: true });
          } else {
            const dst = path.join(root, path.dirname(rel), 'ñ 画像\n\x1b[31m ' + path.basename(rel));
            copyFileSync(path.join(root, rel), dst);
            if (rel.includes('/noisy/')) copyFileSync(path.join(root, rel.replace('/noisy/', '/clean/')), dst.replace('/noisy/', '/clean/'));
          }
        },
      };
    },
  ];
}

export const dataFolder: CaseMaker = (rng, index) => {
  const cls = rng.next() < 0.3;
  const all = plans(cls);
  // The first cases take each damage in turn, so even a small run tries every one.
  const make = index < all.length ? all[index]! : pick(rng, all);
  const plan = make(rng);
  return {
    name: `${cls ? 'class folders' : 'denoising pairs'}: ${plan.name}`,
    mustFail: plan.mustFail,
    build: (dir) => {
      const root = path.join(dir, 'data');
      const files = copySubset(cls ? CLS : DENOISE, root);
      plan.edit(root, files, rng);
      return { kind: 'data', data: root, task: cls ? 'classify' : 'denoise', verify: plan.verify };
    },
  };
};

import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { formatFromName } from './decode';
import { DataError, firstFew } from './errors';
import { assertRegularFile, FileReadError } from '../util/readRegularFile';

export type LayoutKind = 'paired' | 'sidd' | 'clean' | 'classify';
export type LayoutOption = 'auto' | LayoutKind;
export type SplitName = 'calib' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['calib', 'val', 'test'];

/** One image (or noisy/clean pair) of a data folder. */
export interface Entry {
  /** Path relative to the dataset root, used in names and messages. */
  name: string;
  /** The file fed to the model (the clean image for the 'clean' layout, which gets synthetic noise). */
  input: string;
  /** The clean reference for real noisy/clean pairs. */
  target?: string;
  label?: number;
  className?: string;
  /** Entries of one group always land in the same split (the scene folder for SIDD, else the file). */
  group: string;
}

export interface ScanResult {
  kind: LayoutKind;
  entries: Entry[];
  /** Class folder names for 'classify', sorted; label = index. */
  classes?: string[];
}

export interface ScanOptions {
  layout: LayoutOption;
  task?: 'denoise' | 'classify';
  /** Whether a noise spec was given (a clean-only folder needs one). */
  hasNoise: boolean;
}

const PAIR_DIRS: ReadonlyArray<readonly [string, string]> = [
  ['noisy', 'clean'],
  ['input', 'target'],
  ['noisy', 'gt'],
];
const SIDD_NAME = /^(NOISY|GT)_SRGB_(.+)\.png$/i;
const MAX_DEPTH = 6;

interface FileRec {
  rel: string;
  abs: string;
  /** Parent folder relative to the root ('' for the root itself). */
  dir: string;
  base: string;
}

function notRegularImage(file: string): DataError {
  let what = 'not a regular file';
  try {
    assertRegularFile(file);
  } catch (e) {
    if (e instanceof FileReadError) what = e.what;
  }
  return new DataError('not-regular-file', `Image ${file} is ${what}, not a regular file; replace it with the image itself or remove it`, [file]);
}

async function listDir(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  let items;
  try {
    items = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataError('not-found', `Data folder not found: ${dir}`, [dir]);
    if (err.code === 'ENOTDIR') throw new DataError('not-found', `Not a folder: ${dir}`, [dir]);
    throw new DataError('not-found', `Cannot read data folder ${dir}: ${err.message}`, [dir]);
  }
  const files: string[] = [];
  const dirs: string[] = [];
  for (const it of items) {
    if (it.name.startsWith('.')) continue;
    if (it.isDirectory()) dirs.push(it.name);
    else if (it.isFile()) files.push(it.name);
    else if (it.isSymbolicLink()) {
      const s = await stat(path.join(dir, it.name)).catch(() => undefined);
      if (s?.isDirectory()) dirs.push(it.name);
      else if (s?.isFile()) files.push(it.name);
      else if (s && formatFromName(it.name)) throw notRegularImage(path.join(dir, it.name));
    } else if (formatFromName(it.name)) {
      // A FIFO or device named like an image would otherwise vanish from the listing and surface
      // as a puzzling unmatched pair (or, if read, block or never end).
      throw notRegularImage(path.join(dir, it.name));
    }
  }
  files.sort();
  dirs.sort();
  return { files, dirs };
}

async function walk(root: string): Promise<{ images: FileRec[]; anyFile: boolean }> {
  const images: FileRec[] = [];
  let anyFile = false;
  const visit = async (rel: string, depth: number): Promise<void> => {
    const { files, dirs } = await listDir(path.join(root, rel));
    if (files.length > 0) anyFile = true;
    for (const f of files) {
      if (!formatFromName(f)) continue;
      const r = rel ? `${rel}/${f}` : f;
      images.push({ rel: r, abs: path.join(root, rel, f), dir: rel, base: f });
    }
    if (depth >= MAX_DEPTH) return;
    for (const d of dirs) await visit(rel ? `${rel}/${d}` : d, depth + 1);
  };
  await visit('', 0);
  return { images, anyFile };
}

function stem(file: string): string {
  const i = file.lastIndexOf('.');
  return i > 0 ? file.slice(0, i) : file;
}

/** Detects the split sub-folders (calib/, val/, test/) of a pre-split root; empty when the root is not pre-split. */
export async function findSplitFolders(root: string): Promise<Partial<Record<SplitName, string>>> {
  const { dirs } = await listDir(root);
  const out: Partial<Record<SplitName, string>> = {};
  for (const d of dirs) {
    const l = d.toLowerCase();
    if (l === 'calib' || l === 'val' || l === 'test') out[l] = path.join(root, d);
  }
  return out;
}

function pairDirsOf(dirs: string[]): [string, string] | undefined {
  const byLower = new Map(dirs.map((d) => [d.toLowerCase(), d]));
  for (const [a, b] of PAIR_DIRS) {
    const da = byLower.get(a);
    const db = byLower.get(b);
    if (da && db) return [da, db];
  }
  return undefined;
}

/** Scans one (non-split) data folder and returns its entries in name order. */
export async function scanFolder(dir: string, opts: ScanOptions): Promise<ScanResult> {
  const { files, dirs } = await listDir(dir);
  if (files.length === 0 && dirs.length === 0) {
    throw new DataError('empty-folder', `Data folder is empty: ${dir}`, [dir]);
  }
  const pairDirs = pairDirsOf(dirs);
  if (opts.layout === 'paired' || (opts.layout === 'auto' && pairDirs)) {
    if (!pairDirs) {
      throw new DataError(
        'layout-mismatch',
        `Folder ${dir} has no noisy/ + clean/ (or input/ + target/) sub-folders for the paired layout.`,
        [dir],
      );
    }
    return scanPaired(dir, pairDirs);
  }

  const { images, anyFile } = await walk(dir);
  if (images.length === 0) {
    if (!anyFile) throw new DataError('empty-folder', `Data folder ${dir} holds no files.`, [dir]);
    throw new DataError('no-images', `No PNG or JPEG images found in ${dir}.`, [dir]);
  }
  const isSidd = images.some((f) => SIDD_NAME.test(f.base));
  if (opts.layout === 'sidd' || (opts.layout === 'auto' && isSidd)) {
    if (!isSidd) {
      throw new DataError('layout-mismatch', `No NOISY_SRGB_*.PNG files found in ${dir} for the SIDD layout.`, [dir]);
    }
    return scanSidd(images);
  }

  const atRoot = images.some((f) => f.dir === '');
  let kind: LayoutKind;
  if (opts.layout !== 'auto') kind = opts.layout;
  else if (opts.task === 'classify') kind = 'classify';
  else if (opts.task === 'denoise' || opts.hasNoise || atRoot) kind = 'clean';
  else kind = 'classify';

  if (kind === 'classify') return scanClassify(dir, images);
  return {
    kind: 'clean',
    entries: images.map((f) => ({ name: f.rel, input: f.abs, group: f.rel })),
  };
}

async function scanPaired(dir: string, [noisyDir, cleanDir]: [string, string]): Promise<ScanResult> {
  const side = async (sub: string) => {
    const { files } = await listDir(path.join(dir, sub));
    const map = new Map<string, string>();
    const dup: string[] = [];
    for (const f of files) {
      if (!formatFromName(f)) continue;
      const k = stem(f);
      if (map.has(k)) dup.push(`${sub}/${f}`);
      else map.set(k, f);
    }
    return { map, dup };
  };
  const noisy = await side(noisyDir);
  const clean = await side(cleanDir);
  if (noisy.map.size === 0 && clean.map.size === 0) {
    throw new DataError('no-images', `No PNG or JPEG images in ${noisyDir}/ or ${cleanDir}/ of ${dir}.`, [dir]);
  }
  const dup = [...noisy.dup, ...clean.dup];
  if (dup.length > 0) {
    throw new DataError(
      'unmatched-pairs',
      `Ambiguous pairs in ${dir}: several files share a name without extension: ${firstFew(dup)}.`,
      dup.slice(0, 5).map((f) => path.join(dir, f)),
    );
  }
  const onlyNoisy = [...noisy.map.keys()].filter((k) => !clean.map.has(k)).map((k) => `${noisyDir}/${noisy.map.get(k)}`);
  const onlyClean = [...clean.map.keys()].filter((k) => !noisy.map.has(k)).map((k) => `${cleanDir}/${clean.map.get(k)}`);
  if (onlyNoisy.length + onlyClean.length > 0) {
    const parts: string[] = [];
    if (onlyNoisy.length) parts.push(`without a ${cleanDir}/ partner: ${firstFew(onlyNoisy)}`);
    if (onlyClean.length) parts.push(`without a ${noisyDir}/ partner: ${firstFew(onlyClean)}`);
    throw new DataError(
      'unmatched-pairs',
      `Unmatched pairs in ${dir} (names without extension must match): ${parts.join('; ')}.`,
      [...onlyNoisy, ...onlyClean].slice(0, 5).map((f) => path.join(dir, f)),
    );
  }
  const keys = [...noisy.map.keys()].sort();
  return {
    kind: 'paired',
    entries: keys.map((k) => ({
      name: `${noisyDir}/${noisy.map.get(k)}`,
      input: path.join(dir, noisyDir, noisy.map.get(k)!),
      target: path.join(dir, cleanDir, clean.map.get(k)!),
      group: k,
    })),
  };
}

function scanSidd(images: FileRec[]): ScanResult {
  const noisy = new Map<string, FileRec>();
  const gt = new Map<string, FileRec>();
  for (const f of images) {
    const m = SIDD_NAME.exec(f.base);
    if (!m) continue;
    const key = `${f.dir}\u0000${m[2]}`;
    (m[1]!.toUpperCase() === 'NOISY' ? noisy : gt).set(key, f);
  }
  const unmatched = [
    ...[...noisy.entries()].filter(([k]) => !gt.has(k)).map(([, f]) => f.rel),
    ...[...gt.entries()].filter(([k]) => !noisy.has(k)).map(([, f]) => f.rel),
  ];
  if (unmatched.length > 0) {
    throw new DataError(
      'unmatched-pairs',
      `SIDD files without a NOISY_SRGB_/GT_SRGB_ partner in the same folder: ${firstFew(unmatched)}.`,
      unmatched.slice(0, 5),
    );
  }
  const entries: Entry[] = [...noisy.entries()]
    .sort((a, b) => (a[1].rel < b[1].rel ? -1 : a[1].rel > b[1].rel ? 1 : 0))
    .map(([k, f]) => ({ name: f.rel, input: f.abs, target: gt.get(k)!.abs, group: f.dir || f.rel }));
  return { kind: 'sidd', entries };
}

function scanClassify(dir: string, images: FileRec[]): ScanResult {
  const inClass = images.filter((f) => f.dir !== '');
  if (inClass.length === 0) {
    throw new DataError('no-images', `No class sub-folders with images in ${dir} (classification expects <class>/<image>).`, [
      dir,
    ]);
  }
  const classOf = (f: FileRec) => f.dir.split('/')[0]!;
  const classes = [...new Set(inClass.map(classOf))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  return {
    kind: 'classify',
    classes,
    entries: inClass.map((f) => ({
      name: f.rel,
      input: f.abs,
      label: index.get(classOf(f))!,
      className: classOf(f),
      group: f.rel,
    })),
  };
}

import * as path from 'node:path';
import { Rng } from '../util/rng';
import { convertChannels, cropRects, extractCrop, type CropMode, type CropRect } from './crop';
import { decodeRawFile, readImageHeader, type ImageHeader, type RawImage } from './decode';
import { DataError, firstFew } from './errors';
import {
  SPLIT_NAMES,
  findSplitFolders,
  scanFolder,
  type Entry,
  type LayoutKind,
  type LayoutOption,
  type ScanResult,
  type SplitName,
} from './layout';
import { addNoise, formatNoiseSpec, mixSeed, parseNoiseSpec, type NoiseSpec } from './noise';
import { DEFAULT_SPLITS, assignGroups, validateSplitSpec, type SplitSpec } from './splits';
import { IMAGENET_MEAN, IMAGENET_STD, centerCropOffset, resizeShorterSide, resizedSize } from './resize';

export type Task = 'denoise' | 'classify';
/**
 * Task of a loaded dataset. 'segment': images only (no target, no labels), asked for explicitly;
 * the unpruned model's own prediction is the reference, so any folder of images serves.
 */
export type DataTask = Task | 'segment';

export interface LoadDatasetOptions {
  /** Inferred from the layout when omitted (class folders → classify, everything else → denoise). */
  task?: DataTask;
  /** 'auto' (default) detects paired / SIDD / clean-only / class folders. */
  layout?: LayoutOption;
  /** Synthetic noise for a clean-only folder: `gaussian:σ` (σ in 0–255) or `poisson-gaussian:a,b`. */
  noise?: string;
  /** Seed of the synthetic noise (default: `seed`). */
  noiseSeed?: number;
  /** Clip noisy inputs to [0, 1] (default false). */
  clipNoisy?: boolean;
  /** Patch size (square, or [height, width]); omitted = whole images. */
  patch?: number | [number, number];
  /** 'center' (default) or seeded 'random' crop positions. */
  crop?: CropMode;
  /** Random crops per image (default 1; more than 1 needs crop: 'random'). */
  cropsPerImage?: number;
  /** Images smaller than the patch: 'error' (default) or 'reflect' padding. */
  pad?: 'error' | 'reflect';
  /** Channels the model expects; omitted = 3 if any used image is colour, else 1. */
  channels?: 1 | 3;
  /** Seed of the split, crop positions and noise (default 0). */
  seed?: number;
  /** Split sizes for a folder that is not pre-split (default 0.25 / 0.25 / 0.5 of the image groups). */
  splits?: Partial<SplitSpec>;
  /** Maximum samples (crops) per split: one number for all or per split. */
  maxPerSplit?: number | Partial<Record<SplitName, number>>;
  /** Per-channel normalisation of the model input, (x − mean) / std; targets stay in [0, 1]. */
  normalize?: { mean: number[]; std: number[] };
  /**
   * Classifier data only: resize every image so its shorter side has this many pixels (bilinear,
   * antialiased, as torchvision's Resize) before the patch is cropped, so images of any size
   * can feed a fixed-size model.
   */
  resize?: number;
  /** Byte budget of the decoded-crop cache shared by the splits (default 256 MiB; 0 disables). */
  cacheBytes?: number;
  /** Class order for labels (e.g. the model's); default: class folder names sorted (as torchvision's ImageFolder). */
  classes?: string[];
  /** 'auto' (default): calib/, val/, test/ sub-folders mark a pre-split root; false ignores them. */
  presplit?: 'auto' | boolean;
  /**
   * The task of the model the data is meant for. Unlike `task` it does not steer layout detection:
   * a folder detected as the other task's layout is a `layout-mismatch` naming both, raised before
   * any header is read (so it is not mistaken for, say, images too small for the patch).
   */
  modelTask?: DataTask;
  /**
   * Decode every image that any split uses while loading (default false: pixels are decoded on
   * demand). A long run then finds a corrupt file before its first stage rather than at the end.
   */
  decodeAll?: boolean;
  /**
   * How the caller's user fixes what the default messages suggest as options of this function
   * (`pad`, `splits`): a front end without those options replaces the advice.
   */
  advice?: { smallImages?: string; missingSplit?: (split: SplitName) => string };
}

export interface Batch {
  /** [B, C, H, W] planar model input. */
  input: Float32Array;
  /** Clean reference, same shape as input (denoise). */
  target?: Float32Array;
  /** Class indices (classify). */
  labels?: Int32Array;
  shape: [number, number, number, number];
  /** One name per sample: relative file name, plus @y,x of the crop when patches are used. */
  names: string[];
}

export interface BatchOptions {
  /** Shuffle the sample order with this seed (default: file order, which keeps crops of one image together). */
  shuffle?: number;
  /** Skip a last batch smaller than batchSize. */
  dropLast?: boolean;
}

export interface DataSplit {
  readonly name: SplitName;
  /** Samples (crops). */
  readonly count: number;
  /** Distinct images (pairs) behind the samples. */
  readonly images: number;
  names(): string[];
  batches(batchSize: number, opts?: BatchOptions): AsyncGenerator<Batch>;
  /** The samples with the given indices as one batch. */
  get(indices: number[]): Promise<Batch>;
  /**
   * The same images, each whole (after any resize) as one sample, in image order: what a user
   * measures a denoiser on. Images of different sizes cannot share a batch (see `sizes`).
   */
  wholeImages(): DataSplit;
  /** [height, width] of every sample, in sample order. */
  sizes(): [number, number][];
}

export interface DatasetSummary {
  root: string;
  layout: LayoutKind;
  presplit: boolean;
  task: DataTask;
  channels: 1 | 3;
  patch: [number, number] | null;
  crop: CropMode;
  cropsPerImage: number;
  pad: 'error' | 'reflect';
  noise: string | null;
  seed: number;
  classes?: string[];
  splits: Record<SplitName, { images: number; samples: number }>;
  /** How many used images are natively gray / colour (before channel conversion). */
  nativeChannels: { gray: number; color: number };
  imageSize: { minWidth: number; minHeight: number; maxWidth: number; maxHeight: number };
  /**
   * How decoded pixels (scaled to [0, 1]) become the model input, after any resize and before the
   * crop at `patch`: the shorter side resized to `resize` pixels (null: images as they are), then
   * (x − mean) / std per channel (null: none; `name` 'imagenet' for torchvision's statistics).
   */
  transform?: DataTransform;
}

export interface DataTransform {
  resize: number | null;
  normalize: { name: 'imagenet' | 'custom'; mean: number[]; std: number[] } | null;
}

export interface Dataset<T extends DataTask = Task> {
  readonly root: string;
  readonly task: T;
  readonly layout: LayoutKind;
  readonly channels: 1 | 3;
  readonly classes?: string[];
  readonly calib: DataSplit;
  readonly val: DataSplit;
  readonly test: DataSplit;
  describe(): DatasetSummary;
}

/** Salts that keep the streams drawn from one seed independent of each other. */
const CROP_SALT = 0xc209;
const NOISE_SALT = 0x0153;
const ORDER_SALT = 0x04de;
const SHUFFLE_SALT = 0xba7c;
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** Whole test images are read once per evaluated model; a small cache of their own spares the re-decode. */
const WHOLE_IMAGE_CACHE_BYTES = 64 * 1024 * 1024;

interface IndexedEntry extends Entry {
  /** Stable index over the whole dataset (sorted by name): seeds crops and noise. */
  index: number;
}

interface Sample {
  entry: IndexedEntry;
  rect: CropRect;
  /** Which crop of its image (0-based): part of the noise seed. */
  k: number;
}

interface SampleData {
  input: Float32Array;
  target?: Float32Array;
  h: number;
  w: number;
}

interface Context {
  task: DataTask;
  channels: 1 | 3;
  noise?: NoiseSpec;
  noiseSeed: number;
  clip: boolean;
  normalize?: { mean: number[]; std: number[] };
  resize?: number;
  usePatch: boolean;
  headers: Map<string, ImageHeader>;
  cache: SampleCache;
}

/** Least-recently-used cache of materialised samples with a byte budget. */
class SampleCache {
  private map = new Map<string, SampleData>();
  private bytes = 0;
  constructor(private readonly budget: number) {}

  get(key: string): SampleData | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  put(key: string, v: SampleData): void {
    const size = v.input.byteLength + (v.target?.byteLength ?? 0);
    if (size > this.budget || this.map.has(key)) return;
    this.map.set(key, v);
    this.bytes += size;
    for (const [k, old] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= old.input.byteLength + (old.target?.byteLength ?? 0);
    }
  }
}

class Split implements DataSplit {
  readonly count: number;
  readonly images: number;
  /** Sample indices of each image, so one decode can serve (and cache) all crops of that image. */
  private readonly byImage = new Map<number, number[]>();

  constructor(
    readonly name: SplitName,
    private readonly samples: Sample[],
    private readonly ctx: Context,
  ) {
    this.count = samples.length;
    samples.forEach((s, i) => {
      const l = this.byImage.get(s.entry.index) ?? [];
      l.push(i);
      this.byImage.set(s.entry.index, l);
    });
    this.images = this.byImage.size;
  }

  names(): string[] {
    return this.samples.map((s) => this.sampleName(s));
  }

  sizes(): [number, number][] {
    return this.samples.map((s) => [s.rect.h, s.rect.w]);
  }

  wholeImages(): DataSplit {
    const seen = new Set<number>();
    const whole: Sample[] = [];
    for (const s of this.samples) {
      if (seen.has(s.entry.index)) continue;
      seen.add(s.entry.index);
      const h = this.ctx.headers.get(s.entry.input)!;
      const size = this.ctx.resize !== undefined ? resizedSize(h.width, h.height, this.ctx.resize) : h;
      whole.push({ entry: s.entry, rect: { y: 0, x: 0, h: size.height, w: size.width }, k: 0 });
    }
    // Its own cache keys (the split name is part of them), so whole images never alias crops.
    return new Split(this.name, whole, { ...this.ctx, usePatch: false, cache: new SampleCache(WHOLE_IMAGE_CACHE_BYTES) });
  }

  private sampleName(s: Sample): string {
    return this.ctx.usePatch ? `${s.entry.name}@${s.rect.y},${s.rect.x}` : s.entry.name;
  }

  async *batches(batchSize: number, opts: BatchOptions = {}): AsyncGenerator<Batch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError('bad-option', `Batch size must be a positive integer, got ${batchSize}.`);
    }
    const order = Array.from({ length: this.count }, (_, i) => i);
    if (opts.shuffle !== undefined) new Rng(mixSeed(opts.shuffle, SHUFFLE_SALT)).shuffle(order);
    const chunks: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) {
      const ids = order.slice(i, i + batchSize);
      if (opts.dropLast && ids.length < batchSize) break;
      chunks.push(ids);
    }
    // One batch is prepared ahead, so file reading and decoding overlap the caller's (async) inference.
    let pending: Promise<Batch> | undefined;
    const start = (ids: number[]) => {
      const p = this.get(ids);
      p.catch(() => undefined);
      return p;
    };
    for (let c = 0; c < chunks.length; c++) {
      const current = pending ?? start(chunks[c]!);
      pending = c + 1 < chunks.length ? start(chunks[c + 1]!) : undefined;
      yield await current;
    }
  }

  async get(indices: number[]): Promise<Batch> {
    if (indices.length === 0) throw new DataError('bad-option', `Empty batch requested from split "${this.name}".`);
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.count) {
        throw new DataError('bad-option', `Sample index ${i} out of range for split "${this.name}" (${this.count} samples).`);
      }
    }
    const data = await this.materialise(indices);
    const first = data[0]!;
    const odd = indices.filter((_, j) => data[j]!.h !== first.h || data[j]!.w !== first.w);
    if (odd.length > 0) {
      throw new DataError(
        'batch-shape',
        `Images of different sizes cannot share a batch (${first.h}×${first.w} vs ${firstFew(
          odd.map((i) => `${this.sampleName(this.samples[i]!)} ${data[indices.indexOf(i)]!.h}×${data[indices.indexOf(i)]!.w}`),
          3,
        )}). Set a patch size or use batch size 1.`,
        odd.slice(0, 5).map((i) => this.samples[i]!.entry.input),
      );
    }
    const B = indices.length;
    const C = this.ctx.channels;
    const per = C * first.h * first.w;
    const input = new Float32Array(B * per);
    const target = this.ctx.task === 'denoise' ? new Float32Array(B * per) : undefined;
    const labels = this.ctx.task === 'classify' ? new Int32Array(B) : undefined;
    for (let b = 0; b < B; b++) {
      const d = data[b]!;
      input.set(d.input, b * per);
      if (target) target.set(d.target!, b * per);
      if (labels) labels[b] = this.samples[indices[b]!]!.entry.label ?? -1;
    }
    const batch: Batch = {
      input,
      shape: [B, C, first.h, first.w],
      names: indices.map((i) => this.sampleName(this.samples[i]!)),
    };
    if (target) batch.target = target;
    if (labels) batch.labels = labels;
    return batch;
  }

  /**
   * Returns sample data in the order asked. An image that is needed is decoded once and all its
   * crops in this split are cut and cached, since decoding dominates the cost.
   */
  private async materialise(indices: number[]): Promise<SampleData[]> {
    const out: (SampleData | undefined)[] = indices.map((i) => this.ctx.cache.get(this.key(i)));
    const missing = new Set<number>();
    indices.forEach((i, j) => {
      if (!out[j]) missing.add(this.samples[i]!.entry.index);
    });
    const local = new Map<number, SampleData>();
    for (const e of missing) {
      const ids = this.byImage.get(e)!;
      const made = await this.decodeSamples(ids);
      ids.forEach((i, n) => {
        local.set(i, made[n]!);
        this.ctx.cache.put(this.key(i), made[n]!);
      });
    }
    return indices.map((i, j) => out[j] ?? local.get(i)!);
  }

  private key(i: number): string {
    return `${this.name}:${i}`;
  }

  private async decodeSamples(ids: number[]): Promise<SampleData[]> {
    const entry = this.samples[ids[0]!]!.entry;
    const ctx = this.ctx;
    const decoded = await decodeChecked(entry.input, ctx.headers);
    // Crop rectangles were placed in the resized image (see loadDataset).
    const input = ctx.resize ? resizeShorterSide(decoded, ctx.resize) : decoded;
    const target = entry.target ? await decodeChecked(entry.target, ctx.headers) : undefined;
    if (target && (target.width !== input.width || target.height !== input.height)) {
      throw sizeMismatch([`${entry.name} (${input.width}×${input.height} vs ${target.width}×${target.height})`], [entry.input]);
    }
    return ids.map((i) => {
      const s = this.samples[i]!;
      const plane = s.rect.h * s.rect.w;
      let x = convertChannels(extractCrop(input, s.rect), input.channels, ctx.channels, plane);
      let t = target ? convertChannels(extractCrop(target, s.rect), target.channels, ctx.channels, plane) : undefined;
      if (ctx.noise) {
        t = x;
        x = addNoise(x, ctx.noise, new Rng(mixSeed(ctx.noiseSeed, NOISE_SALT, entry.index, s.k)), ctx.clip);
      }
      if (ctx.normalize) x = normalise(x, ctx.normalize, ctx.channels, plane);
      const d: SampleData = { input: x, h: s.rect.h, w: s.rect.w };
      if (t) d.target = t;
      return d;
    });
  }
}

async function decodeChecked(file: string, headers: Map<string, ImageHeader>): Promise<RawImage> {
  const img = await decodeRawFile(file);
  const h = headers.get(file);
  if (h && (h.width !== img.width || h.height !== img.height)) {
    throw new DataError(
      'corrupt-image',
      `Image ${file} decodes to ${img.width}×${img.height} but its header says ${h.width}×${h.height}.`,
      [file],
    );
  }
  return img;
}

function describeNormalize(n: { mean: number[]; std: number[] }, C: number): NonNullable<DataTransform['normalize']> {
  const per = (a: number[]) => Array.from({ length: C }, (_, c) => (a.length === 1 ? a[0]! : a[c]!));
  const mean = per(n.mean);
  const std = per(n.std);
  const imagenet = C === 3 && mean.every((v, c) => v === IMAGENET_MEAN[c]) && std.every((v, c) => v === IMAGENET_STD[c]);
  return { name: imagenet ? 'imagenet' : 'custom', mean, std };
}

function normalise(x: Float32Array, n: { mean: number[]; std: number[] }, C: number, plane: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    const m = n.mean.length === 1 ? n.mean[0]! : n.mean[c]!;
    const inv = 1 / (n.std.length === 1 ? n.std[0]! : n.std[c]!);
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = (x[i]! - m) * inv;
  }
  return out;
}

function sizeMismatch(items: string[], files: string[]): DataError {
  return new DataError(
    'size-mismatch',
    `Noisy and clean images differ in size: ${firstFew(items)}.`,
    files.slice(0, 5),
  );
}

function checkOptions(opts: LoadDatasetOptions): { patch: [number, number] | null; cropsPerImage: number } {
  const bad = (msg: string) => new DataError('bad-option', msg);
  let patch: [number, number] | null = null;
  if (opts.patch !== undefined) {
    const p: [number, number] = typeof opts.patch === 'number' ? [opts.patch, opts.patch] : opts.patch;
    if (!p.every((v) => Number.isInteger(v) && v > 0)) throw bad(`Patch size must be positive integers, got ${opts.patch}.`);
    patch = p;
  }
  const cropsPerImage = opts.cropsPerImage ?? 1;
  if (!Number.isInteger(cropsPerImage) || cropsPerImage < 1) throw bad(`cropsPerImage must be a positive integer.`);
  if (cropsPerImage > 1 && (opts.crop ?? 'center') !== 'random') {
    throw bad(`cropsPerImage = ${cropsPerImage} needs crop: 'random' (centre crops of one image are identical).`);
  }
  if (cropsPerImage > 1 && !patch) throw bad(`cropsPerImage > 1 needs a patch size.`);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw bad(`channels must be 1 or 3, got ${opts.channels}.`);
  }
  if (opts.normalize) {
    const { mean, std } = opts.normalize;
    const okLen = (a: number[]) => a.length === 1 || a.length === (opts.channels ?? a.length);
    if (!okLen(mean) || !okLen(std) || (mean.length !== std.length && mean.length !== 1 && std.length !== 1)) {
      throw bad(`normalize.mean/std need 1 value or one per channel.`);
    }
    if (std.some((s) => !(s > 0))) throw bad(`normalize.std values must be positive.`);
  }
  if (opts.resize !== undefined) {
    if (!Number.isInteger(opts.resize) || opts.resize < 1) throw bad(`resize must be a positive whole number of pixels, got ${opts.resize}.`);
    // Resampling a noisy image changes its noise, and a denoiser's target with it.
    if (opts.task === 'denoise' || opts.modelTask === 'denoise') throw bad(`resize applies to classifier data only.`);
  }
  if (opts.maxPerSplit !== undefined) {
    const vals = typeof opts.maxPerSplit === 'number' ? [opts.maxPerSplit] : Object.values(opts.maxPerSplit);
    if (!vals.every((v) => v === undefined || (Number.isInteger(v) && v >= 1))) {
      throw bad(`maxPerSplit values must be positive integers.`);
    }
  }
  return { patch, cropsPerImage };
}

/** Sets labels from a class order (given, or the sorted folder names of all splits together). */
function relabel(entries: Entry[], given: string[] | undefined, root: string): string[] {
  const found = [...new Set(entries.map((e) => e.className!))].sort();
  const classes = given ?? found;
  const idx = new Map(classes.map((c, i) => [c, i]));
  if (given && idx.size !== given.length) throw new DataError('bad-option', `The class list repeats a name: ${given.join(', ')}.`);
  const unknown = found.filter((c) => !idx.has(c));
  if (unknown.length > 0) {
    throw new DataError('bad-option', `Class folders of ${root} missing from the given class list: ${firstFew(unknown)}.`, [root]);
  }
  for (const e of entries) e.label = idx.get(e.className!)!;
  return classes;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Opens a data folder: detects its layout, splits it by image (or scene) into disjoint calibration,
 * validation and test sets, and fixes every crop position. Only file headers are read here; pixels
 * are decoded when a batch asks for them.
 */
export async function loadDataset(dir: string, opts: LoadDatasetOptions & { task: 'segment' }): Promise<Dataset<'segment'>>;
export async function loadDataset(dir: string, opts?: LoadDatasetOptions & { task?: Task }): Promise<Dataset>;
export async function loadDataset(dir: string, opts?: LoadDatasetOptions): Promise<Dataset<DataTask>>;
export async function loadDataset(dir: string, opts: LoadDatasetOptions = {}): Promise<Dataset<DataTask>> {
  const root = path.resolve(dir);
  const seed = opts.seed ?? 0;
  const { patch, cropsPerImage } = checkOptions(opts);
  const noise = opts.noise !== undefined ? parseNoiseSpec(opts.noise) : undefined;
  const spec: SplitSpec = { ...DEFAULT_SPLITS, ...(opts.splits ?? {}) };
  validateSplitSpec(spec);
  const scanOpts = { layout: opts.layout ?? 'auto', task: opts.task === 'segment' ? undefined : opts.task, hasNoise: noise !== undefined } as const;

  const splitDirs = opts.presplit === false ? {} : await findSplitFolders(root);
  const presplit = Object.keys(splitDirs).length > 0;
  if (opts.presplit === true && !presplit) {
    throw new DataError('layout-mismatch', `Expected calib/, val/ and test/ sub-folders in ${root}.`, [root]);
  }

  // Scan, then order every entry by name so its index (the seed of its crops and noise) is stable.
  let kind: LayoutKind;
  let classes: string[] | undefined;
  const perSplit: Record<SplitName, Entry[]> = { calib: [], val: [], test: [] };
  if (presplit) {
    const scans: Partial<Record<SplitName, ScanResult>> = {};
    for (const s of SPLIT_NAMES) {
      const d = splitDirs[s];
      if (d) scans[s] = await scanFolder(d, scanOpts);
      else if (opts.splits?.[s] !== 0) {
        throw new DataError(
          'empty-split',
          `Pre-split folder ${root} has no ${s}/ sub-folder (${opts.advice?.missingSplit?.(s) ?? `set splits.${s} = 0 to run without it`}).`,
          [root],
        );
      }
    }
    const kinds = [...new Set(Object.values(scans).map((r) => r.kind))];
    if (kinds.length > 1) {
      throw new DataError('layout-mismatch', `Split folders of ${root} use different layouts: ${kinds.join(', ')}.`, [root]);
    }
    kind = kinds[0]!;
    for (const s of SPLIT_NAMES) {
      const r = scans[s];
      if (!r) continue;
      const base = path.basename(splitDirs[s]!);
      perSplit[s] = r.entries.map((e) => ({ ...e, name: `${base}/${e.name}`, group: `${base}/${e.group}` }));
    }
  } else {
    const r = await scanFolder(root, scanOpts);
    kind = r.kind;
    const groups = assignGroups(
      r.entries.map((e) => e.group),
      spec,
      seed,
    );
    const byGroup = new Map<string, Entry[]>();
    for (const e of r.entries) {
      const l = byGroup.get(e.group) ?? [];
      l.push(e);
      byGroup.set(e.group, l);
    }
    for (const s of SPLIT_NAMES) perSplit[s] = groups[s].flatMap((g) => byGroup.get(g)!);
  }

  const segment = opts.task === 'segment';
  if (segment) {
    // A paired folder's clean image is the photograph; class labels are not used.
    for (const s of SPLIT_NAMES) perSplit[s] = perSplit[s].map(({ target, ...e }) => (target ? { ...e, input: target } : e));
  } else if (kind === 'classify') classes = relabel(SPLIT_NAMES.flatMap((s) => perSplit[s]), opts.classes, root);
  else if (opts.classes) throw new DataError('bad-option', `A class list was given but ${root} has the ${kind} layout.`, [root]);

  const task: DataTask = segment ? 'segment' : kind === 'classify' ? 'classify' : 'denoise';
  if (opts.resize !== undefined && task === 'denoise') {
    throw new DataError('bad-option', `resize applies to classifier data and to segmentation; ${root} is ${kind} denoising data.`, [root]);
  }
  /** The size crops are placed in: the file's, or after the shorter-side resize. */
  const sized = (h: ImageHeader) => (opts.resize !== undefined ? resizedSize(h.width, h.height, opts.resize) : h);
  if (opts.modelTask && opts.modelTask !== task) {
    const what =
      task === 'classify'
        ? `holds one folder per class (classification data), but the model is a denoiser (image in, image out): give noisy/ + clean/ pairs, or for clean images a noise spec (e.g. gaussian:25)`
        : `holds ${kind} denoising data, but the model is a classifier (its output is one score per class): give one folder per class`;
    throw new DataError('layout-mismatch', `Folder ${root} ${what}.`, [root]);
  }
  if (opts.task && opts.task !== task) {
    throw new DataError('layout-mismatch', `Folder ${root} has the ${kind} layout, which does not fit task "${opts.task}".`, [
      root,
    ]);
  }
  if (kind === 'clean' && !noise && !segment) {
    throw new DataError(
      'missing-noise-spec',
      `Folder ${root} holds clean images only: give a noise spec (e.g. gaussian:25 or poisson-gaussian:0.01,0.0004).`,
      [root],
    );
  }
  if (noise && segment) throw new DataError('bad-option', `A noise spec was given for segmentation data (${root}): segmentation is scored on the images as they are.`, [root]);
  if (noise && kind !== 'clean') {
    throw new DataError('bad-option', `A noise spec was given but ${root} has the ${kind} layout (real targets or labels).`, [
      root,
    ]);
  }

  const allEntries = SPLIT_NAMES.flatMap((s) => perSplit[s]);
  const sortedNames = allEntries.map((e) => e.name).sort();
  const indexOf = new Map(sortedNames.map((n, i) => [n, i]));

  // Pre-split folders are shuffled too, so a maxPerSplit cap takes a random subset, not the first names.
  const chosen: Record<SplitName, IndexedEntry[]> = { calib: [], val: [], test: [] };
  const caps: Record<SplitName, number> = { calib: Infinity, val: Infinity, test: Infinity };
  for (const s of SPLIT_NAMES) {
    const m = typeof opts.maxPerSplit === 'number' ? opts.maxPerSplit : opts.maxPerSplit?.[s];
    if (m !== undefined) caps[s] = m;
    let list = perSplit[s].map((e) => ({ ...e, index: indexOf.get(e.name)! }));
    if (presplit) {
      list.sort((a, b) => a.index - b.index);
      new Rng(mixSeed(seed, ORDER_SALT, SPLIT_NAMES.indexOf(s))).shuffle(list);
    }
    if (presplit && opts.splits?.[s] === 0) list = [];
    chosen[s] = list.slice(0, Math.ceil(caps[s] / cropsPerImage));
  }

  const used = SPLIT_NAMES.flatMap((s) => chosen[s]);
  const files = used.flatMap((e) => (e.target ? [e.input, e.target] : [e.input]));
  const headerList = await mapLimit(files, 16, readImageHeader);
  const headers = new Map(files.map((f, i) => [f, headerList[i]!]));

  const mismatched = used.filter((e) => {
    if (!e.target) return false;
    const a = headers.get(e.input)!;
    const b = headers.get(e.target)!;
    return a.width !== b.width || a.height !== b.height;
  });
  if (mismatched.length > 0) {
    throw sizeMismatch(
      mismatched.map((e) => {
        const a = headers.get(e.input)!;
        const b = headers.get(e.target!)!;
        return `${e.name} (${a.width}×${a.height} vs ${b.width}×${b.height})`;
      }),
      mismatched.map((e) => e.input),
    );
  }
  if (patch && (opts.pad ?? 'error') === 'error') {
    const small = used.filter((e) => {
      const h = sized(headers.get(e.input)!);
      return h.height < patch[0] || h.width < patch[1];
    });
    if (small.length > 0) {
      throw new DataError(
        'patch-too-large',
        `Patch ${patch[0]}×${patch[1]} is larger than ${small.length} image(s): ${firstFew(
          small.map((e) => `${e.name} (${sized(headers.get(e.input)!).width}×${sized(headers.get(e.input)!).height}${opts.resize !== undefined ? ` after resize ${opts.resize}` : ''})`),
        )}. ${opts.advice?.smallImages ?? "Use a smaller patch or pad: 'reflect'."}`,
        small.slice(0, 5).map((e) => e.input),
      );
    }
  }

  if (opts.decodeAll) await mapLimit(files, 4, (f) => decodeChecked(f, headers).then(() => undefined));

  const hs = used.map((e) => headers.get(e.input)!);
  const colour = hs.filter((h) => h.channels === 3).length;
  const channels: 1 | 3 = opts.channels ?? (colour > 0 ? 3 : 1);
  if (opts.normalize) {
    const { mean, std } = opts.normalize;
    if ((mean.length !== 1 && mean.length !== channels) || (std.length !== 1 && std.length !== channels)) {
      throw new DataError('bad-option', `normalize.mean/std need 1 or ${channels} values.`);
    }
  }

  const ctx: Context = {
    task,
    channels,
    noiseSeed: opts.noiseSeed ?? seed,
    clip: opts.clipNoisy ?? false,
    usePatch: patch !== null,
    headers,
    cache: new SampleCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES),
  };
  if (noise) ctx.noise = noise;
  if (opts.normalize) ctx.normalize = opts.normalize;
  if (opts.resize !== undefined) ctx.resize = opts.resize;

  const cropMode = opts.crop ?? 'center';
  const splits = {} as Record<SplitName, Split>;
  for (const s of SPLIT_NAMES) {
    const samples: Sample[] = [];
    for (const e of chosen[s]) {
      const h = sized(headers.get(e.input)!);
      const rects =
        patch && opts.resize !== undefined && cropMode === 'center'
          ? [{ y: centerCropOffset(h.height, patch[0]), x: centerCropOffset(h.width, patch[1]), h: patch[0], w: patch[1] }]
          : patch
            ? cropRects(h.width, h.height, patch[0], patch[1], cropMode, cropsPerImage, new Rng(mixSeed(seed, CROP_SALT, e.index)))
            : [{ y: 0, x: 0, h: h.height, w: h.width }];
      rects.forEach((rect, k) => samples.push({ entry: e, rect, k }));
    }
    const wantEmpty = opts.splits?.[s] === 0;
    if (samples.length === 0 && !wantEmpty) {
      throw new DataError('empty-split', `Split "${s}" would be empty.`, [root]);
    }
    splits[s] = new Split(s, samples.slice(0, caps[s]), ctx);
  }

  const summary: DatasetSummary = {
    root,
    layout: kind,
    presplit,
    task,
    channels,
    patch,
    crop: cropMode,
    cropsPerImage,
    pad: opts.pad ?? 'error',
    noise: noise ? formatNoiseSpec(noise) : null,
    seed,
    splits: {
      calib: { images: splits.calib.images, samples: splits.calib.count },
      val: { images: splits.val.images, samples: splits.val.count },
      test: { images: splits.test.images, samples: splits.test.count },
    },
    nativeChannels: { gray: hs.length - colour, color: colour },
    imageSize: {
      minWidth: hs.reduce((m, h) => Math.min(m, h.width), Infinity),
      minHeight: hs.reduce((m, h) => Math.min(m, h.height), Infinity),
      maxWidth: hs.reduce((m, h) => Math.max(m, h.width), 0),
      maxHeight: hs.reduce((m, h) => Math.max(m, h.height), 0),
    },
    transform: { resize: opts.resize ?? null, normalize: opts.normalize ? describeNormalize(opts.normalize, channels) : null },
  };
  if (classes) summary.classes = classes;

  return {
    root,
    task,
    layout: kind,
    channels,
    ...(classes ? { classes } : {}),
    calib: splits.calib,
    val: splits.val,
    test: splits.test,
    describe: () => structuredClone(summary),
  };
}

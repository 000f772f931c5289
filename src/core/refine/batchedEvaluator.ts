// The true metric of many candidate masks at once (METHOD §8, issue 6 §2): each batch item is one
// (candidate, validation image) pair, fed through the gated model with per-sample gates, so a
// single onnxruntime call scores several candidates. Results are cached by mask.
import type { InferenceSession } from 'onnxruntime-node';
import { ort } from '../runtime/session';
import { psnrPerImage } from '../metrics';
import { crossEntropyPerSample, topKCorrect } from '../metrics';
import type { Batch } from '../data';
import type { GatedModel } from '../prune/gatedModel';
import { splitAtGroups, type BlockSplit } from './blockSplit';
import { CancelledError } from '../errors';

export interface GateLayout {
  /** Graph input name per group, in group order. */
  names: string[];
  /** Global variable indices of each group, in gate order. */
  variables: Int32Array[];
  /** Trailing singleton dims of per-sample gates: [N, C, 1, 1] → 2, [N, C] → 0. */
  trailing: number[];
}

export interface EvaluatorOptions {
  session: InferenceSession;
  inputName: string;
  outputName: string;
  gates: GateLayout;
  /** Validation samples every candidate is scored on. */
  data: Batch;
  task: 'denoise' | 'classify';
  /** Upper bound of batch items per run (candidates × images), from the memory budget. */
  maxBatchItems: number;
  signal?: AbortSignal;
  /** Lets focus() split the model at a block's gates (blockSplit.ts); without it focus() is a no-op. */
  split?: SplitOptions;
}

export interface SplitOptions {
  /** The gated model `session` runs (its gate points say where each group's gates act). */
  gated: GatedModel;
  /** Opens a session on the same provider as `session`. */
  open: (bytes: Uint8Array) => Promise<InferenceSession>;
  /** Boundary tensor bytes fed per run at most, and kept for revisits. Default 256 MiB. */
  budgetBytes?: number;
  /** MACs per node name of the original model (cost.ts), to judge what a split saves. Default: weight ops count 1 each. */
  nodeCost?: ReadonlyMap<string, number>;
  /** A block is split only when its suffix skips at least this share of the cost. Default 0.3. */
  minSkipped?: number;
  /** Suffix sessions kept open at once; the least recently used is closed. Default 2: more saved little on the fixtures and cost about 100 MB each. */
  maxOpen?: number;
}

export interface EvaluatorStats {
  /** Calls of evaluate() candidates, duplicates included. */
  requested: number;
  /** Distinct masks actually run. */
  evaluated: number;
  runs: number;
  /** Scoring time: runs, and building and probing splits. */
  seconds: number;
  /** Distinct masks scored through a block's suffix model (a subset of `evaluated`). */
  suffix: number;
  /** Blocks focus() split, and blocks it ran on the whole model (no saving, or the check failed). */
  splits: number;
  unsplit: number;
  /** Largest output difference between a split and the whole model seen in the checks. */
  splitError: number;
}

interface SplitModels {
  split: BlockSplit;
  suffix: InferenceSession;
  used: number;
  /** The boundary last computed, kept while it fits the cache: a block revisited in a later sweep usually starts from the same mask. */
  last?: { base: Uint8Array; boundary: Focus['boundary']; bytes: number };
}

interface Focus {
  /** 1 for the variables of the focused groups. */
  free: Uint8Array;
  base: Uint8Array;
  models: SplitModels;
  /** Boundary tensors for the validation images under `base`. */
  boundary: { name: string; dims: number[]; data: Float32Array }[];
  perRun: number;
}

/** Relative output difference up to which a split counts as exact (onnxruntime may pick other kernels for the suffix). */
const SPLIT_TOLERANCE = 1e-4;
const DEFAULT_SPLIT_BUDGET = 256 * 1024 * 1024;

/** Bytes of one set of boundary tensors (all images). */
function boundaryBytes(boundary: Focus['boundary']): number {
  return boundary.reduce((acc, b) => acc + b.data.length * 4, 0);
}

/** Higher is better: mean PSNR (dB) for denoisers, accuracy minus a small cross-entropy tie-break for classifiers. */
export class BatchedEvaluator {
  private cache = new Map<string, number>();
  readonly stats: EvaluatorStats = { requested: 0, evaluated: 0, runs: 0, seconds: 0, suffix: 0, splits: 0, unsplit: 0, splitError: 0 };
  private readonly images: number;
  private readonly itemSize: number;
  /** Whole candidates per run of the whole model: each candidate's images stay together, so its mean is exact. */
  private readonly candidatesPerRun: number;
  private readonly splitCache = new Map<string, SplitModels | null>();
  // Fresh multi-megabyte buffers per run cost more than small suffix runs themselves (page faults
  // dominated: 175 ms to tile 59 MB here), and every run repeats the same data, so tiles are kept.
  private readonly tiles = new WeakMap<Float32Array, Float32Array>();
  private focused?: Focus;

  /** Candidates × images per run of the whole model at most (whole candidates). */
  get runItems(): number {
    return this.candidatesPerRun * this.images;
  }

  constructor(private readonly o: EvaluatorOptions) {
    this.images = o.data.shape[0];
    this.itemSize = o.data.shape[1] * o.data.shape[2] * o.data.shape[3];
    if (o.maxBatchItems < 1) throw new Error('maxBatchItems must be at least 1');
    this.candidatesPerRun = Math.max(1, Math.floor(o.maxBatchItems / this.images));
  }

  private get splitBudget(): number {
    return this.o.split?.budgetBytes ?? DEFAULT_SPLIT_BUDGET;
  }

  static key(mask: Uint8Array): string {
    let s = '';
    for (let i = 0; i < mask.length; i += 16) {
      let v = 0;
      for (let k = 0; k < 16 && i + k < mask.length; k++) v |= (mask[i + k]! & 1) << k;
      s += String.fromCharCode(v + 0x100);
    }
    return s;
  }

  cached(mask: Uint8Array): number | undefined {
    return this.cache.get(BatchedEvaluator.key(mask));
  }

  /** Scores masks over global variables (1 = keep). */
  async evaluate(masks: Uint8Array[]): Promise<Float64Array> {
    const t0 = performance.now();
    this.stats.requested += masks.length;
    const out = new Float64Array(masks.length);
    const todo: { key: string; mask: Uint8Array; slots: number[] }[] = [];
    const byKey = new Map<string, (typeof todo)[number]>();
    masks.forEach((m, i) => {
      const key = BatchedEvaluator.key(m);
      const hit = this.cache.get(key);
      if (hit !== undefined) out[i] = hit;
      else {
        let entry = byKey.get(key);
        if (!entry) {
          entry = { key, mask: m, slots: [] };
          byKey.set(key, entry);
          todo.push(entry);
        }
        entry.slots.push(i);
      }
    });
    const focus = this.focused;
    const inBlock: typeof todo = [];
    const rest: typeof todo = [];
    for (const c of todo) (focus && agreesOutside(c.mask, focus.base, focus.free) ? inBlock : rest).push(c);
    const runAll = async (list: typeof todo, size: number, run: (masks: Uint8Array[]) => Promise<Float64Array>) => {
      for (let start = 0; start < list.length; start += size) {
        if (this.o.signal?.aborted) throw this.o.signal.reason ?? new CancelledError();
        const chunk = list.slice(start, start + size);
        const scores = await run(chunk.map((c) => c.mask));
        chunk.forEach((c, k) => {
          this.cache.set(c.key, scores[k]!);
          for (const slot of c.slots) out[slot] = scores[k]!;
        });
        this.stats.evaluated += chunk.length;
      }
    };
    if (focus && inBlock.length > 0) {
      await runAll(inBlock, focus.perRun, (m) => this.runSuffix(focus, m));
      this.stats.suffix += inBlock.length;
    }
    await runAll(rest, this.candidatesPerRun, (m) => this.runChunk(m));
    this.stats.seconds += (performance.now() - t0) / 1000;
    return out;
  }

  private async runChunk(masks: Uint8Array[]): Promise<Float64Array> {
    const feeds = this.gateFeeds(masks);
    feeds[this.o.inputName] = this.inputFeed(masks.length);
    const result = await this.o.session.run(feeds, [this.o.outputName]);
    this.stats.runs++;
    return this.score(result[this.o.outputName]!.data as Float32Array, masks.length);
  }

  /** The data input repeated for `candidates` candidates. */
  private inputFeed(candidates: number): ort.Tensor {
    const { data } = this.o;
    return new ort.Tensor('float32', this.tiled(data.input, candidates), [candidates * this.images, data.shape[1], data.shape[2], data.shape[3]]);
  }

  /** Per-sample gate feeds: every candidate's mask repeated for each image. */
  private gateFeeds(masks: Uint8Array[]): Record<string, ort.Tensor> {
    const { gates } = this.o;
    const V = this.images;
    const B = masks.length * V;
    const feeds: Record<string, ort.Tensor> = {};
    gates.names.forEach((name, g) => {
      const vars = gates.variables[g]!;
      const c = vars.length;
      const gate = new Float32Array(B * c);
      for (let k = 0; k < masks.length; k++) {
        const m = masks[k]!;
        for (let j = 0; j < V; j++) {
          const row = (k * V + j) * c;
          for (let i = 0; i < c; i++) gate[row + i] = m[vars[i]!]!;
        }
      }
      feeds[name] = new ort.Tensor('float32', gate, [B, c, ...new Array<number>(gates.trailing[g]!).fill(1)]);
    });
    return feeds;
  }

  private async runSuffix(f: Focus, masks: Uint8Array[]): Promise<Float64Array> {
    const y = await this.suffixOutput(f.models, f.boundary, masks);
    return this.score(y, masks.length);
  }

  private async suffixOutput(models: SplitModels, boundary: Focus['boundary'], masks: Uint8Array[]): Promise<Float32Array> {
    const B = masks.length * this.images;
    const feeds = this.gateFeeds(masks);
    if (models.split.readsInput) feeds[this.o.inputName] = this.inputFeed(masks.length);
    for (const b of boundary) feeds[b.name] = new ort.Tensor('float32', this.tiled(b.data, masks.length), [B, ...b.dims.slice(1)]);
    const result = await models.suffix.run(feeds, [this.o.outputName]);
    this.stats.runs++;
    return result[this.o.outputName]!.data as Float32Array;
  }

  /**
   * Tells the evaluator that the next masks differ from `base` only in the variables of `groups`
   * (indices of the gate layout, which follows the gated model's groups)
   * (one refinement block). Where the model splits there, the part upstream of those groups' gates
   * runs once now, and those masks run through the rest only. Masks that differ elsewhere still run
   * on the whole model. Returns whether the split is in use.
   */
  async focus(groups: readonly number[], base: Uint8Array): Promise<boolean> {
    this.focused = undefined;
    if (!this.o.split) return false;
    const t0 = performance.now();
    try {
      return await this.focusOn(groups, base);
    } finally {
      this.stats.seconds += (performance.now() - t0) / 1000;
    }
  }

  private async focusOn(groups: readonly number[], base: Uint8Array): Promise<boolean> {
    const split = this.o.split!;
    const key = [...groups].sort((x, y) => x - y).join(',');
    let models = this.splitCache.get(key);
    let first: Focus['boundary'] | undefined;
    if (models === undefined) {
      const built = await this.buildSplit(groups, base);
      models = built?.models ?? null;
      first = built?.boundary;
      this.splitCache.set(key, models);
    }
    if (!models) {
      this.stats.unsplit++;
      return false;
    }
    models.used = ++this.useCount;
    await this.closeOldest(split.maxOpen ?? 2);
    const free = new Uint8Array(base.length);
    for (const g of groups) for (const v of this.o.gates.variables[g] ?? []) free[v] = 1;
    // The boundary depends on the mask outside the block only.
    let boundary = first ?? (models.last && agreesOutside(base, models.last.base, free) ? models.last.boundary : undefined);
    if (!boundary) {
      // The probe (the whole model with the boundary as outputs) is opened only when needed and
      // closed at once: it holds as much memory as the whole model, once per block.
      const probe = await split.open(models.split.probe.toBytes());
      try {
        boundary = (await this.probe(probe, models.split, base)).boundary;
      } finally {
        await probe.release();
      }
    }
    const perRun = this.splitRun(models.split, boundary);
    this.remember(models, base, boundary, boundaryBytes(boundary) * (perRun + 1));
    this.focused = { free, base: base.slice(), models, boundary, perRun };
    this.stats.splits++;
    return true;
  }

  /** Candidates per suffix run: the evaluator's run size, less where the tiled boundary would pass the budget. */
  private splitRun(split: BlockSplit, boundary: Focus['boundary']): number {
    const perCandidate = boundaryBytes(boundary) + (split.readsInput ? this.itemSize * 4 * this.images : 0);
    return Math.max(1, Math.min(this.candidatesPerRun, Math.floor(this.splitBudget / Math.max(1, perCandidate))));
  }

  private useCount = 0;

  /** Closes the least recently used splits beyond `max`; a later visit builds them again. */
  private async closeOldest(max: number): Promise<void> {
    const open = [...this.splitCache.entries()].filter((e): e is [string, SplitModels] => e[1] !== null).sort((a, b) => b[1].used - a[1].used);
    for (const [key, m] of open.slice(max)) {
      this.splitCache.delete(key);
      await m.suffix.release();
    }
  }

  /** Keeps `boundary` (and, through `tiles`, its tiled copy) for revisits, dropping the least recently used beyond budgetBytes. */
  private remember(models: SplitModels, base: Uint8Array, boundary: Focus['boundary'], bytes: number): void {
    models.last = { base: base.slice(), boundary, bytes };
    const kept = [...this.splitCache.values()].filter((m): m is SplitModels & { last: NonNullable<SplitModels['last']> } => !!m?.last).sort((a, b) => b.used - a.used);
    let total = 0;
    for (const m of kept) {
      total += m.last.bytes;
      if (total > this.splitBudget && m !== models) delete (m as SplitModels).last;
    }
  }

  /** Back to the whole model for every mask. */
  unfocus(): void {
    this.focused = undefined;
  }

  /** Releases the sessions focus() opened (not the one passed in). */
  async dispose(): Promise<void> {
    this.focused = undefined;
    const open = [...this.splitCache.values()].filter((m): m is SplitModels => m !== null);
    this.splitCache.clear();
    for (const m of open) await m.suffix.release();
  }

  private async probe(probe: InferenceSession, split: BlockSplit, base: Uint8Array): Promise<{ boundary: Focus['boundary']; output: Float32Array; types: Map<string, string> }> {
    const { data } = this.o;
    const feeds = this.gateFeeds([base]);
    feeds[this.o.inputName] = new ort.Tensor('float32', data.input, [...data.shape]);
    const names = [...split.boundary, this.o.outputName];
    const result = await probe.run(feeds, names);
    this.stats.runs++;
    const types = new Map(names.map((n) => [n, result[n]!.type]));
    const boundary = split.boundary.map((name) => {
      const t = result[name]!;
      return { name, dims: [...t.dims], data: t.data as Float32Array };
    });
    return { boundary, output: result[this.o.outputName]!.data as Float32Array, types };
  }

  /** Builds a block's split and checks it against the whole model on `base`; null when it does not pay or is not exact. */
  private async buildSplit(groups: readonly number[], base: Uint8Array): Promise<{ models: SplitModels; boundary: Focus['boundary'] } | null> {
    const { split: opts } = this.o;
    if (!opts) return null;
    const pull = new Set<string>();
    const V = this.images;
    const opened: InferenceSession[] = [];
    const close = () => Promise.all(opened.splice(0).map((s) => s.release()));
    try {
      // A boundary tensor without a batch axis (a Shape output, say) cannot be tiled over
      // candidates: its producer moves into the suffix and the split is made again.
      for (let attempt = 0; attempt < 4; attempt++) {
        const split = splitAtGroups(opts.gated, this.o.inputName, this.o.outputName, groups, pull, opts.nodeCost);
        if (!split || split.skippedFraction < (opts.minSkipped ?? 0.3)) return null;
        const probe = await opts.open(split.probe.toBytes());
        opened.push(probe);
        const p = await this.probe(probe, split, base);
        const bad = p.boundary.filter((b) => p.types.get(b.name) !== 'float32' || b.dims[0] !== V);
        if (bad.length > 0) {
          for (const b of bad) {
            const producer = opts.gated.model.producer(b.name);
            if (!producer) return null;
            pull.add(producer.name);
          }
          await close();
          continue;
        }
        if (boundaryBytes(p.boundary) > this.splitBudget / 2) return null;
        const dims = new Map(p.boundary.map((b) => [b.name, b.dims.slice(1)]));
        const suffix = await opts.open(split.suffix(dims).toBytes());
        opened.push(suffix);
        const models: SplitModels = { split, suffix, used: 0 };
        // Checked at the run size the block will use, which also grows the new session's memory to it once.
        const copies = this.splitRun(models.split, p.boundary);
        const y = await this.suffixOutput(models, p.boundary, new Array<Uint8Array>(copies).fill(base));
        if (y.length !== p.output.length * copies) return null;
        let err = 0;
        let scale = 1;
        for (let i = 0; i < y.length; i++) {
          const want = p.output[i % p.output.length]!;
          err = Math.max(err, Math.abs(y[i]! - want));
          scale = Math.max(scale, Math.abs(want));
        }
        this.stats.splitError = Math.max(this.stats.splitError, err / scale);
        if (!(err <= SPLIT_TOLERANCE * scale)) return null;
        await probe.release();
        opened.length = 0;
        return { models, boundary: p.boundary };
      }
      return null;
    } finally {
      await close();
    }
  }

  /** `count` copies of `data` one after another, as a view of a kept buffer; never written to. */
  private tiled(data: Float32Array, count: number): Float32Array {
    if (count === 1) return data;
    let buf = this.tiles.get(data);
    if (!buf || buf.length < data.length * count) {
      buf = new Float32Array(data.length * count);
      for (let k = 0; k < count; k++) buf.set(data, k * data.length);
      this.tiles.set(data, buf);
    }
    return buf.subarray(0, data.length * count);
  }

  /** Mean metric per candidate from the outputs of candidates × images items. */
  private score(y: Float32Array, candidates: number): Float64Array {
    const { data } = this.o;
    const V = this.images;
    const B = candidates * V;
    // Scored as saved images are (and as the final test metrics are): clipped to [0, 1].
    if (this.o.task === 'denoise') for (let i = 0; i < y.length; i++) y[i] = y[i]! < 0 ? 0 : y[i]! > 1 ? 1 : y[i]!;
    const scores = new Float64Array(candidates);
    if (this.o.task === 'denoise') {
      const target = this.tiled(data.target!, candidates);
      const p = psnrPerImage(y, target, B);
      for (let k = 0; k < candidates; k++) {
        let s = 0;
        for (let j = 0; j < V; j++) s += p[k * V + j]!;
        scores[k] = s / V;
      }
    } else {
      const classes = y.length / B;
      const labels = new Int32Array(B);
      for (let k = 0; k < candidates; k++) labels.set(data.labels!, k * V);
      const correct = topKCorrect(y, labels, classes, 1);
      const ce = crossEntropyPerSample(y, labels, classes);
      for (let k = 0; k < candidates; k++) {
        let acc = 0;
        let loss = 0;
        for (let j = 0; j < V; j++) {
          acc += correct[k * V + j]!;
          loss += ce[k * V + j]!;
        }
        // Accuracy moves in steps of 1/V; the loss breaks ties so the optimiser sees a slope.
        scores[k] = acc / V - (1e-3 * loss) / V;
      }
    }
    return scores;
  }
}

/** Whether `mask` equals `base` wherever `free` is 0. */
function agreesOutside(mask: Uint8Array, base: Uint8Array, free: Uint8Array): boolean {
  for (let i = 0; i < mask.length; i++) if (free[i] === 0 && mask[i] !== base[i]) return false;
  return true;
}

// Keep-masks over the analysis' variables: per-group floors, round-to multiples, and the simple
// mask makers (random, L1 magnitude, greedy top-K from any score). METHOD §5: K = round((1−s)·n)
// variables kept; every group keeps at least max(1, ⌈ρ·C_g⌉).
import type { OnnxModel } from '../onnx';
import type { DependencyAnalysis } from '../analysis/types';
import { Rng } from '../util/rng';
import { PruneError } from './errors';

export interface MaskOptions {
  /** ρ: every group keeps at least max(1, ⌈ρ·C_g⌉) channels (default 0.1). */
  floor?: number;
  /** Kept count per group rounded to a multiple of this (default 1 = off). Breaks exact K. */
  roundTo?: number;
}

export function checkSparsity(s: number): void {
  if (!(s >= 0 && s < 1)) throw new PruneError('bad-sparsity', `sparsity must be in [0, 1), got ${s}`);
}

/** K = round((1 − s)·n). */
export function keepTarget(n: number, sparsity: number): number {
  checkSparsity(sparsity);
  return Math.round((1 - sparsity) * n);
}

export function groupFloors(deps: DependencyAnalysis, floor = 0.1): Int32Array {
  if (!(floor >= 0 && floor <= 1)) throw new PruneError('bad-option', `floor must be in [0, 1], got ${floor}`);
  return Int32Array.from(deps.groups, (g) => Math.min(g.size, Math.max(1, Math.ceil(floor * g.size - 1e-9))));
}

/**
 * A group's kept count must be a multiple of round-to or its full size, so once round-to reaches
 * the largest group every group is kept whole and the "pruned" model is the original: refused
 * rather than reported as a success. `setting` is how the caller spells it (--round-to, roundTo).
 */
export function checkRoundTo(deps: DependencyAnalysis, roundTo: number, setting = 'roundTo'): void {
  if (roundTo <= 1 || deps.groups.length === 0) return;
  const largest = Math.max(...deps.groups.map((g) => g.size));
  if (roundTo >= largest) {
    throw new PruneError(
      'bad-option',
      `${setting} ${roundTo} would keep every channel: kept counts must be multiples of ${roundTo} or a group's full size, and the largest group has ${largest} channels; use a value below ${largest}`,
    );
  }
}

export function validateKeep(deps: DependencyAnalysis, keep: Uint8Array): void {
  if (keep.length !== deps.variables.length) {
    throw new PruneError('bad-mask', `the mask has ${keep.length} entries but the model has ${deps.variables.length} prunable channels`);
  }
  for (const g of deps.groups) {
    let n = 0;
    for (const v of g.variables) n += keep[v] ? 1 : 0;
    if (n === 0) throw new PruneError('empty-group', `the mask removes every channel of group '${g.id}'; keep at least one`);
  }
  const empty = emptyTensors(deps, keep);
  if (empty.length > 0) {
    throw new PruneError('empty-tensor', `the mask removes every channel of '${empty[0]}'${empty.length > 1 ? ` (and ${empty.length - 1} more)` : ''}, part of a group split by Split/Slice; keep at least one channel there`);
  }
}

/**
 * Tensors left with no channel. Group floors prevent this unless a group is cut into parts by
 * Split/Slice: a part can lose all its channels while the group keeps others, and a zero-channel
 * tensor cannot be exported.
 */
export function emptyTensors(deps: DependencyAnalysis, keep: Uint8Array): string[] {
  const out: string[] = [];
  for (const [name, t] of deps.tensors) {
    if (t.variable.length === 0) continue;
    let alive = false;
    for (const v of t.variable) if (v < 0 || keep[v]) alive = true;
    if (!alive) out.push(name);
  }
  return out;
}

/** Keeps the best-scored channel of every tensor the mask would empty; returns how many were added. */
export function repairEmptyTensors(deps: DependencyAnalysis, keep: Uint8Array, scores: ArrayLike<number>): number {
  let added = 0;
  for (const name of emptyTensors(deps, keep)) {
    const t = deps.tensors.get(name)!;
    if (t.variable.some((v) => v < 0 || keep[v])) continue;
    let best = t.variable[0]!;
    for (const v of t.variable) if (scores[v]! > scores[best]! || (scores[v] === scores[best] && v < best)) best = v;
    keep[best] = 1;
    added++;
  }
  return added;
}

/** Kept / total per group. */
export function maskSummary(deps: DependencyAnalysis, keep: Uint8Array): { group: string; kept: number; total: number }[] {
  return deps.groups.map((g) => {
    let kept = 0;
    for (const v of g.variables) kept += keep[v] ? 1 : 0;
    return { group: g.id, kept, total: g.size };
  });
}

/**
 * Greedy top-K by score with floors: each group first keeps its `floor` best, then the best of the
 * rest globally. Ties break by variable index so results are deterministic.
 */
export function greedyMask(deps: DependencyAnalysis, scores: ArrayLike<number>, K: number, opts: MaskOptions = {}): Uint8Array {
  const n = deps.variables.length;
  if (scores.length !== n) throw new PruneError('bad-mask', `got ${scores.length} scores for ${n} variables`);
  const floors = groupFloors(deps, opts.floor ?? 0.1);
  const minK = floors.reduce((a, b) => a + b, 0);
  if (K < minK) throw new PruneError('bad-sparsity', `keeping ${K} channels is below the per-group floors (${minK}); lower the sparsity or the floor`);
  if (K > n) K = n;
  const better = (a: number, b: number) => scores[b]! - scores[a]! || a - b;
  const keep = new Uint8Array(n);
  let count = 0;
  deps.groups.forEach((g, gi) => {
    const order = Array.from(g.variables).sort(better);
    for (let k = 0; k < floors[gi]!; k++) keep[order[k]!] = 1;
    count += floors[gi]!;
  });
  count += repairEmptyTensors(deps, keep, scores);
  const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !keep[i]).sort(better);
  for (let k = 0; count < K && k < rest.length; k++, count++) keep[rest[k]!] = 1;
  return applyRoundTo(deps, keep, scores, opts);
}

/**
 * Rounds each group's kept count to the nearest multiple of `roundTo` (never below its floor,
 * rounded up, nor above the group size), keeping the best-scored channels. GPUs run channel
 * counts that are multiples of 8 faster; the total then differs from K by the rounding.
 */
export function applyRoundTo(deps: DependencyAnalysis, keep: Uint8Array, scores: ArrayLike<number>, opts: MaskOptions = {}): Uint8Array {
  const m = opts.roundTo ?? 1;
  if (!Number.isInteger(m) || m < 1) throw new PruneError('bad-option', `round-to must be a positive integer, got ${m}`);
  if (m === 1) return keep;
  const floors = groupFloors(deps, opts.floor ?? 0.1);
  const out = keep.slice();
  const better = (a: number, b: number) => scores[b]! - scores[a]! || a - b;
  deps.groups.forEach((g, gi) => {
    const vars = Array.from(g.variables);
    const have = vars.filter((v) => keep[v]).length;
    const minCount = Math.min(g.size, Math.ceil(floors[gi]! / m) * m);
    let target = Math.round(have / m) * m;
    target = Math.min(g.size, Math.max(minCount, target));
    // Kept channels first (by score), then pruned ones: rounding moves as few channels as possible.
    const order = vars.sort((a, b) => (keep[b]! - keep[a]!) || better(a, b));
    order.forEach((v, k) => (out[v] = k < target ? 1 : 0));
  });
  repairEmptyTensors(deps, out, scores);
  return out;
}

/** Uniformly random mask with floors: exactly K kept (before round-to). */
export function randomMask(deps: DependencyAnalysis, sparsity: number, seed: number, opts: MaskOptions = {}): Uint8Array {
  const rng = new Rng(seed);
  const scores = Float64Array.from(deps.variables, () => rng.next());
  return greedyMask(deps, scores, keepTarget(deps.variables.length, sparsity), opts);
}

/**
 * ‖W_i‖₁ of each variable over all producer weights that define it (coupled producers summed),
 * normalised per weight by its element count along the filter so layers of different fan-in
 * compare on the same footing.
 */
export function l1Scores(model: OnnxModel, deps: DependencyAnalysis): Float64Array {
  const scores = new Float64Array(deps.variables.length);
  for (const p of deps.params) {
    if (!p.role.endsWith('.weight.out')) continue;
    const t = model.floatInitializer(p.initializer);
    const dims = t.dims;
    let outer = 1;
    for (let i = 0; i < p.axis; i++) outer *= dims[i]!;
    let inner = 1;
    for (let i = p.axis + 1; i < dims.length; i++) inner *= dims[i]!;
    const len = dims[p.axis]!;
    const perFilter = outer * inner * p.block;
    for (let c = 0; c < len; c++) {
      const v = p.variable[Math.floor(c / p.block)]!;
      if (v < 0) continue;
      let sum = 0;
      for (let o = 0; o < outer; o++) {
        const base = (o * len + c) * inner;
        for (let k = 0; k < inner; k++) sum += Math.abs(t.data[base + k]!);
      }
      scores[v] += sum / perFilter;
    }
  }
  return scores;
}

export function l1Mask(model: OnnxModel, deps: DependencyAnalysis, sparsity: number, opts: MaskOptions = {}): Uint8Array {
  return greedyMask(deps, l1Scores(model, deps), keepTarget(deps.variables.length, sparsity), opts);
}

// Keep-masks over the analysis' variables: the data-free mask makers (random, L1 magnitude, top-K
// from any score) and the checks every mask passes before export. Selection is the pipeline's own:
// the channel groups become a QUBO layout without interactions and qubo/greedy.ts picks the
// channels, so floors (max(1, ⌈ρ·C_g⌉)), round-to and K = round((1−s)·n) mean the same with and
// without data (METHOD §5).
import type { OnnxModel } from '../onnx';
import type { DependencyAnalysis } from '../analysis/types';
import { buildQubo, DEFAULT_RHO, greedyMask, QuboError, randomMask as randomLayoutMask, type QuboInstance } from '../qubo';
import { Rng } from '../util/rng';
import { PruneError } from './errors';

export interface MaskOptions {
  /** ρ: every group keeps at least max(1, ⌈ρ·C_g⌉) channels (default 0.1). */
  floor?: number;
  /**
   * Each group keeps a multiple of this or its full size (default 1 = off); K then moves to the
   * nearest total those counts can reach.
   */
  roundTo?: number;
}

export function checkSparsity(s: number): void {
  if (!(s >= 0 && s < 1)) throw new PruneError('bad-sparsity', `sparsity must be in [0, 1), got ${s}`);
}

/**
 * The floors `buildQubo` gives each group at round-to 1 (its default rule), for reporting before a
 * selection; a test holds the two together.
 */
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
 * The selection layout of a data-free mask: one QUBO group per channel group, linear gains only
 * (β = 0), built by `buildQubo` so floors, round-to levels and K are resolved exactly as the
 * pipeline resolves them (a sparsity-derived K moves to the nearest total the round-to levels
 * allow). Variables are laid out group after group in `deps.groups` order.
 */
export function selectionInstance(deps: DependencyAnalysis, sparsity: number, opts: MaskOptions = {}, scores?: ArrayLike<number>): QuboInstance {
  checkSparsity(sparsity);
  if (scores && scores.length !== deps.variables.length) throw new PruneError('bad-mask', `got ${scores.length} scores for ${deps.variables.length} variables`);
  const groups = deps.groups.map((g) => ({ id: g.id, size: g.size, h: Float64Array.from(g.variables, (v) => (scores ? scores[v]! : 0)) }));
  try {
    return buildQubo(groups, { objective: 'direct', beta: 0, rho: opts.floor ?? DEFAULT_RHO, roundTo: opts.roundTo ?? 1, sparsity });
  } catch (e) {
    if (e instanceof QuboError && e.code === 'k-below-floors') throw new PruneError('bad-sparsity', `${e.message}; lower the sparsity or the floor`);
    throw e;
  }
}

/** Global keep-mask from a mask in the selection layout's order. */
function toVariables(deps: DependencyAnalysis, mask: Uint8Array): Uint8Array {
  const keep = new Uint8Array(deps.variables.length);
  let p = 0;
  for (const g of deps.groups) for (let i = 0; i < g.variables.length; i++) keep[g.variables[i]!] = mask[p++]!;
  return keep;
}

/**
 * Top-K by score under the floors and round-to levels (qubo/greedy.ts, the pipeline's Taylor and
 * L1 rows), then each Split/Slice part the mask would empty keeps its best channel. Ties break
 * by variable index, so results are deterministic.
 */
export function scoreMask(deps: DependencyAnalysis, scores: ArrayLike<number>, sparsity: number, opts: MaskOptions = {}): Uint8Array {
  const inst = selectionInstance(deps, sparsity, opts, scores);
  const keep = toVariables(deps, greedyMask(inst, inst.h));
  repairEmptyTensors(deps, keep, scores);
  return keep;
}

/** Uniformly random channels: the pipeline's random row (same seed, same mask) plus the Split/Slice repair. */
export function randomMask(deps: DependencyAnalysis, sparsity: number, seed: number, opts: MaskOptions = {}): Uint8Array {
  const inst = selectionInstance(deps, sparsity, opts);
  const rng = new Rng(seed);
  const keep = toVariables(deps, randomLayoutMask(inst, rng));
  // Which channel of an emptied Split/Slice part survives is drawn too.
  repairEmptyTensors(deps, keep, Float64Array.from(deps.variables, () => rng.next()));
  return keep;
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
  return scoreMask(deps, l1Scores(model, deps), sparsity, opts);
}

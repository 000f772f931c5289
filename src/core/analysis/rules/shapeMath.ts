// Axis and shape arithmetic the channel rules share (and the export reuses for Slice bounds).
import type { Slots } from '../channelGraph';

export function prod(a: readonly number[]): number {
  let p = 1;
  for (const d of a) p *= d;
  return p;
}

/** True when every dim is a concrete size. */
export function known(a: readonly number[] | undefined): a is number[] {
  return !!a && a.every((d) => d >= 0);
}

/** Integer contents of a constant (int64 values arrive as bigint). */
export function intValues(t: { data: ArrayLike<number | bigint> } | undefined): number[] | undefined {
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Normalises a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Clamped [start, end) of a unit-step slice over `dim` entries, per the ONNX Slice rules; undefined for other steps. */
export function sliceRange(start: number, end: number, step: number, dim: number): { start: number; end: number } | undefined {
  if (step !== 1) return undefined;
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  s = Math.min(Math.max(s, 0), dim);
  e = Math.min(Math.max(e, 0), dim);
  return { start: s, end: Math.max(s, e) };
}

/** Spatial dims of a tensor from its inferred shape, its slots, or (only the product known) one merged axis. */
export function inferSpatial(inDims: number[], x: Slots, sp: number): number[] {
  const d = inDims.slice(2);
  if (d.length === x.rank - 2 && d.every((v) => v >= 0)) return d;
  if (x.spatial && x.spatial.every((v) => v >= 0)) return x.spatial;
  // Only the product is known: one merged spatial axis is enough for the checks that follow.
  return [sp, ...new Array<number>(Math.max(0, x.rank - 3)).fill(1)];
}

/** Output dims of Reshape(input dims, target) with the 0 (copy) and -1 (infer) conventions. */
export function reshapeDims(input: number[], target: number[], allowZero: boolean): number[] | undefined {
  const total = prod(input);
  const out = target.map((t, i) => (t === 0 && !allowZero ? input[i]! : t));
  const unknown = out.filter((t) => t === -1).length;
  if (unknown > 1 || out.some((t) => t < -1 || t === undefined)) return undefined;
  if (unknown === 1) {
    const rest = prod(out.filter((t) => t !== -1));
    if (rest === 0 || total % rest !== 0) return undefined;
    out[out.indexOf(-1)] = total / rest;
  }
  return prod(out) === total ? out : undefined;
}

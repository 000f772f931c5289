// Which groups a refinement block covers: the paper's chosen layers, or the whole network in
// consecutive blocks.
import { RefineError } from './errors';
import type { RefineGroup } from './swapSlots';

/** Groups that can hold a swap slot: at least one kept and one pruned channel. */
export function swappableGroups(mask: Uint8Array, groups: readonly RefineGroup[]): number[] {
  const out: number[] = [];
  groups.forEach((g, i) => {
    let kept = 0;
    for (const v of g.variables) kept += mask[v]!;
    if (kept > 0 && kept < g.variables.length) out.push(i);
  });
  return out;
}

/**
 * The 'layers' scope: the `layers` groups with the most pruned channels (ties: earlier group
 * first), or the named groups, kept in network order. Named groups that cannot hold a slot
 * (nothing pruned or nothing kept) are left out; unknown names are an error.
 */
export function pickLayers(mask: Uint8Array, groups: readonly RefineGroup[], layers: number | readonly string[]): number[] {
  const swappable = swappableGroups(mask, groups);
  if (typeof layers === 'number') {
    if (!Number.isInteger(layers) || layers < 1) throw new RefineError('bad-option', `layers must be a positive integer, got ${layers}`);
    const pruned = (g: number) => {
      let c = 0;
      for (const v of groups[g]!.variables) c += 1 - mask[v]!;
      return c;
    };
    const ranked = [...swappable].sort((a, b) => pruned(b) - pruned(a) || a - b);
    return ranked.slice(0, layers).sort((a, b) => a - b);
  }
  const index = new Map(groups.map((g, i) => [g.id, i]));
  const ok = new Set(swappable);
  const picked = new Set<number>();
  for (const id of layers) {
    const i = index.get(id);
    if (i === undefined) throw new RefineError('unknown-group', `no channel group '${id}' (known: ${groups.slice(0, 8).map((g) => g.id).join(', ')}${groups.length > 8 ? ', …' : ''})`);
    if (ok.has(i)) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * Consecutive blocks of `size` groups in network order. A non-zero `offset` shifts the borders
 * (the first block gets `offset` groups), so that a later sweep also refines pairs of layers that
 * an earlier sweep split between two blocks.
 */
export function partitionBlocks(groups: readonly number[], size: number, offset = 0): number[][] {
  if (!Number.isInteger(size) || size < 1) throw new RefineError('bad-option', `groupsPerBlock must be a positive integer, got ${size}`);
  const blocks: number[][] = [];
  const first = offset % size;
  let i = 0;
  if (first > 0 && groups.length > size) {
    blocks.push(groups.slice(0, first));
    i = first;
  }
  for (; i < groups.length; i += size) blocks.push(groups.slice(i, i + size));
  // A short tail block would get a full share of the budget for little room; merge it.
  if (blocks.length > 1 && blocks.at(-1)!.length < Math.ceil(size / 2)) {
    const tail = blocks.pop()!;
    blocks[blocks.length - 1]!.push(...tail);
  }
  return blocks;
}

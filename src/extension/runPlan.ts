// What the extension tells a user before a run starts and while it goes: the cost a sparsity is
// expected to leave, the confirm step's lines, which workspace folders look like data folders,
// and (re-exported from src/view/runClock.ts, which the webview shares) elapsed time / ETA. No
// vscode import: unit-tested in node.
import { formatCount, type AnalysisView } from '../view/analysisModel';
import { formatShape } from '../view/runClock';

export { describeClock, formatDuration, formatShape, runClock, type RunClock } from '../view/runClock';

export interface CostEstimate {
  params: { before: number; after: number };
  macs: { before: number; after: number };
  /** The shape the analysis counted MACs at (undefined when it did not say). */
  inputShape?: number[];
}

/**
 * Parameters and MACs left when every channel group keeps the same fraction (1 − sparsity) of its
 * prunable channels. The search distributes the removals unevenly, so this is an estimate (the
 * fixtures' runs land within about 10% of it); locked channels always stay.
 */
export function estimateCost(view: AnalysisView, sparsity: number): CostEstimate | undefined {
  if (view.totals.params === undefined || view.totals.macs === undefined) return undefined;
  const keptOf = (c: number) => Math.max(1, Math.round(c * (1 - sparsity)));
  const produced = new Map(view.groups.flatMap((g) => g.producers.map((p) => [p, g] as const)));
  const consumed = new Map<string, number>();
  for (const g of view.groups) for (const c of g.consumers) consumed.set(c, (consumed.get(c) ?? 0) + g.channels - keptOf(g.channels));
  let dParams = 0;
  let dMacs = 0;
  for (const l of view.layers) {
    if (l.params === undefined && l.macs === undefined) continue;
    const g = produced.get(l.node);
    const out = l.outChannels;
    const inn = l.inChannels;
    const outKeep = g && out ? (out - (g.channels - keptOf(g.channels))) / out : 1;
    const removedIn = consumed.get(l.node) ?? 0;
    // A depthwise or grouped layer scales with its output alone; inChannels is per group there.
    const inKeep = inn && removedIn && removedIn < inn ? (inn - removedIn) / inn : 1;
    const f = outKeep * inKeep;
    dParams += (l.params ?? 0) * (1 - f);
    dMacs += (l.macs ?? 0) * (1 - f);
  }
  const est: CostEstimate = {
    params: { before: view.totals.params, after: Math.max(0, view.totals.params - dParams) },
    macs: { before: view.totals.macs, after: Math.max(0, view.totals.macs - dMacs) },
  };
  if (view.inputShape) est.inputShape = view.inputShape;
  return est;
}

/** 'params 57.4k → 24.1k · MACs 3.74G → 1.60G at 1×3×256×256' */
export function describeEstimate(e: CostEstimate): string {
  return `params ${formatCount(e.params.before)} → ${formatCount(e.params.after)} · MACs ${formatCount(e.macs.before)} → ${formatCount(e.macs.after)} at ${formatShape(e.inputShape)}`;
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** A sparsity typed in percent ('40', '40%', '37.5'); a string says what is wrong. */
export function parseSparsityPercent(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) return 'Type a percentage such as 40';
  const v = Number(m[1]);
  if (!(v >= 1 && v <= 95)) return 'The filter sparsity must be between 1% and 95%';
  return Math.round(v * 10) / 1000;
}

/** What the data-folder prompt says it accepts (docs/DATA.md, "Folder layouts"); short enough for a QuickPick's width. */
export const DATA_LAYOUT_HINT = 'Layouts: calib/val/test splits · noisy+clean pairs · class folders · images';

const SPLIT_DIRS = new Set(['calib', 'val', 'test', 'train']);
const PAIR_DIRS = new Set(['noisy', 'clean', 'input', 'target', 'gt']);
const IMAGE = /\.(png|jpe?g|bmp|ppm|pgm|webp)$/i;

/**
 * Why a folder looks like a data folder, from its entries (names; folders end in '/'), or
 * undefined. Only a hint for the picker: the worker's data loader decides.
 */
export function dataFolderHint(entries: readonly string[]): string | undefined {
  const dirs = entries.filter((e) => e.endsWith('/')).map((e) => e.slice(0, -1).toLowerCase());
  const splits = dirs.filter((d) => SPLIT_DIRS.has(d));
  if (splits.length) return `splits: ${splits.sort().join(', ')}`;
  const pairs = dirs.filter((d) => PAIR_DIRS.has(d));
  if (pairs.length >= 2) return `pairs: ${pairs.sort().join(' + ')}`;
  const images = entries.filter((e) => IMAGE.test(e)).length;
  if (images) return `${images} image${images === 1 ? '' : 's'}`;
  return undefined;
}

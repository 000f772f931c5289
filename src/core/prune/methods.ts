// Mask-selection methods by name, so `qubo-prune prune --method <name>` and the extension can
// offer data-free baselines now and gradient/QUBO methods ('taylor', 'hybrid', 'l1-qubo') later
// without touching the command.
import type { OnnxModel } from '../onnx';
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import { PruneError } from './errors';
import { l1Mask, randomMask, type MaskOptions } from './masks';

export interface MaskContext {
  model: OnnxModel;
  deps: DependencyAnalysis;
  /** Filter sparsity s: K = round((1 − s)·n) variables are kept. */
  sparsity: number;
  seed: number;
  mask: MaskOptions;
  shapes?: ShapeMap;
  /** Method-specific inputs (calibration data, budgets...) added by richer callers. */
  extra?: Record<string, unknown>;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface MaskMethod {
  name: string;
  summary: string;
  /** True when the method needs calibration data (the command then requires --data). */
  needsData: boolean;
  run(ctx: MaskContext): Promise<Uint8Array>;
}

const methods = new Map<string, MaskMethod>();

export function registerMethod(m: MaskMethod): void {
  methods.set(m.name, m);
}

export function getMethod(name: string): MaskMethod {
  const m = methods.get(name);
  if (!m) throw new PruneError('unknown-method', `unknown pruning method '${name}'; available: ${[...methods.keys()].join(', ')}`);
  return m;
}

export function listMethods(): MaskMethod[] {
  return [...methods.values()];
}

registerMethod({
  name: 'l1',
  summary: 'global top-K by mean |w| of each channel’s filters (data-free magnitude baseline)',
  needsData: false,
  run: async (ctx) => l1Mask(ctx.model, ctx.deps, ctx.sparsity, ctx.mask),
});

registerMethod({
  name: 'random',
  summary: 'uniformly random channels (sanity baseline), seeded',
  needsData: false,
  run: async (ctx) => randomMask(ctx.deps, ctx.sparsity, ctx.seed, ctx.mask),
});

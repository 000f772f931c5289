// The latency model's form and fit (issue 15 item 2). A pruned model's batch-1 latency is modelled
// as t0 + a·MACs + b·(output activation elements) + c·(input activation elements), summed over the
// weight ops: MACs are bilinear in the groups' kept counts and activation sizes linear, so the
// prediction is a CountCost the budget search takes as it is. The few global coefficients are
// fitted by non-negative least squares on timings of the WHOLE pruned model at a handful of masks
// (what a user experiences, fusion and memory traffic included), rather than on layers timed
// alone, whose sum missed whole models by −98 % to +192 %. Non-negative coefficients on
// polynomials with non-negative coefficients make the cost monotone in every kept count.
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import { attrInt, type OnnxModel } from '../onnx';
import { evaluateCountCost, layerCountCosts, type CountCost } from '../prune/cost';
import { Rng } from '../util/rng';
import { nnls } from './nnls';

/** Kernel families whose time per MAC differs on CPUs (im2col/GEMM vs direct 1×1 vs depthwise vs matrix-vector). */
export type OpClass = 'conv1x1' | 'convkxk' | 'depthwise' | 'dense';

/** The model's latency features as polynomials in the groups' kept counts. */
export interface LatencyFeatures {
  groupCount: number;
  /** Feature name → polynomial: 'macs', 'macs:<class>' per class present, 'outElems', 'inElems'. */
  costs: Map<string, CountCost>;
  /** Op classes with MACs in this model, in a fixed order. */
  classes: OpClass[];
}

/** 'shared': one time per MAC; 'per-class': one per op class (used only when held-out error says it pays). */
export type FitVariant = 'shared' | 'per-class';

export function featureNames(f: Pick<LatencyFeatures, 'classes'>, variant: FitVariant): string[] {
  const macs = variant === 'shared' ? ['macs'] : f.classes.map((c) => `macs:${c}`);
  return ['constant', ...macs, 'outElems', 'inElems'];
}

/** Sum of weighted CountCosts plus a constant (all over the same groups). */
export function combineCountCosts(groupCount: number, terms: readonly { cost: CountCost; weight: number }[], constant = 0): CountCost {
  const linear = new Float64Array(groupCount);
  const pairs = new Map<number, number>();
  let c = constant;
  for (const { cost, weight } of terms) {
    if (weight === 0) continue;
    c += weight * cost.constant;
    for (let g = 0; g < groupCount; g++) linear[g] += weight * cost.linear[g]!;
    for (let k = 0; k < cost.pairWeight.length; k++) {
      const key = cost.pairA[k]! * groupCount + cost.pairB[k]!;
      pairs.set(key, (pairs.get(key) ?? 0) + weight * cost.pairWeight[k]!);
    }
  }
  const keys = [...pairs.keys()].sort((p, q) => p - q);
  return { constant: c, linear, pairA: Int32Array.from(keys, (k) => Math.floor(k / groupCount)), pairB: Int32Array.from(keys, (k) => k % groupCount), pairWeight: Float64Array.from(keys, (k) => pairs.get(k)!) };
}

function opClassOf(model: OnnxModel, node: string, weightDims: Map<string, number[]>): OpClass {
  const n = model.nodes.find((x) => x.name === node);
  if (!n || (n.opType !== 'Conv' && n.opType !== 'ConvTranspose')) return 'dense';
  if (attrInt(n, 'group', 1) > 1) return 'depthwise';
  const w = weightDims.get(n.input[1] ?? '') ?? [];
  return w.slice(2).every((k) => k === 1) ? 'conv1x1' : 'convkxk';
}

const CLASS_ORDER: OpClass[] = ['conv1x1', 'convkxk', 'depthwise', 'dense'];

/** MACs (in total and per op class) and activation sizes of every weight op, as CountCosts. `shapes` at the latency input size. */
export function latencyFeatures(model: OnnxModel, deps: DependencyAnalysis, shapes: ShapeMap): LatencyFeatures {
  const G = deps.groups.length;
  const layers = layerCountCosts(model, deps, shapes);
  const weightDims = new Map(model.graph.initializer.map((t) => [t.name, t.dims.map(Number)]));
  const byClass = new Map<OpClass, { cost: CountCost; weight: number }[]>();
  for (const l of layers) {
    const c = opClassOf(model, l.node, weightDims);
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push({ cost: l.macs, weight: 1 });
  }
  const classes = CLASS_ORDER.filter((c) => byClass.has(c));
  const costs = new Map<string, CountCost>();
  costs.set('macs', combineCountCosts(G, layers.map((l) => ({ cost: l.macs, weight: 1 }))));
  for (const c of classes) costs.set(`macs:${c}`, combineCountCosts(G, byClass.get(c)!));
  costs.set('outElems', combineCountCosts(G, layers.map((l) => ({ cost: l.outElems, weight: 1 }))));
  costs.set('inElems', combineCountCosts(G, layers.map((l) => ({ cost: l.inElems, weight: 1 }))));
  return { groupCount: G, costs, classes };
}

/** Kept channels per group (deps.groups order) of a keep-mask over the global variables. */
export function keptCounts(deps: DependencyAnalysis, keep: Uint8Array): Float64Array {
  return Float64Array.from(deps.groups, (g) => Array.from(g.variables).reduce((acc, v) => acc + keep[v]!, 0));
}

/** Keeps the first max(1, round(ratio·size)) channels of each group, ratio per group. */
export function keepAtRatios(deps: DependencyAnalysis, ratios: ArrayLike<number>): Uint8Array {
  const keep = new Uint8Array(deps.variables.length);
  deps.groups.forEach((g, gi) => {
    const k = Math.min(g.size, Math.max(1, Math.round(ratios[gi]! * g.size)));
    for (let i = 0; i < k; i++) keep[g.variables[i]!] = 1;
  });
  return keep;
}

/** Uniform keep ratios of the calibration masks (1 = the original model). */
export const CALIBRATION_UNIFORM = [1, 0.8, 0.6, 0.4, 0.25] as const;
/** Masks with an independent random keep ratio per group, so uneven widths inform the fit too. */
export const CALIBRATION_RANDOM = 5;
/** Per-group ratios of the random masks are drawn from [RANDOM_RATIO_LOW, 1]. */
export const RANDOM_RATIO_LOW = 0.25;

export interface CalibrationMask {
  label: string;
  keep: Uint8Array;
}

/** Random per-group ratios in [low, 1): uneven masks like the ones a search produces. */
export function randomKeep(deps: DependencyAnalysis, rng: Rng, low = RANDOM_RATIO_LOW): Uint8Array {
  return keepAtRatios(deps, Float64Array.from(deps.groups, () => low + (1 - low) * rng.next()));
}

/** The masks whose whole-model timings the coefficients are fitted to: uniform ratios, then random ones (seeded: the same model gets the same masks). */
export function calibrationMasks(deps: DependencyAnalysis, seed = 1): CalibrationMask[] {
  const out: CalibrationMask[] = CALIBRATION_UNIFORM.map((r) => ({ label: `uniform ${r}`, keep: keepAtRatios(deps, new Float64Array(deps.groups.length).fill(r)) }));
  const rng = new Rng(seed);
  for (let i = 0; i < CALIBRATION_RANDOM; i++) out.push({ label: `random ${i + 1}`, keep: randomKeep(deps, rng) });
  return out;
}

/** One whole-model timing: kept counts per group and the batch-1 median. */
export interface LatencySample {
  label: string;
  counts: number[];
  ms: number;
  iqrMs: number;
}

export interface LatencyFit {
  variant: FitVariant;
  /** Feature name → coefficient (ms per unit of the feature; 'constant' in ms). All ≥ 0. */
  coefficients: Record<string, number>;
  /** Mean and largest |predicted − measured| / measured over the samples fitted. */
  meanFitError: number;
  maxFitError: number;
  /** Mean leave-one-out error of the chosen variant: each sample predicted by a fit without it. */
  looError: number;
}

/** Rows of features for `samples` (columns in `names` order). */
function design(f: LatencyFeatures, names: readonly string[], samples: readonly LatencySample[]): Float64Array {
  const a = new Float64Array(samples.length * names.length);
  samples.forEach((s, i) =>
    names.forEach((n, j) => {
      a[i * names.length + j] = n === 'constant' ? 1 : evaluateCountCost(f.costs.get(n)!, s.counts);
    }),
  );
  return a;
}

/**
 * NNLS on relative errors: every row is divided by its measured time, so a 3 ms pruned model
 * weighs as much as the 30 ms original and the fit minimises Σ((pred − t)/t)², the % error the
 * benchmark reports.
 */
function solveRelative(a: Float64Array, t: readonly number[], cols: number, rowsUsed: readonly number[]): Float64Array {
  const sub = new Float64Array(rowsUsed.length * cols);
  const b = new Float64Array(rowsUsed.length).fill(1);
  rowsUsed.forEach((i, r) => {
    for (let j = 0; j < cols; j++) sub[r * cols + j] = a[i * cols + j]! / t[i]!;
  });
  return nnls(sub, b, rowsUsed.length, cols).x;
}

function predictRow(a: Float64Array, i: number, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) s += a[i * x.length + j]! * x[j]!;
  return s;
}

function fitVariant(f: LatencyFeatures, variant: FitVariant, samples: readonly LatencySample[]): Omit<LatencyFit, 'variant'> {
  const names = featureNames(f, variant);
  const a = design(f, names, samples);
  const t = samples.map((s) => s.ms);
  const all = samples.map((_, i) => i);
  const x = solveRelative(a, t, names.length, all);
  const errs = all.map((i) => Math.abs(predictRow(a, i, x) - t[i]!) / t[i]!);
  let loo = 0;
  for (const i of all) {
    const xi = solveRelative(a, t, names.length, all.filter((k) => k !== i));
    loo += Math.abs(predictRow(a, i, xi) - t[i]!) / t[i]!;
  }
  return {
    coefficients: Object.fromEntries(names.map((n, j) => [n, x[j]!])),
    meanFitError: errs.reduce((p, q) => p + q, 0) / errs.length,
    maxFitError: Math.max(...errs),
    looError: loo / samples.length,
  };
}

/**
 * The per-class variant is kept only when its leave-one-out error beats the shared one's by this
 * fraction and by PER_CLASS_MIN_GAIN (absolute): more coefficients than the data supports overfit,
 * and a gain far below timing noise is no evidence.
 */
export const PER_CLASS_GAIN = 0.1;
export const PER_CLASS_MIN_GAIN = 0.005;

/**
 * Fits the coefficients to whole-model timings. Needs at least as many samples as coefficients
 * plus two (for leave-one-out to mean anything); every time must be positive.
 */
export function fitLatency(f: LatencyFeatures, samples: readonly LatencySample[]): LatencyFit {
  const shared = featureNames(f, 'shared').length;
  if (samples.length < shared + 2) throw new RangeError(`a latency fit needs at least ${shared + 2} whole-model timings, got ${samples.length}`);
  for (const s of samples) {
    if (!(s.ms > 0 && Number.isFinite(s.ms))) throw new RangeError(`a latency sample ('${s.label}') has time ${s.ms} ms; timings must be positive`);
    if (s.counts.length !== f.groupCount) throw new RangeError(`a latency sample ('${s.label}') has ${s.counts.length} group counts, the model has ${f.groupCount} groups`);
  }
  const best: LatencyFit = { variant: 'shared', ...fitVariant(f, 'shared', samples) };
  if (f.classes.length > 1 && samples.length >= featureNames(f, 'per-class').length + 2) {
    const pc = fitVariant(f, 'per-class', samples);
    if (pc.looError < (1 - PER_CLASS_GAIN) * best.looError && best.looError - pc.looError > PER_CLASS_MIN_GAIN) return { variant: 'per-class', ...pc };
  }
  return best;
}

/** The fitted model as the budget search's polynomial in the groups' kept counts. */
export function latencyCost(f: LatencyFeatures, fit: Pick<LatencyFit, 'variant' | 'coefficients'>): CountCost {
  const names = featureNames(f, fit.variant);
  const terms = names.filter((n) => n !== 'constant').map((n) => {
    const cost = f.costs.get(n);
    const weight = fit.coefficients[n];
    if (!cost || weight === undefined) throw new RangeError(`the latency fit has no coefficient for '${n}'`);
    return { cost, weight };
  });
  return combineCountCosts(f.groupCount, terms, fit.coefficients.constant ?? 0);
}

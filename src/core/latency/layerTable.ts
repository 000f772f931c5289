// Per-layer latency tables (issue 15 item 2): each prunable convolution timed alone, as a one-node
// ONNX graph at the run's input size, on the run's provider, over a grid of kept input and output
// channel counts, then fitted to a + b·cin + c·cout + d·cin·cout. Summed over the layers (plus the
// rest of the model as a constant) this predicts a pruned model's latency as a quadratic in the
// groups' kept counts: the CountCost the budget search takes.
import type { DependencyAnalysis, ShapeMap } from '../analysis/types';
import { attrInt, attrInts, floatTensor, makeModel, makeNode, makeValueInfo, serializeModelProto, type OnnxModel } from '../onnx';
import type { CountCost } from '../prune/cost';
import type { ProviderName } from '../runtime/session';
import { countLevels, evalBilinear, fitBilinear, type BilinearFit, type BilinearSample } from './bilinearFit';
import { measureModelsLatency } from './measure';
import { identityProbeModel, layerMs } from './overhead';

export interface ConvSpec {
  node: string;
  cin: number;
  cout: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  /** Input spatial size [H, W] at the run's input size. */
  inHW: [number, number];
}

export interface LayerTable {
  node: string;
  /** The conv's own time at each kept-count pair: probe median less the overhead of its input shape. */
  samples: BilinearSample[];
  /** Median of the Identity graph over each probed input width: what was subtracted. */
  overhead?: { cin: number; ms: number }[];
  fit: BilinearFit;
}

/** Dense (group = 1) 2-D convolutions with a constant weight: the layers whose cost pruning changes bilinearly. */
export function convSpecsOf(model: OnnxModel, shapes: ShapeMap): ConvSpec[] {
  const inits = new Map(model.graph.initializer.map((t) => [t.name, t.dims.map(Number)]));
  const out: ConvSpec[] = [];
  for (const n of model.nodes) {
    if (n.opType !== 'Conv' || attrInt(n, 'group', 1) !== 1) continue;
    const w = inits.get(n.input[1] ?? '');
    const x = shapes.get(n.input[0] ?? '');
    if (!w || w.length !== 4 || !x || x.length !== 4) continue;
    out.push({
      node: n.name,
      cin: w[1]!,
      cout: w[0]!,
      kernel: [w[2]!, w[3]!],
      strides: attrInts(n, 'strides') ?? [1, 1],
      pads: attrInts(n, 'pads') ?? [0, 0, 0, 0],
      dilations: attrInts(n, 'dilations') ?? [1, 1],
      inHW: [x[2]!, x[3]!],
    });
  }
  return out;
}

/** The conv alone, with cin inputs and cout outputs and random weights (timing does not depend on values). */
export function convProbeModel(s: ConvSpec, cin: number, cout: number): Uint8Array {
  const wn = cout * cin * s.kernel[0]! * s.kernel[1]!;
  const w = new Float32Array(wn);
  for (let i = 0; i < wn; i++) w[i] = (((i * 2654435761) % 2000) / 1000 - 1) * 0.05;
  const node = makeNode('Conv', ['x', 'w', 'b'], ['y'], 'probe', { strides: s.strides, pads: s.pads, dilations: s.dilations, kernel_shape: s.kernel });
  return serializeModelProto(
    makeModel({
      nodes: [node],
      inputs: [makeValueInfo('x', [1, cin, s.inHW[0], s.inHW[1]])],
      outputs: [makeValueInfo('y')],
      initializers: [floatTensor('w', w, [cout, cin, s.kernel[0]!, s.kernel[1]!]), floatTensor('b', new Float32Array(cout), [cout])],
    }),
  );
}

/** Timed runs of a probe add up to at least this (ms): sub-millisecond convs need many runs for a stable median. */
export const PROBE_MIN_TOTAL_MS = 60;

/**
 * Times one conv over a levels × levels grid of kept counts, each less the session-run overhead of
 * its input shape (an Identity graph timed the same way), and fits the bilinear form to the rest.
 */
export async function measureConvTable(s: ConvSpec, provider: ProviderName, o: { levels?: number; step?: number; runs?: number; minTotalMs?: number; signal?: AbortSignal } = {}): Promise<LayerTable> {
  const samples: BilinearSample[] = [];
  const timing = { largeBatch: false, warmup: 3, minTotalMs: o.minTotalMs ?? PROBE_MIN_TOTAL_MS, ...(o.runs ? { runs: o.runs } : {}), ...(o.signal ? { signal: o.signal } : {}) } as const;
  const overhead: { cin: number; ms: number }[] = [];
  for (const cin of countLevels(s.cin, o.levels ?? 4, o.step ?? 1)) {
    const inputShape = [1, cin, s.inHW[0], s.inHW[1]];
    const couts = countLevels(s.cout, o.levels ?? 4, o.step ?? 1);
    // The Identity graph and the probes of one input width run interleaved, so the overhead
    // subtracted from each probe was measured under the same load.
    const [base, ...probes] = await measureModelsLatency([identityProbeModel(inputShape), ...couts.map((cout) => convProbeModel(s, cin, cout))], { provider, inputShape, ...timing });
    overhead.push({ cin, ms: base!.batch1.medianMs });
    couts.forEach((cout, k) => samples.push({ cin, cout, ms: layerMs(probes[k]!.batch1.medianMs, base!.batch1.medianMs) }));
  }
  return { node: s.node, samples, overhead, fit: fitBilinear(samples) };
}

/** Which groups size a conv's input and output channels; the rest of each count is fixed. */
export interface ConvGroups {
  node: string;
  inGroups: number[];
  inFixed: number;
  outGroups: number[];
  outFixed: number;
}

export function convGroupsOf(deps: DependencyAnalysis, specs: readonly ConvSpec[]): ConvGroups[] {
  return specs.map((s) => {
    const inGroups = deps.groups.filter((g) => g.consumers.includes(s.node)).map((g) => g.index);
    const outGroups = deps.groups.filter((g) => g.producers.includes(s.node)).map((g) => g.index);
    const size = (ids: number[]) => ids.reduce((a, g) => a + deps.groups[g]!.size, 0);
    return { node: s.node, inGroups, inFixed: Math.max(0, s.cin - size(inGroups)), outGroups, outFixed: Math.max(0, s.cout - size(outGroups)) };
  });
}

/**
 * Predicted batch-1 latency as a CountCost in the groups' kept counts: `restMs` (everything that is
 * not a tabled conv, measured as whole-model latency minus the tables at full width) plus each
 * conv's fit with cin = inFixed + Σ c_in, cout = outFixed + Σ c_out expanded into monomials.
 */
export function latencyCountCost(tables: readonly LayerTable[], wiring: readonly ConvGroups[], groupCount: number, restMs: number): CountCost {
  const linear = new Float64Array(groupCount);
  const pairs = new Map<number, number>();
  let constant = restMs;
  const addPair = (g: number, h: number, w: number) => {
    const k = Math.min(g, h) * groupCount + Math.max(g, h);
    pairs.set(k, (pairs.get(k) ?? 0) + w);
  };
  for (const t of tables) {
    const wgt = wiring.find((w) => w.node === t.node);
    if (!wgt) throw new RangeError(`no group wiring for conv '${t.node}'`);
    const { a, b, c, d } = t.fit;
    const I = wgt.inFixed;
    const O = wgt.outFixed;
    // (a + b·cin + c·cout + d·cin·cout) with cin = I + Σ c_i, cout = O + Σ c_o
    constant += a + b * I + c * O + d * I * O;
    for (const g of wgt.inGroups) linear[g] += b + d * O;
    for (const g of wgt.outGroups) linear[g] += c + d * I;
    for (const gi of wgt.inGroups) for (const go of wgt.outGroups) addPair(gi, go, d);
  }
  const keys = [...pairs.keys()].sort((p, q) => p - q);
  return {
    constant,
    linear,
    pairA: Int32Array.from(keys, (k) => Math.floor(k / groupCount)),
    pairB: Int32Array.from(keys, (k) => k % groupCount),
    pairWeight: Float64Array.from(keys, (k) => pairs.get(k)!),
  };
}

/** Sum of the tables at the convs' full widths: what the rest of the model is measured against. */
export function tablesAtFullWidth(tables: readonly LayerTable[], specs: readonly ConvSpec[]): number {
  return tables.reduce((acc, t) => {
    const s = specs.find((x) => x.node === t.node)!;
    return acc + evalBilinear(t.fit, s.cin, s.cout);
  }, 0);
}

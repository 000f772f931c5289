// The analysis document (schema in docs/ANALYSIS.md) and its text rendering. The pruning report
// grows out of this document, so everything here is plain JSON data with a schema version.
import type { ValueInfoProto } from 'onnx-buf';
import { loadModel, normalizeGraph, valueInfoDims, valueInfoElemType, type OnnxModel } from '../onnx';
import { analyzeDependencies } from './dependencyGroups';
import { analyzeLayers, type LayerTotals } from './layers';
import { opLabel } from './rules';
import { elemTypeName, inferTensorInfo, type InputShapeSpec } from './shapes';
import type { DependencyAnalysis, LayerInfo, LockedChannels, LockReason, ShapeMap } from './types';

export const ANALYSIS_SCHEMA_VERSION = 1;

export interface TensorSummary {
  name: string;
  /** Dims as the model declares them: numbers, symbol names, or '?' for unknown; null when undeclared. */
  declared: (number | string)[] | null;
  /** Dims at the analysed input shape. */
  shape: number[] | null;
  dtype: string;
}

export type LayerStatus = 'prunable' | 'locked' | 'partial' | 'not-analysed';

export interface AnalysisLayer extends LayerInfo {
  /** Id of the channel group the layer's output channels belong to, or null. */
  group: string | null;
  status: LayerStatus;
  lockReason: LockReason | null;
  lockDetail: string | null;
}

export interface AnalysisGroup {
  id: string;
  index: number;
  size: number;
  producers: string[];
  consumers: string[];
  nodes: string[];
  initializers: string[];
}

export interface AnalysisTotals extends LayerTotals {
  groups: number;
  variables: number;
  lockedChannels: number;
}

export interface AnalysisDocument {
  schemaVersion: typeof ANALYSIS_SCHEMA_VERSION;
  kind: 'qubo-prune.analysis';
  model: {
    path: string | null;
    opset: number;
    irVersion: number;
    producer: string;
    nodeCount: number;
    /** Number of nodes per op type. */
    opTypes: Record<string, number>;
    inputs: TensorSummary[];
    outputs: TensorSummary[];
  };
  /** Shape the (first) input was analysed at. */
  inputShape: number[];
  /** Shape each input was analysed at, by input name. */
  inputShapes: Record<string, number[]>;
  totals: AnalysisTotals;
  layers: AnalysisLayer[];
  groups: AnalysisGroup[];
  locked: LockedChannels[];
  unknownOps: string[];
  /** False when no dependency analysis was available; groups and locked are then empty. */
  dependenciesAnalysed: boolean;
  warnings: string[];
}

export interface DocumentParts {
  model: OnnxModel;
  /** Path shown in the document (the model's source path by default). */
  path?: string | null;
  inputShapes: Record<string, number[]>;
  shapes: ShapeMap;
  layers: LayerInfo[];
  totals: LayerTotals;
  dependencies: DependencyAnalysis | null;
  warnings?: string[];
}

function summarise(v: ValueInfoProto, shapes: ShapeMap): TensorSummary {
  return { name: v.name, declared: valueInfoDims(v) ?? null, shape: shapes.get(v.name) ?? null, dtype: elemTypeName(valueInfoElemType(v)) };
}

function layerStatus(layer: LayerInfo, deps: DependencyAnalysis | null): Pick<AnalysisLayer, 'group' | 'status' | 'lockReason' | 'lockDetail'> {
  if (!deps) return { group: null, status: 'not-analysed', lockReason: null, lockDetail: null };
  const group = deps.groups.find((g) => g.producers.includes(layer.node));
  const lock = deps.locked.find((l) => l.source === layer.node);
  const status: LayerStatus = group ? (lock ? 'partial' : 'prunable') : lock ? 'locked' : 'not-analysed';
  return { group: group?.id ?? null, status, lockReason: lock?.reason ?? null, lockDetail: lock?.detail ?? null };
}

export function buildAnalysisDocument(parts: DocumentParts): AnalysisDocument {
  const { model, shapes, dependencies: deps } = parts;
  const opTypes: Record<string, number> = {};
  for (const n of model.nodes) {
    const key = opLabel(n);
    opTypes[key] = (opTypes[key] ?? 0) + 1;
  }
  const warnings = [...(parts.warnings ?? [])];
  if (!deps) warnings.push('dependency analysis unavailable: groups, variables and locked channels are not reported');
  if (deps && deps.unknownOps.length > 0) {
    warnings.push(`unknown ops: ${deps.unknownOps.join(', ')} (channels passing through them are locked)`);
  }
  if (deps?.notes) warnings.push(...deps.notes);
  return {
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    kind: 'qubo-prune.analysis',
    model: {
      path: parts.path !== undefined ? parts.path : (model.sourcePath ?? null),
      opset: model.opset,
      irVersion: Number(model.proto.irVersion),
      producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
      nodeCount: model.nodes.length,
      opTypes,
      inputs: model.realInputs.map((v) => summarise(v, shapes)),
      outputs: model.graph.output.map((v) => summarise(v, shapes)),
    },
    inputShape: parts.inputShapes[model.realInputs[0]?.name ?? ''] ?? [],
    inputShapes: parts.inputShapes,
    totals: {
      ...parts.totals,
      groups: deps?.groups.length ?? 0,
      variables: deps?.variables.length ?? 0,
      lockedChannels: deps?.locked.reduce((s, l) => s + l.channels, 0) ?? 0,
    },
    layers: parts.layers.map((l) => ({ ...l, ...layerStatus(l, deps) })),
    groups: (deps?.groups ?? []).map((g) => ({
      id: g.id,
      index: g.index,
      size: g.size,
      producers: [...g.producers],
      consumers: [...g.consumers],
      nodes: [...g.nodes],
      initializers: [...g.initializers],
    })),
    locked: (deps?.locked ?? []).map((l) => ({ ...l })),
    unknownOps: [...(deps?.unknownOps ?? [])],
    dependenciesAnalysed: deps !== null,
    warnings,
  };
}

export interface AnalyzeModelOptions {
  inputShape?: InputShapeSpec;
  /** Path recorded in the document. */
  path?: string | null;
  threads?: number;
  /** See AnalyzeOptions.allowLayerNormPruning (the document's warnings then say what changes). */
  allowLayerNormPruning?: boolean;
  /** Called as each step starts, so a front end can show progress on a large model. */
  onStep?: (step: AnalysisStep) => void;
}

/** The steps of an analysis, in order: reading the file, shape inference, layers and channel dependencies. */
export type AnalysisStep = 'reading' | 'shapes' | 'dependencies';

/** Shapes, layers and dependency groups of a loaded model, as one document. */
export async function analyzeModel(model: OnnxModel, opts: AnalyzeModelOptions = {}): Promise<AnalysisDocument> {
  opts.onStep?.('shapes');
  const info = await inferTensorInfo(model, opts.inputShape, { threads: opts.threads });
  opts.onStep?.('dependencies');
  const { layers, totals } = analyzeLayers(model, info.shapes);
  return buildAnalysisDocument({
    model,
    path: opts.path,
    inputShapes: info.inputShapes,
    shapes: info.shapes,
    layers,
    totals,
    dependencies: analyzeDependencies(model, info.shapes, { allowLayerNormPruning: opts.allowLayerNormPruning }),
  });
}

/** Loads and analyses a model file (the worker's and the CLI's entry point). */
export async function analyzeModelFile(file: string, inputShape?: InputShapeSpec): Promise<AnalysisDocument> {
  const model = await loadModel(file);
  normalizeGraph(model);
  return analyzeModel(model, { inputShape, path: file });
}

// ---------------------------------------------------------------- text rendering

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** 934281216 → '934.3M'. */
export function formatMacs(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) if (n >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 1 : 2)}${unit}`;
  return String(n);
}

function dimsText(dims: readonly (number | string)[] | null): string {
  return dims ? `[${dims.join(',')}]` : '[?]';
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function statusText(l: AnalysisLayer): string {
  if (l.status === 'locked' || l.status === 'partial') return `${l.status}: ${l.lockReason}`;
  return l.status;
}

/** The human-readable report the CLI prints. */
export function formatAnalysisText(doc: AnalysisDocument): string {
  const out: string[] = [];
  const m = doc.model;
  out.push(`model    ${m.path ?? '(in memory)'}  (opset ${m.opset}, ${m.nodeCount} nodes${m.producer ? `, ${m.producer}` : ''})`);
  for (const t of m.inputs) out.push(`input    ${t.name} ${dimsText(t.shape)} ${t.dtype}  (declared ${dimsText(t.declared)})`);
  for (const t of m.outputs) out.push(`output   ${t.name} ${dimsText(t.shape)} ${t.dtype}`);
  out.push('');
  // Group ids join producer names and get long; the table shows a short label, listed below it.
  const groupLabel = new Map(doc.groups.map((g) => [g.id, `g${g.index}`]));
  const rows = doc.layers.map((l, i) => [
    String(i + 1),
    l.node,
    l.op,
    `${l.inChannels}→${l.outChannels}`,
    l.kernel.length ? l.kernel.join('x') : '-',
    l.stride.length ? l.stride.join('x') : '-',
    String(l.groups),
    formatCount(l.params),
    formatMacs(l.macs),
    l.group ? (groupLabel.get(l.group) ?? l.group) : '-',
    statusText(l),
  ]);
  out.push(...table(['#', 'layer', 'op', 'in→out', 'kernel', 'stride', 'groups', 'params', 'MACs', 'group', 'status'], rows, new Set([0, 6, 7, 8])));
  out.push('');
  const t = doc.totals;
  const shapeText = Object.values(doc.inputShapes).map((d) => dimsText(d)).join(' + ');
  out.push(`params   ${formatCount(t.params)} (counted as PyTorch does: BatchNorm running stats excluded)`);
  out.push(
    `         conv ${formatCount(t.convParams)} · linear ${formatCount(t.linearParams)} · norm ${formatCount(t.normParams)} · other ${formatCount(t.otherParams)}` +
      ` · BN running stats ${formatCount(t.bufferElements)} · all initializer elements ${formatCount(t.initializerElements)}`,
  );
  out.push(`MACs     ${formatMacs(t.macs)} (${formatCount(t.macs)}) per sample at ${shapeText}, ${t.layers} layers`);
  if (doc.dependenciesAnalysed) {
    out.push(`groups   ${t.groups} groups · ${t.variables} prunable channels (variables) · ${t.lockedChannels} locked channels`);
    for (const g of doc.groups) {
      const coupled = g.producers.length > 1 ? ` (${g.producers.length} producers coupled)` : '';
      out.push(`  ${groupLabel.get(g.id)!.padEnd(5)} ${String(g.size).padStart(5)} channels  ${g.id}${coupled}`);
    }
    for (const l of doc.locked) out.push(`locked   ${l.source} → ${l.tensor}: ${l.channels} channels, ${l.reason} (${l.detail})`);
  }
  for (const w of doc.warnings) out.push(`warning  ${w}`);
  return out.join('\n') + '\n';
}

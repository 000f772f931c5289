// `qubo-prune prune`: choose channels with a registered method, export the physically pruned
// model and print parameters, MACs and per-group channel counts before and after.
// Structured as parse → plan (shapes, analysis) → select (method registry) → export → report, so
// data-driven methods and presets can add options and steps without reshaping the command.
import { analyzeDependencies } from '../../core/analysis/dependencyGroups';
import { inferShapes, resolveInputShapes, ShapeInferenceError } from '../../core/analysis/shapes';
import type { DependencyAnalysis, ShapeMap } from '../../core/analysis/types';
import { externalDataFilesOf, loadModel, normalizeGraph, type OnnxModel } from '../../core/onnx';
import { countCost, type ModelCost } from '../../core/prune/cost';
import { PruneError } from '../../core/prune/errors';
import { checkRoundTo, checkSparsity, groupFloors, maskSummary } from '../../core/prune/masks';
import { METHODS } from '../../core/presets';
import { getMethod, listMethods } from '../../core/prune/methods';
import { exportPruned, validatePruned } from '../../core/prune/physicalExport';
import { throwIfCancelled } from '../../core/errors';
import { guardOutputs } from '../../core/util/outputGuard';
import { acquireOutputLock } from '../../core/util/outputLock';
import { numberOption, parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { EXIT, reportFailure } from '../exitCodes';
import type { CliCommand } from '../command';
import { parseInputShapeOption } from './analyze';

const USAGE = () => `usage: qubo-prune prune <model.onnx> --sparsity S --out pruned.onnx [options]

  --method M        how channels are chosen (default l1): ${listMethods().map((m) => m.name).join(', ')}
  --sparsity S      fraction of prunable channels to remove, 0 ≤ S < 1 (K = round((1−S)·n) kept)
  --out FILE        where to write the pruned model (never the input, unless --force)
  --seed N          seed for stochastic methods (default 0)
  --floor R         every group keeps at least max(1, ⌈R·C⌉) channels (default 0.1)
  --round-to M      round each group's kept count to a multiple of M (default 1: off)
  --input-shape S   shape for shapes and MACs, e.g. 1,3,128,128 (default: the model's, with
                    batch 1 and symbolic height/width 128)
  --strict          fail on ops the channel analysis does not know instead of locking them
  --allow-layernorm-pruning
                    also prune channels a LayerNorm normalises together (ConvNeXt); the kept
                    channels are then renormalised, so the result needs fine-tuning
  --force           allow --out to be the input model`;

export interface PruneRequest {
  model: string;
  out: string;
  method: string;
  sparsity: number;
  seed: number;
  floor: number;
  roundTo: number;
  inputShape?: number[] | Record<string, number[]>;
  strict: boolean;
  /** Opt-in: prune channels under a LayerNorm over the channel axis (statistics change). */
  allowLayerNormPruning?: boolean;
  force: boolean;
}

export interface PruneOutcome {
  request: PruneRequest;
  inputShapes: Record<string, number[]>;
  deps: DependencyAnalysis;
  keep: Uint8Array;
  before: ModelCost;
  after: ModelCost;
  /** Notes for the user (defaults that were filled in). */
  notes: string[];
}

export function parsePruneArgs(args: string[]): PruneRequest | 'help' {
  const { values, positionals } = parseCliArgs(
    args,
    {
      method: { type: 'string' },
      sparsity: { type: 'string' },
      out: { type: 'string', short: 'o' },
      seed: { type: 'string' },
      floor: { type: 'string' },
      'round-to': { type: 'string' },
      'input-shape': { type: 'string', multiple: true },
      strict: { type: 'boolean' },
      'allow-layernorm-pruning': { type: 'boolean' },
      force: { type: 'boolean' },
    },
    USAGE(),
  );
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new CliError(positionals.length === 0 ? 'missing the model file' : `expected one model file, got ${positionals.length}`, USAGE());
  if (values.sparsity === undefined) throw new CliError('missing --sparsity (e.g. --sparsity 0.36)', USAGE());
  if (!values.out) throw new CliError('missing --out (where to write the pruned model)', USAGE());
  const sparsity = numberOption(values.sparsity as string, 'sparsity', 0);
  try {
    checkSparsity(sparsity);
  } catch (e) {
    throw new CliError(`--sparsity: ${(e as Error).message}`);
  }
  const roundTo = numberOption(values['round-to'] as string | undefined, 'round-to', 1);
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new CliError(`--round-to must be a positive integer, got ${values['round-to']}`);
  const floor = numberOption(values.floor as string | undefined, 'floor', 0.1);
  if (!(floor >= 0 && floor <= 1)) throw new CliError(`--floor must be in [0, 1], got ${values.floor}`);
  const seed = numberOption(values.seed as string | undefined, 'seed', 0);
  if (!Number.isInteger(seed)) throw new CliError(`--seed must be an integer, got ${values.seed}`);
  const method = (values.method as string | undefined) ?? 'l1';
  try {
    getMethod(method);
  } catch (e) {
    // The pipeline's methods are not in the data-free registry; calling them unknown sends users looking for a typo.
    if ((METHODS as readonly string[]).includes(method)) {
      throw new CliError(`method '${method}' is data-driven: it needs --data DIR (calibration images, docs/DATA.md); without data use ${listMethods().map((m) => m.name).join(' or ')}`);
    }
    throw new CliError((e as Error).message);
  }
  return {
    model: positionals[0]!,
    out: values.out as string,
    method,
    sparsity,
    seed,
    floor,
    roundTo,
    inputShape: parseInputShapeOption(values['input-shape'] as string[] | undefined),
    strict: !!values.strict,
    allowLayerNormPruning: !!values['allow-layernorm-pruning'],
    force: !!values.force,
  };
}

/** Concrete input shapes: the given ones, else the model's with batch 1 and symbolic spatial dims 128. */
function chooseInputShapes(model: OnnxModel, given: PruneRequest['inputShape'], notes: string[]): Record<string, number[]> {
  try {
    return resolveInputShapes(model, given);
  } catch (err) {
    if (given || !(err instanceof ShapeInferenceError) || err.code !== 'symbolic-input') throw err;
  }
  const out: Record<string, number[]> = {};
  for (const v of model.realInputs) {
    const t = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
    const dims = t?.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1));
    if (!dims) throw new CliError(`input '${v.name}' declares no shape; give --input-shape`);
    out[v.name] = dims.map((d, i) => (d > 0 ? d : i === 0 ? 1 : 128));
  }
  notes.push(`input shape ${Object.values(out).map((d) => d.join('×')).join(', ')} (symbolic dims filled in; set --input-shape to change)`);
  return out;
}

/**
 * Runs the whole prune; no printing, so tests and other front ends can call it. All or nothing:
 * the output is committed last, after every check and the last look at `signal`; an abort before
 * that rejects with CancelledError and leaves no file.
 */
export async function runPrune(req: PruneRequest, log: (line: string) => void = () => undefined, signal?: AbortSignal): Promise<PruneOutcome> {
  const notes: string[] = [];
  // Before any work, so a bad --out fails at once rather than after the export.
  await guardOutputs({ model: req.model, externalData: () => externalDataFilesOf(req.model) }, [req.out], { allowModel: req.force });
  const lock = acquireOutputLock(req.out);
  try {
    return await pruneLocked(req, notes, log, signal);
  } finally {
    lock.release();
  }
}

async function pruneLocked(req: PruneRequest, notes: string[], log: (line: string) => void, signal?: AbortSignal): Promise<PruneOutcome> {
  const model = await loadModel(req.model);
  normalizeGraph(model);
  const inputShapes = chooseInputShapes(model, req.inputShape, notes);
  const shapes: ShapeMap = await inferShapes(model, inputShapes);
  const deps = analyzeDependencies(model, shapes, { strict: req.strict, allowLayerNormPruning: req.allowLayerNormPruning });
  notes.push(...(deps.notes ?? []));
  if (deps.variables.length === 0) {
    throw new PruneError('no-variables', `no prunable channels found in '${req.model}' (${deps.locked.length} tensors locked; run 'qubo-prune analyze' to see why)`);
  }
  checkRoundTo(deps, req.roundTo, '--round-to');
  const floors = groupFloors(deps, req.floor);
  log(`${deps.groups.length} groups, ${deps.variables.length} prunable channels; floors keep at least ${floors.reduce((a, b) => a + b, 0)}`);
  const method = getMethod(req.method);
  if (method.needsData) throw new CliError(`method '${req.method}' needs calibration data, which this command does not take yet`);
  throwIfCancelled(signal);
  const keep = await method.run({ model, deps, shapes, sparsity: req.sparsity, seed: req.seed, mask: { floor: req.floor, roundTo: req.roundTo }, log });
  throwIfCancelled(signal);
  const firstShape = Object.values(inputShapes)[0]!;
  const pruned = exportPruned(model, deps, keep);
  await validatePruned(pruned, model.realInputs.length === 1 ? firstShape : undefined, model);
  const before = countCost(model, shapes);
  const after = countCost(pruned, await inferShapes(pruned, inputShapes));
  await pruned.save(req.out, { allowOverwriteSource: req.force, beforeCommit: () => throwIfCancelled(signal) });
  return { request: req, inputShapes, deps, keep, before, after, notes };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function change(a: number, b: number): string {
  if (a === 0) return '';
  const pct = ((b - a) / a) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

export function formatPruneReport(o: PruneOutcome): string {
  const r = o.request;
  const kept = o.keep.reduce((a, b) => a + b, 0);
  const lines: string[] = [];
  lines.push(`model    ${r.model}`);
  for (const n of o.notes) lines.push(`note     ${n}`);
  lines.push(`method   ${r.method}, sparsity ${r.sparsity}: kept ${kept} of ${o.deps.variables.length} prunable channels (floor ${r.floor}${r.roundTo > 1 ? `, round-to ${r.roundTo}` : ''})`);
  lines.push('');
  const w = Math.max(12, fmt(o.before.macs).length + 2);
  lines.push(`${''.padEnd(8)}${'before'.padStart(w)}${'after'.padStart(w)}${'change'.padStart(9)}`);
  lines.push(`${'params'.padEnd(8)}${fmt(o.before.params).padStart(w)}${fmt(o.after.params).padStart(w)}${change(o.before.params, o.after.params).padStart(9)}`);
  lines.push(`${'MACs'.padEnd(8)}${fmt(o.before.macs).padStart(w)}${fmt(o.after.macs).padStart(w)}${change(o.before.macs, o.after.macs).padStart(9)}`);
  lines.push('');
  lines.push('groups (kept / total)');
  const summary = maskSummary(o.deps, o.keep);
  const idw = Math.min(48, Math.max(...summary.map((s) => s.group.length)));
  for (const s of summary) lines.push(`  ${s.group.padEnd(idw)}  ${String(s.kept).padStart(4)} / ${s.total}`);
  if (o.deps.locked.length > 0) {
    lines.push('');
    lines.push('locked (not pruned)');
    for (const l of o.deps.locked) lines.push(`  ${l.source}: ${l.channels} channel${l.channels === 1 ? '' : 's'}, ${l.reason}`);
  }
  lines.push('');
  lines.push(`wrote ${r.out} (loaded and run in onnxruntime)`);
  return lines.join('\n') + '\n';
}

export const pruneCommand: CliCommand = {
  summary: 'prune a model: the whole pipeline with --data, or data-free (l1 | random)',
  async run(args) {
    // With data the whole pipeline runs; without, the data-free methods below.
    if (args.some((a) => a === '--data' || a.startsWith('--data='))) {
      return (await import('./prunePipeline')).runPrunePipeline(args);
    }
    const req = parsePruneArgs(args);
    if (req === 'help') {
      // Both forms: the pipeline (with --data) is the main one.
      const { PIPELINE_USAGE } = await import('./prunePipeline');
      process.stdout.write(`${PIPELINE_USAGE}\n\nWithout --data (data-free methods):\n\n${USAGE()}\n`);
      return EXIT.ok;
    }
    const controller = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ncancelling…\n');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      const outcome = await runPrune(req, (line) => process.stderr.write(line + '\n'), controller.signal);
      if (controller.signal.aborted) process.stderr.write('the interrupt came after the output was written; it is complete and kept\n');
      process.stdout.write(formatPruneReport(outcome));
      return EXIT.ok;
    } catch (err) {
      // Nothing is committed before the last check, so any failure after an interrupt left no file.
      return reportFailure(err, (text) => process.stderr.write(text), 'qubo-prune prune: ', controller.signal);
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

// `qubo-prune analyze`: shapes, layers, channel groups and locked channels of a model, as a table
// and optionally as the JSON document described in docs/ANALYSIS.md.
import * as path from 'node:path';
import { analyzeAtSize, type OpenSizeChoice } from '../../core/analysis/openSize';
import { formatAnalysisText, type AnalysisDocument } from '../../core/analysis/report';
import type { InputShapeSpec } from '../../core/analysis/shapes';
import { BUILTIN_PRESETS, PresetError, resolvePreset } from '../../core/presets';
import { loadModel, normalizeGraph } from '../../core/onnx';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { guardOutputs, OutputError } from '../../core/util/outputGuard';
import { externalDataFilesOf } from '../../core/onnx';
import { numberOption, parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { EXIT } from '../exitCodes';
import type { CliCommand } from '../command';

/** Size of open dims when neither --size nor --preset names one: quboPrune.analysisSize's default, so the CLI and the extension agree. */
export const DEFAULT_ANALYSIS_SIZE = 256;

const USAGE = `usage: qubo-prune analyze <model.onnx> [--input-shape 1,3,256,256 | --size N | --preset NAME] [--json out.json] [--strict]

  --input-shape S  shape to analyse at, e.g. 1,3,256,256 (default: the model's, with batch 1 and
                   open height/width as below; the output says which size); for several inputs
                   repeat it as NAME=1,3,256,256
  --size N         open height/width of the model's input are N (default ${DEFAULT_ANALYSIS_SIZE})
  --preset NAME    open height/width are the preset's patch, the size 'prune --preset NAME' runs at
                   (${Object.keys(BUILTIN_PRESETS).join(' | ')})
  --json FILE      also write the analysis document (docs/ANALYSIS.md) to FILE; '-' prints it
                   to stdout instead of the table
  --strict         exit with status 1 when the model has unknown ops or unresolved channels`;

function parseDims(text: string, label: string): number[] {
  const parts = text.split(/[,x×]/).map((p) => p.trim());
  const dims = parts.map(Number);
  if (parts.some((p) => p === '') || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new CliError(`${label} must be positive integers separated by commas, e.g. 1,3,256,256 (got '${text}')`);
  }
  return dims;
}

/** `1,3,256,256` for a single-input model, or `name=1,3,256,256` per input. */
export function parseInputShapeOption(values: string[] | undefined): InputShapeSpec | undefined {
  if (!values || values.length === 0) return undefined;
  const named = values.filter((v) => v.includes('='));
  if (named.length === 0) {
    if (values.length > 1) throw new CliError('--input-shape given more than once; for several inputs write NAME=DIMS each time');
    return parseDims(values[0]!, '--input-shape');
  }
  if (named.length !== values.length) throw new CliError('--input-shape: either one unnamed shape, or NAME=DIMS for every input');
  const byName: Record<string, number[]> = {};
  for (const v of named) {
    const at = v.indexOf('=');
    const name = v.slice(0, at).trim();
    if (!name) throw new CliError(`--input-shape '${v}' names no input`);
    if (byName[name]) throw new CliError(`--input-shape given twice for input '${name}'`);
    byName[name] = parseDims(v.slice(at + 1), `--input-shape for '${name}'`);
  }
  return byName;
}

export interface AnalyzeResult {
  exitCode: number;
  /** What goes to stdout. */
  stdout: string;
  /** Messages for stderr (strict-mode failures, where the JSON went). */
  stderr: string;
  document?: AnalysisDocument;
}

/** Problems that `--strict` turns into a failure. */
export function strictProblems(doc: AnalysisDocument): string[] {
  const problems: string[] = [];
  if (doc.unknownOps.length > 0) problems.push(`unknown ops: ${doc.unknownOps.join(', ')}`);
  const unresolved = doc.locked.filter((l) => l.reason === 'unresolved' || l.reason === 'unknown-op');
  if (unresolved.length > 0) problems.push(`${unresolved.reduce((s, l) => s + l.channels, 0)} channels locked because their coupling is not understood`);
  if (!doc.dependenciesAnalysed) problems.push('dependency analysis unavailable');
  return problems;
}

/**
 * The side of the model's open height/width: --size, or the preset's patch (what `prune --preset`
 * analyses at, so the two commands' figures agree), or the default; the note names which.
 */
export function openSizeOption(size: string | undefined, preset: string | undefined, shapeGiven: boolean): OpenSizeChoice {
  const given = [size !== undefined && '--size', preset !== undefined && '--preset', shapeGiven && '--input-shape'].filter(Boolean);
  if (given.length > 1) throw new CliError(`${given.join(' and ')} both set the input size; give one`);
  if (size !== undefined) {
    const n = numberOption(size, 'size', 1);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`--size must be a whole number of pixels, at least 1, got '${size}'`);
    return { size: n, source: `--size ${n}` };
  }
  if (preset !== undefined) {
    try {
      const patch = resolvePreset(preset).settings.patch;
      return { size: patch, source: `preset '${preset}': patch ${patch}, as prune uses` };
    } catch (err) {
      if (err instanceof PresetError) throw new CliError(`--preset: ${err.message}`);
      throw err;
    }
  }
  return { size: DEFAULT_ANALYSIS_SIZE, source: 'default; set --input-shape to change' };
}

/** The command without process I/O, so tests can call it in-process. */
export async function runAnalyze(args: string[]): Promise<AnalyzeResult> {
  const { values, positionals } = parseCliArgs(
    args,
    {
      'input-shape': { type: 'string', multiple: true },
      size: { type: 'string' },
      preset: { type: 'string' },
      json: { type: 'string' },
      strict: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) return { exitCode: EXIT.ok, stdout: USAGE + '\n', stderr: '' };
  if (positionals.length !== 1) {
    throw new CliError(positionals.length === 0 ? 'missing the model file' : `expected one model file, got ${positionals.length}`, USAGE);
  }
  const inputShape = parseInputShapeOption(values['input-shape'] as string[] | undefined);
  const open = openSizeOption(values.size as string | undefined, values.preset as string | undefined, inputShape !== undefined);
  if (values.json && values.json !== '-') {
    // Before any work: the JSON must land neither on the model or its data nor somewhere unwritable.
    const src = positionals[0]!;
    await guardOutputs({ model: src, externalData: () => externalDataFilesOf(src) }, [values.json as string]);
  }
  const file = positionals[0]!;
  const model = await loadModel(file);
  normalizeGraph(model);
  const document = await analyzeAtSize(model, open, { path: file, ...(inputShape ? { inputShape } : {}) });
  const json = values.json as string | undefined;
  const stdout = json === '-' ? JSON.stringify(document, null, 2) + '\n' : formatAnalysisText(document);
  let stderr = '';
  if (json && json !== '-') {
    try {
      await writeFileAtomic(path.resolve(json), JSON.stringify(document, null, 2) + '\n');
    } catch (err) {
      throw err instanceof OutputError ? err : new CliError(`cannot write '${json}': ${(err as Error).message}`);
    }
    stderr += `analysis written to ${json}\n`;
  }
  let exitCode: number = EXIT.ok;
  if (values.strict) {
    const problems = strictProblems(document);
    if (problems.length > 0) {
      stderr += `strict: ${problems.join('; ')}\n`;
      exitCode = EXIT.input;
    }
  }
  return { exitCode, stdout, stderr, document };
}

export const analyzeCommand: CliCommand = {
  summary: 'shapes, layers, MACs and prunable channel groups of an ONNX model',
  async run(args) {
    const result = await runAnalyze(args);
    process.stdout.write(result.stdout);
    if (result.stderr) process.stderr.write(result.stderr);
    return result.exitCode;
  },
};

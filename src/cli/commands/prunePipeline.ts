// `qubo-prune prune model.onnx --data DIR …`: the whole pipeline (calibration, importance, QUBO
// search, TT refinement, export, evaluation) with a preset, a preset file and flag overrides.
import { defaultLatencyCacheDir } from '../../core/latency/cache';
import { budgetOption, numberOption, parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { EXIT } from '../exitCodes';
import { runPipelineCli } from '../pipelineRun';
import { DEFAULT_PRESET, parseJsonc, resolvePreset, PresetError, BUILTIN_PRESETS } from '../../core/presets';
import { defaultOutputFor } from '../../core/pipeline/outputs';
import { readRegularFile } from '../../core/util/readRegularFile';

export const PIPELINE_USAGE = `usage: qubo-prune prune <model.onnx> --data DIR [--preset NAME | --config preset.jsonc]
                        [--out pruned.onnx] [--compare] [--method M] [--sparsity S | --budget K=V] [--provider P]
                        [--seed N] [--time-budget SECONDS] [--input-shape 1,3,H,W] [--noise SPEC]

  --data DIR        calibration / validation / test images (docs/DATA.md)
  --preset NAME     ${Object.keys(BUILTIN_PRESETS).join(' | ')} (default ${DEFAULT_PRESET})
  --config FILE     JSON/JSONC preset overrides (same keys as workspace presets)
  --out FILE        pruned model (default <model>.pruned.onnx); reports are written beside it
  --compare         also run random, l1, taylor, l1-qubo and hybrid at the same sparsity
  --method M        hybrid | taylor | l1-qubo | l1 | random
  --sparsity S      fraction of prunable channels to remove, 0 ≤ S < 1
  --budget K=V      cost budget instead of the sparsity: macs=R, params=R or latencyRatio=R
                    (R = fraction of the original's, in (0, 1]) or latencyMs=T (milliseconds at
                    batch 1 on the run's provider); none = the preset's sparsity (preset key budget)
  --noise SPEC      synthetic noise for a folder of clean images: gaussian:σ (σ in 0–255) or
                    poisson-gaussian:a,b (preset key noise)
  --refine SCOPE    off | layers | network
  --recover-steps N fine-tune the pruned weights by distillation for at most N steps (preset key recover)
  --no-recover      no recovery fine-tuning, whatever the preset says
  --provider P      auto | cpu | webgpu | cuda (the one used is always printed)
  --seed N          seed of every random choice (crops, noise, search, refinement)
  --time-budget S   stop searching and refining so the run ends within about S seconds
  --input-shape S   analysis shape, e.g. 1,3,64,64 (default: the model's, or the preset's patch)`;

export interface PresetFlags {
  preset?: string;
  method?: string;
  sparsity?: string;
  budget?: string;
  provider?: string;
  seed?: string;
  noise?: string;
  refine?: string;
  'recover-steps'?: string;
  'no-recover'?: boolean;
}

/**
 * The settings of a pipeline run: the preset, then the --config file's overrides (parsed, not yet
 * checked), then the flags. Exported so the fuzz suite checks the same merge the command does.
 */
export function pipelinePreset(values: PresetFlags, fileOverrides: unknown): ReturnType<typeof resolvePreset> {
  // Spreading a non-object would hide it (null and numbers vanish, a string becomes '0', '1', …).
  if (fileOverrides !== null && fileOverrides !== undefined && (typeof fileOverrides !== 'object' || Array.isArray(fileOverrides))) {
    throw new CliError(`invalid setting --config: the file must hold one JSON object of settings, got ${Array.isArray(fileOverrides) ? 'an array' : typeof fileOverrides}`);
  }
  const file = (fileOverrides ?? {}) as { refine?: unknown };
  const flags: Record<string, unknown> = {};
  if (values.method !== undefined) flags.method = values.method;
  // `!== undefined`, not truthiness: an empty value must be refused, not replaced by the preset's.
  if (values.sparsity !== undefined) flags.sparsity = numberOption(values.sparsity, 'sparsity', 0);
  if (values.budget !== undefined) flags.budget = budgetOption(values.budget);
  if (values.provider !== undefined) flags.provider = values.provider;
  if (values.seed !== undefined) flags.seed = numberOption(values.seed, 'seed', 0);
  if (values.noise !== undefined) flags.noise = values.noise;
  if (values['no-recover'] && values['recover-steps'] !== undefined) throw new CliError('--no-recover and --recover-steps contradict each other; give one');
  // Key by key onto the preset's (or the balanced defaults'), as a preset file's partial `recover` is.
  if (values['no-recover']) flags.recover = false;
  else if (values['recover-steps'] !== undefined) flags.recover = { ...(isPlainObject((file as { recover?: unknown }).recover) ? ((file as { recover: object }).recover) : {}), steps: numberOption(values['recover-steps'], 'recover-steps', 0) };
  // A non-object 'refine' in the file goes through as is, so validation names it.
  let refine = file.refine;
  if (values.refine !== undefined && (refine === undefined || isPlainObject(refine))) refine = { ...(refine ?? {}), scope: values.refine };
  try {
    return resolvePreset(values.preset ?? DEFAULT_PRESET, {}, { ...file, ...flags, ...(refine === undefined ? {} : { refine }) });
  } catch (err) {
    if (err instanceof PresetError) throw new CliError(`invalid setting ${err.message}`);
    throw err;
  }
}

function isPlainObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function runPrunePipeline(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    args,
    {
      data: { type: 'string' },
      preset: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      compare: { type: 'boolean' },
      method: { type: 'string' },
      sparsity: { type: 'string' },
      budget: { type: 'string' },
      provider: { type: 'string' },
      seed: { type: 'string' },
      refine: { type: 'string' },
      'recover-steps': { type: 'string' },
      'no-recover': { type: 'boolean' },
      'time-budget': { type: 'string' },
      'input-shape': { type: 'string' },
      noise: { type: 'string' },
    },
    PIPELINE_USAGE,
  );
  if (values.help) {
    process.stdout.write(PIPELINE_USAGE + '\n');
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new CliError('expected one model file', PIPELINE_USAGE);
  if (!values.data) throw new CliError('--data DIR is required', PIPELINE_USAGE);
  const model = positionals[0]!;
  let fileOverrides: unknown = {};
  if (values.config) {
    let text: string;
    try {
      text = (await readRegularFile(values.config)).toString('utf8');
    } catch (err) {
      throw new CliError(`cannot read --config '${values.config}': ${(err as Error).message}`);
    }
    fileOverrides = parseJsonc(text, values.config);
  }
  const preset = pipelinePreset(values, fileOverrides);
  const inputShape = values['input-shape'] ? values['input-shape'].split(',').map(Number) : undefined;
  if (inputShape && (inputShape.length !== 4 || !inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new CliError(`--input-shape must be four positive integers, e.g. 1,3,128,128 (got '${values['input-shape']}')`);
  }
  return runPipelineCli(
    {
      model,
      data: values.data,
      out: values.out ?? defaultOutputFor(model),
      presetName: preset.name,
      settings: preset.settings,
      compare: !!values.compare,
      timeBudgetSeconds: numberOption(values['time-budget'], 'time-budget', 0),
      ...(inputShape ? { inputShape } : {}),
      latencyCacheDir: defaultLatencyCacheDir(),
    },
    { stdout: process.stdout, stderr: process.stderr },
  );
}

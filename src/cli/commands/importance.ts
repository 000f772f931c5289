// `qubo-prune importance`: per-channel L1, L2, Taylor and Fisher scores (and the activation
// similarity the QUBO uses) from one calibration pass, as a JSON document.
import * as path from 'node:path';
import type { CliCommand } from '../command';
import { numberOption, parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { EXIT } from '../exitCodes';
import { prepareImportance } from '../../core/pipeline/prepare';
import { DEFAULT_SETTINGS, validateOverrides, mergeSettings } from '../../core/presets';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { guardOutputs } from '../../core/util/outputGuard';
import { externalDataFilesOf } from '../../core/onnx';
import { ProgressPrinter } from '../progress';
import type { StageName } from '../../protocol';

const USAGE = `usage: qubo-prune importance <model.onnx> --data DIR [--samples N] [--patch P] [--noise SPEC]
                             [--resize N|auto] [--normalize none|imagenet]
                             [--provider auto|cpu|webgpu|cuda] [--seed S] [--json out.json] [--similarity]

  --data DIR      calibration data (see docs/DATA.md); the calibration split is used
  --samples N     calibration samples (default ${DEFAULT_SETTINGS.samples})
  --patch P       square crop size (default ${DEFAULT_SETTINGS.patch}; the model's own size if fixed)
  --resize N|auto classifier images: shorter side to N pixels before the centre crop ('auto' = crop / 0.875)
  --normalize M   model-input normalisation: none (default) or imagenet
  --json FILE     where to write the scores ('-' = stdout, the default)
  --similarity    include each group's activation |cos| matrix`;

const r6 = (x: number) => Number(x.toPrecision(6));

export const importanceCommand: CliCommand = {
  summary: 'per-channel importance scores (L1, L2, Taylor, Fisher) from calibration data',
  async run(args) {
    const { values, positionals } = parseCliArgs(
      args,
      {
        data: { type: 'string' },
        samples: { type: 'string' },
        patch: { type: 'string' },
        noise: { type: 'string' },
        resize: { type: 'string' },
        normalize: { type: 'string' },
        provider: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        similarity: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new CliError('expected one model file', USAGE);
    if (!values.data) throw new CliError('--data DIR is required', USAGE);
    const overrides = validateOverrides({
      ...(values.samples ? { samples: numberOption(values.samples, 'samples', 0) } : {}),
      ...(values.patch ? { patch: numberOption(values.patch, 'patch', 0) } : {}),
      ...(values.seed ? { seed: numberOption(values.seed, 'seed', 0) } : {}),
      ...(values.noise ? { noise: values.noise } : {}),
      ...(values.resize ? { resize: values.resize === 'auto' ? 'auto' : numberOption(values.resize, 'resize', 0) } : {}),
      ...(values.normalize ? { normalize: values.normalize } : {}),
      ...(values.provider ? { provider: values.provider } : {}),
    });
    const settings = mergeSettings(DEFAULT_SETTINGS, overrides);
    if (values.json && values.json !== '-') {
      // Before calibration, which takes a while: the scores must not land on the model or its data.
      const src = positionals[0]!;
      await guardOutputs({ model: src, externalData: () => externalDataFilesOf(src) }, [values.json]);
    }
    const progress = new ProgressPrinter(process.stderr);
    const stage = async <T>(name: StageName, fn: () => Promise<T>) => {
      progress.handle({ type: 'stage-start', stage: name });
      const t = performance.now();
      const r = await fn();
      progress.handle({ type: 'stage-end', stage: name, seconds: (performance.now() - t) / 1000 });
      return r;
    };
    const prep = await prepareImportance(
      { model: positionals[0]!, data: values.data, settings, segmentation: true },
      { emit: (e) => progress.handle(e), log: (m, level = 'info') => progress.handle({ type: 'log', level, message: m }), stage },
    );
    const { a, imp, calibration } = prep;
    const doc = {
      schemaVersion: 1,
      kind: 'qubo-prune.importance',
      model: path.resolve(positionals[0]!),
      data: prep.data.describe(),
      task: { task: prep.a.task.task, reason: prep.a.task.reason },
      provider: prep.provider,
      calibration: { samples: calibration.samples, meanLoss: calibration.meanLoss },
      groups: a.deps.groups.map((g, gi) => ({
        id: g.id,
        size: g.size,
        nodes: g.nodes,
        initializers: g.initializers,
        channels: Array.from(g.variables, (v) => ({
          producer: a.deps.variables[v]!.producer,
          channel: a.deps.variables[v]!.channel,
          l1: r6(imp.scores.l1[v]!),
          l2: r6(imp.scores.l2[v]!),
          taylor: r6(imp.scores.taylor[v]!),
          fisher: r6(imp.scores.fisher[v]!),
        })),
        ...(values.similarity ? { similarity: Array.from(imp.terms[gi]!.activationSimilarity, r6) } : {}),
      })),
    };
    const text = JSON.stringify(doc, null, 1) + '\n';
    if (!values.json || values.json === '-') process.stdout.write(text);
    else {
      await writeFileAtomic(path.resolve(values.json), text);
      process.stderr.write(`scores for ${a.deps.variables.length} channels in ${a.deps.groups.length} groups written to ${values.json}\n`);
    }
    return EXIT.ok;
  },
};

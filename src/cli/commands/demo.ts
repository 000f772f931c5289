import * as path from 'node:path';
import { existsSync, promises as fsp } from 'node:fs';
import type { CliCommand } from '../command';
import { parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { runPipelineCli } from '../pipelineRun';
import { DEFAULT_PRESET, resolvePreset } from '../../core/presets';

const USAGE = `usage: qubo-prune demo [--preset NAME] [--out DIR] [--provider auto|cpu|webgpu|cuda]

Prunes the bundled example model (a trained Half-UNet-style denoiser) on the bundled photographs
with the default preset and writes the pruned model and its reports to DIR (default ./demo-output).`;

/** The repository root, whether running from dist/ (bundled) or src/cli/commands (tsx). */
function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'fixtures'))) return dir;
    dir = path.dirname(dir);
  }
  throw new CliError('the bundled example (test/fixtures/) was not found next to this installation');
}

export const demoCommand: CliCommand = {
  summary: 'prune the bundled example model end to end',
  async run(args) {
    const { values } = parseCliArgs(args, { preset: { type: 'string' }, out: { type: 'string' }, provider: { type: 'string' } }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    const root = projectRoot();
    const outDir = path.resolve(values.out ?? 'demo-output');
    const preset = resolvePreset(values.preset ?? DEFAULT_PRESET, {}, values.provider ? { provider: values.provider } : {});
    // Recovery on, but capped so it adds at most ~25 s to the demo (the preset's own budget is 60 s).
    if (preset.settings.recover) preset.settings.recover = { ...preset.settings.recover, timeBudget: Math.min(25, preset.settings.recover.timeBudget || 25) };
    const model = path.join(root, 'test', 'fixtures', 'halfunet.onnx');
    // The demo's --out names a folder it owns, so it makes it (the pipeline never creates folders);
    // if that fails, the pipeline's output check says why in one line.
    await fsp.mkdir(outDir, { recursive: true }).catch(() => undefined);
    process.stderr.write(`demo: pruning ${path.relative(process.cwd(), model) || model} with preset '${preset.name}' (${preset.settings.method}, sparsity ${preset.settings.sparsity})\n`);
    return runPipelineCli(
      {
        model,
        data: path.join(root, 'test', 'fixtures', 'data'),
        out: path.join(outDir, 'halfunet.pruned.onnx'),
        presetName: preset.name,
        settings: preset.settings,
        compare: true,
        timeBudgetSeconds: 0,
      },
      { stdout: process.stdout, stderr: process.stderr },
    );
  },
};

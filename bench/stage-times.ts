// Per-stage wall times of one whole pipeline run (test/fixtures/halfunet.onnx on the bundled
// photographs, a preset, one execution provider), timed from the stage-start/stage-end events as
// a user sees them. Prints a Markdown header and row, and the provider that actually ran.
//
//   node --import tsx bench/stage-times.ts cpu|webgpu|cuda|auto [--preset balanced] [--json out.json]
//   node dist/bench/stage-times.js webgpu          (bundled: `npm run build`; for the GPU machine)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../src/core/pipeline';
import { resolvePreset, PROVIDERS } from '../src/core/presets';
import { STAGES, type ProviderChoice, type StageName } from '../src/protocol';

const USAGE = 'usage: stage-times <cpu|webgpu|cuda|auto> [--preset NAME] [--json FILE]';

/** The repository root from bench/ (tsx) or dist/bench/ (bundled). */
function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'fixtures', 'halfunet.onnx'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`test/fixtures/halfunet.onnx not found above ${__dirname}`);
}

async function main(argv: string[]): Promise<number> {
  const provider = argv[0] as ProviderChoice | undefined;
  const opt = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  if (!provider || !PROVIDERS.includes(provider)) {
    process.stderr.write(`${USAGE}\n`);
    return 1;
  }
  const root = projectRoot();
  const preset = resolvePreset(opt('preset', 'balanced'), {}, { provider });
  const out = mkdtempSync(path.join(tmpdir(), 'qp-stage-times-'));
  const starts = new Map<StageName, number>();
  const wall: Partial<Record<StageName, number>> = {};
  const skipped = new Set<StageName>();
  let used = '?';
  let skippedProviders: string[] = [];
  const t0 = performance.now();
  try {
    const summary = await runPipeline(
      {
        model: path.join(root, 'test', 'fixtures', 'halfunet.onnx'),
        data: path.join(root, 'test', 'fixtures', 'data'),
        out: path.join(out, 'halfunet.pruned.onnx'),
        presetName: preset.name,
        settings: preset.settings,
        compare: false,
        timeBudgetSeconds: 0,
      },
      {
        onEvent: (e) => {
          if (e.type === 'stage-start') starts.set(e.stage, performance.now());
          else if (e.type === 'stage-end') {
            wall[e.stage] = (performance.now() - starts.get(e.stage)!) / 1000;
            if (e.skipped) skipped.add(e.stage);
          } else if (e.type === 'provider') {
            used = e.provider;
            skippedProviders = e.skipped;
          }
        },
      },
    );
    const total = (performance.now() - t0) / 1000;
    // Data loading and session creation happen between stages.
    const other = total - STAGES.reduce((a, s) => a + (wall[s] ?? 0), 0);
    const cell = (s: StageName) => (skipped.has(s) ? 'skipped' : (wall[s] ?? 0).toFixed(2));
    const lines = [
      `| requested → used | ${STAGES.join(' | ')} | between stages | total (s) | PSNR before → after (dB) |`,
      `|---|${STAGES.map(() => '---:').join('|')}|---:|---:|---|`,
      `| ${provider} → ${used} | ${STAGES.map(cell).join(' | ')} | ${other.toFixed(2)} | ${total.toFixed(2)} | ${summary.before.psnr?.toFixed(2)} → ${summary.after.psnr?.toFixed(2)} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\n`);
    process.stdout.write(`preset ${preset.name}; provider used: ${used}${skippedProviders.length ? ` (skipped: ${skippedProviders.join('; ')})` : ''}\n`);
    process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}\n`);
    const json = opt('json', '');
    if (json) writeFileSync(json, JSON.stringify({ requested: provider, used, skippedProviders, preset: preset.name, settings: preset.settings, stageSeconds: wall, skipped: [...skipped], betweenStages: other, total, psnr: { before: summary.before.psnr, after: summary.after.psnr }, node: process.version, cpus: cpus().length }, null, 1) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`stage-times (${provider}): ${(err as Error).message}\n`);
    return 2;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));

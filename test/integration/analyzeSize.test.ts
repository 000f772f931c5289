// `qubo-prune analyze` sizes an open input as `prune` would: --preset takes the preset's patch,
// --size a given side; the note says which, and two size options at once are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runAnalyze } from '../../src/cli/commands/analyze';
import { resolvePreset } from '../../src/core/presets';
import { CliError } from '../../src/cli/cliError';

const model = path.join(__dirname, '..', 'fixtures', 'dncnn.onnx');
const skip = existsSync(model) ? false : 'test/fixtures/dncnn.onnx missing: run tools/make_fixtures.py';

test('--preset analyses open height/width at the preset\'s patch, the size prune runs at', { skip }, async () => {
  const patch = resolvePreset('fast').settings.patch;
  const r = await runAnalyze([model, '--preset', 'fast']);
  assert.deepEqual(r.document!.inputShape, [1, 3, patch, patch]);
  assert.match(r.stdout, new RegExp(`figures are for input 1×3×${patch}×${patch} \\(preset 'fast': patch ${patch}, as prune uses\\)`));
  const sized = await runAnalyze([model, '--size', String(patch)]);
  assert.deepEqual(sized.document!.totals, r.document!.totals);
  assert.match(sized.document!.warnings[0]!, new RegExp(`\\(--size ${patch}\\)$`));
});

test('two ways of giving the size, a bad size or an unknown preset are refused by name', { skip }, async () => {
  await assert.rejects(runAnalyze([model, '--size', '64', '--preset', 'fast']), (e: unknown) => e instanceof CliError && /--size and --preset both set the input size/.test(e.message));
  await assert.rejects(runAnalyze([model, '--size', '64', '--input-shape', '1,3,64,64']), /--size and --input-shape/);
  await assert.rejects(runAnalyze([model, '--size', '0']), /--size must be a whole number of pixels, at least 1/);
  await assert.rejects(runAnalyze([model, '--preset', 'nope']), /unknown preset 'nope'/);
});

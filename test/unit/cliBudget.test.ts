import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetOption } from '../../src/cli/args';
import { pipelinePreset } from '../../src/cli/commands/prunePipeline';
import { CliError } from '../../src/cli/cliError';

test('--budget KIND=VALUE becomes the preset key budget', () => {
  assert.deepEqual(budgetOption('macs=0.5'), { macs: 0.5 });
  assert.deepEqual(budgetOption(' params = .4 '), { params: 0.4 });
  assert.deepEqual(budgetOption('latencyMs=8'), { latencyMs: 8 });
  assert.deepEqual(budgetOption('latencyRatio=1'), { latencyRatio: 1 });
  assert.equal(budgetOption('none'), null);
  assert.deepEqual(pipelinePreset({ budget: 'macs=0.3' }, {}).settings.budget, { macs: 0.3 });
  // The flag replaces a budget from the --config file, and `none` clears it.
  assert.deepEqual(pipelinePreset({ budget: 'params=0.6' }, { budget: { macs: 0.3 } }).settings.budget, { params: 0.6 });
  assert.equal(pipelinePreset({ budget: 'none' }, { budget: { macs: 0.3 } }).settings.budget, null);
});

test('--budget refuses malformed values with a message naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /needs a value/],
    ['0.5', /must be KIND=VALUE/],
    ['flops=0.5', /unknown kind 'flops'/],
    ['macs=', /must be a number, got ''/],
    ['macs=half', /must be a number/],
    ['macs=0x1', /must be a number/],
    ['macs=0', /fraction of the original's in \(0, 1\]/],
    ['macs=-0.2', /must be a number/],
    ['params=50', /for 50% write params=0\.5/],
    ['latencyMs=0', /positive number of milliseconds/],
  ];
  for (const [v, re] of cases) assert.throws(() => budgetOption(v), (e: unknown) => e instanceof CliError && re.test(e.message), v);
});

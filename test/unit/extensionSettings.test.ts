import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  buildPruneRequest,
  dataFolderSettingValue,
  outputPathFor,
  presetChoices,
  readSettings,
  resolveDataFolder,
  resolveRunSettings,
  SettingsError,
} from '../../src/extension/settingsMapping';
import { DEFAULT_SETTINGS } from '../../src/core/presets';

function settingOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SettingsError, `expected SettingsError, got ${err}`);
    assert.equal(err.code, 'invalid-setting');
    assert.ok(err.message.includes(err.setting), 'the message names the setting');
    return err.setting;
  }
  assert.fail('expected a SettingsError');
}

describe('readSettings', () => {
  test('empty configuration gives the documented defaults', () => {
    const s = readSettings({});
    assert.deepEqual(s, { defaultPreset: 'balanced', presets: {}, dataFolder: '', provider: 'auto', outputNaming: '${name}.pruned.onnx', analysisSize: 256 });
  });

  test('user presets are validated and kept', () => {
    const s = readSettings({ presets: { tiny: { sparsity: 0.5, refine: { scope: 'off' } } }, defaultPreset: 'tiny' });
    assert.equal(s.defaultPreset, 'tiny');
    assert.deepEqual(s.presets.tiny, { sparsity: 0.5, refine: { scope: 'off' } });
  });

  test('a bad value inside a preset names the full dotted setting', () => {
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { refine: { rank: 99 } } } })), 'quboPrune.presets.tiny.refine.rank');
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { sparsity: 1 } } })), 'quboPrune.presets.tiny.sparsity');
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { colour: 'red' } } })), 'quboPrune.presets.tiny.colour');
  });

  test('other settings are checked by name', () => {
    assert.equal(settingOf(() => readSettings({ defaultPreset: 'nope' })), 'quboPrune.defaultPreset');
    assert.equal(settingOf(() => readSettings({ defaultPreset: 3 })), 'quboPrune.defaultPreset');
    assert.equal(settingOf(() => readSettings({ provider: 'tpu' })), 'quboPrune.provider');
    assert.equal(settingOf(() => readSettings({ dataFolder: 7 })), 'quboPrune.dataFolder');
    assert.equal(settingOf(() => readSettings({ presets: [] })), 'quboPrune.presets');
    assert.equal(settingOf(() => readSettings({ presets: { 'bad name!': {} } })), 'quboPrune.presets');
  });

  test('the new preset keys are checked in workspace presets with their full path', () => {
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { budget: { macs: 1.5 } } } })), 'quboPrune.presets.tiny.budget.macs');
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { budget: { macs: 0.5, params: 0.5 } } } })), 'quboPrune.presets.tiny.budget');
    assert.equal(settingOf(() => readSettings({ presets: { tiny: { recover: { distill: 'logits' } } } })), 'quboPrune.presets.tiny.recover.distill');
    const s = readSettings({ presets: { tiny: { budget: { latencyRatio: 0.5 }, recover: false } } });
    assert.deepEqual(resolveRunSettings(s, 'tiny').settings.budget, { latencyRatio: 0.5 });
    assert.equal(resolveRunSettings(s, 'tiny').settings.recover, false);
  });

  test('analysisSize is a whole number of pixels in [8, 8192]', () => {
    assert.equal(readSettings({ analysisSize: 512 }).analysisSize, 512);
    for (const bad of [4, 100.5, 'big', 9000]) assert.equal(settingOf(() => readSettings({ analysisSize: bad })), 'quboPrune.analysisSize', String(bad));
  });

  test('messages say what the value must be', () => {
    assert.throws(() => readSettings({ provider: 'tpu' }), /quboPrune\.provider: must be one of 'auto', 'cpu', 'webgpu', 'cuda', got "tpu"/);
    assert.throws(() => readSettings({ presets: { t: { refine: { rank: 99 } } } }), /quboPrune\.presets\.t\.refine\.rank: must be in \[1, 32\], got 99/);
  });

  test('output naming must keep ${name}, end in .onnx and stay beside the model', () => {
    assert.equal(readSettings({ outputNaming: 'pruned/${name}-${preset}-${sparsity}.onnx' }).outputNaming, 'pruned/${name}-${preset}-${sparsity}.onnx');
    for (const bad of ['${name}.pruned.bin', 'fixed.onnx', '${nam}.onnx', '../${name}.onnx', '/abs/${name}.onnx']) {
      assert.equal(settingOf(() => readSettings({ outputNaming: bad })), 'quboPrune.outputNaming', bad);
    }
  });
});

describe('presets for the QuickPick', () => {
  test('built-ins and user presets, default first, user presets may shadow built-ins', () => {
    const s = readSettings({ defaultPreset: 'mine', presets: { mine: { sparsity: 0.2 }, fast: { samples: 2 } } });
    const choices = presetChoices(s);
    assert.deepEqual(
      choices.map((c) => c.name),
      ['mine', 'fast', 'balanced', 'thorough', 'speed'],
    );
    assert.equal(choices[0]!.isDefault, true);
    assert.equal(choices[0]!.source, 'workspace settings');
    assert.equal(choices[0]!.settings.sparsity, 0.2);
    const fast = choices.find((c) => c.name === 'fast')!;
    assert.equal(fast.source, 'workspace settings (overrides built-in)');
    assert.equal(fast.settings.samples, 2);
    assert.equal(fast.settings.refine.scope, 'off', 'built-in layer still applies under the user override');
    assert.equal(choices.find((c) => c.name === 'thorough')!.source, 'built-in');
  });

  test('the provider setting overrides the preset unless it is auto', () => {
    const withCuda = readSettings({ provider: 'cuda', presets: { p: { provider: 'cpu' } } });
    assert.equal(resolveRunSettings(withCuda, 'p').settings.provider, 'cuda');
    const auto = readSettings({ presets: { p: { provider: 'cpu' } } });
    assert.equal(resolveRunSettings(auto, 'p').settings.provider, 'cpu');
  });

  test('an unknown preset name is reported against defaultPreset', () => {
    assert.equal(settingOf(() => resolveRunSettings(readSettings({}), 'ghost')), 'quboPrune.defaultPreset');
  });
});

describe('paths', () => {
  const model = path.join(path.sep, 'ws', 'models', 'net.onnx');

  test('output naming fills variables relative to the model folder', () => {
    const settings = { ...DEFAULT_SETTINGS, sparsity: 0.36 };
    assert.equal(outputPathFor(model, '${name}.pruned.onnx', { preset: 'fast', settings }), path.join(path.sep, 'ws', 'models', 'net.pruned.onnx'));
    assert.equal(outputPathFor(model, 'out/${name}-${preset}-${sparsity}-${method}.onnx', { preset: 'fast', settings }), path.join(path.sep, 'ws', 'models', 'out', 'net-fast-36-hybrid.onnx'));
  });

  test('a pattern that maps onto the model itself is refused', () => {
    assert.throws(() => outputPathFor(model, '${name}.onnx', { preset: 'x', settings: DEFAULT_SETTINGS }), SettingsError);
  });

  test('data folder: relative to the workspace, ${workspaceFolder}, absolute, or unset', () => {
    const root = path.join(path.sep, 'ws');
    assert.equal(resolveDataFolder('', root), undefined);
    assert.equal(resolveDataFolder('data/x', root), path.join(root, 'data', 'x'));
    assert.equal(resolveDataFolder('${workspaceFolder}/d', root), path.join(root, 'd'));
    assert.equal(resolveDataFolder(path.join(path.sep, 'abs'), root), path.join(path.sep, 'abs'));
    assert.throws(() => resolveDataFolder('rel', undefined), SettingsError);
  });

  test('a chosen folder is remembered relative to the workspace when inside it', () => {
    const root = path.join(path.sep, 'ws');
    assert.equal(dataFolderSettingValue(path.join(root, 'data', 'calib'), root), 'data/calib');
    assert.equal(dataFolderSettingValue(root, root), '.');
    assert.equal(dataFolderSettingValue(path.join(path.sep, 'elsewhere'), root), path.join(path.sep, 'elsewhere'));
  });

  test('buildPruneRequest puts it together', () => {
    const s = readSettings({ presets: { quick: { sparsity: 0.25, samples: 4 } }, outputNaming: '${name}.${preset}.onnx' });
    const req = buildPruneRequest({ model, data: '/d', settings: s, preset: 'quick', compare: true });
    assert.equal(req.presetName, 'quick');
    assert.equal(req.settings.sparsity, 0.25);
    assert.equal(req.settings.samples, 4);
    assert.equal(req.settings.method, DEFAULT_SETTINGS.method);
    assert.equal(req.out, path.join(path.sep, 'ws', 'models', 'net.quick.onnx'));
    assert.equal(req.compare, true);
    assert.equal(req.data, '/d');
  });
});

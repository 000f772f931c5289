// The preset schema: defaults, validation of every key (with dotted paths in errors), and the
// VS Code settings schema in package.json agreeing with it key for key.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_PRESETS, DEFAULT_SETTINGS, PresetError, mergeSettings, resolvePreset, validateOverrides } from '../../src/core/presets';

const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
const presetSchema = pkg.contributes.configuration.properties?.['quboPrune.presets'] ?? pkg.contributes.configuration.find?.((c: { properties: Record<string, unknown> }) => c.properties['quboPrune.presets'])?.properties['quboPrune.presets'];

const rejects = (raw: unknown, setting: string) =>
  assert.throws(() => validateOverrides(raw), (e: unknown) => e instanceof PresetError && e.setting === setting, `expected an error at '${setting}'`);

describe('preset validation', () => {
  test('the benchmark-chosen defaults', () => {
    assert.equal(DEFAULT_SETTINGS.alpha, 0);
    assert.equal(DEFAULT_SETTINGS.beta, 0);
    assert.equal(DEFAULT_SETTINGS.gamma, 0.35);
    assert.equal(DEFAULT_SETTINGS.similarity, 'cosine');
    assert.equal(DEFAULT_SETTINGS.refine.data, 'calib+val');
    assert.equal(DEFAULT_SETTINGS.refine.minGain, 0.1);
  });

  test('new keys are accepted with their types and merged deeply', () => {
    const o = validateOverrides({ gamma: 0.5, similarity: 'pearson', refine: { data: 'val', minGain: 0 } });
    const s = mergeSettings(DEFAULT_SETTINGS, o);
    assert.equal(s.gamma, 0.5);
    assert.equal(s.similarity, 'pearson');
    assert.equal(s.refine.data, 'val');
    assert.equal(s.refine.minGain, 0);
    assert.equal(s.refine.evaluations, DEFAULT_SETTINGS.refine.evaluations, 'untouched refine keys keep their defaults');
  });

  test('bad values name the setting', () => {
    rejects({ gamma: -1 }, 'gamma');
    rejects({ gamma: 'big' }, 'gamma');
    rejects({ similarity: 'euclid' }, 'similarity');
    rejects({ refine: { data: 'test' } }, 'refine.data');
    rejects({ refine: { minGain: -0.1 } }, 'refine.minGain');
    rejects({ refine: { nope: 1 } }, 'refine.nope');
    rejects({ gama: 1 }, 'gama');
  });

  test('every built-in preset resolves to valid settings', () => {
    for (const name of Object.keys(BUILTIN_PRESETS)) {
      const r = resolvePreset(name, {});
      assert.doesNotThrow(() => validateOverrides(JSON.parse(JSON.stringify(r.settings))), name);
    }
  });
});

describe('package.json settings schema', () => {
  test('lists exactly the keys the validator accepts, top level and refine', () => {
    assert.ok(presetSchema, 'quboPrune.presets not found in package.json');
    const props = presetSchema.additionalProperties.properties as Record<string, { properties?: Record<string, unknown> }>;
    assert.deepEqual(Object.keys(props).sort(), Object.keys(DEFAULT_SETTINGS).sort());
    assert.deepEqual(Object.keys(props.refine!.properties!).sort(), Object.keys(DEFAULT_SETTINGS.refine).sort());
    // And the validator knows every one of them.
    for (const k of Object.keys(DEFAULT_SETTINGS)) assert.doesNotThrow(() => validateOverrides({ [k]: (DEFAULT_SETTINGS as unknown as Record<string, unknown>)[k] }), k);
  });
});

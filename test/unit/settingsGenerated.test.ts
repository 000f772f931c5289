// What is generated from the settings schemas must match the schemas: package.json's
// contributes.configuration and docs/SETTINGS.md (regenerate with `npm run gen:config`).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { configurationContribution, settingsMarkdown, toVsCodeSchema } from '../../src/core/settings/contribution';
import { PresetOverridesSchema, PruneSettingsSchema } from '../../src/core/settings/schema';
import { BUILTIN_PRESETS, DEFAULT_SETTINGS, resolvePreset } from '../../src/core/presets';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('generated settings outputs', () => {
  test('package.json contributes.configuration is the one generated from the schema', () => {
    assert.deepEqual(pkg.contributes.configuration, configurationContribution(), 'package.json is out of date: run npm run gen:config');
  });

  test('docs/SETTINGS.md is the one generated from the schema', () => {
    assert.equal(readFileSync(path.join(root, 'docs', 'SETTINGS.md'), 'utf8'), settingsMarkdown(), 'docs/SETTINGS.md is out of date: run npm run gen:config');
  });

  test('the defaultPreset choices are exactly the built-in presets', () => {
    const enumOf = pkg.contributes.configuration.properties['quboPrune.defaultPreset'].anyOf.find((b: { enum?: string[] }) => b.enum).enum;
    assert.deepEqual(enumOf, Object.keys(BUILTIN_PRESETS));
  });

  test('the preset schema in package.json lists every setting, new keys included', () => {
    const props = pkg.contributes.configuration.properties['quboPrune.presets'].additionalProperties.properties;
    assert.deepEqual(Object.keys(props).sort(), Object.keys(DEFAULT_SETTINGS).sort());
    for (const k of ['budget', 'recover']) assert.ok(props[k], k);
  });

  test('every built-in preset resolves to settings the full schema accepts', () => {
    for (const name of Object.keys(BUILTIN_PRESETS)) assert.ok(Value.Check(PruneSettingsSchema, JSON.parse(JSON.stringify(resolvePreset(name).settings))), name);
  });

  test('the VS Code form keeps enums and drops the error wording', () => {
    const s = toVsCodeSchema(PresetOverridesSchema) as { properties: Record<string, Record<string, unknown>> };
    assert.deepEqual(s.properties.provider!.enum, ['auto', 'cpu', 'webgpu', 'cuda']);
    assert.ok(!JSON.stringify(s).includes('"expects"'));
  });
});

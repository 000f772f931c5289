// The preset schema: defaults, validation of every key (with dotted paths in errors), the keys
// other features consume (budget, recover), and JSONC preset files.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_PRESETS, DEFAULT_SETTINGS, PresetError, mergeSettings, parseJsonc, resolvePreset, validateOverrides } from '../../src/core/presets';

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

describe('budget and recover', () => {
  test('defaults: no budget; recover off in fast, short in balanced, longer in thorough', () => {
    assert.equal(DEFAULT_SETTINGS.budget, null);
    assert.deepEqual(resolvePreset('balanced').settings.recover, { steps: 300, lr: 1e-3, batch: 4, distill: 'output', timeBudget: 60, patience: 5 });
    assert.equal(resolvePreset('fast').settings.recover, false);
    assert.deepEqual(resolvePreset('thorough').settings.recover, { steps: 2000, lr: 1e-3, batch: 4, distill: 'output', timeBudget: 300, patience: 5 });
  });

  test('a budget takes exactly one of its keys, each in its range', () => {
    for (const ok of [{ macs: 0.5 }, { params: 1 }, { latencyMs: 12.5 }, { latencyRatio: 0.3 }, null]) assert.doesNotThrow(() => validateOverrides({ budget: ok }), JSON.stringify(ok));
    rejects({ budget: { macs: 0 } }, 'budget.macs');
    rejects({ budget: { params: 1.2 } }, 'budget.params');
    rejects({ budget: { latencyMs: -1 } }, 'budget.latencyMs');
    rejects({ budget: { macs: 0.5, params: 0.5 } }, 'budget');
    rejects({ budget: {} }, 'budget');
    rejects({ budget: { flops: 0.5 } }, 'budget');
    rejects({ budget: 0.5 }, 'budget');
    assert.throws(() => validateOverrides({ budget: { macs: 0.5, params: 0.5 } }), /budget: must be an object with exactly one of macs, params, latencyMs, latencyRatio/);
  });

  test('recover: false, null or an object whose keys are checked; partial objects merge', () => {
    rejects({ recover: true }, 'recover');
    rejects({ recover: { steps: -1 } }, 'recover.steps');
    rejects({ recover: { steps: 1.5 } }, 'recover.steps');
    rejects({ recover: { lr: 0 } }, 'recover.lr');
    rejects({ recover: { batch: 0 } }, 'recover.batch');
    rejects({ recover: { distill: 'logits' } }, 'recover.distill');
    rejects({ recover: { timeBudget: 0 } }, 'recover.timeBudget');
    rejects({ recover: { patience: -2 } }, 'recover.patience');
    rejects({ recover: { epochs: 3 } }, 'recover.epochs');
    assert.deepEqual(resolvePreset('balanced', {}, { recover: { steps: 50 } }).settings.recover, { steps: 50, lr: 1e-3, batch: 4, distill: 'output', timeBudget: 60, patience: 5 });
    // Fast has none: a partial recover starts from the balanced values.
    assert.deepEqual(resolvePreset('fast', {}, { recover: { distill: 'features' } }).settings.recover, { steps: 300, lr: 1e-3, batch: 4, distill: 'features', timeBudget: 60, patience: 5 });
    assert.equal(resolvePreset('thorough', {}, { recover: null }).settings.recover, null);
  });

  test('existing settings are unchanged by the new keys', () => {
    const { budget: _b, recover: _r, ...rest } = resolvePreset('balanced').settings;
    const { budget: _b2, recover: _r2, ...fastRest } = resolvePreset('fast').settings;
    assert.equal(rest.sparsity, 0.36);
    assert.equal(fastRest.refine.scope, 'off');
    assert.equal(resolvePreset('balanced', {}, { budget: { macs: 0.5 } }).settings.sparsity, 0.36, 'sparsity stays as it was; consumers decide which constraint applies');
  });
});

describe('JSONC preset files', () => {
  const atFile = (text: string, where: string) =>
    assert.throws(() => parseJsonc(text, 'p.jsonc'), (e: unknown) => e instanceof PresetError && e.setting === `p.jsonc:${where}`, `expected an error at ${where}`);

  test("strings may hold ',]', '//' and '/*' as they are", () => {
    assert.deepEqual(parseJsonc('{ "noise": "a,]b,}c", "x": "// not a comment", "y": "/* nor this */" }', 'p.jsonc'), { noise: 'a,]b,}c', x: '// not a comment', y: '/* nor this */' });
    assert.deepEqual(parseJsonc('{ "s": "quote \\" then ,]" }', 'p.jsonc'), { s: 'quote " then ,]' });
  });

  test('comments and trailing commas, in objects and lists', () => {
    const text = '// preset\n{\n  /* block */ "sparsity": 0.5, // line\n  "normalize": { "mean": [0.5,], "std": [0.25,], },\n}\n';
    assert.deepEqual(parseJsonc(text, 'p.jsonc'), { sparsity: 0.5, normalize: { mean: [0.5], std: [0.25] } });
  });

  test('a byte-order mark is skipped and does not shift columns', () => {
    assert.deepEqual(parseJsonc('\uFEFF{"roundTo": 8}', 'p.jsonc'), { roundTo: 8 });
    atFile('\uFEFF{"roundTo" 8}', '1:12');
  });

  test("syntax errors name line:column of the user's file, comments and strings counted", () => {
    // Line 3, after a comment line and a string holding ',]': the missing comma is before "patch".
    atFile('{\n  // c, ]\n  "noise": "x,]" "patch": 8\n}', '3:18');
    atFile('{\r\n  "a": 1,\r\n  "b": tru\r\n}', '3:8');
    atFile('{ "samples": Infinity }', '1:14');
    atFile('{ "a": "open', '1:8');
    atFile('', '1:1');
    assert.throws(() => parseJsonc('{\n "a": 1 "b": 2 }', 'dir/p.jsonc'), /^PresetError: dir\/p\.jsonc:2:9: not valid JSON: a ',' is expected/);
  });

  test('a parsed file goes through the same schema', () => {
    assert.throws(() => resolvePreset('fast', {}, parseJsonc('{ /* x */ "refine": { "rank": 99, }, }', 'p.jsonc')), (e: unknown) => e instanceof PresetError && e.setting === 'refine.rank');
  });
});

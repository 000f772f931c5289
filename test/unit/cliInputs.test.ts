// The pieces behind the CLI's bad-input fixes, tested without a child process: argument
// normalisation, empty values, BOM in preset files, QUBO size limits, round-to, dataset options.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync } from 'node:fs';
import * as path from 'node:path';
import { joinNegativeValues, numberOption, parseCliArgs } from '../../src/cli/args';
import { CliError } from '../../src/cli/cliError';
import { parseJsonc, resolvePreset } from '../../src/core/presets';
import { buildQubo, QuboError } from '../../src/core/qubo';
import { checkRoundTo } from '../../src/core/prune/masks';
import { PruneError } from '../../src/core/prune/errors';
import type { DependencyAnalysis } from '../../src/core/analysis/types';
import { DataError, loadDataset } from '../../src/core/data';
import { pattern, tempDir, writePng } from '../helpers/dataImages';

const tmp = tempDir('cli-inputs');
after(() => tmp.cleanup());

describe('arguments', () => {
  const options = { sparsity: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } } as const;

  test('a negative number after a string option is joined to it; other arguments are left alone', () => {
    assert.deepEqual(joinNegativeValues(['m.onnx', '--sparsity', '-0.3', '-o', '-1'], options), ['m.onnx', '--sparsity=-0.3', '-o-1']);
    assert.deepEqual(joinNegativeValues(['--sparsity', '-.5'], options), ['--sparsity=-.5']);
    // A boolean option takes no value; an option-looking word is not a number; after -- nothing changes.
    assert.deepEqual(joinNegativeValues(['--force', '-3'], options), ['--force', '-3']);
    assert.deepEqual(joinNegativeValues(['--sparsity', '--force'], options), ['--sparsity', '--force']);
    assert.deepEqual(joinNegativeValues(['--', '--sparsity', '-1'], options), ['--', '--sparsity', '-1']);
  });

  test('parseCliArgs hands the negative value to the option instead of failing as ambiguous', () => {
    const { values } = parseCliArgs(['m.onnx', '--sparsity', '-0.3'], options, 'usage');
    assert.equal(values.sparsity, '-0.3');
  });

  test('numberOption refuses an empty value rather than reading it as 0', () => {
    assert.throws(() => numberOption('', 'sparsity', 0.36), (e: unknown) => e instanceof CliError && /--sparsity needs a value/.test(e.message));
    assert.throws(() => numberOption('  ', 'seed', 0), CliError);
    assert.equal(numberOption(undefined, 'seed', 7), 7);
    assert.equal(numberOption('-3', 'seed', 0), -3);
  });
});

describe('preset files', () => {
  test('a UTF-8 byte-order mark is ignored', () => {
    assert.deepEqual(parseJsonc('\uFEFF// c\n{"sparsity": 0.5,}\n', 'p.jsonc'), { sparsity: 0.5 });
    assert.equal(resolvePreset('fast', {}, parseJsonc('\uFEFF{"roundTo": 8}', 'p.jsonc')).settings.roundTo, 8);
  });
});

describe('QUBO size limits', () => {
  test('a group too large for one array, and instances over the memory budget, are QuboError too-large', () => {
    const tooLarge = (e: unknown) => e instanceof QuboError && e.code === 'too-large';
    assert.throws(() => buildQubo([{ id: 'stem', size: 2e7, locked: true }, { id: 'a', size: 2, h: new Float64Array([1, 2]) }], { objective: 'direct', beta: 0, sparsity: 0.5 }), tooLarge);
    assert.throws(() => buildQubo([{ id: 'wide', size: 30000, h: new Float64Array(30000) }], { objective: 'direct', beta: 0, sparsity: 0.5 }), tooLarge);
    const ok = buildQubo([{ id: 'a', size: 64, h: new Float64Array(64).fill(1) }], { objective: 'direct', beta: 0, sparsity: 0.5 });
    assert.equal(ok.K, 32);
  });
});

describe('round-to', () => {
  const deps = { groups: [{ size: 16 }, { size: 32 }] } as unknown as DependencyAnalysis;
  test('refused from the largest group size up, allowed below it', () => {
    checkRoundTo(deps, 1);
    checkRoundTo(deps, 31);
    assert.throws(() => checkRoundTo(deps, 32, '--round-to'), (e: unknown) => e instanceof PruneError && /--round-to 32 would keep every channel.*largest group has 32/.test(e.message));
    assert.throws(() => checkRoundTo(deps, 1000), PruneError);
  });
});

describe('dataset options for front ends', () => {
  let n = 0;
  const newDir = () => {
    const d = path.join(tmp.dir, `d${n++}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const pairs = (root: string, count: number, size = 16) => {
    for (let i = 0; i < count; i++) {
      writePng(path.join(root, 'noisy', `${i}.png`), size, size, 3, pattern(i));
      writePng(path.join(root, 'clean', `${i}.png`), size, size, 3, pattern(i + 1));
    }
  };
  const three = { splits: { calib: 1, val: 1, test: 1 } };

  test('modelTask: class folders for a denoiser are named as such before any header is read', async () => {
    const d = newDir();
    for (const c of ['cat', 'dog']) for (let i = 0; i < 2; i++) writePng(path.join(d, c, `${i}.png`), 8, 8, 3, pattern(i));
    await assert.rejects(loadDataset(d, { ...three, patch: 64, modelTask: 'denoise' }), (e: unknown) => e instanceof DataError && e.code === 'layout-mismatch' && /one folder per class \(classification data\), but the model is a denoiser/.test(e.message));
    const p = newDir();
    pairs(p, 3);
    await assert.rejects(loadDataset(p, { ...three, modelTask: 'classify' }), (e: unknown) => e instanceof DataError && /the model is a classifier/.test(e.message));
  });

  test('decodeAll finds a file whose header is fine but whose pixels are cut off, at load time', async () => {
    const d = newDir();
    pairs(d, 3, 64);
    truncateSync(path.join(d, 'clean', '2.png'), 100);
    const lazy = await loadDataset(d, three);
    assert.equal(lazy.test.count + lazy.val.count + lazy.calib.count, 3, 'without decodeAll only headers are read');
    await assert.rejects(loadDataset(d, { ...three, decodeAll: true }), (e: unknown) => e instanceof DataError && e.code === 'corrupt-image' && /2\.png/.test(e.message));
  });

  test('advice replaces the hints about loadDataset options', async () => {
    const d = newDir();
    pairs(d, 3, 8);
    await assert.rejects(loadDataset(d, { ...three, patch: 16, advice: { smallImages: 'Lower the patch setting.' } }), (e: unknown) => e instanceof DataError && /Lower the patch setting\.$/.test(e.message) && !/reflect/.test(e.message));
    const pre = newDir();
    pairs(path.join(pre, 'calib'), 1);
    pairs(path.join(pre, 'test'), 1);
    await assert.rejects(loadDataset(pre, { advice: { missingSplit: (s) => `add ${s}/` } }), (e: unknown) => e instanceof DataError && /no val\/ sub-folder \(add val\/\)/.test(e.message));
    await assert.rejects(loadDataset(pre), (e: unknown) => e instanceof DataError && /set splits\.val = 0/.test(e.message), 'library callers keep the option advice');
  });
});

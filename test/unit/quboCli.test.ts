import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeSolveCommand, solveInstanceText } from '../../src/cli/commands/solve';
import { CliError } from '../../src/cli/cliError';
import { parseQuboJson, QuboError } from '../../src/core/qubo';

const INSTANCE = {
  objective: 'hybrid',
  alpha: 0.5,
  beta: 2,
  rho: 0.25,
  sparsity: 0.5,
  groups: [
    {
      id: 'conv1',
      taylor: [0.9, 0.8, 0.1, 0.7],
      fisher: [0.5, 0.6, 0.05, 0.4],
      similarity: [
        [1, 0.95, 0.1, 0.2],
        [0.95, 1, 0.1, 0.3],
        [0.1, 0.1, 1, 0.1],
        [0.2, 0.3, 0.1, 1],
      ],
    },
    {
      id: 'conv2',
      size: 3,
      taylor: [0.2, 0.3, 0.25],
      fisher: [0.1, 0.2, 0.3],
      similarity: [1, 0.2, 0.4, 0.2, 1, 0.5, 0.4, 0.5, 1],
    },
    { id: 'head', size: 2, locked: true },
  ],
  search: { seed: 5, iterations: 500 },
};

async function runCli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await makeSolveCommand((t) => (out += t)).run(args);
  return { code, out };
}

describe('qubo-prune solve', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qubo-solve-'));
  const file = path.join(dir, 'instance.json');
  writeFileSync(file, JSON.stringify(INSTANCE));

  test('solves a JSON instance in-process and prints a JSON solution', async () => {
    const { code, out } = await runCli([file, '--seed', '3', '--iterations', '300']);
    assert.equal(code, 0);
    const doc = JSON.parse(out);
    // 7 unlocked channels at sparsity 0.5 → round(3.5) = 4 kept, plus the 2 locked ones.
    assert.equal(doc.n, 9);
    assert.equal(doc.K, 6);
    assert.equal(doc.mask.length, 9);
    assert.equal([...doc.mask].filter((c: string) => c === '1').length, 6);
    assert.equal(doc.seed, 3);
    assert.equal(doc.iterations, 300);
    assert.deepEqual(
      doc.groups.map((g: { id: string; kept: number }) => g.id),
      ['conv1', 'conv2', 'head'],
    );
    assert.deepEqual(doc.groups[2].keep, [0, 1]);
    const conv1 = doc.groups[0].keep as number[];
    // Channels 0 and 1 are near-duplicates: with β = 2 the solver keeps at most one of them.
    assert.ok(!(conv1.includes(0) && conv1.includes(1)), `kept ${conv1}`);
    assert.ok(doc.energy <= doc.greedyEnergy + 1e-12);
    assert.ok(doc.lowerBound <= doc.energy);

    const exact = await runCli([file, '--exact']);
    assert.ok(Math.abs(JSON.parse(exact.out).energy - doc.energy) < 1e-9);
  });

  test('uses the file search block when flags are absent', () => {
    const out = solveInstanceText(JSON.stringify(INSTANCE));
    assert.equal(out.seed, 5);
    assert.equal(out.iterations, 500);
  });

  test('bad arguments and bad files fail with specific errors', async () => {
    await assert.rejects(runCli([]), CliError);
    await assert.rejects(runCli([path.join(dir, 'missing.json')]), CliError);
    await assert.rejects(runCli([file, '--iterations', '0']), CliError);
    await assert.rejects(runCli([file, '--bogus']), CliError);
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"groups": [');
    await assert.rejects(runCli([broken]), (e: unknown) => e instanceof QuboError && e.code === 'bad-json');
    const tooSparse = path.join(dir, 'sparse.json');
    writeFileSync(tooSparse, JSON.stringify({ ...INSTANCE, sparsity: undefined, keep: 20 }));
    await assert.rejects(runCli([tooSparse]), (e: unknown) => e instanceof QuboError && e.code === 'k-above-n');
  });

  test('JSON parsing: nested or flat matrices, unknown fields refused', () => {
    const p = parseQuboJson(INSTANCE);
    assert.equal(p.groups[0]!.size, 4);
    assert.equal(p.groups[0]!.similarity!.length, 16);
    assert.equal(p.groups[1]!.similarity![5], 0.5);
    assert.throws(() => parseQuboJson({ ...INSTANCE, beeta: 1 }), (e: QuboError) => e.code === 'bad-json');
    assert.throws(() => parseQuboJson({ groups: [{ id: 'a', taylor: [1, 'x'] }] }), (e: QuboError) => e.code === 'bad-score');
    assert.throws(() => parseQuboJson({ groups: [{ id: 'a', size: 2, similarity: [[1, 0], [0]] }] }), (e: QuboError) => e.code === 'similarity-size');
    assert.throws(() => parseQuboJson({ groups: [{ id: 'a' }] }), (e: QuboError) => e.code === 'bad-group');
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
});

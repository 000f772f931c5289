import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { formatPruneReport, parsePruneArgs, runPrune, type PruneRequest } from '../../src/cli/commands/prune';
import { CliError } from '../../src/cli/cliError';
import { loadModel } from '../../src/core/onnx';
import { concatGraph, gapHeadGraph } from '../helpers/graphs';

const dir = mkdtempSync(path.join(tmpdir(), 'qp-prune-cli-'));

describe('qubo-prune prune', () => {
  test('parses options and rejects bad ones', () => {
    const req = parsePruneArgs(['m.onnx', '--sparsity', '0.36', '--out', 'p.onnx', '--method', 'random', '--seed', '7', '--round-to', '8', '--input-shape', '1,3,64,64']) as PruneRequest;
    assert.deepEqual(
      { method: req.method, sparsity: req.sparsity, seed: req.seed, roundTo: req.roundTo, floor: req.floor, inputShape: req.inputShape },
      { method: 'random', sparsity: 0.36, seed: 7, roundTo: 8, floor: 0.1, inputShape: [1, 3, 64, 64] },
    );
    assert.equal(parsePruneArgs(['--help']), 'help');
    const bad = (args: string[], re: RegExp) => assert.throws(() => parsePruneArgs(args), (e: CliError) => e instanceof CliError && re.test(e.message));
    bad(['m.onnx', '--out', 'p.onnx'], /missing --sparsity/);
    bad(['m.onnx', '--sparsity', '0.3'], /missing --out/);
    bad(['m.onnx', '--sparsity', '1', '--out', 'p.onnx'], /sparsity/);
    bad(['m.onnx', '--sparsity', '0.3', '--out', 'p.onnx', '--method', 'nope'], /unknown pruning method 'nope'/);
    bad(['m.onnx', '--sparsity', '0.3', '--out', 'p.onnx', '--round-to', '2.5'], /round-to/);
  });

  test('prunes, writes a loadable model and reports before/after', async () => {
    const src = path.join(dir, 'concat.onnx');
    await concatGraph().save(src);
    const out = path.join(dir, 'concat.pruned.onnx');
    const req = parsePruneArgs([src, '--sparsity', '0.4', '--out', out, '--input-shape', '1,3,16,16']) as PruneRequest;
    const o = await runPrune(req);
    assert.ok(existsSync(out));
    assert.equal(o.keep.reduce((a, b) => a + b, 0), Math.round(0.6 * 15));
    assert.ok(o.after.params < o.before.params && o.after.macs < o.before.macs);
    const pruned = await loadModel(out);
    assert.ok(pruned.floatInitializer('conv3.w').dims[1]! < 10);
    const text = formatPruneReport(o);
    assert.match(text, /params\s+[\d,]+\s+[\d,]+\s+-\d/);
    assert.match(text, /conv2\s+\d+ \/ 6/);
    assert.match(text, /conv4: 3 channels, graph-output/);
  });

  test('symbolic spatial dims default to 128 with a note; the input is never overwritten', async () => {
    const src = path.join(dir, 'gap.onnx');
    await gapHeadGraph().save(src);
    const o = await runPrune(parsePruneArgs([src, '--sparsity', '0.5', '--out', path.join(dir, 'gap.p.onnx'), '--method', 'random']) as PruneRequest);
    assert.deepEqual(o.inputShapes.input, [1, 3, 128, 128]);
    assert.match(o.notes.join(' '), /symbolic dims filled in/);
    await assert.rejects(runPrune(parsePruneArgs([src, '--sparsity', '0.5', '--out', src]) as PruneRequest), (e: Error & { code?: string }) => e.code === 'overwrite-source');
  });
});

// Shared checks of a finished pipeline run's files, for the worker and CLI integration tests:
// schema-valid JSON report, a Markdown report that agrees with it, and a pruned model whose test
// PSNR, recomputed from the written file with the data settings the report names, is the one
// reported.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDataset } from '../../src/core/data';
import { loadModel } from '../../src/core/onnx';
import { evaluateModel } from '../../src/core/pipeline/evaluateModel';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import type { RunReport } from '../../src/core/pipeline/report';
import { DEFAULT_SETTINGS, mergeSettings } from '../../src/core/presets';
import type { PruneSettings } from '../../src/protocol';

export const ROOT = path.resolve(__dirname, '../..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const DATA = path.join(FIXTURES, 'data');
/** `--import` target that makes node run TypeScript, independent of the cwd. */
export const TSX = pathToFileURL(require.resolve('tsx')).href;

/** Budgets small enough for a 2-core machine: the run takes about a second. */
export const TINY: PruneSettings = mergeSettings(DEFAULT_SETTINGS, {
  provider: 'cpu',
  samples: 4,
  patch: 32,
  searchTimeMs: 100,
  refine: { scope: 'network', evaluations: 10, seconds: 5, valSamples: 2 },
  // Recovery is tested end to end in pipeline.test.ts; elsewhere it would add up to a minute per run.
  recover: false,
});

const created: string[] = [];

/** A fresh temporary folder, removed by removeTempDirs(). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every folder tempDir() and modelCopy() made (call from `after`). */
export function removeTempDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh folder holding a copy of the fixture model (tests never write into test/fixtures). */
export function modelCopy(prefix: string, name = 'halfunet.onnx'): { dir: string; model: string } {
  const dir = tempDir(prefix);
  const model = path.join(dir, name);
  copyFileSync(path.join(FIXTURES, name), model);
  return { dir, model };
}

/** Files in `dir`, sorted; hidden temporary files included. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Reads and checks both reports; returns the parsed JSON report. */
export function checkReports(reportJson: string, reportMarkdown: string): RunReport {
  const doc: unknown = JSON.parse(readFileSync(reportJson, 'utf8'));
  assert.deepEqual(validateReport(doc), [], 'the JSON report follows the schema');
  const report = doc as RunReport;
  assert.deepEqual(validateReportMarkdown(readFileSync(reportMarkdown, 'utf8'), report), [], 'the Markdown report agrees with the JSON one');
  return report;
}

/** Test-split PSNR of the written pruned model and of the source model, recomputed from the files. */
export async function recomputePsnr(report: RunReport): Promise<{ before: number; after: number }> {
  const d = report.data;
  const data = await loadDataset(d.root, { patch: d.patch ?? undefined, seed: d.seed, channels: d.channels, ...(d.noise ? { noise: d.noise } : {}) });
  assert.equal(data.test.count, d.splits.test.samples, 'the same test samples as the run');
  const pruned = await loadModel(report.output);
  assert.ok(pruned.graph.node.length > 0);
  // Test metrics are on whole images (the report's evaluation.test says so); crops would differ.
  assert.match(report.evaluation?.test ?? '', /^whole images/, 'the report names whole-image test metrics');
  const after = await evaluateModel(new Uint8Array(readFileSync(report.output)), data.test.wholeImages(), 'denoise', 'cpu');
  const before = await evaluateModel(new Uint8Array(readFileSync(report.model)), data.test.wholeImages(), 'denoise', 'cpu');
  return { before: before.psnr!, after: after.psnr! };
}

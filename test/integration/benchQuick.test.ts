// The benchmark suite's smoke run (`npm run bench -- --quick`): CI checks that it produces its
// files and that they hold every method, not the numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

test('bench suite --quick writes results.json, results.md and PNG charts', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-bench-'));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/suite.ts', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `suite failed:\n${r.stdout}\n${r.stderr}`);
    const files = fs.readdirSync(out).sort();
    assert.deepEqual(files, ['kept-per-group-halfunet.png', 'psnr-vs-sparsity-halfunet.png', 'results.json', 'results.md']);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.equal(results.schema, 1);
    assert.equal(results.quick, true);
    const methods = new Set(results.methods.map((m: { method: string }) => m.method));
    for (const m of ['random', 'l1', 'taylor', 'fisher', 'l1-qubo', 'hybrid-paper', 'hybrid', 'hybrid+tt-layers', 'hybrid+tt-network']) assert.ok(methods.has(m), `no row for ${m}`);
    for (const row of results.methods) {
      assert.ok(Number.isFinite(row.psnr) && Number.isFinite(row.ssim) && row.params > 0 && row.macs > 0 && row.latencyMs > 0, JSON.stringify(row));
      assert.equal(row.kept.length, results.dense[0].groups.length);
    }
    const families = new Set(results.ablations.map((a: { family: string }) => a.family));
    assert.ok(families.size >= 6, [...families].join(', '));
    assert.ok(results.stages.length === 1 && results.stages[0].stages.calibrate > 0);
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    for (const heading of ['### Claims', '### Method comparison', '### Ablations', '### Cost per stage', '### Scaling']) assert.ok(md.includes(heading), `results.md lacks '${heading}'`);
    for (const png of files.filter((f) => f.endsWith('.png'))) {
      const bytes = fs.readFileSync(path.join(out, png));
      assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${png} is not a PNG`);
      assert.ok(bytes.length > 2000, `${png} is suspiciously small`);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

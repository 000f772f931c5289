// Big-model memory benchmark: runs the built CLI on torchvision's VGG-16 (138 M parameters) and
// ResNet-50 (25.6 M), each command in its own process so its peak resident memory can be read, and
// prints the table behind docs/RELIABILITY.md ("Big models").
//
//   npm run build && node --import tsx bench/bigModels.ts [--models DIR] [--only SUBSTRING] [--json out.json]
//
// The models come from tools/export_big_models.py (Debian's python3-torch and python3-torchvision);
// when DIR (default bench/out/big) lacks them and /usr/bin/python3 can import torch, they are
// exported first. QP_CLI=<other build>/dist/cli.js measures another build (before/after).
//
// Peak RSS is the child's maximum resident set (GNU time's %M, else VmHWM polled from /proc): what
// the OS sees, onnxruntime's native allocations and Node's heap together. The ratio divides it by
// the model's bytes on disk (the .onnx file plus its external data).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/core/onnx';
import { elementCount, dimsOf } from '../src/core/onnx/tensor';

const ROOT = path.resolve(__dirname, '..');
const CLI = process.env.QP_CLI ?? path.join(ROOT, 'dist', 'cli.js');
const GNU_TIME = '/usr/bin/time';
const MiB = 1024 ** 2;

interface Case {
  model: string;
  command: 'analyze' | 'prune l1 0.3' | 'prune (limit 1 GiB)';
  args(file: string, out: string): string[];
  env?: Record<string, string>;
  /** Exit code the case calls for. */
  expect: number;
  stderrMust?: RegExp;
}

interface Row {
  model: string;
  params: number;
  fileBytes: number;
  command: string;
  exitCode: number;
  wallS: number;
  peakRssBytes: number;
  ratio: number;
  ok: boolean;
  note?: string;
}

const SHAPE = ['--input-shape', '1,3,224,224'];

function cases(): Case[] {
  const list: Case[] = [];
  for (const model of ['resnet50', 'vgg16', 'vgg16_ext']) {
    list.push({ model, command: 'analyze', args: (f) => ['analyze', f, ...SHAPE], expect: 0 });
    list.push({ model, command: 'prune l1 0.3', args: (f, out) => ['prune', f, '--method', 'l1', '--sparsity', '0.3', ...SHAPE, '--out', out], expect: 0 });
  }
  // The refusal must come before the model is read, so its peak stays near Node's own footprint.
  list.push({
    model: 'vgg16',
    command: 'prune (limit 1 GiB)',
    args: (f, out) => ['prune', f, '--method', 'l1', '--sparsity', '0.3', ...SHAPE, '--out', out],
    env: { QUBO_PRUNE_MEMORY_LIMIT: '1G' },
    expect: 1,
    stderrMust: /too large for the memory available/,
  });
  return list;
}

function ensureModels(dir: string): void {
  const need = ['vgg16.onnx', 'resnet50.onnx', 'vgg16_ext.onnx', 'vgg16_ext.onnx.data'];
  if (need.every((f) => existsSync(path.join(dir, f)))) return;
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.error(`models missing in ${dir}; install python3-torch python3-torchvision python3-onnx (apt) and run: ${py} tools/export_big_models.py ${dir}`);
    process.exit(1);
  }
  console.error(`exporting the models into ${dir} (about a minute)…`);
  const r = spawnSync(py, [path.join(ROOT, 'tools', 'export_big_models.py'), dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(1);
}

async function modelFacts(file: string): Promise<{ params: number; bytes: number }> {
  const model = await loadModel(file);
  let params = 0;
  for (const t of model.graph.initializer) params += elementCount(dimsOf(t));
  const bytes = statSync(file).size + model.externalDataFiles().reduce((s, f) => s + statSync(f).size, 0);
  return { params, bytes };
}

/** Runs one command; peak RSS from GNU time when installed, else from /proc polling. */
function measure(args: string[], env: Record<string, string> | undefined, scratch: string): Promise<{ code: number; wallS: number; peak: number; stderr: string }> {
  const useTime = existsSync(GNU_TIME);
  const timeOut = path.join(scratch, 'time.txt');
  const cmd = useTime ? GNU_TIME : process.execPath;
  const argv = useTime ? ['-f', '%M', '-o', timeOut, process.execPath, CLI, ...args] : [CLI, ...args];
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let polled = 0;
    const poll = useTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polled = Math.max(polled, Number(m[1]) * 1024);
          } catch {
            // The child has exited between two polls.
          }
        }, 20);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const wallS = (performance.now() - start) / 1000;
      let peak = polled;
      if (useTime) {
        const kb = Number(readFileSync(timeOut, 'utf8').trim().split('\n').pop());
        peak = kb * 1024;
      }
      resolve({ code: code ?? -1, wallS, peak, stderr });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { models: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' } } });
  const dir = path.resolve(values.models ?? path.join(ROOT, 'bench', 'out', 'big'));
  if (!existsSync(CLI)) {
    console.error(`${CLI} not found; run npm run build first`);
    process.exit(1);
  }
  ensureModels(dir);
  const facts = new Map<string, { params: number; bytes: number }>();
  const rows: Row[] = [];
  for (const c of cases()) {
    if (values.only && !`${c.model} ${c.command}`.includes(values.only)) continue;
    const file = path.join(dir, `${c.model}.onnx`);
    if (!facts.has(c.model)) facts.set(c.model, await modelFacts(file));
    const f = facts.get(c.model)!;
    const scratch = mkdtempSync(path.join(tmpdir(), 'qp-big-'));
    try {
      const r = await measure(c.args(file, path.join(scratch, 'pruned.onnx')), c.env, scratch);
      const problems: string[] = [];
      if (r.code !== c.expect) problems.push(`exit ${r.code}, expected ${c.expect}: ${r.stderr.trim().split('\n').pop()}`);
      if (c.stderrMust && !c.stderrMust.test(r.stderr)) problems.push(`stderr lacks ${c.stderrMust}`);
      const row: Row = {
        model: c.model,
        params: f.params,
        fileBytes: f.bytes,
        command: c.command,
        exitCode: r.code,
        wallS: r.wallS,
        peakRssBytes: r.peak,
        ratio: r.peak / f.bytes,
        ok: problems.length === 0,
        ...(problems.length ? { note: problems.join('; ') } : {}),
      };
      rows.push(row);
      console.error(`${row.ok ? 'ok  ' : 'FAIL'} ${c.model} ${c.command}: ${row.wallS.toFixed(1)} s, peak ${(row.peakRssBytes / MiB).toFixed(0)} MiB (${row.ratio.toFixed(2)}× model)${row.note ? ` — ${row.note}` : ''}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  console.log('| model | params | file size | command | wall s | peak RSS | RSS / model |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${(r.params / 1e6).toFixed(1)} M | ${(r.fileBytes / MiB).toFixed(0)} MiB | ${r.command}${r.exitCode ? ` (exit ${r.exitCode})` : ''} | ${r.wallS.toFixed(1)} | ${(r.peakRssBytes / MiB).toFixed(0)} MiB | ${r.ratio.toFixed(2)}× |`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ cli: CLI, rows }, null, 2) + '\n');
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

void main();

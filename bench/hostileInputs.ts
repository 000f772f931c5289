// Bad-input probe: runs the built CLI (`dist/cli.js`) as a careless or hostile user would, one case
// per row, and classifies what each run did to the user's files and terminal. Regression tests for
// the individual fixes live in test/; this is the census behind docs/RELIABILITY.md.
//
//   npm run build && node --import tsx bench/hostileInputs.ts [--only SUBSTRING] [--json out.json]
//
// A case fails a check when:
//   - source destroyed: the model or one of its external-data files changed bytes;
//   - leftover: after a failed or cancelled run, a file exists that was not there before
//     (temporary files included), or after a successful one, a temporary file;
//   - raw trace: stderr shows a stack frame or a bare JS error class, or the exit code is 2
//     (runtime failure) for what is bad input;
//   - silent acceptance: exit 0 where the input is bad;
//   - hang: no exit within 60 s.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src/core/onnx';

const ROOT = path.resolve(__dirname, '..');
// QP_CLI lets the same cases run against another build (e.g. an older commit's, for before/after).
const CLI = process.env.QP_CLI ?? path.join(ROOT, 'dist', 'cli.js');
const FIX = path.join(ROOT, 'test', 'fixtures');
const DATA = path.join(FIX, 'data');
const CLS = path.join(FIX, 'cls');
const TIMEOUT_MS = 60_000;

interface Ctx {
  /** The case's own folder. */
  dir: string;
  /** The model the case works on (a copy), and its external-data files. */
  model: string;
  sources: string[];
}

interface Case {
  item: number;
  name: string;
  /** Whether the input is bad (an error with exit 1 is the right answer) or fine (exit 0). */
  expect: 'error' | 'ok' | 'cancelled';
  /** Builds the case's files; returns the CLI arguments. */
  setup(ctx: Ctx): Promise<string[]> | string[];
  ext?: boolean;
  /** Sends a signal once stderr matches, or after a delay. */
  signal?: { on: RegExp | number; kind: NodeJS.Signals };
  env?: Record<string, string | undefined>;
  /** Extra check on stderr for this case (a misleading message counts as a failure). */
  stderrMust?: RegExp;
  stderrMustNot?: RegExp;
  /** A check of the case's folder after the run; returns what is wrong, if anything. */
  after?(ctx: Ctx): string | undefined;
}

function tinyConfig(dir: string, extra: Record<string, unknown> = {}, refine: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'tiny.jsonc');
  const cfg = { provider: 'cpu', samples: 4, patch: 32, searchTimeMs: 100, ...extra, refine: { scope: 'network', evaluations: 10, seconds: 5, valSamples: 2, ...refine } };
  writeFileSync(file, JSON.stringify(cfg, null, 1));
  return file;
}

async function editModel(ctx: Ctx, edit: (m: Awaited<ReturnType<typeof loadModel>>) => void, name = 'edited.onnx'): Promise<string> {
  const m = await loadModel(path.join(FIX, 'halfunet.onnx'));
  edit(m);
  const out = path.join(ctx.dir, name);
  await m.save(out);
  return out;
}

function firstConvWeight(m: Awaited<ReturnType<typeof loadModel>>): string {
  const conv = m.nodes.find((n) => n.opType === 'Conv')!;
  return conv.input[1]!;
}

function setInputDims(m: Awaited<ReturnType<typeof loadModel>>, dims: number[]): void {
  const t = m.realInputs[0]!.type!.value;
  if (t.case !== 'tensorType') throw new Error('no tensor type');
  t.value.shape!.dim.forEach((d, i) => {
    d.value = { case: 'dimValue', value: BigInt(dims[i]!) };
  });
}

/** A copy of the denoising data with one image replaced by `bytes`. */
function dataWith(ctx: Ctx, rel: string, bytes: Buffer | string): string {
  const d = path.join(ctx.dir, 'data');
  spawnSync('cp', ['-r', DATA, d]);
  writeFileSync(path.join(d, rel), bytes);
  return d;
}

function soloInstance(ctx: Ctx, groups: unknown[]): string {
  const f = path.join(ctx.dir, 'instance.json');
  writeFileSync(f, JSON.stringify({ objective: 'hybrid', beta: 0, sparsity: 0.5, groups }));
  return f;
}

class Skip extends Error {}
/** tmpfs mounts of the running case, unmounted when it ends. */
const mounts: string[] = [];

/** A 64 KiB tmpfs in the case's folder: room for the write probe, not for a model. */
function fullDisk(ctx: Ctx): string {
  const mnt = path.join(ctx.dir, 'full');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  if (r.status !== 0) throw new Skip('cannot mount a tmpfs here');
  mounts.push(mnt);
  return mnt;
}

const prune = (ctx: Ctx, ...rest: string[]) => ['prune', ctx.model, '--method', 'l1', '--sparsity', '0.3', ...rest];
const pipe = (ctx: Ctx, ...rest: string[]) => ['prune', ctx.model, '--data', DATA, '--config', tinyConfig(ctx.dir), ...rest];

const CASES: Case[] = [
  // 1: outputs onto the source
  { item: 1, name: 'analyze --json onto the model', expect: 'error', setup: (c) => ['analyze', c.model, '--input-shape', '1,3,64,64', '--json', c.model] },
  { item: 1, name: 'importance --json onto the model', expect: 'error', setup: (c) => ['importance', c.model, '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'cpu', '--json', c.model] },
  { item: 1, name: 'data-free prune --out onto external data', ext: true, expect: 'error', setup: (c) => prune(c, '--out', c.sources[1]!) },
  { item: 1, name: 'pipeline --out onto external data', ext: true, expect: 'error', setup: (c) => pipe(c, '--out', c.sources[1]!) },
  { item: 1, name: 'data-free prune --out: symlink to the model', expect: 'error', setup: (c) => { const l = path.join(c.dir, 'link.onnx'); symlinkSync(c.model, l); return prune(c, '--out', l); } },
  { item: 1, name: 'data-free prune --out: hard link to the model', expect: 'error', setup: (c) => { const l = path.join(c.dir, 'hard.onnx'); linkSync(c.model, l); return prune(c, '--out', l); } },
  { item: 1, name: 'analyze --json: hard link to the model', expect: 'error', setup: (c) => { const l = path.join(c.dir, 'hard.json'); linkSync(c.model, l); return ['analyze', c.model, '--input-shape', '1,3,64,64', '--json', l]; } },
  { item: 1, name: 'pipeline --out: symlink to the external data', ext: true, expect: 'error', setup: (c) => { const l = path.join(c.dir, 'l.onnx'); symlinkSync(c.sources[1]!, l); return pipe(c, '--out', l); } },
  { item: 1, name: 'pipeline: report path is a hard link to the model', expect: 'error', setup: (c) => { linkSync(c.model, path.join(c.dir, 'out.report.json')); return pipe(c, '--out', path.join(c.dir, 'out.onnx')); } },
  // 2: cancellation and temporary files
  { item: 2, name: 'data-free prune, SIGINT after the analysis (the whole run takes ~0.3 s)', expect: 'cancelled', setup: (c) => prune(c, '--out', path.join(c.dir, 'p.onnx')), signal: { on: /prunable channels/, kind: 'SIGINT' } },
  { item: 2, name: 'pipeline, SIGINT once evaluation is done (the write)', expect: 'cancelled', setup: (c) => pipe(c, '--out', path.join(c.dir, 'p.onnx')), signal: { on: /Evaluate \(test split\)\s+done/, kind: 'SIGINT' } },
  { item: 2, name: 'pipeline, SIGINT at export', expect: 'cancelled', setup: (c) => pipe(c, '--out', path.join(c.dir, 'p.onnx')), signal: { on: /Export\s+done/, kind: 'SIGINT' } },
  {
    item: 2,
    name: 'stale temp file of a dead run is removed at the next run',
    expect: 'ok',
    setup: (c) => {
      writeFileSync(path.join(c.dir, '.p.onnx.999999.kx3v9q.tmp'), 'partial');
      return prune(c, '--out', path.join(c.dir, 'p.onnx'));
    },
    after: (c) => (existsSync(path.join(c.dir, '.p.onnx.999999.kx3v9q.tmp')) ? 'the stale temporary file is still there' : undefined),
  },
  // 3: non-regular model paths
  { item: 3, name: 'model is a FIFO', expect: 'error', setup: (c) => { const f = path.join(c.dir, 'fifo.onnx'); spawnSync('mkfifo', [f]); return ['analyze', f, '--input-shape', '1,3,64,64']; } },
  { item: 3, name: 'model is a symlink to /dev/zero', expect: 'error', setup: (c) => { const f = path.join(c.dir, 'zero.onnx'); symlinkSync('/dev/zero', f); return ['analyze', f, '--input-shape', '1,3,64,64']; } },
  { item: 3, name: 'model is a folder', expect: 'error', setup: (c) => ['analyze', c.dir] },
  { item: 3, name: 'data image is a FIFO', expect: 'error', setup: (c) => { const d = path.join(c.dir, 'data'); spawnSync('cp', ['-r', DATA, d]); const f = path.join(d, 'calib', 'noisy', '000.png'); rmSync(f); spawnSync('mkfifo', [f]); return ['prune', c.model, '--data', d, '--config', tinyConfig(c.dir)]; } },
  { item: 3, name: 'config is a FIFO', expect: 'error', setup: (c) => { const f = path.join(c.dir, 'cfg.jsonc'); spawnSync('mkfifo', [f]); return ['prune', c.model, '--data', DATA, '--config', f]; } },
  { item: 3, name: 'solve instance is a FIFO', expect: 'error', setup: (c) => { const f = path.join(c.dir, 'i.json'); spawnSync('mkfifo', [f]); return ['solve', f]; } },
  // 4: huge or invalid shapes and instances
  { item: 4, name: '--input-shape 1,3,100000,100000', expect: 'error', setup: (c) => ['analyze', c.model, '--input-shape', '1,3,100000,100000'] },
  { item: 4, name: 'data-free prune --input-shape 1,3,100000,100000', expect: 'error', setup: (c) => prune(c, '--out', path.join(c.dir, 'p.onnx'), '--input-shape', '1,3,100000,100000') },
  { item: 4, name: 'model declares 100000×100000', expect: 'error', setup: async (c) => ['analyze', await editModel(c, (m) => setInputDims(m, [1, 3, 100000, 100000]))] },
  { item: 4, name: 'model declares a dim of −5', expect: 'error', setup: async (c) => ['analyze', await editModel(c, (m) => setInputDims(m, [1, 3, -5, 64]))] },
  { item: 4, name: 'model declares a dim of 0', expect: 'error', setup: async (c) => ['analyze', await editModel(c, (m) => setInputDims(m, [1, 3, 0, 64]))] },
  { item: 4, name: 'solve: 2e7 locked channels', expect: 'error', setup: (c) => ['solve', soloInstance(c, [{ id: 'big', size: 2e7, locked: true }, { id: 'g', taylor: [0.9, 0.8, 0.1, 0.7], fisher: [0.5, 0.6, 0.05, 0.4] }])] },
  { item: 4, name: 'solve: 30k channels in one group', expect: 'error', setup: (c) => ['solve', soloInstance(c, [{ id: 'g', taylor: Array.from({ length: 30000 }, (_, i) => (i % 97) / 97), fisher: Array.from({ length: 30000 }, (_, i) => (i % 89) / 89) }])] },
  // 5: output paths
  { item: 5, name: 'data-free --out in a missing folder', expect: 'error', setup: (c) => prune(c, '--out', path.join(c.dir, 'missing', 'dir', 'x.onnx')) },
  { item: 5, name: 'pipeline --out in a missing folder', expect: 'error', setup: (c) => pipe(c, '--out', path.join(c.dir, 'missing', 'dir', 'x.onnx')) },
  { item: 5, name: 'data-free --out is a folder', expect: 'error', setup: (c) => { mkdirSync(path.join(c.dir, 'd.onnx')); return prune(c, '--out', path.join(c.dir, 'd.onnx')); } },
  { item: 5, name: 'pipeline --out is a folder', expect: 'error', setup: (c) => { mkdirSync(path.join(c.dir, 'd.onnx')); return pipe(c, '--out', path.join(c.dir, 'd.onnx')); } },
  { item: 5, name: 'data-free --out under a file', expect: 'error', setup: (c) => { writeFileSync(path.join(c.dir, 'f'), 'x'); return prune(c, '--out', path.join(c.dir, 'f', 'x.onnx')); } },
  { item: 5, name: 'analyze --json under a file', expect: 'error', setup: (c) => { writeFileSync(path.join(c.dir, 'f'), 'x'); return ['analyze', c.model, '--input-shape', '1,3,64,64', '--json', path.join(c.dir, 'f', 'a.json')]; } },
  { item: 5, name: 'data-free --out in /proc', expect: 'error', setup: (c) => prune(c, '--out', '/proc/x.onnx') },
  { item: 5, name: 'pipeline --out in /proc', expect: 'error', setup: (c) => pipe(c, '--out', '/proc/x.onnx') },
  { item: 5, name: 'importance --json in a missing folder', expect: 'error', setup: (c) => ['importance', c.model, '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'cpu', '--json', path.join(c.dir, 'missing', 's.json')] },
  {
    item: 5,
    name: 'data-free --out on a full disk (64 KiB tmpfs)',
    expect: 'error',
    setup: (c) => prune(c, '--out', path.join(fullDisk(c), 'p.onnx')),
  },
  {
    item: 5,
    name: 'pipeline --out on a full disk (64 KiB tmpfs)',
    expect: 'error',
    setup: (c) => pipe(c, '--out', path.join(fullDisk(c), 'p.onnx')),
  },
  // 6: non-finite weights
  { item: 6, name: 'NaN weight, data-free prune', expect: 'error', stderrMust: /NaN/, setup: async (c) => { const f = await editModel(c, (m) => { const w = firstConvWeight(m); const t = m.floatInitializer(w); const d = t.data.slice(); d[3] = NaN; m.setInitializer(w, t.dims, d); }); return ['prune', f, '--method', 'l1', '--sparsity', '0.3', '--out', path.join(c.dir, 'p.onnx')]; } },
  { item: 6, name: 'Inf weight, pipeline', expect: 'error', stderrMust: /Inf/i, setup: async (c) => { const f = await editModel(c, (m) => { const w = firstConvWeight(m); const t = m.floatInitializer(w); const d = t.data.slice(); d[0] = Infinity; m.setInitializer(w, t.dims, d); }); return ['prune', f, '--data', DATA, '--config', tinyConfig(c.dir)]; } },
  // 7: flags and advice
  { item: 7, name: "--sparsity ''", expect: 'error', setup: (c) => pipe(c, '--sparsity', '') },
  { item: 7, name: "data-free --sparsity ''", expect: 'error', setup: (c) => ['prune', c.model, '--sparsity', '', '--out', path.join(c.dir, 'p.onnx')] },
  { item: 7, name: '--round-to 1000', expect: 'error', setup: (c) => prune(c, '--out', path.join(c.dir, 'p.onnx'), '--round-to', '1000') },
  { item: 7, name: '--method hybrid without --data', expect: 'error', stderrMust: /--data/, stderrMustNot: /unknown pruning method/, setup: (c) => ['prune', c.model, '--method', 'hybrid', '--sparsity', '0.3', '--out', path.join(c.dir, 'p.onnx')] },
  { item: 7, name: '--seed -3 (negative number)', expect: 'error', stderrMustNot: /ambiguous/, setup: (c) => pipe(c, '--seed', '-3') },
  { item: 7, name: '--sparsity -0.2 (negative number)', expect: 'error', stderrMustNot: /ambiguous/, setup: (c) => ['prune', c.model, '--sparsity', '-0.2', '--out', path.join(c.dir, 'p.onnx')] },
  { item: 7, name: 'config with a UTF-8 BOM', expect: 'ok', setup: (c) => { const f = tinyConfig(c.dir); writeFileSync(f, '\ufeff' + readFileSync(f, 'utf8')); return ['prune', c.model, '--data', DATA, '--config', f, '--out', path.join(c.dir, 'p.onnx')]; } },
  {
    item: 7,
    name: '--noise on prune --data (clean-only folder)',
    expect: 'ok',
    setup: (c) => {
      const d = path.join(c.dir, 'clean');
      for (const s of ['calib', 'val', 'test']) {
        const from = path.join(DATA, s, 'clean');
        if (!existsSync(from)) continue;
        mkdirSync(path.join(d, s), { recursive: true });
        for (const f of readdirSync(from)) copyFileSync(path.join(from, f), path.join(d, s, f));
      }
      return ['prune', c.model, '--data', d, '--config', tinyConfig(c.dir), '--noise', 'gaussian:25', '--out', path.join(c.dir, 'p.onnx')];
    },
  },
  { item: 7, name: 'classification data given to a denoiser', expect: 'error', stderrMustNot: /patch too large|is larger than/i, setup: (c) => ['prune', c.model, '--data', CLS, '--config', tinyConfig(c.dir, { patch: 64 })] },
  { item: 7, name: 'corrupt PNG: fails before the first stage', expect: 'error', stderrMust: /003\.png/, stderrMustNot: /Calibrate \(gradients\)\s+done|read requests/, setup: (c) => ['prune', c.model, '--data', dataWith(c, 'test/noisy/003.png', Buffer.concat([readFileSync(path.join(DATA, 'test/noisy/003.png')).subarray(0, 200), Buffer.alloc(64, 7)])), '--config', tinyConfig(c.dir)] },
  // 8: messages
  { item: 8, name: 'invalid graph (double bias on a float Conv), provider cpu', expect: 'error', stderrMustNot: /could not start/, setup: async (c) => { const f = await editModel(c, (m) => { const conv = m.nodes.find((n) => n.opType === 'Conv' && n.input.length > 2)!; const b = m.floatInitializer(conv.input[2]!); m.setInitializer(conv.input[2]!, b.dims, Float64Array.from(b.data), 11); }); return ['prune', f, '--data', DATA, '--config', tinyConfig(c.dir)]; } },
  { item: 8, name: 'JSON file named .onnx', expect: 'error', stderrMustNot: /truncated/, setup: (c) => { const f = path.join(c.dir, 'j.onnx'); writeFileSync(f, JSON.stringify({ model: 'x', layers: [1, 2, 3] })); return ['analyze', f]; } },
  { item: 8, name: 'text file named .onnx', expect: 'error', stderrMustNot: /truncated/, setup: (c) => { const f = path.join(c.dir, 't.onnx'); writeFileSync(f, 'this is not a model\nsecond line\n'); return ['analyze', f]; } },
  { item: 8, name: '--provider auto prints no XDG_RUNTIME_DIR noise', expect: 'ok', env: { XDG_RUNTIME_DIR: undefined }, stderrMustNot: /XDG_RUNTIME_DIR/, setup: (c) => ['importance', c.model, '--data', DATA, '--samples', '2', '--patch', '32', '--provider', 'auto', '--json', path.join(c.dir, 's.json')] },
  { item: 8, name: "README's `analyze model.onnx` on the bundled model", expect: 'ok', setup: (c) => ['analyze', c.model] },
];


function hashFile(f: string): string {
  return createHash('sha256').update(readFileSync(f)).digest('hex');
}

function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, base, out);
    else out.push(path.relative(base, p));
  }
  return out;
}

interface Outcome {
  item: number;
  name: string;
  expect: Case['expect'];
  exit: number | null;
  seconds: number;
  message: string;
  sourceDestroyed: boolean;
  leftovers: string[];
  rawTrace: boolean;
  silentAcceptance: boolean;
  hang: boolean;
  misleading: boolean;
  skipped?: string;
}

function run(args: string[], c: Case, cwd: string): Promise<{ code: number | null; stderr: string; seconds: number; hang: boolean }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    for (const [k, v] of Object.entries(c.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    let hang = false;
    const timer = setTimeout(() => {
      hang = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    const send = () => {
      if (!sent) {
        sent = true;
        child.kill(c.signal!.kind);
      }
    };
    if (c.signal && typeof c.signal.on === 'number') setTimeout(send, c.signal.on);
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (c.signal && c.signal.on instanceof RegExp && c.signal.on.test(stderr)) send();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, seconds: (performance.now() - t0) / 1000, hang });
    });
  });
}

async function probe(c: Case): Promise<Outcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qp-hostile-'));
  const name = c.ext ? 'halfunet_ext.onnx' : 'halfunet.onnx';
  const model = path.join(dir, name);
  copyFileSync(path.join(FIX, name), model);
  const sources = [model];
  if (c.ext) {
    copyFileSync(path.join(FIX, `${name}.data`), `${model}.data`);
    sources.push(`${model}.data`);
  }
  const base: Outcome = { item: c.item, name: c.name, expect: c.expect, exit: null, seconds: 0, message: '', sourceDestroyed: false, leftovers: [], rawTrace: false, silentAcceptance: false, hang: false, misleading: false };
  try {
    let args: string[];
    try {
      args = await c.setup({ dir, model, sources });
    } catch (err) {
      if (err instanceof Skip) return { ...base, skipped: err.message };
      throw err;
    }
    const hashes = sources.map(hashFile);
    const before = new Set(walk(dir));
    const r = await run(args, c, dir);
    const after = walk(dir);
    const problem = c.after?.({ dir, model, sources });
    const fresh = after.filter((f) => !before.has(f));
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^(Analyze|Calibrate|Importance|QUBO search|TT refinement|Export|Evaluate|execution provider|cancelling)/.test(l));
    const failed = r.code !== 0;
    return {
      ...base,
      exit: r.hang ? null : r.code,
      seconds: r.seconds,
      message: (lines.find((l) => /error|qubo-prune|cancel/i.test(l)) ?? lines[0] ?? '').trim().slice(0, 200),
      sourceDestroyed: sources.some((s, i) => !existsSync(s) || !statSync(s).isFile() || hashFile(s) !== hashes[i]),
      leftovers: [...fresh.filter((f) => failed || /\.tmp$/.test(f)), ...(problem ? [problem] : [])],
      rawTrace: /\n\s+at .+:\d+:\d+\)?/.test(r.stderr) || /\b(RangeError|TypeError|ReferenceError|ENOENT|EISDIR|ENOTDIR|ENOSPC|EACCES)\b/.test(r.stderr) || (c.expect !== 'ok' && r.code === 2),
      silentAcceptance: c.expect !== 'ok' && r.code === 0,
      hang: r.hang,
      misleading: (c.stderrMust ? !c.stderrMust.test(r.stderr) : false) || (c.stderrMustNot ? c.stderrMustNot.test(r.stderr) : false) || (c.expect === 'ok' && r.code !== 0) || (c.expect === 'cancelled' && r.code !== 130) || (c.expect === 'error' && r.code !== 1 && !r.hang),
    };
  } finally {
    for (const m of mounts.splice(0)) spawnSync('umount', [m]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(outcomes: Outcome[]): string {
  const mark = (b: boolean) => (b ? '**yes**' : '');
  const rows = outcomes.map((o) =>
    o.skipped
      ? `| ${o.item} | ${o.name} | skipped: ${o.skipped} | | | | | | |`
      : `| ${o.item} | ${o.name} | ${o.exit ?? 'killed'} | ${o.seconds.toFixed(1)} | ${mark(o.sourceDestroyed)} | ${o.leftovers.length ? `**${o.leftovers.join(', ')}**` : ''} | ${mark(o.rawTrace)} | ${mark(o.silentAcceptance || o.hang)} | ${o.message.replace(/\|/g, '\\|')} |`,
  );
  return ['| item | case | exit | s | source destroyed | leftovers | raw trace | silent / hang | first message |', '|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  const argv = process.argv.slice(2);
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1]! : '';
  const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1]! : '';
  const outcomes: Outcome[] = [];
  for (const c of CASES.filter((x) => x.name.includes(only))) {
    const o = await probe(c);
    outcomes.push(o);
    const bad = o.sourceDestroyed || o.leftovers.length > 0 || o.rawTrace || o.silentAcceptance || o.hang || o.misleading;
    process.stderr.write(`${o.skipped ? 'skip' : bad ? 'FAIL' : 'ok  '} [${o.item}] ${o.name} → exit ${o.exit} ${o.message}\n`);
  }
  const ran = outcomes.filter((o) => !o.skipped);
  const count = (f: (o: Outcome) => boolean) => ran.filter(f).length;
  const totals = {
    cases: ran.length,
    skipped: outcomes.length - ran.length,
    sourceDestroyed: count((o) => o.sourceDestroyed),
    leftovers: count((o) => o.leftovers.length > 0),
    rawTraces: count((o) => o.rawTrace),
    silentAcceptances: count((o) => o.silentAcceptance),
    hangs: count((o) => o.hang),
    wrongExitOrMessage: count((o) => o.misleading),
  };
  process.stdout.write(`${table(outcomes)}\n\n${JSON.stringify(totals)}\n`);
  if (jsonOut) mkdirSync(path.dirname(jsonOut), { recursive: true });
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ totals, outcomes }, null, 1) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(2);
});

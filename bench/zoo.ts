// Coverage benchmark on torchvision's architectures (issue 14 item 1): per exported model, the
// channel analysis (share of channels locked and why), data-free pruning at 30 % and 50 % checked
// against the masked (gated) model on a random input, parameters and MACs before/after, and the
// gradient pass of `importance` on a few images. Writes docs/bench/zoo.md.
//
//   npm run bench:zoo [-- --models DIR] [--only SUBSTRING] [--timeout S] [--importance-timeout S]
//                        [--jobs N] [--md FILE] [--json FILE]
//   npm run bench:zoo -- --only resnet101,densenet169 --merge-into bench/out/zoo.json
//                        (re-runs those rows, replaces them in the saved run, re-renders docs/bench/zoo.md)
//   node --import tsx bench/zoo.ts --from-json bench/out/zoo.json --md docs/bench/zoo.md   (re-render)
//
// The models come from tools/export_zoo.py (Debian's python3-torch / python3-torchvision); when
// DIR (default bench/out/zoo) has no manifest.json and /usr/bin/python3 can import torch they are
// exported first (about 15 minutes, several GB). Every model runs in its own child process with a
// timeout, so one hang or crash is a row with its reason rather than the end of the run; the
// importance step is the built CLI (dist/cli.js) in a second child.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';

const ROOT = path.resolve(__dirname, '..');
const CLI = process.env.QP_CLI ?? path.join(ROOT, 'dist', 'cli.js');
/** Relative tolerance of pruned == masked: max |pruned − masked| ÷ max |masked|. */
const REL_TOL = 1e-4;
/** Reasons that do not count towards the locked share: the model's interface fixes those channels. */
const IO_REASONS = new Set(['graph-input', 'graph-output']);
const SPARSITIES = [0.3, 0.5] as const;
/** Images for the importance step; the 224×224 models (VGG, AlexNet) take 2, at 8 their gradient pass alone outlasts the timeout on two cores. */
const importanceSamples = (size: number) => (size >= 200 ? 2 : 8);

interface ManifestEntry {
  name: string;
  arch: string;
  init: 'random' | 'trained';
  file: string;
  task: 'classify' | 'segment';
  input: number[];
  dynamicHW: boolean;
  opset: number;
  params: number;
  nodes: number;
  identityNodes: number;
  batchNorms: number;
  note?: string;
}

interface PruneResult {
  sparsity: number;
  ok: boolean;
  error?: string;
  paramsAfter?: number;
  macsAfter?: number;
  kept?: number;
  maxAbs?: number;
  rel?: number;
  seconds: number;
}

interface ModelResult {
  name: string;
  analyzeOk: boolean;
  error?: string;
  params?: number;
  macs?: number;
  nodes?: number;
  variables?: number;
  channels?: number;
  lockedIO?: number;
  lockedOther?: number;
  reasons?: { reason: string; channels: number; example: string }[];
  prune: PruneResult[];
  importance?: { ok: boolean; seconds: number; stages?: string; error?: string };
  seconds: number;
}

const firstLine = (e: unknown) => (e instanceof Error ? `${e.constructor.name === 'Error' ? '' : `${e.constructor.name}: `}${e.message}` : String(e)).split('\n')[0]!.slice(0, 300);

// ---------------------------------------------------------------------------------------------
// Child: analysis and both prunes of one model.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function worker(file: string, input: number[]): Promise<ModelResult> {
  const { loadModel, normalizeGraph } = await import('../src/core/onnx');
  const { inferShapes } = await import('../src/core/analysis/shapes');
  const { analyzeDependencies } = await import('../src/core/analysis/dependencyGroups');
  const { countCost } = await import('../src/core/prune/cost');
  const { buildGatedModel } = await import('../src/core/prune/gatedModel');
  const { openSession, ort } = await import('../src/core/runtime/session');
  const { runPrune } = await import('../src/cli/commands/prune');
  const t0 = performance.now();
  const result: ModelResult = { name: path.basename(file, '.onnx'), analyzeOk: false, prune: [], seconds: 0 };
  const model = await loadModel(file);
  // Nodes as in the file; then normalised as analyze, prune and the pipeline do: without it an
  // Identity in front of a shared initializer (the exporter's deduplication) reads as a run-time
  // bias or BN statistic and locks its channels (VGG, DenseNet random init).
  result.nodes = model.nodes.length;
  normalizeGraph(model);
  let deps;
  let shapes;
  try {
    shapes = await inferShapes(model, input);
    deps = analyzeDependencies(model, shapes);
    const cost = countCost(model, shapes);
    result.params = cost.params;
    result.macs = cost.macs;
    result.analyzeOk = true;
  } catch (e) {
    result.error = `analyze: ${firstLine(e)}`;
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  }
  const byReason = new Map<string, { channels: number; example: string }>();
  let lockedIO = 0;
  let lockedOther = 0;
  for (const l of deps.locked) {
    if (IO_REASONS.has(l.reason)) {
      lockedIO += l.channels;
      continue;
    }
    lockedOther += l.channels;
    const r = byReason.get(l.reason) ?? { channels: 0, example: `${l.source}: ${l.detail}` };
    r.channels += l.channels;
    byReason.set(l.reason, r);
  }
  result.variables = deps.variables.length;
  result.channels = deps.variables.length + lockedIO + lockedOther;
  result.lockedIO = lockedIO;
  result.lockedOther = lockedOther;
  result.reasons = [...byReason].map(([reason, r]) => ({ reason, ...r })).sort((a, b) => b.channels - a.channels);

  // One random input for every comparison; a seed per model keeps reruns comparable.
  const rnd = mulberry32(input.reduce((a, b) => a * 31 + b, 7));
  const x = Float32Array.from({ length: input.reduce((a, b) => a * b, 1) }, () => rnd() * 2 - 1);
  const feedX = () => ({ [model.realInputs[0]!.name]: new ort.Tensor('float32', x, input) });
  let gated: Awaited<ReturnType<typeof openSession>> | undefined;
  let gates: ReturnType<typeof buildGatedModel> | undefined;
  const scratch = mkdtempSync(path.join(tmpdir(), 'qp-zoo-'));
  try {
    for (const sparsity of SPARSITIES) {
      const t = performance.now();
      const row: PruneResult = { sparsity, ok: false, seconds: 0 };
      result.prune.push(row);
      try {
        const out = path.join(scratch, `pruned-${sparsity}.onnx`);
        const o = await runPrune({ model: file, out, method: 'l1', sparsity, seed: 0, floor: 0.1, roundTo: 1, inputShape: input, strict: false, force: false });
        row.paramsAfter = o.after.params;
        row.macsAfter = o.after.macs;
        row.kept = o.keep.reduce((a, b) => a + b, 0);
        if (!gates) {
          gates = buildGatedModel(model, o.deps, { layout: 'shared' });
          gated = await openSession(gates.model.toBytes(), { provider: 'cpu', threads: 1 });
        }
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = feedX();
        o.deps.groups.forEach((g, gi) => {
          feeds[gates!.gateInputs[gi]!.name] = new ort.Tensor('float32', Float32Array.from(g.variables, (v) => o.keep[v]!), [g.size]);
        });
        const masked = (await gated!.session.run(feeds))[gated!.session.outputNames[0]!]!.data as Float32Array;
        const ps = await openSession(out, { provider: 'cpu', threads: 1 });
        const pruned = (await ps.session.run(feedX()))[ps.session.outputNames[0]!]!.data as Float32Array;
        await ps.session.release();
        if (pruned.length !== masked.length) throw new Error(`pruned output has ${pruned.length} values, masked ${masked.length}`);
        let maxAbs = 0;
        let scale = 0;
        for (let i = 0; i < masked.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(pruned[i]! - masked[i]!));
          scale = Math.max(scale, Math.abs(masked[i]!));
        }
        row.maxAbs = maxAbs;
        row.rel = scale > 0 ? maxAbs / scale : maxAbs;
        row.ok = Number.isFinite(row.rel) && row.rel <= REL_TOL;
        if (!row.ok) row.error = `pruned ≠ masked: max |diff| ${maxAbs.toExponential(2)} (relative ${row.rel.toExponential(2)})`;
      } catch (e) {
        row.error = firstLine(e);
      }
      row.seconds = (performance.now() - t) / 1000;
    }
  } finally {
    await gated?.session.release();
    rmSync(scratch, { recursive: true, force: true });
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Parent.

function ensureModels(dir: string): void {
  if (existsSync(path.join(dir, 'manifest.json'))) return;
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.error(`no manifest.json in ${dir}; install python3-torch python3-torchvision python3-onnx (apt) and run: ${py} tools/export_zoo.py ${dir}`);
    process.exit(1);
  }
  console.error(`exporting the zoo into ${dir} (about 15 minutes)…`);
  const r = spawnSync(py, [path.join(ROOT, 'tools', 'export_zoo.py'), dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(1);
}

/**
 * The classifier fixtures are 32×32; importance crops patches of the model's size, so each size
 * gets nearest-neighbour upscaled copies (a few per class and split).
 */
function classifierData(root: string, size: number): string {
  const dir = path.join(root, `cls-${size}`);
  const perClass = Math.max(1, importanceSamples(size) / 4);
  if (existsSync(dir)) return dir;
  const src = path.join(ROOT, 'test', 'fixtures', 'cls');
  for (const split of ['calib', 'val', 'test']) {
    for (const cls of readdirSync(path.join(src, split)).sort()) {
      const to = path.join(dir, split, cls);
      mkdirSync(to, { recursive: true });
      const files = readdirSync(path.join(src, split, cls)).filter((f) => f.endsWith('.png')).sort().slice(0, split === 'calib' ? perClass : 1);
      for (const f of files) {
        const img = PNG.sync.read(readFileSync(path.join(src, split, cls, f)));
        const out = new PNG({ width: size, height: size });
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const s = (Math.floor((y * img.height) / size) * img.width + Math.floor((x * img.width) / size)) * 4;
            img.data.copy(out.data, (y * size + x) * 4, s, s + 4);
          }
        }
        writeFileSync(path.join(to, f), PNG.sync.write(out));
      }
    }
  }
  return dir;
}

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

function runChild(cmd: string, args: string[], timeoutS: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t) / 1000, timedOut });
    });
  });
}

/** The line a failed child leaves: its last error-looking stderr line, else its last line. */
function childError(o: ChildOutcome, timeoutS: number): string {
  if (o.timedOut) return `timed out after ${timeoutS} s`;
  const lines = o.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^\s*at /.test(l) && !/^\[(\d|W:)/.test(l));
  const err = lines.find((l) => /error|Error|failed|cannot|unsupported|not /.test(l)) ?? lines.at(-1);
  return (err ?? `exit ${o.code ?? o.signal}`).slice(0, 300);
}

async function importanceStep(entry: ManifestEntry, file: string, dataRoot: string, timeoutS: number): Promise<NonNullable<ModelResult['importance']>> {
  const size = entry.input[2]!;
  // Segmentation needs no labels (per-pixel cross-entropy against the unpruned model's own argmax):
  // any photographs serve, here the denoising fixtures' clean images.
  const data = entry.task === 'classify' ? classifierData(dataRoot, size) : path.join(ROOT, 'test', 'fixtures', 'data');
  const json = path.join(dataRoot, `${entry.name}.importance.json`);
  const args = [CLI, 'importance', file, '--data', data, '--samples', String(importanceSamples(size)), '--patch', String(size), '--provider', 'cpu', '--json', json];
  const o = await runChild(process.execPath, args, timeoutS);
  rmSync(json, { force: true });
  // The CLI's own stage lines ('Calibration … done in 3.2 s') say where a slow run spent its time.
  const stages = [...o.stderr.matchAll(/^(\S[^\n]*?)\s+done in ([\d.]+) s$/gm)].map((m) => `${m[1]!.trim()} ${Number(m[2]).toFixed(0)} s`).join(', ');
  if (o.code === 0) return { ok: true, seconds: o.seconds, stages };
  return { ok: false, seconds: o.seconds, stages, error: o.timedOut ? `timed out after ${timeoutS} s (stages finished: ${stages || 'none'})` : childError(o, timeoutS) };
}

function fmtCount(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const lockedShare = (r: ModelResult) => (r.channels ? r.lockedOther! / r.channels : NaN);
const pruneOk = (r: ModelResult) => r.prune.length === SPARSITIES.length && r.prune.every((p) => p.ok);
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function failure(r: ModelResult): string {
  const parts: string[] = [];
  if (r.error) parts.push(r.error);
  for (const p of r.prune) if (!p.ok) parts.push(`prune ${p.sparsity * 100} %: ${p.error}`);
  if (r.importance && !r.importance.ok) parts.push(`importance: ${r.importance.error}`);
  return parts.join('; ');
}

function pruneCell(r: ModelResult, i: number): string {
  const p = r.prune[i];
  if (!p) return '—';
  if (!p.ok && p.paramsAfter === undefined) return '✗';
  const rel = p.rel === undefined ? '' : ` · ${p.rel.toExponential(1)}`;
  return `${p.ok ? '✓' : '✗'} ${fmtCount(p.paramsAfter)} / ${fmtCount(p.macsAfter)}${rel}`;
}

function summary(rows: { entry: ManifestEntry; r: ModelResult }[]) {
  const n = rows.length;
  const analyzed = rows.filter((x) => x.r.analyzeOk).length;
  const pruned = rows.filter((x) => pruneOk(x.r)).length;
  const imp = rows.filter((x) => x.r.importance?.ok).length;
  const shares = rows.map((x) => lockedShare(x.r));
  const maxRel = Math.max(...rows.flatMap((x) => x.r.prune.filter((p) => p.rel !== undefined).map((p) => p.rel!)));
  return { n, analyzed, pruned, imp, medianShare: median(shares), over10: rows.filter((x) => lockedShare(x.r) > 0.1), maxRel };
}

function markdown(rows: { entry: ManifestEntry; r: ModelResult }[], meta: { seconds: number; versions: Record<string, string>; jobs: number; timeoutS: number; importanceTimeoutS: number }): string {
  const main = rows.filter((x) => !x.entry.note);
  const variants = rows.filter((x) => x.entry.note);
  const archs = new Set(main.map((x) => x.entry.arch));
  const s = summary(main);
  const headline = `${s.pruned} of ${s.n} exported torchvision models (${archs.size} architectures × random and trained-like weights) prune at 30 % and 50 % with pruned == masked (relative difference ≤ ${REL_TOL}); importance runs on ${s.imp}; median locked share ${pct(s.medianShare)} (channels tied to graph inputs/outputs excluded).`;
  const L: string[] = [];
  L.push('# Model zoo coverage (`npm run bench:zoo`)');
  L.push('');
  L.push(`Generated by \`bench/zoo.ts\` on the models of \`tools/export_zoo.py\` (torch ${meta.versions.torch}, torchvision ${meta.versions.torchvision}, onnx ${meta.versions.onnx}); ${(meta.seconds / 60).toFixed(1)} minutes on a 2-core x86-64 shared with other work, onnxruntime-node CPU, ${meta.jobs} model${meta.jobs > 1 ? 's' : ''} at a time; timeouts ${meta.timeoutS} s for analysis + both prunes, ${meta.importanceTimeoutS} s for importance.`);
  L.push('');
  L.push(`**${headline}**`);
  L.push('');
  L.push('Per model: `analyze` at the export size; **locked** = channels the analysis locks for any reason other than the graph input/output, ÷ all channels it considers (prunable + locked); data-free `prune --method l1` at 30 % and 50 % (`runPrune`: export, onnxruntime load-and-run check, write), then the written file and the masked model (`buildGatedModel`, gates = the keep mask) run on the same seeded random input: the cell shows params / MACs after and max |pruned − masked| ÷ max |masked|, ✓ when ≤ 1e-4; **importance** = `qubo-prune importance` (calibration and gradient pass) on 8 images (2 for the 224×224 models): classifiers on `test/fixtures/cls` upscaled to the input size, segmentation models on the denoising photographs. Inits: `random` is the constructor\'s initialisation (BatchNorm the identity, zero biases: the exporter deduplicates identical folded initializers, some into `Identity` nodes), `trained` has seeded random BatchNorm statistics, norm affines and biases. Opset 13, batch dynamic, height/width dynamic except VGG and AlexNet (adaptive pooling to 7×7 / 6×6 exports only at a fixed size); BatchNorm folded into the convolutions.');
  L.push('');
  L.push('## Totals');
  L.push('');
  L.push('| | count |');
  L.push('|---|---|');
  L.push(`| architectures | ${archs.size} |`);
  L.push(`| models (architecture × init) | ${s.n} |`);
  L.push(`| analysed | ${s.analyzed} |`);
  L.push(`| pruned at 30 % and 50 %, pruned == masked | ${s.pruned} (${pct(s.pruned / s.n)}) |`);
  L.push(`| importance ran | ${s.imp} (${pct(s.imp / s.n)}) |`);
  L.push(`| median locked share (excl. I/O) | ${pct(s.medianShare)} |`);
  L.push(`| models with locked share > 10 % | ${s.over10.length} |`);
  L.push(`| largest relative pruned − masked difference | ${Number.isFinite(s.maxRel) ? s.maxRel.toExponential(2) : '—'} |`);
  L.push('');
  const table = (list: typeof rows) => {
    L.push('| model | init | input | params | MACs | nodes | locked (excl. I/O) | main reasons | prune 30 %: params / MACs · rel. diff | prune 50 % | importance | failure |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const { entry: e, r } of list) {
      const share = lockedShare(r);
      const reasons = (r.reasons ?? []).slice(0, 2).map((x) => `${x.reason} ${x.channels}`).join(', ') || '—';
      const imp = r.importance ? `${r.importance.ok ? '✓' : '✗'} ${r.importance.seconds.toFixed(0)} s` : '—';
      const name = e.note ? `${e.arch} (${e.note})` : e.arch;
      L.push(`| ${name} | ${e.init} | ${e.input[2]}${e.dynamicHW ? '' : ' fixed'} | ${fmtCount(r.params ?? e.params)} | ${fmtCount(r.macs)} | ${r.nodes ?? e.nodes} | ${Number.isFinite(share) ? pct(share) : '—'} | ${reasons} | ${pruneCell(r, 0)} | ${pruneCell(r, 1)} | ${imp} | ${mdCell(failure(r)) || ''} |`);
    }
    L.push('');
  };
  L.push('## Models');
  L.push('');
  table(main);
  if (variants.length) {
    L.push('## Variants (trained-like weights): other opsets, BatchNormalization kept');
    L.push('');
    table(variants);
  }
  const locked = rows.filter((x) => lockedShare(x.r) > 0.1).sort((a, b) => lockedShare(b.r) - lockedShare(a.r));
  L.push('## Locked share above 10 %: why');
  L.push('');
  if (locked.length === 0) L.push('None.');
  for (const { entry: e, r } of locked) {
    L.push(`- **${e.name}** ${pct(lockedShare(r))}: ${(r.reasons ?? []).map((x) => `${x.reason} ${x.channels} channels (e.g. ${mdCell(x.example)})`).join('; ')}`);
  }
  L.push('');
  const slow = rows.filter((x) => (x.r.importance?.seconds ?? 0) > 60);
  if (slow.length) {
    L.push('## Slow importance runs (over 60 s): where the time went');
    L.push('');
    for (const { entry: e, r } of slow) L.push(`- **${e.name}** ${r.importance!.seconds.toFixed(0)} s: ${r.importance!.stages || 'no stage finished'}`);
    L.push('');
    if (slow.some((x) => /Calibrate/.test(x.r.importance!.stages ?? '') && !/Importance/.test(x.r.importance!.stages ?? ''))) {
      L.push('Where calibration (the gradient pass) finished and the importance stage did not, the time goes to the weight-cosine matrix of each group (`weightCosine` in `src/core/importance/weightImportance.ts`: C² × fan-in multiply-adds in JavaScript), i.e. to the 4096-wide classifier layers of VGG and AlexNet (4096² × 25088 for VGG\'s first one).');
      L.push('');
    }
  }
  const failed = rows.filter((x) => failure(x.r));
  L.push('## Failures');
  L.push('');
  if (failed.length === 0) L.push('None.');
  for (const { entry: e, r } of failed) L.push(`- **${e.name}**: ${mdCell(failure(r))}`);
  L.push('');
  L.push(`Headline for the README: ${headline}`);
  return L.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' },
      input: { type: 'string' },
      models: { type: 'string' },
      only: { type: 'string' },
      timeout: { type: 'string' },
      md: { type: 'string' },
      json: { type: 'string' },
      'importance-timeout': { type: 'string' },
      'from-json': { type: 'string' },
      'merge-into': { type: 'string' },
      jobs: { type: 'string' },
      'no-importance': { type: 'boolean' },
    },
  });
  if (values['from-json']) {
    // Re-renders the Markdown of a saved run (--json) without running anything.
    const saved = JSON.parse(readFileSync(values['from-json'], 'utf8')) as { seconds: number; meta?: Omit<Parameters<typeof markdown>[1], 'seconds'>; rows: { entry: ManifestEntry; r: ModelResult }[] };
    const models = path.resolve(values.models ?? path.join(ROOT, 'bench', 'out', 'zoo'));
    const meta = saved.meta ?? {
      versions: (JSON.parse(readFileSync(path.join(models, 'manifest.json'), 'utf8')) as { versions: Record<string, string> }).versions,
      jobs: Number(values.jobs ?? 1),
      timeoutS: Number(values.timeout ?? 300),
      importanceTimeoutS: Number(values['importance-timeout'] ?? 120),
    };
    const md = markdown(saved.rows, { ...meta, seconds: saved.seconds });
    if (values.md) writeFileSync(values.md, md);
    else process.stdout.write(md);
    return;
  }
  if (values.worker) {
    let r: ModelResult;
    try {
      r = await worker(values.worker, values.input!.split(',').map(Number));
    } catch (e) {
      r = { name: path.basename(values.worker, '.onnx'), analyzeOk: false, error: firstLine(e), prune: [], seconds: 0 };
    }
    process.stdout.write(`ZOO_RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const dir = path.resolve(values.models ?? path.join(ROOT, 'bench', 'out', 'zoo'));
  const timeoutS = Number(values.timeout ?? 300);
  const importanceTimeoutS = Number(values['importance-timeout'] ?? 120);
  const jobs = Math.max(1, Number(values.jobs ?? 1));
  if (!values['no-importance'] && !existsSync(CLI)) {
    console.error(`${CLI} not found; run npm run build first`);
    process.exit(1);
  }
  ensureModels(dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { versions: Record<string, string>; models: ManifestEntry[] };
  const only = values.only?.split(',');
  const entries = manifest.models.filter((m) => !only || only.some((o) => m.name.includes(o)));
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'qp-zoo-data-'));
  const rows: { entry: ManifestEntry; r: ModelResult }[] = [];
  const t0 = performance.now();
  try {
    // Models run `jobs` at a time (default 1): two halve the wall time on two cores, at the price
    // of timings (and timeouts) measured under contention.
    let next = 0;
    let done = 0;
    const one = async (i: number) => {
      const entry = entries[i]!;
      const file = path.join(dir, entry.file);
      const o = await runChild(process.execPath, ['--import', 'tsx', __filename, '--worker', file, '--input', entry.input.join(',')], timeoutS);
      const line = o.stdout.split('\n').find((l) => l.startsWith('ZOO_RESULT '));
      const r: ModelResult = line ? JSON.parse(line.slice('ZOO_RESULT '.length)) : { name: entry.name, analyzeOk: false, error: childError(o, timeoutS), prune: [], seconds: o.seconds };
      if (!values['no-importance']) r.importance = await importanceStep(entry, file, dataRoot, importanceTimeoutS);
      results[i] = { entry, r };
      const share = lockedShare(r);
      console.error(`[${++done}/${entries.length}] ${entry.name}: ${pruneOk(r) ? 'ok  ' : 'FAIL'} locked ${Number.isFinite(share) ? pct(share) : '—'}, prune ${r.prune.map((p) => (p.ok ? `✓${p.rel?.toExponential(1)}` : '✗')).join(' ')}, importance ${r.importance ? (r.importance.ok ? '✓' : '✗') : '—'} (${o.seconds.toFixed(0)} + ${r.importance?.seconds.toFixed(0) ?? 0} s${r.importance?.stages ? `: ${r.importance.stages}` : ''})${failure(r) ? ` — ${failure(r)}` : ''}`);
    };
    const results: { entry: ManifestEntry; r: ModelResult }[] = [];
    await Promise.all(Array.from({ length: jobs }, async () => {
      while (next < entries.length) await one(next++);
    }));
    rows.push(...results);
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
  let seconds = (performance.now() - t0) / 1000;
  const merge = values['merge-into'];
  if (merge) {
    // Re-run rows replace their namesakes in a saved full run, so that fixing a few models does not
    // need the whole zoo again; the total time stays the saved run's.
    const saved = JSON.parse(readFileSync(merge, 'utf8')) as { seconds: number; meta?: object; rows: { entry: ManifestEntry; r: ModelResult }[] };
    const fresh = new Map(rows.map((x) => [x.entry.name, x]));
    const merged = saved.rows.map((x) => fresh.get(x.entry.name) ?? x);
    for (const x of rows) if (!saved.rows.some((y) => y.entry.name === x.entry.name)) merged.push(x);
    rows.splice(0, rows.length, ...merged);
    seconds = saved.seconds;
    writeFileSync(merge, JSON.stringify({ ...saved, rows }, null, 1) + '\n');
    console.error(`merged ${fresh.size} rows into ${merge}`);
  }
  const md = markdown(rows, { seconds, versions: manifest.versions, jobs, timeoutS, importanceTimeoutS });
  const mdPath = values.md ?? (only && !merge ? undefined : path.join(ROOT, 'docs', 'bench', 'zoo.md'));
  if (mdPath) {
    mkdirSync(path.dirname(mdPath), { recursive: true });
    writeFileSync(mdPath, md);
    console.error(`wrote ${mdPath}`);
  } else process.stdout.write(md);
  if (values.json) writeFileSync(values.json, JSON.stringify({ seconds, meta: { versions: manifest.versions, jobs, timeoutS, importanceTimeoutS }, rows }, null, 1) + '\n');
  console.error(md.split('\n').at(-2));
}

void main();

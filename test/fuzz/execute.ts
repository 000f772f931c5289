// Runs one fuzz case in this process and classifies what happened. Used by the worker process
// (test/fuzz/worker.ts): a hang here cannot be interrupted, so the parent's watchdog kills the
// whole worker instead.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ort } from '../../src/core/runtime/session';
import { runPrune } from '../../src/cli/commands/prune';
import { pipelinePreset } from '../../src/cli/commands/prunePipeline';
import { errorKind } from '../../src/core/errors';
import { loadDataset } from '../../src/core/data';
import { loadModel } from '../../src/core/onnx';
import { parseJsonc, resolvePreset, validateOverrides } from '../../src/core/presets';
import type { CaseInput, Family, FuzzCase } from './cases';

/** Worst first: a case gets the first verdict that applies. */
export const VERDICTS = ['source-changed', 'leftover', 'hang', 'crash', 'accepted-bad', 'wrong-result', 'clear-error', 'ok'] as const;
export type Verdict = (typeof VERDICTS)[number];
export const FAILURES: ReadonlySet<Verdict> = new Set(['source-changed', 'leftover', 'hang', 'crash', 'accepted-bad', 'wrong-result']);

export interface Outcome {
  id: string;
  family: Family;
  name: string;
  verdict: Verdict;
  /** The error's code and first line, or what was wrong. */
  detail: string;
  ms: number;
  /** How the case was run. */
  via: 'in-process' | 'cli';
}

/** Regular files under `dir` with their hashes; links and other non-files are listed, not followed or read. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, rel));
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const full = path.join(dir, r);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        out.set(r + '/', 'dir');
        visit(r);
      } else if (st.isFile()) out.set(r, createHash('sha256').update(readFileSync(full)).digest('hex'));
      else out.set(r, st.isSymbolicLink() ? 'link' : 'special');
    }
  };
  visit('');
  return out;
}

/** An input error (kind 'input') with a string code and a one-line message. */
export function classifyError(err: unknown): { verdict: 'clear-error' | 'crash'; detail: string } {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const first = message.split('\n')[0]!.slice(0, 300);
  const coded = typeof e?.code === 'string';
  const isInput = errorKind(err) === 'input';
  if (isInput && coded && message.trim() !== '' && !message.includes('\n')) {
    return { verdict: 'clear-error', detail: `${String(e.name)}${typeof e.code === 'string' ? `[${e.code}]` : ''}: ${first}` };
  }
  const why = !isInput ? '' : !coded ? ' (no code)' : message.includes('\n') ? ' (multi-line message)' : ' (empty message)';
  const frame = typeof e?.stack === 'string' ? (e.stack.split('\n').find((l) => l.includes('/src/')) ?? '').trim() : '';
  return { verdict: 'crash', detail: `${String(e?.name ?? typeof err)}${typeof e?.code === 'string' ? `[${e.code}]` : ''}${why}: ${first}${frame ? ` ${frame}` : ''}` };
}

async function runModel(input: Extract<CaseInput, { kind: 'model' }>): Promise<string | undefined> {
  const out = path.join(path.dirname(input.model), 'pruned.onnx');
  const r = await runPrune({ model: input.model, out, method: 'l1', sparsity: 0.3, seed: 0, floor: 0.1, roundTo: 1, strict: false, force: false });
  // A correct result: the output re-loads (finite weights, valid graph), runs in onnxruntime at the
  // shapes the analysis used, and is no bigger than the input.
  await loadModel(out);
  const session = await ort.InferenceSession.create(out);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, dims] of Object.entries(r.inputShapes)) feeds[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5), dims);
    const res = await session.run(feeds);
    if (Object.keys(res).length === 0) return 'the pruned model produced no outputs';
  } finally {
    await session.release();
  }
  if (r.after.params > r.before.params) return `the pruned model has more parameters (${r.after.params}) than the input (${r.before.params})`;
  return undefined;
}

async function runData(input: Extract<CaseInput, { kind: 'data' }>): Promise<string | undefined> {
  const ds = await loadDataset(input.data, {
    patch: 16,
    decodeAll: true,
    channels: 3,
    seed: 0,
    task: input.task === 'classify' ? 'classify' : undefined,
    modelTask: input.task,
    maxPerSplit: { calib: 8, val: 4 },
  });
  for (const split of [ds.calib, ds.val, ds.test]) {
    for await (const b of split.batches(8)) {
      const [n, c, h, w] = b.shape;
      if (c !== 3 || h !== 16 || w !== 16 || b.input.length !== n * c * h * w) return `${split.name} batch has shape [${b.shape.join(',')}] for ${b.input.length} values`;
      for (const [what, a] of [['input', b.input], ['target', b.target]] as const) {
        if (!a) continue;
        for (let i = 0; i < a.length; i++) {
          const v = a[i]!;
          if (!(v >= 0 && v <= 1)) return `${split.name} ${what}[${i}] = ${v}, outside [0, 1]`;
        }
      }
      if (input.task === 'classify' && (!b.labels || b.labels.some((l) => l < 0 || l >= (ds.classes?.length ?? 0)))) return `${split.name} has labels outside the classes`;
      const bad = input.verify?.({ input: b.input, shape: b.shape, names: b.names });
      if (bad) return bad;
    }
  }
  return undefined;
}

async function runPreset(input: Extract<CaseInput, { kind: 'preset' }>, dir: string): Promise<string | undefined> {
  let settings;
  if (input.configText !== undefined) {
    const file = path.join(dir, 'preset.jsonc');
    writeFileSync(file, input.configText);
    settings = pipelinePreset({ ...input.flags, ...(input.presetName !== undefined ? { preset: input.presetName } : {}) }, parseJsonc(readFileSync(file, 'utf8'), file)).settings;
  } else {
    settings = resolvePreset(input.presetName ?? 'balanced', input.userPresets, input.overrides).settings;
  }
  // A correct result is itself a valid preset: every value known and in range.
  try {
    validateOverrides(JSON.parse(JSON.stringify(settings)));
  } catch (err) {
    return `the resolved settings are invalid: ${(err as Error).message}`;
  }
  return undefined;
}

function newEntries(before: Map<string, string>, after: Map<string, string>, allowed: (rel: string) => boolean): string[] {
  return [...after.keys()].filter((k) => !before.has(k) && !allowed(k));
}

/** Builds and runs one case in `dir` (empty, owned by the case) and classifies the outcome. */
export async function executeCase(c: FuzzCase, dir: string): Promise<Outcome> {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const input = await c.build(dir);
  const before = snapshot(dir);
  const tmpBefore = new Set(readdirSync(tmpdir()));
  let verdict: Verdict;
  let detail = '';
  try {
    const wrong = input.kind === 'model' ? await runModel(input) : input.kind === 'data' ? await runData(input) : await runPreset(input, dir);
    if (wrong) [verdict, detail] = ['wrong-result', wrong];
    else if (c.mustFail) [verdict, detail] = ['accepted-bad', 'the run succeeded on input that must be refused'];
    else verdict = 'ok';
  } catch (err) {
    ({ verdict, detail } = classifyError(err));
  }
  const after = snapshot(dir);
  const changed = [...before].filter(([k, h]) => after.get(k) !== h).map(([k]) => k);
  const succeeded = verdict === 'ok' || verdict === 'wrong-result' || verdict === 'accepted-bad';
  const fresh = newEntries(before, after, (k) => succeeded && /(^|\/)pruned\.onnx(\.data)?$/.test(k));
  if (input.kind === 'preset') fresh.splice(0, fresh.length, ...fresh.filter((k) => k !== 'preset.jsonc'));
  const tmpFresh = readdirSync(tmpdir()).filter((n) => !tmpBefore.has(n));
  if (changed.length) [verdict, detail] = ['source-changed', `changed: ${changed.slice(0, 3).join(', ')}; was ${verdict}: ${detail}`];
  else if (fresh.length || tmpFresh.length) [verdict, detail] = ['leftover', `left: ${[...fresh, ...tmpFresh.map((n) => `$TMPDIR/${n}`)].slice(0, 3).join(', ')}; was ${verdict}: ${detail}`];
  for (const n of tmpFresh) rmSync(path.join(tmpdir(), n), { recursive: true, force: true });
  return { id: c.id, family: c.family, name: c.name, verdict, detail, ms: Math.round(performance.now() - t0), via: 'in-process' };
}

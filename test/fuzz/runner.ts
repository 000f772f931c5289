// Runs fuzz cases in worker processes under a watchdog (a case past the time limit is a hang: its
// worker is killed and replaced), runs a sample through the real CLI for exit codes, and tallies.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FAMILIES, FIXTURES, ROOT, type Family } from './cases';
import { FAILURES, snapshot, VERDICTS, type Outcome, type Verdict } from './execute';
import { caseFromId } from './mutators';

export interface RunOptions {
  seed: number;
  ids: string[];
  /** Per-case limit; a case still running then is a hang. */
  timeoutMs: number;
  /** Worker processes in parallel (default 1). */
  jobs?: number;
  onOutcome?: (o: Outcome) => void;
}

interface Slot {
  child?: ChildProcess;
  ready?: Promise<void>;
}

/** A private temporary folder per run: the workers' $TMPDIR (so stray temporary files are seen) and the case folders. */
export function makeScratch(): { root: string; tmp: string; cases: string; dispose(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'qp-fuzz-'));
  const tmp = path.join(root, 'tmp');
  const cases = path.join(root, 'cases');
  mkdirSync(tmp);
  mkdirSync(cases);
  return { root, tmp, cases, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

function spawnWorker(slot: Slot, tmp: string): void {
  const child = fork(path.join(__dirname, 'worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  child.stderr!.resume();
  slot.child = child;
  slot.ready = new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }) => {
      if (m.type === 'ready') {
        child.off('message', onMsg);
        resolve();
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code, signal) => reject(new Error(`fuzz worker exited before it was ready (${signal ?? code})`)));
  });
}

function runInWorker(slot: Slot, seed: number, id: string, dir: string, tmp: string, timeoutMs: number): Promise<Outcome> {
  if (!slot.child || slot.child.exitCode !== null || slot.child.signalCode !== null) spawnWorker(slot, tmp);
  const child = slot.child!;
  const c = caseFromId(seed, id);
  const base = { id, family: c.family, name: c.name, via: 'in-process' as const };
  return slot.ready!.then(
    () =>
      new Promise<Outcome>((resolve) => {
        const t0 = performance.now();
        let stray = '';
        const finish = (o: Outcome) => {
          clearTimeout(timer);
          child.off('message', onMsg);
          child.off('exit', onExit);
          resolve(o);
        };
        const onMsg = (m: { type: string; id?: string; detail?: string; outcome?: Outcome }) => {
          if (m.type === 'stray' && m.id === id) stray ||= m.detail!;
          if (m.type === 'done' && m.outcome?.id === id) {
            const o = m.outcome;
            finish(stray && !FAILURES.has(o.verdict) ? { ...o, verdict: 'crash', detail: stray } : o);
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          slot.child = undefined;
          rmSync(dir, { recursive: true, force: true });
          finish({ ...base, verdict: 'crash', detail: `worker died (${signal ?? `exit ${code}`})${stray ? `: ${stray}` : ''}`, ms: Math.round(performance.now() - t0) });
        };
        const timer = setTimeout(() => {
          child.off('exit', onExit);
          child.kill('SIGKILL');
          slot.child = undefined;
          rmSync(dir, { recursive: true, force: true });
          finish({ ...base, verdict: 'hang', detail: `no result within ${timeoutMs / 1000} s`, ms: timeoutMs });
        }, timeoutMs);
        child.on('message', onMsg);
        child.on('exit', onExit);
        child.send({ seed, id, dir });
      }),
    (err: Error) => {
      slot.child = undefined;
      return { ...base, verdict: 'crash' as Verdict, detail: err.message, ms: 0 };
    },
  );
}

/** Runs the cases in-process (in workers); results come back in the order of `ids`. */
export async function runFuzz(opts: RunOptions): Promise<Outcome[]> {
  const scratch = makeScratch();
  const results = new Map<string, Outcome>();
  const queue = [...opts.ids];
  const slots: Slot[] = Array.from({ length: Math.max(1, opts.jobs ?? 1) }, () => ({}));
  try {
    await Promise.all(
      slots.map(async (slot) => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const dir = path.join(scratch.cases, id.replace('/', '-'));
          const o = await runInWorker(slot, opts.seed, id, dir, scratch.tmp, opts.timeoutMs);
          results.set(id, o);
          opts.onOutcome?.(o);
        }
        slot.child?.kill('SIGKILL');
      }),
    );
  } finally {
    for (const s of slots) s.child?.kill('SIGKILL');
    scratch.dispose();
  }
  return opts.ids.map((id) => results.get(id)!);
}

// ---------------------------------------------------------------------------------------------
// Through the CLI: exit codes and stderr of the real command line.

const CLI = process.env.QP_CLI;
const TRACE = /\n\s+at .+:\d+:\d+\)?|\b(RangeError|TypeError|ReferenceError|SyntaxError)\b/;

function cliArgs(kind: 'model' | 'data' | 'preset', input: Awaited<ReturnType<ReturnType<typeof caseFromId>['build']>>, dir: string): string[] | undefined {
  const out = path.join(dir, 'cli-out.onnx');
  if (input.kind === 'model') return ['prune', input.model, '--method', 'l1', '--sparsity', '0.3', '--out', out];
  const config = path.join(dir, 'cli-config.jsonc');
  if (input.kind === 'data') {
    // The same sample counts as the in-process run, so both use (and decode) the same images.
    writeFileSync(config, JSON.stringify({ provider: 'cpu', samples: 8, patch: 16, searchTimeMs: 50, refine: { scope: 'off', valSamples: 4 }, recover: false }));
    const model = path.join(FIXTURES, input.task === 'classify' ? 'classifier.onnx' : 'halfunet.onnx');
    return ['prune', model, '--data', input.data, '--config', config, '--out', out];
  }
  if (input.configText === undefined || kind !== 'preset') return undefined;
  writeFileSync(config, input.configText);
  const flags = Object.entries(input.flags ?? {}).flatMap(([k, v]) => [`--${k}`, v]);
  const name = input.presetName !== undefined ? ['--preset', input.presetName] : [];
  // An invalid --input-shape is checked right after the settings: a run whose settings pass stops
  // there, quickly and with a message of its own.
  return ['prune', path.join(FIXTURES, 'halfunet.onnx'), '--data', path.join(FIXTURES, 'data'), '--config', config, ...name, ...flags, '--input-shape', '0', '--out', out];
}

/** Runs one case through the CLI and classifies exit code, stderr and files. */
export async function runCliCase(seed: number, id: string, timeoutMs: number): Promise<Outcome | undefined> {
  const c = caseFromId(seed, id);
  const scratch = makeScratch();
  try {
    const dir = path.join(scratch.cases, 'case');
    mkdirSync(dir);
    const input = await c.build(dir);
    const args = cliArgs(input.kind, input, dir);
    if (!args) return undefined;
    const before = snapshot(dir);
    const t0 = performance.now();
    // tsx by file URL: the run's folder is the case's, where 'tsx' does not resolve.
    const entry = CLI ? [CLI] : ['--import', pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, path.join(ROOT, 'src', 'cli', 'main.ts')];
    const r = await new Promise<{ code: number | null; signal: string | null; stderr: string; hang: boolean }>((resolve) => {
      const child = spawn(process.execPath, [...entry, ...args], { cwd: dir, env: { ...process.env, TMPDIR: scratch.tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let hang = false;
      const timer = setTimeout(() => {
        hang = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr, hang });
      });
    });
    const after = snapshot(dir);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^(Analyze|Calibrate|Importance|QUBO search|TT refinement|Export|Evaluate|execution provider|data:|model)/.test(l.trim()));
    const message = (lines.find((l) => /error|qubo-prune/i.test(l)) ?? lines[0] ?? '').trim().slice(0, 300);
    let verdict: Verdict;
    let detail = `exit ${r.code ?? r.signal}: ${message}`;
    const accepted = input.kind === 'preset' ? r.code === 1 && /--input-shape must be/.test(r.stderr) : r.code === 0;
    if (r.hang) verdict = 'hang';
    else if (accepted) verdict = c.mustFail ? 'accepted-bad' : 'ok';
    else if (r.code === 1 && !TRACE.test(r.stderr)) verdict = 'clear-error';
    else verdict = 'crash';
    const changed = [...before].filter(([k, h]) => after.get(k) !== h).map(([k]) => k);
    const fresh = [...after.keys()].filter((k) => !before.has(k) && !(accepted && /cli-out\.(onnx|report\.json|report\.md)$/.test(k) && input.kind !== 'preset'));
    if (changed.length) [verdict, detail] = ['source-changed', `changed: ${changed.join(', ')}; ${detail}`];
    else if (fresh.length) [verdict, detail] = ['leftover', `left: ${fresh.slice(0, 3).join(', ')}; ${detail}`];
    return { id, family: c.family, name: c.name, verdict, detail, ms: Math.round(performance.now() - t0), via: 'cli' };
  } finally {
    scratch.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

export type Tally = Record<Family, Record<Verdict, number>>;

export function tally(outcomes: Outcome[]): Tally {
  const t = Object.fromEntries(FAMILIES.map((f) => [f, Object.fromEntries(VERDICTS.map((v) => [v, 0]))])) as Tally;
  for (const o of outcomes) t[o.family][o.verdict]++;
  return t;
}

const LABEL: Record<Verdict, string> = {
  ok: 'correct result',
  'clear-error': 'clear error',
  crash: 'crash',
  hang: 'hang',
  leftover: 'leftover',
  'source-changed': 'source changed',
  'accepted-bad': 'wrongly accepted',
  'wrong-result': 'wrong result',
};

/** Markdown table: one row per family and a total. */
export function formatTally(t: Tally): string {
  const cols: Verdict[] = ['ok', 'clear-error', 'crash', 'hang', 'leftover', 'source-changed', 'accepted-bad', 'wrong-result'];
  const rows = FAMILIES.map((f) => [f, cols.reduce((a, v) => a + t[f][v], 0), ...cols.map((v) => t[f][v])]);
  const total = ['**total**', ...rows[0]!.slice(1).map((_, i) => rows.reduce((a, r) => a + (r[i + 1] as number), 0))];
  return [`| family | cases | ${cols.map((v) => LABEL[v]).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|---:|`, ...[...rows, total].map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function failures(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => FAILURES.has(o.verdict));
}

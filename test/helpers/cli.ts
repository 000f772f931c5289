// The CLI as a user runs it: a child process (node + tsx, so no build is needed), for tests that are
// about exit codes, what is printed and what is left on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, TSX } from './pipelineOutputs';

export const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed at `timeoutMs`. */
  timedOut: boolean;
  ms: number;
}

export interface CliOptions {
  /** Sees stderr as it grows and may signal the child (Ctrl-C tests). */
  onStderr?: (text: string, child: ChildProcess) => void;
  /** Replaces the environment; a key set to undefined is removed. */
  env?: Record<string, string | undefined>;
  /** node flags before the entry point (e.g. `--require hook.cjs`). */
  nodeArgs?: string[];
  /** SIGKILL after this long (a hang must fail the test, not stall it). */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', TSX, MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      opts.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Everything a failed assertion needs to show. */
export const showRun = (r: CliResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

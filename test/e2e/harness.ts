// Infrastructure of the end-to-end test: the tools (tools/e2e-setup.sh), the VSIX, a code-server
// started in its own process group on a free port, and headless Debian chromium through
// playwright-core. See /work/shared/E2E.md-style notes in docs and the README's "Testing" section.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '..', '..');

export interface Tools {
  node: string;
  codeServer: string;
  chromium: string;
}

/** Installs (or finds, in a second) Node 24, code-server and chromium; see tools/e2e-setup.sh. */
export async function ensureTools(): Promise<Tools> {
  const { stdout } = await run('bash', [path.join(ROOT, 'tools', 'e2e-setup.sh')], { maxBuffer: 64 << 20, timeout: 30 * 60_000 });
  const vars = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const tools = { node: vars.QUBO_E2E_NODE!, codeServer: vars.QUBO_E2E_CODE_SERVER!, chromium: vars.QUBO_E2E_CHROMIUM! };
  for (const [k, v] of Object.entries(tools)) if (!v || !fs.existsSync(v)) throw new Error(`e2e setup did not provide ${k} (${v})`);
  return tools;
}

/** Builds and packages the extension (npm run package) unless QUBO_E2E_VSIX names a ready one. */
export async function buildVsix(): Promise<string> {
  const given = process.env.QUBO_E2E_VSIX;
  if (given) return path.resolve(given);
  await run('npm', ['run', 'package', '--silent'], { cwd: ROOT, maxBuffer: 64 << 20, timeout: 10 * 60_000 });
  const vsix = path.join(ROOT, 'dist', 'qubo-prune-linux-x64.vsix');
  if (!fs.existsSync(vsix)) throw new Error(`npm run package did not produce ${vsix}`);
  return vsix;
}

export interface Server {
  url: string;
  port: number;
  logFile: string;
  stop(): Promise<void>;
}

function csEnv(tools: Tools, home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${path.dirname(tools.node)}:${process.env.PATH}`,
    XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
    XDG_DATA_HOME: path.join(home, 'xdg-data'),
    XDG_CACHE_HOME: path.join(home, 'xdg-cache'),
  };
}

export async function installExtension(tools: Tools, home: string, vsix: string): Promise<void> {
  await run(tools.node, [tools.codeServer, '--extensions-dir', path.join(home, 'extensions'), '--user-data-dir', path.join(home, 'user-data'), '--install-extension', vsix, '--force'], {
    env: csEnv(tools, home),
    timeout: 120_000,
  });
}

/** Starts code-server in its own process group (so stop() takes every child with it). */
export async function startServer(tools: Tools, home: string, workspace: string): Promise<Server> {
  const logFile = path.join(home, 'code-server.log');
  const out = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(
    tools.node,
    [
      tools.codeServer,
      '--bind-addr',
      '127.0.0.1:0',
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--extensions-dir',
      path.join(home, 'extensions'),
      '--user-data-dir',
      path.join(home, 'user-data'),
      workspace,
    ],
    { env: csEnv(tools, home), detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await gone;
    clearTimeout(timer);
    // Extension hosts and workers share the group; make sure none outlives the server.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // group empty
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const log = fs.readFileSync(logFile, 'latin1');
    const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    if (m) {
      const port = Number(m[1]);
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        try {
          const r = await fetch(`${url}/healthz`);
          if (r.ok) return { url, port, logFile, stop };
        } catch {
          // not yet
        }
        await sleep(100);
      }
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  await stop();
  throw new Error(`code-server did not start; log:\n${fs.readFileSync(logFile, 'latin1').slice(-3000)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function launchBrowser(tools: Tools, home: string): Promise<{ context: BrowserContext; page: Page }> {
  // A fresh profile per run, so nothing carries over between runs.
  const context = await chromium.launchPersistentContext(path.join(home, 'chromium'), {
    executablePath: tools.chromium,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/** The inner frame of the webview whose body has data-view=`view` (report panel or model editor). */
export async function webviewFrame(page: Page, view: 'report' | 'model', timeoutMs = 60_000, predicate?: (f: Frame) => Promise<boolean>): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (f.isDetached()) continue;
      try {
        const v = await f.evaluate(() => document.body?.dataset.view ?? null);
        if (v === view && (!predicate || (await predicate(f)))) return f;
      } catch {
        // frame navigating or cross-origin hiccup; try again
      }
    }
    await sleep(250);
  }
  throw new Error(`no ${view} webview within ${timeoutMs} ms`);
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

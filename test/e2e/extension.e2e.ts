// End-to-end test of the extension in a real VS Code (code-server 4.139.1 = VS Code 1.139.1 on
// Node 24) driven through headless chromium, as a user would: right-click in the Explorer,
// pick from menus and QuickPicks, read the webviews. Run with `npm run test:e2e`; tools are
// installed by tools/e2e-setup.sh on first use. Screenshots go to test-results/e2e/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { buildVsix, ensureTools, installExtension, launchBrowser, ROOT, sleep, startServer, waitFor, webviewFrame, type Server } from './harness';

const ARTIFACTS = path.join(ROOT, 'test-results', 'e2e');
const MODEL = 'dncnn.onnx';
const BROKEN = 'broken.onnx';

/** A small user preset with a refinement long enough to catch the panel mid-run. */
const E2E_PRESET = { samples: 8, patch: 48, searchTimeMs: 300, refine: { scope: 'network', evaluations: 400, seconds: 20, valSamples: 2 } };

let home: string;
let ws: string;
let server: Server | undefined;
let context: BrowserContext | undefined;
let page: Page;
const started = Date.now();

function log(msg: string): void {
  process.stdout.write(`# [e2e +${((Date.now() - started) / 1000).toFixed(1)} s] ${msg}\n`);
}

async function shot(name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(ROOT, file)}`);
  return file;
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** Right-clicks a file in the Explorer and picks an item of the context menu. */
async function explorerCommand(file: string, item: string): Promise<void> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first();
  // Clicking the icon of the visible container would hide the side bar, so only when hidden.
  if (!(await row.isVisible().catch(() => false))) await page.locator('.activitybar [aria-label^="Explorer"]').first().click();
  await row.waitFor({ timeout: 30_000 });
  const menu = page.locator('.context-view .monaco-menu').first();
  // The menu is laid out again once the extension's `when` clauses are evaluated; a click during
  // that swallows the item (seen with code-server 4.139 and chromium 156: the menu stayed open and
  // no command ran). So: let it settle, point at the item, click, and try again while it stays open.
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    const entry = page.locator('.monaco-menu .action-item:not(.disabled)', { hasText: item }).first();
    await entry.waitFor({ timeout: 15_000 });
    await sleep(300);
    await entry.hover();
    await entry.click();
    const closed = await menu.waitFor({ state: 'hidden', timeout: 3_000 }).then(
      () => true,
      () => false,
    );
    if (closed) return;
    if (attempt >= 3) throw new Error(`the context menu stayed open after clicking '${item}' three times`);
    log(`context menu still open after clicking '${item}' (attempt ${attempt}); again`);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }
}

async function frameText(f: Frame, selector: string): Promise<string | null> {
  return f.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
}

describe('QUBO Prune in VS Code (code-server)', () => {
  before(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const tools = await ensureTools();
    log('tools ready');
    const vsix = await buildVsix();
    log(`extension packaged: ${path.relative(ROOT, vsix)} (${(fs.statSync(vsix).size / 2 ** 20).toFixed(1)} MiB)`);

    home = fs.mkdtempSync(path.join(os.tmpdir(), 'qubo-prune-e2e-'));
    ws = path.join(home, 'workspace');
    fs.mkdirSync(ws, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', MODEL), path.join(ws, MODEL));
    // A model cut short, as a failed download would leave it.
    fs.writeFileSync(path.join(ws, BROKEN), fs.readFileSync(path.join(ROOT, 'test', 'fixtures', MODEL)).subarray(0, 4000));
    fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'data'), path.join(ws, 'data'), { recursive: true });
    // Settings exist before the server starts, so the extension host sees them at once. No data
    // folder: the first run asks for it, as it does for a new user, and the test remembers it.
    writeJson(path.join(ws, '.vscode', 'settings.json'), {
      'quboPrune.defaultPreset': 'fast',
      'quboPrune.presets': { e2e: E2E_PRESET },
      'quboPrune.analysisSize': 64,
    });
    writeJson(path.join(home, 'user-data', 'User', 'settings.json'), {
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'chat.disableAIFeatures': true,
      'workbench.startupEditor': 'none',
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'window.restoreWindows': 'all',
    });
    await installExtension(tools, home, vsix);
    log('extension installed');
    server = await startServer(tools, home, ws);
    log(`code-server at ${server.url}`);
    ({ context, page } = await launchBrowser(tools, home));
    await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
    // Menus opened before the extension's contributions arrive lack its items.
    await page.locator('.activitybar [aria-label*="QUBO Prune"]').first().waitFor({ timeout: 180_000 });
    log('workbench ready, QUBO Prune tab visible');
  });

  after(async () => {
    try {
      if (page && !page.isClosed()) await page.screenshot({ path: path.join(ARTIFACTS, 'last-state.png') }).catch(() => undefined);
      await context?.close().catch(() => undefined);
    } finally {
      await server?.stop();
      if (home) {
        // Keep the logs of the run next to the screenshots.
        const logs = path.join(home, 'user-data', 'logs');
        if (fs.existsSync(logs)) fs.cpSync(logs, path.join(ARTIFACTS, 'vscode-logs'), { recursive: true });
        if (server) fs.copyFileSync(server.logFile, path.join(ARTIFACTS, 'code-server.log'));
        fs.rmSync(home, { recursive: true, force: true });
      }
      log('done');
    }
  });

  test('Analyze on a malformed .onnx shows the error', async () => {
    await explorerCommand(BROKEN, 'Analyze model');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: `could not analyze ${BROKEN}` }).first();
    await toast.waitFor({ timeout: 90_000 });
    const text = (await toast.textContent()) ?? '';
    assert.match(text, /truncated|damaged/i, text);
    log(`error shown: ${text.slice(0, 160)}`);
    await shot('analyze-malformed-error');
    await page.keyboard.press('Escape');
    const close = toast.locator('.codicon-notifications-clear, .codicon-close').first();
    if (await close.isVisible().catch(() => false)) await close.click().catch(() => undefined);
  });

  test('Analyze model opens the read-only inspector and fills the layer tree', async () => {
    await explorerCommand(MODEL, 'Analyze model');
    const f = await webviewFrame(page, 'model', 120_000, async (fr) => (await fr.evaluate(() => document.body.dataset.status)) === 'ready');
    assert.equal(await frameText(f, '[data-total="params"]'), '57.4k');
    assert.equal(await frameText(f, '[data-total="groups"]'), '7');
    const rows = await f.evaluate(() => document.querySelectorAll('table.analysis tbody tr').length);
    assert.equal(rows, 8, 'eight conv layers');
    const layersRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'Channel groups (7)' }).first();
    await layersRow.waitFor({ timeout: 30_000 });
    await shot('model-inspector');
  });

  test('Prune with preset… from the Explorer: confirm step, data folder remembered, live report with clock, final metrics, pruned file, run in the sidebar', async () => {
    const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'e2e' }).first();
    // A webview that finishes loading can take the focus, and a QuickPick closes when it loses
    // it; a user would open the menu again, and so does the test.
    for (let attempt = 1; ; attempt++) {
      await explorerCommand(MODEL, 'Prune with preset…');
      try {
        await pick.waitFor({ timeout: 15_000 });
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`preset QuickPick not shown (attempt ${attempt}); again`);
        // A context menu left open by the previous attempt would swallow the next right-click.
        await page.keyboard.press('Escape');
        await page.locator('.context-view .monaco-menu').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
      }
    }
    // The built-ins and the workspace preset are offered.
    for (const name of ['fast', 'balanced', 'thorough']) assert.ok(await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).count(), name);
    await pick.click();
    log('preset e2e chosen');

    // The confirm step: preset, sparsity and the predicted cost, with a way to change the sparsity.
    const start = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start pruning' }).first();
    await start.waitFor({ timeout: 60_000 });
    const startText = (await start.textContent()) ?? '';
    assert.match(startText, /preset e2e · 36% filter sparsity/, startText);
    assert.match(startText, /Estimated: params 57\.4k → \d+(\.\d+)?k · MACs 233\.6M → \d+(\.\d+)?M at 1×3×64×64/, startText);
    await shot('confirm-step');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Change sparsity' }).first().click();
    const input = page.locator('.quick-input-widget input').first();
    await waitFor('the sparsity input box', async () => (await input.inputValue().catch(() => '')) === '36', 30_000);
    await input.fill('40');
    await page.keyboard.press('Enter');
    const start40 = page.locator('.quick-input-widget .monaco-list-row', { hasText: '40% filter sparsity' }).first();
    await start40.waitFor({ timeout: 30_000 });
    await start40.click();
    log('sparsity changed to 40%; started');

    // No data folder configured: the picker offers the workspace's data folder and says what it accepts.
    const dataRow = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'splits: calib, test, val' }).first();
    await dataRow.waitFor({ timeout: 30_000 });
    const placeholder = (await page.locator('.quick-input-widget input').first().getAttribute('placeholder')) ?? '';
    assert.match(placeholder, /Layouts: calib\/val\/test splits · noisy\+clean pairs · class folders · images/, placeholder);
    await shot('data-folder-picker');
    await dataRow.click();
    const remember = page.locator('.notifications-toasts .notification-toast', { hasText: "Remember 'data'" }).first();
    await remember.waitFor({ timeout: 30_000 });
    await shot('remember-data-folder');
    await remember.locator('.monaco-button', { hasText: 'Remember' }).first().click();
    const settingsFile = path.join(ws, '.vscode', 'settings.json');
    await waitFor('quboPrune.dataFolder saved', async () => JSON.parse(fs.readFileSync(settingsFile, 'utf8'))['quboPrune.dataFolder'] === 'data', 30_000);
    log('data folder remembered in .vscode/settings.json');

    const report = await webviewFrame(page, 'report', 60_000);
    // Mid-run: wait for the capacity search to have produced bars, then for refinement points.
    const mid = await waitFor(
      'the report panel mid-run',
      async () => {
        const st = await report.evaluate(() => ({
          status: document.body.dataset.status ?? '',
          running: document.querySelector('.stage-running')?.getAttribute('data-stage') ?? null,
          caps: document.querySelectorAll('table.caps tbody tr').length,
        }));
        if (st.status !== 'running') return st.status ? st : undefined;
        return st.caps > 0 && (st.running === 'refine' || st.running === 'export' || st.running === 'evaluate') ? st : undefined;
      },
      180_000,
      200,
    );
    // The clock: elapsed time always, and the time left of the time-boxed refinement while it runs.
    const clock = await waitFor(
      'the clock with the refinement time left',
      async () => {
        const st = await report.evaluate(() => ({ status: document.body.dataset.status ?? '', running: document.querySelector('.stage-running')?.getAttribute('data-stage') ?? null, clock: document.getElementById('clock')?.textContent ?? '' }));
        if (st.status !== 'running') throw new Error(`the run ended (${st.status}) before refinement showed its time left`);
        return st.running === 'refine' && /refine ≈\d+:\d\d left/.test(st.clock) ? st.clock : undefined;
      },
      180_000,
      200,
    );
    assert.match(clock, /^elapsed \d+:\d\d · refine ≈\d+:\d\d left$/);
    log(`clock: ${clock}`);
    if (mid.status === 'running') {
      await sleep(1500); // let a few refinement points arrive for the curve
      await shot('report-mid-run');
      const bar = (await page.locator('.statusbar-item', { hasText: 'QUBO Prune:' }).first().textContent()) ?? '';
      log(`status bar: ${bar}`);
      log(`mid-run: stage ${mid.running}, ${mid.caps} capacity bars`);
      assert.ok(await page.locator('.statusbar-item', { hasText: 'QUBO Prune:' }).count(), 'status bar item while running');
    } else log(`run already ${mid.status} before the mid-run screenshot`);

    await waitFor('the final metrics', async () => (await report.evaluate(() => document.body.dataset.status)) !== 'running', 300_000, 500);
    const status = await report.evaluate(() => document.body.dataset.status);
    const error = await frameText(report, '.error');
    assert.equal(status, 'done', `run ended ${status}: ${error}`);
    const metrics = await report.evaluate(() =>
      [...document.querySelectorAll('table.metrics tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    log(`metrics: ${JSON.stringify(metrics)}`);
    const psnr = metrics.find((r) => r[0] === 'PSNR (dB)');
    assert.ok(psnr, 'PSNR row');
    assert.ok(Number(psnr![1]) > 10 && Number(psnr![psnr!.length - 2]) > 5, `PSNR before/after: ${psnr}`);
    const params = metrics.find((r) => r[0] === 'Parameters')!;
    assert.equal(params[1], '57.4k');
    assert.ok(metrics.some((r) => r[0] === 'MACs at 1×3×48×48'), 'MACs name their input size');
    assert.match((await frameText(report, '.evaluation-note')) ?? '', /Measured on the test split: 12 images/);
    assert.match((await frameText(report, '#clock')) ?? '', /^elapsed \d+:\d\d$/);
    assert.ok(await report.locator('[data-action="reveal-output"]').count(), 'Reveal button');
    assert.ok(await report.locator('[data-action="open-markdown"]').count(), 'Markdown button');
    assert.ok((await report.evaluate(() => document.querySelectorAll('table.layers tbody tr').length)) === 7, 'per-layer table');
    await report.locator('#results').scrollIntoViewIfNeeded();
    await shot('report-final');

    const out = path.join(ws, 'dncnn.pruned.onnx');
    assert.ok(fs.existsSync(out), `${out} exists`);
    assert.ok(fs.statSync(out).size < fs.statSync(path.join(ws, MODEL)).size, 'pruned model is smaller');
    assert.ok(fs.existsSync(path.join(ws, 'dncnn.pruned.report.json')));
    assert.ok(fs.existsSync(path.join(ws, 'dncnn.pruned.report.md')));

    await page.locator('.activitybar [aria-label*="QUBO Prune"]').first().click();
    const runRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'dncnn.pruned.onnx' }).first();
    await runRow.waitFor({ timeout: 30_000 });
    const rowText = (await runRow.textContent()) ?? '';
    assert.match(rowText, /e2e/);
    assert.match(rowText, /PSNR .* → .* dB/);
    assert.match(rowText, /40%/);
    log(`runs view: ${rowText}`);
    await shot('sidebar-runs');

    // A channel group clicked in the layer tree is marked in the report.
    // After the run the layer tree shows what it kept.
    const groupRow = page.locator('.part.sidebar .monaco-list-row[aria-label*="/body/body.11/Conv"]', { hasText: /kept \d+ of 32 ch/ }).first();
    await groupRow.click();
    await waitFor('the group marked in the report', () => report.evaluate(() => document.querySelector('tr.highlight')?.getAttribute('data-id') === '/body/body.11/Conv'), 30_000);

    // The Markdown report opens from the panel's button.
    await report.locator('[data-action="open-markdown"]').click();
    await page.locator('.tabs-container .tab', { hasText: 'dncnn.pruned.report.md' }).first().waitFor({ timeout: 60_000 });
  });

  test('the report panel comes back after the window reloads', async () => {
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
    // The Markdown preview was opened last; a background tab's webview is not loaded, so bring
    // the report's tab to the front as a user would.
    const tab = page.locator('.tabs-container .tab', { hasText: 'Prune: dncnn.onnx' }).first();
    await tab.waitFor({ timeout: 120_000 });
    await tab.click();
    const report = await webviewFrame(page, 'report', 180_000, async (f) => (await f.evaluate(() => document.body.dataset.status)) === 'done');
    assert.ok(await report.locator('table.metrics').count(), 'metrics restored');
    await shot('report-restored');
    // The layer tree shows the run's kept counts after the reload too (read from its report).
    await page.locator('.part.sidebar .monaco-list-row', { hasText: /kept \d+ of 32 ch/ }).first().waitFor({ timeout: 60_000 });
    // The same report in a dark theme: the charts are rebuilt with its colours (the elite mean
    // was a low-contrast brown there).
    // Through the command palette, as a user would (code-server does not pick up an edit of the
    // user settings file while it runs).
    await page.keyboard.press('F1');
    const quick = page.locator('.quick-input-widget input').first();
    await quick.waitFor({ timeout: 30_000 });
    await quick.fill('>Preferences: Color Theme');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Preferences: Color Theme' }).first().click();
    const dark = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Dark Modern' }).first();
    await dark.waitFor({ timeout: 30_000 });
    await dark.click();
    await waitFor('the dark theme in the report', () => report.evaluate(() => document.body.classList.contains('vscode-dark')), 60_000);
    await report.locator('#energy-chart').scrollIntoViewIfNeeded();
    await shot('report-dark-theme');
  });

  test('Compare methods from the Explorer reuses the last run, shows each baseline and writes nothing', async () => {
    const before = new Map(fs.readdirSync(ws).map((f) => [f, fs.statSync(path.join(ws, f)).mtimeMs]));
    await explorerCommand(MODEL, 'Compare methods');
    // No folder prompt and no overwrite question: the run's own data and settings are used.
    const report = await webviewFrame(page, 'report', 120_000, async (f) => (await f.evaluate(() => document.body.dataset.status)) === 'running' || !!(await f.evaluate(() => document.querySelector('table.comparison'))));
    const notes = new Set<string>();
    await waitFor(
      'the comparison',
      async () => {
        const st = await report.evaluate(() => ({ status: document.body.dataset.status ?? '', note: document.querySelector('.stage-note')?.textContent ?? '', table: !!document.querySelector('table.comparison') }));
        if (st.note) notes.add(st.note);
        return st.status !== 'running' && st.table;
      },
      300_000,
      100,
    );
    log(`baseline progress seen: ${[...notes].join(', ') || '(too quick to catch)'}`);
    assert.equal(await report.evaluate(() => document.body.dataset.status), 'done', (await frameText(report, '.error')) ?? '');
    const head = await report.evaluate(() => [...document.querySelectorAll('table.comparison thead th')].map((th) => th.textContent ?? ''));
    assert.deepEqual(head, ['Method', 'PSNR (dB)', 'SSIM', 'Params', 'MACs at 1×3×48×48', 'Latency (ms)', 'Selection (s)']);
    const rows = await report.evaluate(() => [...document.querySelectorAll('table.comparison tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    log(`comparison: ${JSON.stringify(rows)}`);
    assert.deepEqual(rows.map((r) => r[0]), ['original', 'random', 'l1', 'taylor', 'l1-qubo', 'hybrid']);
    assert.ok(Number(rows.find((r) => r[0] === 'hybrid')!.at(-1)) > 0, 'hybrid has a selection time');
    assert.match((await frameText(report, '.compare-note')) ?? '', /Same settings, data and importance as the run of dncnn\.pruned\.onnx; no refinement, nothing written/);
    // Each baseline is in the log, and the run wrote nothing.
    const logText = (await frameText(report, '#log')) ?? '';
    for (const m of ['random', 'l1', 'taylor', 'l1-qubo', 'hybrid']) assert.match(logText, new RegExp(`${m}: kept \\d+ of \\d+ channels`), m);
    const afterFiles = new Map(fs.readdirSync(ws).map((f) => [f, fs.statSync(path.join(ws, f)).mtimeMs]));
    assert.deepEqual([...afterFiles.entries()].sort(), [...before.entries()].sort(), 'no file written or changed');
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'Compared methods on dncnn.onnx' }).first().waitFor({ timeout: 30_000 });
    await report.locator('#results').scrollIntoViewIfNeeded();
    await shot('compare-methods');
  });
});

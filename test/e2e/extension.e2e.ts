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

/**
 * A small user preset with a refinement long enough to catch the panel mid-run; no recovery
 * fine-tuning (a minute more, and not what this run tests).
 */
const E2E_PRESET = { samples: 8, patch: 48, searchTimeMs: 300, refine: { scope: 'network', evaluations: 400, seconds: 20, valSamples: 2 }, recover: false };
/**
 * A preset that ruins the example: 80% of the Half-UNet's channels removed with no refinement
 * loses about 12 dB of PSNR (CLI, test/fixtures/halfunet.onnx), far past the 1.5 dB at which a run
 * is flagged (src/core/pipeline/verdict.ts). 90% is refused outright: it keeps fewer channels than
 * the group floors add up to.
 */
const WORSE_PRESET = { sparsity: 0.8, refine: { scope: 'off' }, recover: false };
const EXAMPLE_DIR = 'qubo-prune-example';
const EXAMPLE = 'halfunet.onnx';

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

/** Runs a command from the command palette (F1), as a user would, by its title. */
async function paletteCommand(title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input').first();
  // F1 pressed while a webview has focus reaches the workbench only once the webview forwards
  // it; a second press covers a lost first one.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    if (await input.waitFor({ timeout: 5_000 }).then(() => true, () => false)) break;
    if (attempt >= 3) throw new Error(`the command palette did not open for '${title}'`);
  }
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
}

/**
 * Shows the QUBO Prune views in the side bar. Its activity-bar icon toggles: a click while the
 * container is already shown (as after Analyze, which reveals the layer tree) hides the side bar.
 */
async function showQuboSidebar(): Promise<void> {
  const runsHeader = page.locator('.part.sidebar .pane-header', { hasText: 'Runs' }).first();
  if (await runsHeader.isVisible().catch(() => false)) return;
  await page.locator('.activitybar [aria-label*="QUBO Prune"]').first().click();
  await runsHeader.waitFor({ timeout: 30_000 });
}

/** The inspector of `model` (by its heading), analysed. */
function inspectorOf(model: string, timeoutMs = 120_000): Promise<Frame> {
  return webviewFrame(page, 'model', timeoutMs, async (fr) => (await fr.evaluate(() => [document.body.dataset.status, document.querySelector('h1')?.textContent])).join('|') === `ready|${model}`);
}

async function frameText(f: Frame, selector: string): Promise<string | null> {
  return f.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
}

/**
 * The webview's toolkit elements are defined and styled (their shadow roots adopt constructed
 * stylesheets), and the CSP blocked nothing the page did (main.ts records every violation with
 * where it came from; the policy is in src/extension/webviewHtml.ts).
 */
async function assertToolkitUnderCsp(f: Frame, what: string): Promise<void> {
  const st = await waitFor(
    `the toolkit in the ${what}`,
    () =>
      f.evaluate(() => {
        if (!document.body.dataset.toolkit) return undefined;
        const b = document.querySelector('vscode-button');
        return {
          toolkit: document.body.dataset.toolkit,
          styled: !!b?.shadowRoot && b.shadowRoot.adoptedStyleSheets.length > 0,
          csp: (document.body.dataset.cspViolations ?? '').split('; ').filter(Boolean),
        };
      }),
    30_000,
  );
  log(`${what}: ${JSON.stringify(st)}`);
  assert.deepEqual(st, { toolkit: 'ready', styled: true, csp: [] }, `${what}: ${JSON.stringify(st)}`);
}

/** Text of each cell of a data grid's body rows. */
async function gridRows(f: Frame, grid: string): Promise<string[][]> {
  return f.evaluate((id) => [...document.querySelectorAll(`#${id} vscode-data-grid-row[data-id]`)].map((r) => [...r.querySelectorAll('vscode-data-grid-cell')].map((c) => c.textContent ?? '')), grid);
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
      'quboPrune.presets': { e2e: E2E_PRESET, worse: WORSE_PRESET },
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
    // An input error (errorDisplay.ts): the message names the file and what is wrong with it,
    // with no error code and no Report Issue button (those are for bugs).
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: `QUBO Prune: analyzing ${BROKEN} failed:` }).first();
    await toast.waitFor({ timeout: 90_000 });
    const text = (await toast.textContent()) ?? '';
    assert.match(text, /analyzing broken\.onnx failed: .*broken\.onnx'? is (truncated or damaged|incomplete)/, text);
    assert.doesNotMatch(text, /internal error/, text);
    assert.equal(await toast.locator('.monaco-button', { hasText: 'Report Issue' }).count(), 0, 'no Report Issue for an input error');
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
    await assertToolkitUnderCsp(f, 'inspector');
    // The policy admits an empty <style> (the toolkit's :focus-visible probe) and nothing else inline.
    // (No named function inside evaluate: tsx's keepNames would wrap it in a __name the page lacks.)
    const policy = await f.evaluate(() =>
      ['', 'body { outline: 1px solid red }'].map((css) => {
        const el = document.createElement('style');
        el.textContent = css;
        document.head.append(el);
        const applied = el.sheet !== null;
        el.remove();
        return applied;
      }),
    );
    assert.deepEqual(policy, [true, false], 'CSP: an empty <style> is admitted, an inline rule is not');
    const rows = await gridRows(f, 'analysis-layers');
    assert.equal(rows.length, 8, 'eight conv layers');
    const layersRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'Channel groups (7)' }).first();
    await layersRow.waitFor({ timeout: 30_000 });
    await shot('model-inspector');
    // A click on the Params header sorts the layer grid by parameters, largest first; again, smallest first.
    const parse = (t: string) => Number(t.replace(/k$/, 'e3').replace(/M$/, 'e6'));
    await f.locator('#analysis-layers [data-sort-key="params"]').click();
    await waitFor('layers sorted by params', async () => (await f.evaluate(() => document.querySelector('#analysis-layers [data-sort-key="params"]')?.getAttribute('aria-sort'))) === 'descending');
    const desc = (await gridRows(f, 'analysis-layers')).map((r) => parse(r[4]!));
    assert.deepEqual(desc, [...desc].sort((a, b) => b - a), `params descending: ${desc}`);
    assert.ok(desc[0]! > desc[desc.length - 1]!, 'layers differ in size');
    await shot('inspector-grid-sorted');
    await f.locator('#analysis-layers [data-sort-key="params"]').click();
    await waitFor('layers sorted ascending', async () => (await f.evaluate(() => document.querySelector('#analysis-layers [data-sort-key="params"]')?.getAttribute('aria-sort'))) === 'ascending');
    const asc = (await gridRows(f, 'analysis-layers')).map((r) => parse(r[4]!));
    assert.deepEqual(asc, [...desc].reverse().sort((a, b) => a - b));
  });

  test('The walkthrough opens the bundled example in the inspector; Prune example model runs on its own images', async () => {
    await paletteCommand('Welcome: Open Walkthrough...');
    const entry = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Get started with QUBO Prune' }).first();
    await entry.waitFor({ timeout: 30_000 });
    await entry.click();
    const open = page.getByRole('button', { name: 'Open Example Model' }).first();
    await open.waitFor({ timeout: 60_000 });
    await shot('walkthrough');
    await open.click();
    log('walkthrough: Open Example Model clicked');

    const notice = page.locator('.notifications-toasts .notification-toast', { hasText: `QUBO Prune: the example model and its images are in ${EXAMPLE_DIR}` }).first();
    await notice.waitFor({ timeout: 60_000 });
    const f = await inspectorOf(EXAMPLE);
    assert.equal(await frameText(f, '[data-total="params"]'), '56.5k');
    for (const p of [EXAMPLE, 'data/calib', 'data/val', 'data/test']) assert.ok(fs.existsSync(path.join(ws, EXAMPLE_DIR, p)), `${EXAMPLE_DIR}/${p} copied`);
    await shot('walkthrough-example-inspector');

    // The walkthrough's second step, from the palette: the confirm step, then the run on the
    // example's own images, with no data-folder picker (none is configured yet).
    await paletteCommand('QUBO Prune: Prune example model');
    const start = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start pruning' }).first();
    await start.waitFor({ timeout: 60_000 });
    const startText = (await start.textContent()) ?? '';
    assert.match(startText, /preset fast · 36% filter sparsity/, startText);
    await shot('example-confirm-step');
    await start.click();
    const pickerRow = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'splits:' });
    let pickerSeen = false;
    const report = await webviewFrame(page, 'report', 60_000);
    await waitFor(
      'the example run to end',
      async () => {
        if (await pickerRow.count()) pickerSeen = true;
        const st = await report.evaluate(() => [document.querySelector('#header h1')?.textContent ?? '', document.body.dataset.status ?? '']);
        return st[0] === EXAMPLE && st[1] !== 'running' && st[1] !== '';
      },
      240_000,
      250,
    );
    assert.equal(pickerSeen, false, 'no data-folder picker for the example');
    assert.equal(await report.evaluate(() => document.body.dataset.status), 'done', (await frameText(report, '.error')) ?? '');
    const reportJson = JSON.parse(fs.readFileSync(path.join(ws, EXAMPLE_DIR, 'halfunet.pruned.report.json'), 'utf8')) as { data: { root: string }; preset: unknown };
    assert.equal(path.resolve(reportJson.data.root), path.join(ws, EXAMPLE_DIR, 'data'), 'the run used the example\'s images');
    assert.ok(fs.existsSync(path.join(ws, EXAMPLE_DIR, 'halfunet.pruned.onnx')), 'pruned example written');
    const settings = JSON.parse(fs.readFileSync(path.join(ws, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(settings['quboPrune.dataFolder'], undefined, 'the example run does not set the data folder');
    // Its notification: a plain success, or flagged (36% without round-to can run slower on a CPU).
    const done = page.locator('.notifications-toasts .notification-toast', { hasText: /Pruned halfunet\.onnx:|pruned halfunet\.onnx, but the result is/ }).first();
    await done.waitFor({ timeout: 30_000 });
    log(`example run: ${((await done.textContent()) ?? '').slice(0, 200)}`);
    await shot('example-pruned');
    await page.keyboard.press('Escape');
  });

  test('Prune with preset from the inspector\'s dropdown: confirm step, data folder remembered, live report with clock, final metrics, pruned file, run in the sidebar', async () => {
    // The inspector's preset dropdown lists the built-ins and the workspace preset; choosing one
    // shows its sparsity and budget beside it, and its Prune with preset button starts with it.
    // The example's inspector and run are in front since the walkthrough test; a background
    // editor's webview is not loaded, so bring the model's tab to the front.
    await page.locator('.tabs-container .tab', { hasText: MODEL }).first().click();
    const inspector = await inspectorOf(MODEL, 60_000);
    const options = await inspector.evaluate(() => [...document.querySelectorAll('#preset-select vscode-option')].map((o) => o.getAttribute('value')));
    for (const name of ['fast', 'balanced', 'thorough', 'speed', 'e2e', 'worse']) assert.ok(options.includes(name), `${name} in ${options}`);
    assert.match((await frameText(inspector, '#preset-detail')) ?? '', /^36% sparsity · search \d/, 'the default preset is described');
    await inspector.locator('#preset-select').click();
    await inspector.locator('#preset-select vscode-option[value="e2e"]').click();
    await waitFor('the e2e preset described', async () => /^36% sparsity · search 0\.3 s \+ refine ≤20 s$/.test((await frameText(inspector, '#preset-detail')) ?? ''), 15_000);
    await shot('inspector-preset-dropdown');
    await inspector.locator('vscode-button[data-action="model-prune-preset"]').click();
    log('preset e2e chosen in the inspector; Prune with preset clicked');

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
          ring: !!document.querySelector('#header vscode-progress-ring'),
          tab: document.body.dataset.tab ?? '',
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
      assert.ok(mid.ring, 'a progress ring while a stage runs');
      assert.equal(mid.tab, 'live');
      await assertToolkitUnderCsp(report, 'report panel');
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
    // Trusted latency: median and IQR per batch size, the ratio in words.
    assert.match((await frameText(report, 'tr[data-latency="1"]')) ?? '', /ms \(IQR [\d.]+\).*(faster|slower|same speed)/);
    assert.match((await frameText(report, '#clock')) ?? '', /^elapsed \d+:\d\d$/);
    assert.ok(await report.locator('[data-action="reveal-output"]').count(), 'Reveal button');
    assert.ok(await report.locator('[data-action="open-markdown"]').count(), 'Markdown button');
    assert.equal(await report.evaluate(() => document.body.dataset.tab), 'results', 'the Results tab when the run ends');
    assert.equal(await report.locator('#header vscode-progress-ring').count(), 0, 'no ring once done');
    await report.locator('#results').scrollIntoViewIfNeeded();
    await shot('report-final');

    // Layers tab: the before/after chart and the grid, sorted by kept % with a header click.
    await report.locator('#tab-layers').click();
    await waitFor('the Layers tab', async () => (await report.evaluate(() => document.body.dataset.tab)) === 'layers');
    assert.equal((await gridRows(report, 'report-layers')).length, 7, 'per-layer grid');
    const keptBox = await report.evaluate(() => document.getElementById('kept-chart')!.getBoundingClientRect().height);
    assert.ok(keptBox > 100, `kept-channels chart drawn (${keptBox} px)`);
    await report.locator('#report-layers [data-sort-key="keptPct"]').click();
    await waitFor('per-layer grid sorted by kept %', async () => (await report.evaluate(() => document.querySelector('#report-layers [data-sort-key="keptPct"]')?.getAttribute('aria-sort'))) === 'descending');
    const kept = (await gridRows(report, 'report-layers')).map((r) => Number(r[4]!.replace('%', '')));
    assert.deepEqual(kept, [...kept].sort((a, b) => b - a), `kept % descending: ${kept}`);
    await shot('report-layers-tab');

    const out = path.join(ws, 'dncnn.pruned.onnx');
    assert.ok(fs.existsSync(out), `${out} exists`);
    assert.ok(fs.statSync(out).size < fs.statSync(path.join(ws, MODEL)).size, 'pruned model is smaller');
    assert.ok(fs.existsSync(path.join(ws, 'dncnn.pruned.report.json')));
    assert.ok(fs.existsSync(path.join(ws, 'dncnn.pruned.report.md')));

    await showQuboSidebar();
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
    await waitFor('the group marked in the report', () => report.evaluate(() => document.querySelector('#report-layers .highlight')?.getAttribute('data-id') === '/body/body.11/Conv'), 30_000);

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
    await showQuboSidebar();
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
    await report.locator('#tab-live').click();
    await waitFor('the Live tab', async () => (await report.evaluate(() => document.body.dataset.tab)) === 'live');
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
    assert.equal(await report.evaluate(() => document.body.dataset.tab), 'compare', 'a comparison opens on the Compare tab');
    const pareto = await report.evaluate(() => ['pareto-params', 'pareto-macs'].map((id) => document.getElementById(id)!.getBoundingClientRect().height));
    assert.ok(pareto.every((h) => h > 100), `metric vs params and vs MACs charts drawn (${pareto})`);
    await report.locator('#compare').scrollIntoViewIfNeeded();
    await shot('compare-methods');
    await report.locator('#pareto-charts').scrollIntoViewIfNeeded();
    await shot('compare-pareto');
  });

  test('A much worse result is flagged: a warning and a banner in the report, each with a smaller sparsity to try', async () => {
    // The example again, from the palette: the copy is reused, and its inspector comes forward.
    await paletteCommand('QUBO Prune: Open example model');
    const f = await inspectorOf(EXAMPLE);
    await f.locator('#preset-select').click();
    await f.locator('#preset-select vscode-option[value="worse"]').click();
    await waitFor('the worse preset described', async () => /^80% sparsity · search 1 s, no refinement$/.test((await frameText(f, '#preset-detail')) ?? ''), 15_000);
    await f.locator('vscode-button[data-action="model-prune-preset"]').click();
    const start = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start pruning' }).first();
    await start.waitFor({ timeout: 60_000 });
    assert.match((await start.textContent()) ?? '', /preset worse · 80% filter sparsity/);
    await start.click();
    // The walkthrough's run wrote the same output: the modal asks before overwriting it.
    const out = path.join(ws, EXAMPLE_DIR, 'halfunet.pruned.onnx');
    const before = fs.statSync(out).mtimeMs;
    const overwrite = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Overwrite' }).first();
    await overwrite.waitFor({ timeout: 30_000 });
    await overwrite.click();
    log('worse preset started on the example (overwrite confirmed)');

    const warning = page.locator('.notifications-toasts .notification-toast', { hasText: 'QUBO Prune: pruned halfunet.onnx, but the result is much worse: PSNR dropped' }).first();
    await warning.waitFor({ timeout: 240_000 });
    const text = (await warning.textContent()) ?? '';
    log(`flagged: ${text.slice(0, 240)}`);
    assert.match(text, /PSNR dropped \d+\.\d\d dB \(\d+\.\d\d → \d+\.\d\d dB\), more than 1\.5 dB; try a smaller sparsity \(53%\)/, text);
    assert.match(text, /Written to halfunet\.pruned\.onnx\./, text);
    const buttons = await warning.locator('.monaco-button').allTextContents();
    assert.deepEqual(buttons.map((b) => b.trim()).filter(Boolean), ['Prune at 53%', 'Open Report'], `buttons: ${buttons}`);
    assert.ok(fs.statSync(out).mtimeMs > before, 'the pruned example was overwritten');
    const report = await webviewFrame(page, 'report', 60_000, async (fr) => (await fr.evaluate(() => [document.querySelector('#header h1')?.textContent, document.body.dataset.status].join('|'))) === `${EXAMPLE}|done`);
    const psnr = (await report.evaluate(() => [...document.querySelectorAll('table.metrics tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')))).find((r) => r[0] === 'PSNR (dB)');
    assert.ok(psnr && Number(psnr[1]) - Number(psnr[psnr.length - 2]) > 1.5, `the report's PSNR before/after: ${psnr}`);
    await shot('flagged-much-worse');

    // The suggested run goes through the confirm step at the smaller sparsity; not started here.
    await warning.locator('.monaco-button', { hasText: 'Prune at 53%' }).click();
    const retry = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start pruning' }).first();
    await retry.waitFor({ timeout: 60_000 });
    const retryText = (await retry.textContent()) ?? '';
    // The preset that ran (a workspace preset), not the default, with the smaller sparsity.
    assert.match(retryText, /preset worse · 53% filter sparsity/, retryText);
    await shot('flagged-retry-confirm');
    await page.keyboard.press('Escape');
    log(`suggested run offered: ${retryText.slice(0, 120)}`);

    // The report panel says the same above its tabs, with the alternative as a toolkit button.
    const panel = await webviewFrame(page, 'report', 60_000, async (fr) => (await fr.locator('.flag-banner').count()) > 0);
    assert.equal(await panel.evaluate(() => document.querySelector('.flag-banner')?.getAttribute('data-flags')), 'much-worse');
    assert.match((await frameText(panel, '.flag-banner')) ?? '', /Much worse than the original\. PSNR dropped \d+\.\d\d dB/);
    const bannerButton = panel.locator('.flag-banner vscode-button[data-action="flag-alternative"]');
    assert.deepEqual((await bannerButton.allTextContents()).map((t) => t.trim()), ['Prune at 53%']);
    await panel.locator('.flag-banner').scrollIntoViewIfNeeded();
    await shot('report-flag-banner');
    await bannerButton.first().click();
    const again = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start pruning' }).first();
    await again.waitFor({ timeout: 60_000 });
    const againText = (await again.textContent()) ?? '';
    assert.match(againText, /preset worse · 53% filter sparsity/, againText);
    await page.keyboard.press('Escape');
    log(`banner's alternative offered: ${againText.slice(0, 120)}`);
  });
});

// One pruning run at a time: resolves the preset from settings, asks for a data folder when none is
// configured, starts the worker process, and mirrors its events into the report panel, the status
// bar, a cancellable progress notification and the log channel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PipelineEvent, PruneRequest, RunSummary, RunViewState } from '../protocol';
import { flagAlternatives } from '../core/pipeline/verdict';
import { startPrune, type WorkerClientOptions, type WorkerOutcome, type WorkerRun } from '../worker/client';
import type { AnalysisView } from '../view/analysisModel';
import { alternativeRun, offeredAlternative } from '../view/flagAlternatives';
import { getSettings, reportSettingsError, requireTrust } from './config';
import { compareBasisFromReport, describeComparison, describeOutcome, parseReportText } from './reportFile';
import { errorDisplay } from './errorDisplay';
import { showErrorDisplay } from './errorNotice';
import { ReportPanel, type ReportPanelHost } from './reportPanel';
import { DATA_LAYOUT_HINT, dataFolderHint, describeEstimate, estimateCost, parseSparsityPercent, percent } from './runPlan';
import { endNotice, flaggedNotice, RunTracker, secondRunMessage } from './runState';
import { buildPruneRequest, dataFolderSettingValue, describeSettings, presetChoices, resolveDataFolder, resolveRunSettings, SECTION, type ExtensionSettings } from './settingsMapping';

export interface RunOptions {
  /** Preset name; undefined = the configured default. */
  preset?: string;
  /** Show the preset QuickPick first. */
  pickPreset?: boolean;
  /** Sparsity the confirm step starts at (a flagged run's alternative); undefined = the preset's. */
  sparsity?: number;
  /** Data folder for this run (the walkthrough's example); undefined = the setting or the picker. */
  data?: string;
}

export interface RunControllerHost {
  log: vscode.LogOutputChannel;
  panelHost: () => ReportPanelHost;
  /** The model's analysis (for the confirm step's estimate); undefined when it fails. */
  analysis: (model: string) => Promise<AnalysisView | undefined>;
  /** The newest report file of a run of `model`, if any. */
  latestReport: (model: string) => Promise<string | undefined>;
  /** Folder of cached latency tables (under the extension's globalStorage), passed with every run. */
  latencyCacheDir?: string;
}

interface ActiveRun {
  run: WorkerRun;
  tracker: RunTracker;
  request: PruneRequest;
}

export class RunController implements vscode.Disposable {
  private active: ActiveRun | undefined;
  private last: RunViewState | undefined;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly finished = new vscode.EventEmitter<RunViewState>();
  /** Fires when a run ends (done, failed or cancelled). */
  readonly onDidFinish = this.finished.event;
  private counter = 0;

  constructor(
    private readonly host: RunControllerHost,
    private readonly workerOptions: () => WorkerClientOptions,
    private readonly onModelChosen: (model: string) => void,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('quboPrune.run', vscode.StatusBarAlignment.Left, 50);
    this.statusItem.name = 'QUBO Prune run';
    this.statusItem.command = 'quboPrune.openReport';
  }

  get activeRunId(): string | undefined {
    return this.active?.tracker.state.runId;
  }

  /** The running run's state, else the last finished one of this session. */
  get latest(): RunViewState | undefined {
    return this.active?.tracker.state ?? this.last;
  }

  cancel(): void {
    if (!this.active) {
      void vscode.window.showInformationMessage('QUBO Prune: no pruning run is active.');
      return;
    }
    this.host.log.info('cancel requested');
    this.active.run.cancel();
  }

  /** True when a run is going (after telling the user what they can do about it). */
  private async busy(uri: vscode.Uri): Promise<boolean> {
    if (!this.active) return false;
    const pick = await vscode.window.showWarningMessage(secondRunMessage({ model: this.active.request.model, status: this.active.tracker.statusText() }, uri.fsPath), 'Show Report', 'Cancel It');
    if (pick === 'Show Report') ReportPanel.show(this.host.panelHost(), this.active.tracker.state);
    if (pick === 'Cancel It') this.cancel();
    return true;
  }

  async prune(uri: vscode.Uri, opts: RunOptions = {}): Promise<void> {
    if (!requireTrust('pruning')) return;
    if (await this.busy(uri)) return;
    const model = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.[0];
    let settings: ExtensionSettings;
    let request: PruneRequest;
    try {
      settings = getSettings(uri);
      let preset = opts.preset ?? settings.defaultPreset;
      if (opts.pickPreset) {
        const picked = await this.pickPreset(settings);
        if (!picked) return;
        preset = picked;
      }
      const plan = await this.confirm(model, settings, preset, opts.sparsity);
      if (!plan) return;
      const data = opts.data ?? (await this.dataFolder(settings, folder));
      if (!data) return;
      request = buildPruneRequest({ model, data, settings, preset: plan.preset, compare: false, ...(plan.sparsity !== undefined ? { overrides: { sparsity: plan.sparsity } } : {}) });
    } catch (err) {
      if (!reportSettingsError(err, this.host.log)) {
        this.host.log.error(`could not start: ${(err as Error).message}`);
        void vscode.window.showErrorMessage(`QUBO Prune: ${(err as Error).message}`);
      }
      return;
    }
    if (fs.existsSync(request.out)) {
      const ok = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(request.out)} exists. Overwrite it with the new pruned model?`, { modal: true }, 'Overwrite');
      if (ok !== 'Overwrite') return;
    }
    // quboPrune.outputNaming may name a subfolder of the model's; the pipeline never creates
    // folders (a missing one is an error there), so the extension makes the one its setting names.
    // A failure is left to the pipeline's output check, which reports it in one line.
    try {
      fs.mkdirSync(path.dirname(request.out), { recursive: true });
    } catch {
      // reported by the run
    }
    this.start(request);
  }

  /**
   * "Compare methods": the baselines at the sparsity of the model's last run, on its data and with
   * its settings (so the same importance), selected and evaluated without refinement or export;
   * nothing is written. Without a previous run, the default preset and the data folder are used.
   */
  async compare(uri: vscode.Uri): Promise<void> {
    if (!requireTrust('comparing methods')) return;
    if (await this.busy(uri)) return;
    const model = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.[0];
    let request: PruneRequest | undefined;
    try {
      const file = await this.host.latestReport(model);
      if (file) {
        const basis = compareBasisFromReport(parseReportText(await fs.promises.readFile(file, 'utf8'), file), file);
        if (fs.existsSync(basis.data)) {
          request = { model, data: basis.data, out: basis.output, presetName: basis.preset, settings: basis.settings, compare: true, mode: 'compare-only', timeBudgetSeconds: 0 };
          this.host.log.info(`compare: using the settings and data of ${file}`);
        } else this.host.log.warn(`compare: the data folder of ${file} (${basis.data}) is gone; using the settings`);
      }
      if (!request) {
        const settings = getSettings(uri);
        const data = await this.dataFolder(settings, folder);
        if (!data) return;
        request = { ...buildPruneRequest({ model, data, settings, preset: settings.defaultPreset, compare: true }), mode: 'compare-only' };
      }
    } catch (err) {
      if (!reportSettingsError(err, this.host.log)) {
        this.host.log.error(`could not start the comparison: ${(err as Error).message}`);
        void vscode.window.showErrorMessage(`QUBO Prune: ${(err as Error).message}`);
      }
      return;
    }
    this.start(request);
  }

  /**
   * The step before a run: preset, sparsity and the cost they are expected to leave, with ways to
   * change the sparsity or the preset. Undefined when the user backs out.
   */
  private async confirm(model: string, settings: ExtensionSettings, preset: string, initialSparsity?: number): Promise<{ preset: string; sparsity?: number } | undefined> {
    const analysis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Analyzing ${path.basename(model)}` }, () => this.host.analysis(model).catch(() => undefined));
    let sparsity: number | undefined = initialSparsity;
    for (;;) {
      const rs = resolveRunSettings(settings, preset, sparsity !== undefined ? { sparsity } : {}).settings;
      const est = analysis ? estimateCost(analysis, rs.sparsity) : undefined;
      type Item = vscode.QuickPickItem & { action: 'start' | 'sparsity' | 'preset' };
      const items: Item[] = [
        {
          label: '$(play) Start pruning',
          description: `preset ${preset} · ${percent(rs.sparsity)} filter sparsity`,
          // Numbers first: a long detail line is cut at the QuickPick's width.
          detail: est ? `Estimated: ${describeEstimate(est)}` : 'No estimate: the model could not be analyzed',
          action: 'start',
        },
        { label: '$(edit) Change sparsity…', description: `now ${percent(rs.sparsity)}`, detail: 'The fraction of prunable channels to remove', action: 'sparsity' },
        { label: '$(list-selection) Change preset…', description: `now ${preset}`, detail: describeSettings(rs), action: 'preset' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: `QUBO Prune: prune ${path.basename(model)}`, placeHolder: `Preset ${preset}: ${describeSettings(rs)}`, ignoreFocusOut: true, matchOnDescription: true, matchOnDetail: true });
      if (!pick) return undefined;
      if (pick.action === 'start') return sparsity !== undefined ? { preset, sparsity } : { preset };
      if (pick.action === 'preset') {
        const p = await this.pickPreset(settings);
        if (p) {
          preset = p;
          sparsity = undefined;
        }
        continue;
      }
      const typed = await vscode.window.showInputBox({
        title: 'QUBO Prune: filter sparsity',
        prompt: 'Percent of the prunable channels to remove (1–95); locked channels always stay',
        value: String(Math.round(rs.sparsity * 1000) / 10),
        ignoreFocusOut: true,
        validateInput: (v) => {
          const r = parseSparsityPercent(v);
          return typeof r === 'string' ? r : undefined;
        },
      });
      if (typed === undefined) continue;
      const r = parseSparsityPercent(typed);
      if (typeof r === 'number') sparsity = r;
    }
  }

  private async pickPreset(settings: ExtensionSettings): Promise<string | undefined> {
    const items = presetChoices(settings).map((c) => ({
      label: c.name,
      description: `${c.isDefault ? 'default · ' : ''}${c.source}`,
      detail: c.description === describeSettings(c.settings) ? c.description : `${c.description} — ${describeSettings(c.settings)}`,
      name: c.name,
    }));
    const pick = await vscode.window.showQuickPick(items, { title: 'QUBO Prune: choose a preset', placeHolder: 'Presets come from the built-ins and quboPrune.presets', matchOnDetail: true, ignoreFocusOut: true });
    return pick?.name;
  }

  private async dataFolder(settings: ExtensionSettings, folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
    const root = folder?.uri.fsPath;
    const configured = resolveDataFolder(settings.dataFolder, root);
    if (configured) {
      if (!fs.existsSync(configured)) {
        const pick = await vscode.window.showErrorMessage(`QUBO Prune: the data folder '${settings.dataFolder}' (quboPrune.dataFolder) does not exist.`, 'Choose Folder…', 'Open Settings');
        if (pick === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.dataFolder`);
        if (pick !== 'Choose Folder…') return undefined;
      } else return configured;
    }
    type Item = vscode.QuickPickItem & { folder?: string };
    const found = root ? await findDataFolders(root) : [];
    const items: Item[] = [
      ...found.map((f) => ({ label: `$(folder) ${dataFolderSettingValue(f.folder, root)}`, description: f.hint, folder: f.folder })),
      { label: '$(folder-opened) Browse…', description: 'any folder on this machine', detail: 'Splits calib/ val/ test/ each in one of the layouts; noisy/ + clean/ (or input/ + target/) pairs; one folder per class; plain images get synthetic noise' },
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: 'QUBO Prune: folder with the calibration, validation and test images',
      placeHolder: DATA_LAYOUT_HINT,
      ignoreFocusOut: true,
    });
    if (!pick) return undefined;
    let chosen = pick.folder;
    if (!chosen) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        defaultUri: folder?.uri,
        openLabel: 'Use as calibration data',
        title: `QUBO Prune: data folder. ${DATA_LAYOUT_HINT}`,
      });
      chosen = picked?.[0]?.fsPath;
    }
    if (!chosen) return undefined;
    const value = dataFolderSettingValue(chosen, root);
    const where = folder ? `the settings of the folder '${folder.name}' (.vscode/settings.json)` : 'the workspace settings';
    void vscode.window.showInformationMessage(`Remember '${value}' as the calibration data folder in ${where}?`, 'Remember', 'Not Now').then(async (answer) => {
      if (answer !== 'Remember') return;
      try {
        await vscode.workspace.getConfiguration(SECTION, folder?.uri).update('dataFolder', value, folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace);
        this.host.log.info(`saved quboPrune.dataFolder = ${value}`);
      } catch (err) {
        // A write that fails silently makes every later run ask again with no hint why.
        const message = (err as Error).message;
        this.host.log.error(`could not save quboPrune.dataFolder: ${message}`);
        const open = await vscode.window.showErrorMessage(`QUBO Prune: could not remember the data folder: ${message}`, 'Open Settings');
        if (open) void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.dataFolder`);
      }
    });
    return chosen;
  }

  private start(request: PruneRequest): void {
    if (this.host.latencyCacheDir && !request.latencyCacheDir) request = { ...request, latencyCacheDir: this.host.latencyCacheDir };
    const runId = `${Date.now().toString(36)}-${++this.counter}`;
    const compareOnly = request.mode === 'compare-only';
    const tracker = new RunTracker(runId, request.model, request.presetName, request.out, new Date(), compareOnly);
    const log = this.host.log;
    log.info(`run ${runId}: ${compareOnly ? 'compare methods on ' : ''}${request.model} with preset '${request.presetName}' (${describeSettings(request.settings)}), data ${request.data}, ${compareOnly ? 'nothing written' : `output ${request.out}`}${request.compare ? ', with baselines' : ''}`);
    this.onModelChosen(request.model);
    ReportPanel.show(this.host.panelHost(), tracker.state);
    const progressListeners = new Set<() => void>();
    const onEvent = (event: PipelineEvent) => {
      tracker.onEvent(event);
      logEvent(log, event);
      if (ReportPanel.current?.runId === runId) ReportPanel.current.update(tracker.state);
      this.updateStatus(tracker);
      for (const l of progressListeners) l();
    };
    let run: WorkerRun;
    try {
      run = startPrune(request, { ...this.workerOptions(), onEvent });
    } catch (err) {
      // fork itself can throw (no memory for a process, bad options); the host must carry on.
      const failed: WorkerOutcome = { kind: 'failed', code: 'worker-start', message: `the worker process could not start: ${(err as Error).message}`, errorKind: 'internal' };
      tracker.finish(failed);
      this.report(runId, tracker, request, failed);
      return;
    }
    this.active = { run, tracker, request };
    void vscode.commands.executeCommand('setContext', 'quboPrune.running', true);
    this.updateStatus(tracker);

    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `${compareOnly ? 'Comparing methods on' : 'Pruning'} ${path.basename(request.model)}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          token.onCancellationRequested(() => run.cancel());
          let reported = 0;
          const tick = () => {
            const f = tracker.overallFraction();
            const inc = Math.max(0, f * 100 - reported);
            reported += inc;
            progress.report({ message: tracker.statusText(), increment: inc });
          };
          progressListeners.add(tick);
          void run.finished.then(() => resolve());
        }),
    );

    void run.finished.then((outcome) => this.finish(runId, tracker, request, outcome));
  }

  private finish(runId: string, tracker: RunTracker, request: PruneRequest, outcome: WorkerOutcome): void {
    // The bookkeeping first and outside any try: whatever fails below, the next run can start.
    tracker.finish(outcome);
    this.active = undefined;
    void vscode.commands.executeCommand('setContext', 'quboPrune.running', false);
    this.statusItem.hide();
    this.report(runId, tracker, request, outcome);
  }

  /** Panel, log and notification for a finished run; a failure here is logged, never thrown. */
  private report(runId: string, tracker: RunTracker, request: PruneRequest, outcome: WorkerOutcome): void {
    const state = tracker.state;
    this.last = state;
    const log = this.host.log;
    try {
      this.notify(runId, state, request, outcome);
    } catch (err) {
      log.error(`run ${runId}: reporting the outcome failed: ${(err as Error).stack ?? err}`);
      void vscode.window.showErrorMessage(`QUBO Prune: pruning ${path.basename(request.model)} ended (${state.status})${state.error ? `: ${state.error}` : ''}`);
    }
    this.finished.fire(state);
  }

  private notify(runId: string, state: RunViewState, request: PruneRequest, ended: WorkerOutcome): void {
    if (ReportPanel.current?.runId === runId) ReportPanel.current.update(state, true);
    const log = this.host.log;
    const name = path.basename(request.model);
    const outcome = state.summary && state.status === 'done' ? { kind: 'done' as const, summary: state.summary } : undefined;
    if (outcome?.summary.compareOnly) {
      log.info(`run ${runId} compared methods in ${outcome.summary.seconds.toFixed(1)} s; nothing written`);
      void vscode.window.showInformationMessage(`Compared methods on ${name}: ${describeComparison(outcome.summary)}. Nothing was written.`, 'Open Report').then((pick) => {
        if (pick === 'Open Report') ReportPanel.show(this.host.panelHost(), state);
      });
      return;
    }
    if (outcome?.summary.flags?.length) {
      this.notifyFlagged(runId, state, outcome.summary, name);
      return;
    }
    if (outcome) {
      log.info(`run ${runId} done in ${outcome.summary.seconds.toFixed(1)} s: ${describeOutcome(outcome.summary)}; wrote ${outcome.summary.output}`);
      void vscode.window.showInformationMessage(`Pruned ${name}: ${describeOutcome(outcome.summary)}.`, 'Open Report', 'Reveal Pruned Model').then((pick) => {
        if (pick === 'Open Report') ReportPanel.show(this.host.panelHost(), state);
        if (pick === 'Reveal Pruned Model') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(outcome.summary.output));
      });
      return;
    }
    const notice = endNotice(state);
    if (!notice) return;
    if (notice.level === 'info') {
      log.info(`run ${runId} cancelled`);
      void vscode.window.showInformationMessage(notice.text);
      return;
    }
    log.error(`run ${runId} failed: ${state.error}`);
    // The user's input plainly, a bug as one with Report Issue; a run that never got an outcome
    // (the panel's own state says failed) is taken for a bug.
    const failure = ended.kind === 'failed' ? { kind: ended.errorKind, code: ended.code, message: ended.message } : { kind: 'internal' as const, code: 'protocol', message: state.error ?? 'no reason was given' };
    showErrorDisplay(errorDisplay(`${state.compareOnly ? 'comparing methods on' : 'pruning'} ${name}`, failure), log);
  }

  /**
   * A run that finished but came out slower or much worse: a warning, not a success, with the
   * alternatives as buttons that start that run (through the confirm step, so nothing starts
   * unseen).
   */
  private notifyFlagged(runId: string, state: RunViewState, summary: RunSummary, name: string): void {
    const flags = summary.flags ?? [];
    const log = this.host.log;
    log.warn(`run ${runId} done in ${summary.seconds.toFixed(1)} s but flagged: ${flags.map((f) => `[${f.kind}] ${f.message}`).join('; ')}; wrote ${summary.output}`);
    const alternatives = flagAlternatives(flags);
    const text = flaggedNotice(name, summary);
    void vscode.window.showWarningMessage(text, ...alternatives.map((a) => a.label), 'Open Report').then((pick) => {
      if (pick === 'Open Report') ReportPanel.show(this.host.panelHost(), state);
      const alt = alternatives.find((a) => a.label === pick);
      if (alt) void this.runAlternative(summary, alt);
    });
  }

  /**
   * Starts a flagged run's alternative (the notification's buttons and the panel's banner): the
   * confirm step of the same model with the alternative's preset, else the preset that ran, and
   * its sparsity. A request the run did not offer (a stale or tampered panel) is refused.
   */
  async runAlternative(summary: RunSummary, requested: { preset?: string; sparsity?: number }): Promise<void> {
    const alt = offeredAlternative(summary, requested);
    if (!alt) {
      this.host.log.warn(`ignored a request for an alternative the run of ${summary.model} did not offer: ${JSON.stringify(requested)}`);
      return;
    }
    this.host.log.info(`starting the alternative '${alt.label}' of the run of ${summary.model} (preset '${summary.preset}')`);
    await this.prune(vscode.Uri.file(summary.model), alternativeRun(summary, alt));
  }

  private updateStatus(tracker: RunTracker): void {
    if (tracker.finished) return;
    this.statusItem.text = `$(sync~spin) QUBO Prune: ${tracker.statusText()}`;
    this.statusItem.tooltip = `Pruning ${path.basename(tracker.state.model)} with preset '${tracker.state.preset}' — click to show the report`;
    this.statusItem.show();
  }

  dispose(): void {
    this.active?.run.dispose();
    this.active = undefined;
    this.statusItem.dispose();
    this.finished.dispose();
  }
}

/** Candidate data folders: the workspace folder and its sub-folders (two levels) that look like one. */
async function findDataFolders(root: string): Promise<{ folder: string; hint: string }[]> {
  const out: { folder: string; hint: string }[] = [];
  const visit = async (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const hint = dataFolderHint(entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)));
    if (hint && dir !== root) {
      out.push({ folder: dir, hint });
      return;
    }
    if (depth >= 2) return;
    for (const e of entries) {
      if (out.length >= 20) return;
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await visit(path.join(dir, e.name), depth + 1);
    }
  };
  await visit(root, 0);
  return out;
}

function logEvent(log: vscode.LogOutputChannel, e: PipelineEvent): void {
  switch (e.type) {
    case 'log':
      if (e.level === 'error') log.error(e.message);
      else if (e.level === 'warn') log.warn(e.message);
      else log.info(e.message);
      return;
    case 'stage-start':
      log.info(`stage ${e.stage}`);
      return;
    case 'stage-end':
      log.info(`stage ${e.stage} ${e.skipped ? 'skipped' : `done in ${e.seconds.toFixed(2)} s`}`);
      return;
    case 'provider':
      log.info(`execution provider: ${e.provider}${e.skipped.length ? ` (skipped: ${e.skipped.join(', ')})` : ''}`);
      return;
    case 'stage-progress':
    case 'capacities':
    case 'solver-trace':
    case 'refine-progress':
      log.trace(`${e.type} ${JSON.stringify(e).slice(0, 300)}`);
      return;
    case 'run-start':
    case 'result':
      return;
  }
}

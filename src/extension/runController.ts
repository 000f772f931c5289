// One pruning run at a time: resolves the preset from settings, asks for a data folder when none is
// configured, starts the worker process, and mirrors its events into the report panel, the status
// bar, a cancellable progress notification and the log channel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PipelineEvent, PruneRequest, RunSummary, RunViewState } from '../protocol';
import { startPrune, type WorkerClientOptions, type WorkerOutcome, type WorkerRun } from '../worker/client';
import { getSettings, reportSettingsError, requireTrust } from './config';
import { metricLine } from './reportFile';
import { ReportPanel, type ReportPanelHost } from './reportPanel';
import { endNotice, RunTracker, secondRunMessage } from './runState';
import { buildPruneRequest, dataFolderSettingValue, describeSettings, presetChoices, resolveDataFolder, SECTION, type ExtensionSettings } from './settingsMapping';

export interface RunOptions {
  /** Preset name; undefined = the configured default. */
  preset?: string;
  /** Show the preset QuickPick first. */
  pickPreset?: boolean;
  compare?: boolean;
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
    private readonly host: { log: vscode.LogOutputChannel; panelHost: () => ReportPanelHost },
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

  async prune(uri: vscode.Uri, opts: RunOptions = {}): Promise<void> {
    if (!requireTrust('pruning')) return;
    if (this.active) {
      const pick = await vscode.window.showWarningMessage(secondRunMessage({ model: this.active.request.model, status: this.active.tracker.statusText() }, uri.fsPath), 'Show Report', 'Cancel It');
      if (pick === 'Show Report') ReportPanel.show(this.host.panelHost(), this.active.tracker.state);
      if (pick === 'Cancel It') this.cancel();
      return;
    }
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
      const data = await this.dataFolder(settings, folder);
      if (!data) return;
      request = buildPruneRequest({ model, data, settings, preset, compare: !!opts.compare });
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

  private async pickPreset(settings: ExtensionSettings): Promise<string | undefined> {
    const items = presetChoices(settings).map((c) => ({
      label: c.name,
      description: `${c.isDefault ? 'default · ' : ''}${c.source}`,
      detail: c.description === describeSettings(c.settings) ? c.description : `${c.description} — ${describeSettings(c.settings)}`,
      name: c.name,
    }));
    const pick = await vscode.window.showQuickPick(items, { title: 'QUBO Prune: choose a preset', placeHolder: 'Presets come from the built-ins and quboPrune.presets', matchOnDetail: true });
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
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: folder?.uri,
      openLabel: 'Use as calibration data',
      title: 'QUBO Prune: folder with calibration/validation images',
    });
    const chosen = picked?.[0]?.fsPath;
    if (!chosen) return undefined;
    const value = dataFolderSettingValue(chosen, root);
    void vscode.window.showInformationMessage(`Remember '${value}' as the calibration data folder in the workspace settings?`, 'Remember', 'Not Now').then(async (pick) => {
      if (pick !== 'Remember') return;
      await vscode.workspace.getConfiguration(SECTION, folder?.uri).update('dataFolder', value, folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace);
      this.host.log.info(`saved quboPrune.dataFolder = ${value}`);
    });
    return chosen;
  }

  private start(request: PruneRequest): void {
    const runId = `${Date.now().toString(36)}-${++this.counter}`;
    const tracker = new RunTracker(runId, request.model, request.presetName, request.out);
    const log = this.host.log;
    log.info(`run ${runId}: ${request.model} with preset '${request.presetName}' (${describeSettings(request.settings)}), data ${request.data}, output ${request.out}${request.compare ? ', with baselines' : ''}`);
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
      tracker.finish({ kind: 'failed', code: 'worker-start', message: `the worker process could not start: ${(err as Error).message}` });
      this.report(runId, tracker, request);
      return;
    }
    this.active = { run, tracker, request };
    void vscode.commands.executeCommand('setContext', 'quboPrune.running', true);
    this.updateStatus(tracker);

    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Pruning ${path.basename(request.model)}`, cancellable: true },
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
    this.report(runId, tracker, request);
  }

  /** Panel, log and notification for a finished run; a failure here is logged, never thrown. */
  private report(runId: string, tracker: RunTracker, request: PruneRequest): void {
    const state = tracker.state;
    this.last = state;
    const log = this.host.log;
    try {
      this.notify(runId, state, request);
    } catch (err) {
      log.error(`run ${runId}: reporting the outcome failed: ${(err as Error).stack ?? err}`);
      void vscode.window.showErrorMessage(`QUBO Prune: pruning ${path.basename(request.model)} ended (${state.status})${state.error ? `: ${state.error}` : ''}`);
    }
    this.finished.fire(state);
  }

  private notify(runId: string, state: RunViewState, request: PruneRequest): void {
    if (ReportPanel.current?.runId === runId) ReportPanel.current.update(state, true);
    const log = this.host.log;
    const name = path.basename(request.model);
    const outcome = state.summary && state.status === 'done' ? { kind: 'done' as const, summary: state.summary } : undefined;
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
    } else {
      log.error(`run ${runId} failed: ${state.error}`);
      void vscode.window.showErrorMessage(notice.text, 'Show Log').then((pick) => {
        if (pick) log.show(true);
      });
    }
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

function describeOutcome(s: RunSummary): string {
  return `${metricLine(s.before, s.after)}, params ${s.before.params} → ${s.after.params}`;
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

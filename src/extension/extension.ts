// Entry point of the VS Code extension. Wires the commands, the two trees, the model editor, the
// report panel and its serializer; every disposable goes into context.subscriptions. Nothing heavy
// runs here: analyses and pruning runs go to the worker process (dist/worker.js).
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelRequest, RunViewState } from '../protocol';
import type { WorkerClientOptions } from '../worker/client';
import { errorKind, QuboPruneError } from '../core/errors';
import { normalizeAnalysis } from '../view/analysisModel';
import { Analyzer } from './analyzer';
import { copyExample } from './example';
import { getSettings, requireTrust } from './config';
import { errorDisplay } from './errorDisplay';
import { showErrorDisplay } from './errorNotice';
import { LayersTreeProvider } from './layersView';
import { MODEL_VIEW_TYPE, ModelEditorProvider } from './modelEditor';
import { parseReportText, recoverFromReport, reportJsonFor, snapshotFromReport } from './reportFile';
import { REPORT_VIEW_TYPE, ReportPanel, ReportPanelSerializer, type ReportPanelHost } from './reportPanel';
import { RunController } from './runController';
import { RunsTreeProvider } from './runsView';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('QUBO Prune', { log: true });
  context.subscriptions.push(log);
  const workerOptions = (): WorkerClientOptions => ({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    maxOldSpaceMb: 8192,
    onStderr: (line) => {
      if (line.trim()) log.warn(`[worker] ${line}`);
    },
  });

  // Checked by the workspace schema (settingsMapping.ts); a bad value fails the analysis with the setting named.
  const analyzer = new Analyzer(workerOptions, log, () => getSettings().analysisSize);
  const layers = new LayersTreeProvider(analyzer);
  const layersView = vscode.window.createTreeView('quboPrune.layers', { treeDataProvider: layers, showCollapseAll: true });
  const runs = new RunsTreeProvider(log);
  const runsView = vscode.window.createTreeView('quboPrune.runs', { treeDataProvider: runs });
  context.subscriptions.push(analyzer, layers, layersView, runs, runsView);
  // The layer tree shows the same model after a restart.
  const CURRENT_KEY = 'quboPrune.currentModel';
  context.subscriptions.push(analyzer.onDidChangeCurrent((m) => void context.workspaceState.update(CURRENT_KEY, m)));
  const remembered = context.workspaceState.get<string>(CURRENT_KEY);
  if (remembered && vscode.workspace.isTrusted && existsSync(remembered)) analyzer.setCurrent(remembered);

  const revealInTree = (model: string, id: string) => {
    if (analyzer.current !== model) return;
    const item = layers.find(id);
    if (item) void layersView.reveal(item, { select: true, focus: false, expand: true });
  };

  // Assigned once below; declared first because panelHost's callbacks refer to it lazily.
  // eslint-disable-next-line prefer-const
  let runner: RunController;
  // Final snapshots of the last few runs, for panels restored with a snapshot saved mid-run.
  const FINISHED_KEY = 'quboPrune.finishedRuns';
  const finishedRuns = () => context.workspaceState.get<RunViewState[]>(FINISHED_KEY) ?? [];
  const panelHost: ReportPanelHost = {
    extensionUri: context.extensionUri,
    log,
    activeRunId: () => runner?.activeRunId,
    recoverRun: async (saved) => {
      const known = finishedRuns().find((r) => r.runId === saved.runId);
      if (known) return known;
      if (!saved.output) return undefined;
      const file = reportJsonFor(saved.output);
      const text = await fs.readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        return recoverFromReport(saved, parseReportText(text, file), file);
      } catch {
        return undefined;
      }
    },
    onRequest: (req: PanelRequest, state: RunViewState | undefined) => {
      switch (req.type) {
        case 'cancel':
          if (state && state.runId === runner.activeRunId) runner.cancel();
          return;
        case 'reveal-output':
          if (state?.summary) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(state.summary.output));
          return;
        case 'open-markdown':
          if (state?.summary) void openMarkdown(state.summary.reportMarkdown);
          return;
        case 'reveal-layer':
          if (state) revealInTree(state.model, req.group);
          return;
        case 'flag-alternative':
          if (state?.summary) void runner.runAlternative(state.summary, req);
          return;
        default:
          return;
      }
    },
  };
  const latestReport = async (model: string): Promise<string | undefined> => {
    const same = (a: string) => path.resolve(a) === path.resolve(model);
    const last = runner.latest?.summary;
    if (last && !last.compareOnly && same(last.model) && existsSync(last.reportJson)) return last.reportJson;
    await runs.refresh();
    return runs.entries.find((e) => same(e.model))?.reportJson;
  };
  const analysisOf = async (model: string) => {
    const r = await analyzer.analyze(model);
    if (!r.ok) return undefined;
    try {
      return normalizeAnalysis(r.document);
    } catch {
      return undefined;
    }
  };
  // The layer tree shows the kept counts of the model's newest run, after a reload too.
  const keptFromReports = () => {
    const m = analyzer.current;
    const entry = m ? runs.entries.find((e) => path.resolve(e.model) === path.resolve(m)) : undefined;
    if (m && entry) layers.setKept(m, entry.summary.groups);
  };
  context.subscriptions.push(runs.onDidChangeTreeData(keptFromReports), analyzer.onDidChangeCurrent(keptFromReports));
  runner = new RunController({ log, panelHost: () => panelHost, analysis: analysisOf, latestReport, latencyCacheDir: path.join(context.globalStorageUri.fsPath, 'latency') }, workerOptions, (model) => analyzer.setCurrent(model));
  context.subscriptions.push(
    runner,
    runner.onDidFinish((state) => {
      if (state.summary && !state.summary.compareOnly) layers.setKept(state.model, state.summary.groups);
      runs.refreshSoon(200);
      void context.workspaceState.update(FINISHED_KEY, [state, ...finishedRuns().filter((r) => r.runId !== state.runId)].slice(0, 3));
    }),
  );

  const editor = new ModelEditorProvider(
    context.extensionUri,
    analyzer,
    log,
    (command, uri, preset) => {
      const id = command === 'prune' ? 'quboPrune.pruneModel' : command === 'prune-with-preset' ? 'quboPrune.pruneWithPreset' : 'quboPrune.analyzeModel';
      void vscode.commands.executeCommand(id, uri, ...(preset ? [preset] : []));
    },
    revealInTree,
  );
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(MODEL_VIEW_TYPE, editor, { supportsMultipleEditorsPerDocument: true, webviewOptions: { enableFindWidget: true } }),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, new ReportPanelSerializer(panelHost)),
  );

  /** The model a command applies to: its argument, the focused model editor, or a file picker. */
  const modelUri = async (arg: unknown): Promise<vscode.Uri | undefined> => {
    if (arg instanceof vscode.Uri) return arg;
    if (editor.activeModel) return editor.activeModel;
    const doc = vscode.window.activeTextEditor?.document.uri;
    if (doc && doc.fsPath.toLowerCase().endsWith('.onnx')) return doc;
    if (analyzer.current) return vscode.Uri.file(analyzer.current);
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: 'QUBO Prune: choose a model' });
    return picked?.[0];
  };

  const command = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await fn(...args);
        } catch (err) {
          log.error(`${id}: ${(err as Error).stack ?? err}`);
          const code = err instanceof QuboPruneError ? err.code : 'internal';
          showErrorDisplay(errorDisplay(`the command ${id}`, { kind: errorKind(err), code, message: (err as Error).message ?? String(err) }), log);
        }
      }),
    );

  command('quboPrune.analyzeModel', async (arg) => {
    if (!requireTrust('analyzing a model')) return;
    const uri = await modelUri(arg);
    if (!uri) return;
    const analysis = analyzer.analyze(uri.fsPath, true);
    analyzer.setCurrent(uri.fsPath, false);
    void vscode.commands.executeCommand('quboPrune.layers.focus');
    // Large files also get a cancellable notification with the worker's steps (Analyzer).
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Analyzing ${path.basename(uri.fsPath)}` }, () => analysis);
    if (!result.ok) {
      showErrorDisplay(errorDisplay(`analyzing ${path.basename(uri.fsPath)}`, result.error, { announceCancel: true }), log);
      return;
    }
    if (editor.activeModel?.fsPath !== uri.fsPath) await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_VIEW_TYPE, { preview: false, preserveFocus: true });
  });
  command('quboPrune.pruneModel', async (arg) => {
    const uri = await modelUri(arg);
    if (uri) await runner.prune(uri);
  });
  // A second argument (the model editor's dropdown) names the preset; without it, the QuickPick asks.
  command('quboPrune.pruneWithPreset', async (arg, preset) => {
    const uri = await modelUri(arg);
    if (uri) await runner.prune(uri, typeof preset === 'string' ? { preset } : { pickPreset: true });
  });
  command('quboPrune.compareMethods', async (arg) => {
    const uri = await modelUri(arg);
    if (uri) await runner.compare(uri);
  });
  // The walkthrough: the bundled example copied into the first workspace folder (global storage
  // without one), never over the user's files, then opened in the inspector or pruned.
  const example = async () => {
    const parent = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.globalStorageUri.fsPath;
    const copy = await copyExample(context.extensionPath, parent);
    log.info(`example ${copy.created ? 'copied to' : 'already at'} ${copy.folder}`);
    return copy;
  };
  command('quboPrune.openExample', async () => {
    if (!requireTrust('opening the example')) return;
    const copy = await example();
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(copy.model), MODEL_VIEW_TYPE, { preview: false });
    if (copy.created) void vscode.window.showInformationMessage(`QUBO Prune: the example model and its images are in ${vscode.workspace.asRelativePath(copy.folder)}.`);
  });
  command('quboPrune.pruneExample', async () => {
    if (!requireTrust('pruning the example')) return;
    const copy = await example();
    await runner.prune(vscode.Uri.file(copy.model), { data: copy.data });
  });
  command('quboPrune.cancel', () => runner.cancel());
  command('quboPrune.openReport', async (arg) => {
    if (arg instanceof vscode.Uri) {
      const text = await fs.readFile(arg.fsPath, 'utf8');
      const snap = snapshotFromReport(parseReportText(text, arg.fsPath), arg.fsPath);
      if (snap.summary) layers.setKept(snap.model, snap.summary.groups);
      ReportPanel.show(panelHost, snap);
      return;
    }
    if (runner.latest) {
      ReportPanel.show(panelHost, ReportPanel.current?.runId === runner.latest.runId ? undefined : runner.latest);
      return;
    }
    if (ReportPanel.current) {
      ReportPanel.show(panelHost);
      return;
    }
    await runs.refresh();
    const entries = runs.entries;
    if (!entries.length) {
      void vscode.window.showInformationMessage('QUBO Prune: no runs yet. Right-click an .onnx file and choose "Prune model".');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      entries.map((e) => ({ label: path.basename(e.output), description: `${e.preset} · ${(e.sparsity * 100).toFixed(0)}% · ${e.metricLine}`, detail: vscode.workspace.asRelativePath(e.reportJson), file: e.reportJson })),
      { title: 'QUBO Prune: open the report of a run' },
    );
    if (pick) await vscode.commands.executeCommand('quboPrune.openReport', vscode.Uri.file(pick.file));
  });
  command('quboPrune.refreshRuns', () => runs.refresh());
  command('quboPrune.revealLayer', async (model, id) => {
    if (typeof model !== 'string' || typeof id !== 'string') return;
    const panel = ReportPanel.current;
    if (panel?.snapshot?.model === model && panel.snapshot.capacities.some((g) => g.id === id)) {
      panel.highlight(id);
      return;
    }
    if (!editor.highlight(model, id)) {
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(model), MODEL_VIEW_TYPE, { preview: false, preserveFocus: true });
      editor.highlight(model, id);
    }
  });

  void vscode.commands.executeCommand('setContext', 'quboPrune.running', false);
  // A key of our own rather than isWorkspaceTrusted: that key is unset (falsy) where workspace
  // trust is switched off, which would disable every command although the workspace is trusted.
  const setTrustKey = () => void vscode.commands.executeCommand('setContext', 'quboPrune.untrusted', !vscode.workspace.isTrusted);
  setTrustKey();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(setTrustKey));
  log.info(`QUBO Prune activated (extension host node ${process.version}, ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'} workspace)`);
}

async function openMarkdown(file: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  try {
    await vscode.commands.executeCommand('markdown.showPreview', uri);
  } catch {
    await vscode.window.showTextDocument(uri, { preview: false });
  }
}

export function deactivate(): void {
  // Disposables (including a running worker, killed by RunController.dispose) go with the context.
}

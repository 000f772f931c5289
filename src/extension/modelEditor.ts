// Opening an .onnx file shows this read-only editor: the analysis table and totals (from the
// worker) instead of binary noise.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isPanelRequest, type PanelMessage } from '../protocol';
import { presetOption, type ModelViewState, type PresetOption } from '../view/panelState';
import type { Analyzer, AnalysisResult } from './analyzer';
import { getSettings } from './config';
import { configureWebview } from './reportPanel';
import { presetChoices } from './settingsMapping';

export const MODEL_VIEW_TYPE = 'quboPrune.modelInspector';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  private readonly panels = new Map<string, Set<vscode.WebviewPanel>>();
  private active: vscode.Uri | undefined;
  /** Marks asked for before the webview was ready; sent when it is. */
  private readonly pendingHighlight = new Map<string, string>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly analyzer: Analyzer,
    private readonly log: vscode.LogOutputChannel,
    /** `preset`: the one chosen in the editor's dropdown (prune with preset then skips the preset QuickPick). */
    private readonly runCommand: (command: 'prune' | 'prune-with-preset' | 'analyze', uri: vscode.Uri, preset?: string) => void,
    private readonly revealInTree: (model: string, id: string) => void,
  ) {}

  /** The model of the focused model editor, if any (commands run on it without an argument). */
  get activeModel(): vscode.Uri | undefined {
    return this.active;
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const model = document.uri.fsPath;
    configureWebview(panel.webview, this.extensionUri, 'model', path.basename(model));
    let set = this.panels.get(model);
    if (!set) this.panels.set(model, (set = new Set()));
    set.add(panel);
    const subs: vscode.Disposable[] = [];
    const send = () => void panel.webview.postMessage({ type: 'model', state: this.stateOf(model) } satisfies PanelMessage);
    subs.push(
      panel.webview.onDidReceiveMessage((msg: unknown) => {
        if (!isPanelRequest(msg)) {
          this.log.warn(`model editor: ignored malformed message ${JSON.stringify(msg)?.slice(0, 200)}`);
          return;
        }
        if (msg.type === 'ready') {
          send();
          const id = this.pendingHighlight.get(model);
          if (id) void panel.webview.postMessage({ type: 'highlight', id } satisfies PanelMessage);
        }
        else if (msg.type === 'model-command') {
          if (msg.command === 'analyze') {
            if (vscode.workspace.isTrusted) void this.analyzer.analyze(model, true);
          } else this.runCommand(msg.command, document.uri, msg.preset);
        } else if (msg.type === 'reveal-layer') this.revealInTree(model, msg.group);
      }),
      this.analyzer.onDidChange((m) => {
        if (m === model) send();
      }),
      // The dropdown lists the presets of the settings; an edit there shows at once.
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('quboPrune', document.uri)) send();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        void this.analyzer.analyze(model);
        send();
      }),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) {
          this.active = document.uri;
          this.analyzer.setCurrent(model);
        } else if (this.active?.fsPath === model) this.active = undefined;
      }),
    );
    panel.onDidDispose(() => {
      set!.delete(panel);
      if (this.active?.fsPath === model && !set!.size) this.active = undefined;
      for (const s of subs) s.dispose();
    });
    if (vscode.workspace.isTrusted) {
      this.active = document.uri;
      this.analyzer.setCurrent(model);
      void this.analyzer.analyze(model);
    }
  }

  private stateOf(model: string): ModelViewState {
    if (!vscode.workspace.isTrusted) return { model, status: 'untrusted' };
    const res: AnalysisResult | undefined = this.analyzer.isRunning(model) ? undefined : this.analyzer.peek(model);
    const presets = this.presets(model);
    if (!res) return { model, status: 'loading', ...presets };
    return res.ok ? { model, status: 'ready', document: res.document, ...presets } : { model, status: 'failed', error: res.error, ...presets };
  }

  /** The presets of the model's settings; none when the settings are invalid (the run commands say why). */
  private presets(model: string): { presets?: PresetOption[] } {
    try {
      return { presets: presetChoices(getSettings(vscode.Uri.file(model))).map((c) => presetOption(c.name, c.settings, c.isDefault)) };
    } catch (err) {
      this.log.warn(`model editor: no preset list: ${(err as Error).message}`);
      return {};
    }
  }

  /** Marks a layer or group in the open editors of a model; false when none is open. */
  highlight(model: string, id: string): boolean {
    this.pendingHighlight.set(model, id);
    const set = this.panels.get(model);
    if (!set?.size) return false;
    for (const p of set) {
      void p.webview.postMessage({ type: 'highlight', id } satisfies PanelMessage);
      p.reveal(undefined, true);
    }
    return true;
  }
}

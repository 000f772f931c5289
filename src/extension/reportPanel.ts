// The report panel: one webview showing one run (live or finished). It always receives the whole
// RunViewState; the webview keeps it with setState, and the serializer below brings the panel back
// after VS Code restarts.
import * as vscode from 'vscode';
import { isPanelRequest, type PanelMessage, type PanelRequest } from '../protocol';
import { isRunViewState, type RunViewState } from '../view/panelState';
import { RunTracker } from './runState';
import { makeNonce, webviewHtml } from './webviewHtml';

export const REPORT_VIEW_TYPE = 'quboPrune.report';

export interface ReportPanelHost {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** The active run's id, so the panel knows whether its Cancel button still means something. */
  activeRunId(): string | undefined;
  /** The finished state of a run restored mid-run from the webview's saved state, if known. */
  recoverRun(state: RunViewState): Promise<RunViewState | undefined>;
  onRequest(req: PanelRequest, state: RunViewState | undefined): void;
}

export function configureWebview(webview: vscode.Webview, extensionUri: vscode.Uri, view: 'report' | 'model', title: string): void {
  webview.options = {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
  webview.html = webviewHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css')).toString(),
    view,
    title,
  });
}

export class ReportPanel implements vscode.Disposable {
  private static instance: ReportPanel | undefined;
  private state: RunViewState | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;
  private ready = false;
  private highlightId: string | undefined;

  static get current(): ReportPanel | undefined {
    return ReportPanel.instance;
  }

  /** Shows the panel (creating it if needed) with a state, or with what it had. */
  static show(host: ReportPanelHost, state?: RunViewState, preserveFocus = false): ReportPanel {
    if (!ReportPanel.instance) {
      const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, 'QUBO Prune Report', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, { enableScripts: true, enableFindWidget: true });
      ReportPanel.instance = new ReportPanel(panel, host, state);
    } else {
      if (state) ReportPanel.instance.update(state, true);
      ReportPanel.instance.panel.reveal(undefined, preserveFocus);
    }
    return ReportPanel.instance;
  }

  static revive(panel: vscode.WebviewPanel, host: ReportPanelHost, state: RunViewState | undefined): ReportPanel {
    ReportPanel.instance?.dispose();
    ReportPanel.instance = new ReportPanel(panel, host, state);
    return ReportPanel.instance;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    host: ReportPanelHost,
    state: RunViewState | undefined,
  ) {
    this.state = state;
    configureWebview(panel.webview, host.extensionUri, 'report', 'QUBO Prune Report');
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'activity.svg');
    this.setTitle();
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((msg: unknown) => {
        if (!isPanelRequest(msg)) {
          host.log.warn(`report panel: ignored malformed message ${JSON.stringify(msg)?.slice(0, 200)}`);
          return;
        }
        if (msg.type === 'ready') {
          // A reloaded webview (shown again after being hidden) asks for the current state.
          this.ready = true;
          this.flush();
          if (this.highlightId) this.post({ type: 'highlight', id: this.highlightId });
          return;
        }
        host.onRequest(msg, this.state);
      }),
    );
  }

  get runId(): string | undefined {
    return this.state?.runId;
  }

  get snapshot(): RunViewState | undefined {
    return this.state;
  }

  private setTitle(): void {
    const s = this.state;
    const name = s ? s.model.split(/[\\/]/).pop() : undefined;
    this.panel.title = name ? `${s?.compareOnly ? 'Compare' : 'Prune'}: ${name}${s?.status === 'running' ? ' (running)' : ''}` : 'QUBO Prune Report';
  }

  /** Replaces the shown state; snapshots are coalesced to at most one per 150 ms unless `now`. */
  update(state: RunViewState, now = false): void {
    const titleChange = state.status !== this.state?.status || state.model !== this.state?.model || state.compareOnly !== this.state?.compareOnly;
    if (state.runId !== this.state?.runId) this.highlightId = undefined;
    this.state = state;
    if (titleChange) this.setTitle();
    if (now) this.flush();
    else this.pending ??= setTimeout(() => this.flush(), 150);
  }

  highlight(id: string): void {
    this.highlightId = id;
    this.panel.reveal(undefined, true);
    this.post({ type: 'highlight', id });
  }

  private flush(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    if (this.state && this.ready) this.post({ type: 'snapshot', state: this.state });
  }

  private post(msg: PanelMessage): void {
    void this.panel.webview.postMessage(msg);
  }

  dispose(): void {
    if (ReportPanel.instance === this) ReportPanel.instance = undefined;
    if (this.pending) clearTimeout(this.pending);
    for (const s of this.subs) s.dispose();
    this.subs.length = 0;
    this.panel.dispose();
  }
}

/** Restores the panel after a restart from the state the webview saved. */
export class ReportPanelSerializer implements vscode.WebviewPanelSerializer {
  constructor(private readonly host: ReportPanelHost) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    const snap = (saved as { snapshot?: unknown } | undefined)?.snapshot;
    let state = isRunViewState(snap) ? snap : undefined;
    // A run saved mid-run either finished after the save (VS Code persists webview state lazily)
    // or died with the window; the report file or the extension's own record tells which.
    if (state && state.status === 'running' && state.runId !== this.host.activeRunId()) {
      state = (await this.host.recoverRun(state).catch(() => undefined)) ?? RunTracker.interrupted(state);
    }
    ReportPanel.revive(panel, this.host, state);
  }
}

// The "Runs" tree: every *.report.json in the workspace, newest first (preset, sparsity, metric
// before → after, output file). Clicking a run opens its report in the report panel.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatCount } from '../view/analysisModel';
import { REPORT_SUFFIX, runListEntry, type RunListEntry } from './reportFile';
import { formatShape } from './runPlan';

type Item = { kind: 'run'; entry: RunListEntry; mtime: number } | { kind: 'bad'; file: string; message: string };

export class RunsTreeProvider implements vscode.TreeDataProvider<Item>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private items: Item[] = [];
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly watcher: vscode.FileSystemWatcher;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.watcher = vscode.workspace.createFileSystemWatcher(`**/*${REPORT_SUFFIX}`);
    const soon = () => this.refreshSoon();
    this.watcher.onDidCreate(soon);
    this.watcher.onDidChange(soon);
    this.watcher.onDidDelete(soon);
  }

  /** Re-scans the workspace, coalescing bursts of file events. */
  refreshSoon(delayMs = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delayMs);
  }

  async refresh(): Promise<void> {
    const files = await vscode.workspace.findFiles(`**/*${REPORT_SUFFIX}`, '**/node_modules/**', 500);
    const items = await Promise.all(
      files.map(async (uri): Promise<Item> => {
        try {
          const [text, st] = await Promise.all([fs.readFile(uri.fsPath, 'utf8'), fs.stat(uri.fsPath)]);
          return { kind: 'run', entry: runListEntry(JSON.parse(text), uri.fsPath), mtime: st.mtimeMs };
        } catch (err) {
          return { kind: 'bad', file: uri.fsPath, message: (err as Error).message };
        }
      }),
    );
    items.sort((a, b) => (a.kind === 'run' ? a.mtime : 0) - (b.kind === 'run' ? b.mtime : 0)).reverse();
    this.items = items;
    this.changed.fire();
  }

  get entries(): RunListEntry[] {
    return this.items.flatMap((i) => (i.kind === 'run' ? [i.entry] : []));
  }

  getChildren(el?: Item): Item[] | Promise<Item[]> {
    if (el) return [];
    this.loading ??= this.refresh().catch((err) => this.log.error(`scanning for run reports failed: ${(err as Error).message}`));
    return this.loading.then(() => this.items);
  }

  getTreeItem(el: Item): vscode.TreeItem {
    if (el.kind === 'bad') {
      const it = new vscode.TreeItem(path.basename(el.file));
      it.description = 'unreadable report';
      it.tooltip = `${el.file}\n${el.message}`;
      it.iconPath = new vscode.ThemeIcon('warning');
      it.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(el.file)] };
      return it;
    }
    const e = el.entry;
    const it = new vscode.TreeItem(path.basename(e.output));
    it.id = `run:${e.reportJson}`;
    it.description = `${e.preset} · ${(e.sparsity * 100).toFixed(0)}% · ${e.metricLine}`;
    const rel = vscode.workspace.asRelativePath(e.output);
    it.tooltip = new vscode.MarkdownString(
      `**${path.basename(e.output)}**\n\n- model: \`${vscode.workspace.asRelativePath(e.model)}\`\n- preset: ${e.preset} (${e.method})\n- sparsity: ${(e.sparsity * 100).toFixed(1)}%\n- ${e.metricLine}\n- params: ${formatCount(e.summary.before.params)} → ${formatCount(e.summary.after.params)}${e.summary.evaluation ? `\n- measured on the test split (${e.summary.evaluation.images} images), MACs at ${formatShape(e.summary.evaluation.inputShape)}` : ''}\n- output: \`${rel}\`${e.finishedAt ? `\n- finished: ${e.finishedAt}` : ''}`,
    );
    it.iconPath = new vscode.ThemeIcon('pass');
    it.contextValue = 'run';
    it.resourceUri = vscode.Uri.file(e.reportJson);
    it.command = { command: 'quboPrune.openReport', title: 'Open report', arguments: [vscode.Uri.file(e.reportJson)] };
    return it;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.dispose();
    this.changed.dispose();
  }
}

// The "Model Layers" tree: layers and channel groups of the current model (from the worker's
// analysis), with channels, parameters, MACs and why locked channels cannot be pruned. Clicking an
// item reveals it in the report panel or the model editor.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GroupCapacity } from '../protocol';
import type { Analyzer } from './analyzer';
import { describeLock, formatCount, lockedSummary, normalizeAnalysis, shortLabel, type AnalysisView, type GroupRow, type LayerRow, type LockedRow } from '../view/analysisModel';
import { formatShape } from './runPlan';

type Node =
  | { kind: 'status'; label: string; detail?: string; icon: string }
  | { kind: 'summary'; view: AnalysisView; model: string }
  | { kind: 'section'; section: 'layers' | 'groups' | 'locked'; count: number; channels?: number }
  | { kind: 'layer'; row: LayerRow }
  | { kind: 'group'; row: GroupRow }
  | { kind: 'lock'; row: LockedRow };

export class LayersTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Node[] = [];
  private sections = new Map<string, Node>();
  private children = new Map<Node, Node[]>();
  private parents = new Map<Node, Node>();
  private readonly subs: vscode.Disposable[] = [];
  /** Kept channels per group of the last finished run of a model, shown beside its groups. */
  private kept: { model: string; groups: Map<string, GroupCapacity> } | undefined;

  constructor(private readonly analyzer: Analyzer) {
    this.subs.push(
      analyzer.onDidChangeCurrent(() => this.rebuild()),
      analyzer.onDidChange((m) => {
        if (m === analyzer.current) this.rebuild();
      }),
    );
  }

  get model(): string | undefined {
    return this.analyzer.current;
  }

  /** Shows a run's kept counts on the groups of its model. */
  setKept(model: string, groups: GroupCapacity[]): void {
    this.kept = { model: path.resolve(model), groups: new Map(groups.map((g) => [g.id, g])) };
    this.rebuild();
  }

  private keptOf(id: string): GroupCapacity | undefined {
    const m = this.analyzer.current;
    return m && this.kept && this.kept.model === path.resolve(m) ? this.kept.groups.get(id) : undefined;
  }

  private rebuild(): void {
    this.children.clear();
    this.parents.clear();
    this.sections.clear();
    const model = this.analyzer.current;
    const res = model ? this.analyzer.peek(model) : undefined;
    if (!model) this.roots = [];
    else if (!res || this.analyzer.isRunning(model)) this.roots = [{ kind: 'status', label: `Analyzing ${path.basename(model)}…`, icon: 'loading~spin' }];
    else if (!res.ok) this.roots = [{ kind: 'status', label: `${path.basename(model)}: analysis failed`, detail: `[${res.error.code}] ${res.error.message}`, icon: 'error' }];
    else {
      try {
        const v = normalizeAnalysis(res.document);
        const mk = (section: 'layers' | 'groups' | 'locked', items: Node[]) => {
          const s: Node = { kind: 'section', section, count: items.length, ...(section === 'locked' ? { channels: v.totals.lockedChannels } : {}) };
          this.sections.set(section, s);
          this.children.set(s, items);
          for (const i of items) this.parents.set(i, s);
          return s;
        };
        this.roots = [
          { kind: 'summary', view: v, model },
          mk('layers', v.layers.map((row) => ({ kind: 'layer', row }))),
          mk('groups', v.groups.map((row) => ({ kind: 'group', row }))),
          ...(v.locked.length ? [mk('locked', v.locked.map((row) => ({ kind: 'lock', row }) as Node))] : []),
        ];
      } catch (err) {
        this.roots = [{ kind: 'status', label: 'analysis unreadable', detail: (err as Error).message, icon: 'error' }];
      }
    }
    void vscode.commands.executeCommand('setContext', 'quboPrune.hasModel', !!model);
    this.changed.fire(undefined);
  }

  getChildren(el?: Node): Node[] {
    if (!el) return this.roots;
    return this.children.get(el) ?? [];
  }

  getParent(el: Node): Node | undefined {
    return this.parents.get(el);
  }

  /** The tree item of a group id or layer node name, for TreeView.reveal. */
  find(id: string): Node | undefined {
    const groups = this.sections.get('groups');
    const g = groups && this.children.get(groups)?.find((n) => n.kind === 'group' && n.row.id === id);
    if (g) return g;
    const layers = this.sections.get('layers');
    return layers && this.children.get(layers)?.find((n) => n.kind === 'layer' && (n.row.node === id || n.row.group === id));
  }

  getTreeItem(el: Node): vscode.TreeItem {
    const model = this.analyzer.current;
    switch (el.kind) {
      case 'status': {
        const it = new vscode.TreeItem(el.label);
        it.iconPath = new vscode.ThemeIcon(el.icon);
        if (el.detail) {
          it.description = el.detail;
          it.tooltip = el.detail;
        }
        return it;
      }
      case 'summary': {
        const t = el.view.totals;
        const it = new vscode.TreeItem(path.basename(el.model));
        const at = formatShape(el.view.inputShape);
        it.description = `${formatCount(t.params)} params · ${formatCount(t.macs)} MACs at ${at}`;
        it.tooltip = new vscode.MarkdownString(
          `**${path.basename(el.model)}**\n\n| | |\n|---|---|\n| Parameters | ${formatCount(t.params)} |\n| MACs at input ${at} | ${formatCount(t.macs)} |\n| Layers | ${t.layers} |\n| Channel groups | ${t.groups} |\n| Prunable channels | ${t.prunableChannels} |\n| Locked channels | ${lockedSummary(t.lockedChannels, el.view.locked.length)} |`,
        );
        it.iconPath = new vscode.ThemeIcon('circuit-board');
        it.resourceUri = vscode.Uri.file(el.model);
        it.command = { command: 'vscode.openWith', title: 'Open model', arguments: [vscode.Uri.file(el.model), 'quboPrune.modelInspector'] };
        return it;
      }
      case 'section': {
        // Locked: counted in channels as the inspector does, with the number of sources beside it.
        const text = el.section === 'layers' ? `Layers (${el.count})` : el.section === 'groups' ? `Channel groups (${el.count})` : `Locked channels: ${lockedSummary(el.channels ?? 0, el.count)}`;
        const it = new vscode.TreeItem(text, el.section === 'locked' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
        it.id = `section:${el.section}`;
        return it;
      }
      case 'layer': {
        const r = el.row;
        const it = new vscode.TreeItem(shortLabel(r.node));
        it.id = `layer:${r.node}`;
        const k = r.group !== undefined ? this.keptOf(r.group) : undefined;
        it.description = `${r.op} ${r.inChannels ?? '?'}→${k ? `${k.kept}/` : ''}${r.outChannels ?? '?'} · ${formatCount(r.params)} params`;
        it.accessibilityInformation = { label: `${r.node}, ${it.description}` };
        const lockText = r.locked ? `locked: ${describeLock(r.locked.reason, r.locked.detail)}` : '';
        const status = r.group !== undefined ? `prunable, group \`${r.group}\`${lockText ? `; partly ${lockText}` : ''}` : lockText || `output channels not a pruning variable (${r.status ?? 'unknown'})`;
        it.tooltip = new vscode.MarkdownString(`**${r.node}** (${r.op})\n\nchannels ${r.inChannels ?? '?'} → ${r.outChannels ?? '?'}${r.kernel ? `, kernel ${r.kernel.join('×')}` : ''}\n\n${formatCount(r.params)} parameters, ${formatCount(r.macs)} MACs\n\n${status}`);
        it.iconPath = new vscode.ThemeIcon(r.group !== undefined ? 'symbol-constructor' : r.locked ? 'lock' : 'symbol-field');
        it.contextValue = r.group !== undefined ? 'layer.prunable' : 'layer.locked';
        if (model) it.command = { command: 'quboPrune.revealLayer', title: 'Reveal in report', arguments: [model, r.group ?? r.node] };
        return it;
      }
      case 'group': {
        const r = el.row;
        const it = new vscode.TreeItem(shortLabel(r.id));
        it.id = `group:${r.id}`;
        const k = this.keptOf(r.id);
        // Short, so the label keeps its room; params and MACs are in the tooltip.
        it.description = k ? `kept ${k.kept} of ${r.channels} ch` : `${r.channels} ch`;
        it.accessibilityInformation = { label: `${r.id}, ${it.description}` };
        it.tooltip = new vscode.MarkdownString(
          `**${r.id}**: ${r.channels} prunable channels${k ? `, ${k.kept} kept by the last run` : ''}\n\n${r.params !== undefined ? `${formatCount(r.params)} params` : ''}${r.macs !== undefined ? ` · ${formatCount(r.macs)} MACs at ${formatShape(this.currentShape())}` : ''}\n\nproduced by ${r.producers.join(', ') || '?'}\n\nconsumed by ${r.consumers.join(', ') || '?'}`,
        );
        it.iconPath = new vscode.ThemeIcon('symbol-array');
        if (model) it.command = { command: 'quboPrune.revealLayer', title: 'Reveal in report', arguments: [model, r.id] };
        return it;
      }
      case 'lock': {
        const r = el.row;
        const it = new vscode.TreeItem(shortLabel(r.source));
        it.id = `locked:${r.source}:${r.tensor}`;
        it.description = `${r.channels} ch · ${r.reason}`;
        it.tooltip = describeLock(r.reason, r.detail);
        it.iconPath = new vscode.ThemeIcon('lock');
        return it;
      }
    }
  }

  private currentShape(): number[] | undefined {
    const s = this.roots[0];
    return s?.kind === 'summary' ? s.view.inputShape : undefined;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}

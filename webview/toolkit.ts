// The only module that knows which web-component library draws the webviews' controls
// (@vscode/webview-ui-toolkit, bundled into dist/webview.js). Everything else asks it for markup
// (pure strings, so rendering is tested in node) and for the few DOM reads the controls need.
// Moving to @vscode/elements means changing the tags and the registration here, nothing else.
//
// The toolkit's FAST elements style themselves through constructed stylesheets
// (adoptedStyleSheets), which the webview's CSP does not govern, and set grid layout through
// CSSOM, which it allows; the panel's strict policy (no 'unsafe-inline') stays as it is.

const escAttr = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Defines the custom elements. Loaded on demand: the toolkit needs a browser and tests import this file in node. */
export async function registerToolkit(): Promise<void> {
  const tk = await import('@vscode/webview-ui-toolkit');
  tk.provideVSCodeDesignSystem().register(
    tk.vsCodeButton(),
    tk.vsCodeDropdown(),
    tk.vsCodeOption(),
    tk.vsCodeDataGrid(),
    tk.vsCodeDataGridRow(),
    tk.vsCodeDataGridCell(),
    tk.vsCodeProgressRing(),
    tk.vsCodePanels(),
    tk.vsCodePanelTab(),
    tk.vsCodePanelView(),
  );
}

/**
 * A button that posts `action` (main.ts maps actions to requests); secondary = the theme's second
 * button colour; `data` = more data-* attributes the action reads (e.g. which alternative).
 */
export function button(label: string, action: string, secondary = false, data: Record<string, string> = {}): string {
  const extra = Object.entries(data)
    .map(([k, v]) => ` data-${escAttr(k)}="${escAttr(v)}"`)
    .join('');
  return `<vscode-button data-action="${escAttr(action)}"${extra}${secondary ? ' appearance="secondary"' : ''}>${escAttr(label)}</vscode-button>`;
}

export interface DropdownOption {
  value: string;
  label: string;
}

export function dropdown(id: string, label: string, options: readonly DropdownOption[], selected: string | undefined): string {
  const items = options.map((o) => `<vscode-option value="${escAttr(o.value)}"${o.value === selected ? ' selected' : ''}>${escAttr(o.label)}</vscode-option>`).join('');
  return `<vscode-dropdown id="${escAttr(id)}" aria-label="${escAttr(label)}" position="below">${items}</vscode-dropdown>`;
}

/** The value a dropdown's change event carries. */
export function dropdownValue(el: EventTarget | null): string | undefined {
  const v = (el as { value?: unknown } | null)?.value;
  return typeof v === 'string' && v ? v : undefined;
}

/** An indeterminate spinner; the label is what a screen reader says. */
export function progressRing(label: string): string {
  return `<vscode-progress-ring class="ring" aria-label="${escAttr(label)}"></vscode-progress-ring>`;
}

export interface TabSpec {
  id: string;
  label: string;
  /** Inner HTML of the tab's view (main.ts fills sections by id later). */
  body: string;
}

/** Tabs whose ids are `tab-<id>`, with views `view-<id>`; `active` is the id shown first. */
export function panels(id: string, tabs: readonly TabSpec[], active: string): string {
  const heads = tabs.map((t) => `<vscode-panel-tab id="tab-${escAttr(t.id)}" data-tab="${escAttr(t.id)}">${escAttr(t.label)}</vscode-panel-tab>`).join('');
  const views = tabs.map((t) => `<vscode-panel-view id="view-${escAttr(t.id)}">${t.body}</vscode-panel-view>`).join('');
  return `<vscode-panels id="${escAttr(id)}" activeid="tab-${escAttr(active)}">${heads}${views}</vscode-panels>`;
}

/** The tab id a panels element shows, from its change event or its state. */
export function activeTab(el: EventTarget | null): string | undefined {
  const id = (el as { activeid?: unknown } | null)?.activeid;
  return typeof id === 'string' && id.startsWith('tab-') ? id.slice(4) : undefined;
}

/** Shows a tab (a no-op when it is the shown one, so the element does not re-focus). */
export function showTab(el: { activeid?: string; setAttribute(name: string, value: string): void } | null, tab: string): void {
  if (el && el.activeid !== `tab-${tab}`) el.setAttribute('activeid', `tab-${tab}`);
}

export interface GridColumn {
  title: string;
  /** Sort key the header cell toggles (main.ts listens for [data-sort-key]); none = not sortable. */
  sortKey?: string;
  numeric?: boolean;
  /** CSS grid track, e.g. '2fr' or '90px'. */
  width: string;
}

export interface GridRow {
  /** Row id for highlight and reveal (data-id); `group` is the channel group it belongs to. */
  id?: string;
  group?: string;
  highlight?: boolean;
  /** Cell contents as HTML, already escaped by the caller. */
  cells: string[];
}

/**
 * A data grid with a header row of sortable columns. `sort` marks the sorted column (aria-sort and
 * an arrow); the rows come already sorted.
 */
export function dataGrid(opts: { id: string; label: string; columns: readonly GridColumn[]; rows: readonly GridRow[]; sort?: { key: string; dir: 'asc' | 'desc' } }): string {
  const { columns, sort } = opts;
  const head = columns
    .map((c, i) => {
      const sorted = c.sortKey !== undefined && sort?.key === c.sortKey;
      const aria = c.sortKey === undefined ? '' : ` aria-sort="${sorted ? (sort!.dir === 'asc' ? 'ascending' : 'descending') : 'none'}"`;
      const arrow = sorted ? (sort!.dir === 'asc' ? ' ▲' : ' ▼') : '';
      const cls = [c.sortKey !== undefined ? 'sortable' : '', c.numeric ? 'num' : ''].filter(Boolean).join(' ');
      return `<vscode-data-grid-cell cell-type="columnheader" grid-column="${i + 1}"${cls ? ` class="${cls}"` : ''}${c.sortKey !== undefined ? ` data-sort-key="${escAttr(c.sortKey)}"` : ''}${aria}>${escAttr(c.title)}${arrow}</vscode-data-grid-cell>`;
    })
    .join('');
  const body = opts.rows
    .map((r) => {
      const attrs = `${r.id !== undefined ? ` data-id="${escAttr(r.id)}"` : ''}${r.group !== undefined ? ` data-group="${escAttr(r.group)}"` : ''}${r.highlight ? ' class="highlight"' : ''}`;
      const cells = r.cells.map((html, i) => `<vscode-data-grid-cell grid-column="${i + 1}"${columns[i]?.numeric ? ' class="num"' : ''}>${html}</vscode-data-grid-cell>`).join('');
      return `<vscode-data-grid-row${attrs}>${cells}</vscode-data-grid-row>`;
    })
    .join('');
  const template = columns.map((c) => c.width).join(' ');
  return `<vscode-data-grid id="${escAttr(opts.id)}" aria-label="${escAttr(opts.label)}" generate-header="none" grid-template-columns="${escAttr(template)}"><vscode-data-grid-row row-type="header">${head}</vscode-data-grid-row>${body}</vscode-data-grid>`;
}

// State of a webview (report panel or model editor). The extension always sends whole snapshots,
// so the reducer replaces rather than merges; the same state is stored with setState and comes
// back through getState (panel hidden and shown again) or the panel serializer (VS Code
// restarted). Pure: no DOM, tested in node.
import type { ModelViewState, PanelMessage, RunViewState } from '../src/protocol';

export type ViewKind = 'report' | 'model';

export interface WebviewState {
  view: ViewKind;
  snapshot?: RunViewState;
  model?: ModelViewState;
  /** Id of the channel group or layer row to mark. */
  highlight?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Enough of a RunViewState to render without throwing; anything less is dropped. */
export function isRunViewState(v: unknown): v is RunViewState {
  if (!isObj(v)) return false;
  return (
    typeof v.runId === 'string' &&
    typeof v.model === 'string' &&
    typeof v.preset === 'string' &&
    (v.status === 'running' || v.status === 'done' || v.status === 'failed' || v.status === 'cancelled') &&
    Array.isArray(v.stages) &&
    v.stages.every((s) => isObj(s) && typeof s.name === 'string' && typeof s.status === 'string' && typeof s.fraction === 'number') &&
    Array.isArray(v.capacities) &&
    Array.isArray(v.energy) &&
    Array.isArray(v.refine) &&
    Array.isArray(v.log)
  );
}

export function isModelViewState(v: unknown): v is ModelViewState {
  return isObj(v) && typeof v.model === 'string' && (v.status === 'loading' || v.status === 'ready' || v.status === 'failed' || v.status === 'untrusted');
}

/** State from getState() (or the serializer), checked: a stale or foreign shape starts empty. */
export function restoreState(saved: unknown, view: ViewKind): WebviewState {
  const out: WebviewState = { view };
  if (!isObj(saved) || saved.view !== view) return out;
  if (view === 'report' && isRunViewState(saved.snapshot)) out.snapshot = saved.snapshot;
  if (view === 'model' && isModelViewState(saved.model)) out.model = saved.model;
  if (typeof saved.highlight === 'string') out.highlight = saved.highlight;
  return out;
}

export function reduce(state: WebviewState, msg: unknown): WebviewState {
  if (!isObj(msg)) return state;
  const m = msg as PanelMessage;
  switch (m.type) {
    case 'snapshot': {
      if (state.view !== 'report' || !isRunViewState(m.state)) return state;
      // A different run clears the mark of the previous one.
      const highlight = state.snapshot?.runId === m.state.runId ? state.highlight : undefined;
      return highlight === undefined ? { view: 'report', snapshot: m.state } : { view: 'report', snapshot: m.state, highlight };
    }
    case 'model': {
      if (state.view !== 'model' || !isModelViewState(m.state)) return state;
      const highlight = state.model?.model === m.state.model ? state.highlight : undefined;
      return highlight === undefined ? { view: 'model', model: m.state } : { view: 'model', model: m.state, highlight };
    }
    case 'highlight':
      return typeof m.id === 'string' ? { ...state, highlight: m.id } : state;
    default:
      return state;
  }
}

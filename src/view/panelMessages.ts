// The messages between the extension and a webview (report panel, model editor): part of the one
// protocol (src/protocol.ts re-exports them), kept here so browser code imports them without the
// worker messages' Node-side types.
import type { ModelViewState, RunViewState } from './panelState';

/** Extension → webview. */
export type PanelMessage =
  | { type: 'snapshot'; state: RunViewState }
  | { type: 'model'; state: ModelViewState }
  /** Scrolls to and marks the row of a channel group or layer. */
  | { type: 'highlight'; id: string };

/** Webview → extension. */
export type PanelRequest =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'reveal-output' }
  | { type: 'open-markdown' }
  | { type: 'reveal-layer'; group: string }
  /** A flagged run's alternative (summary.flags), from the panel's banner: the extension starts it only if the run offered it. */
  | { type: 'flag-alternative'; preset?: string; sparsity?: number }
  /** From the model editor: run a command of the extension on the model shown; `preset` = the dropdown's choice (prune with preset). */
  | { type: 'model-command'; command: 'prune' | 'prune-with-preset' | 'analyze'; preset?: string };

export function isPanelRequest(value: unknown): value is PanelRequest {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as { type?: unknown }).type;
  if (t === 'model-command') {
    const c = (value as { command?: unknown }).command;
    const preset = (value as { preset?: unknown }).preset;
    return (c === 'prune' || c === 'prune-with-preset' || c === 'analyze') && (preset === undefined || typeof preset === 'string');
  }
  if (t === 'flag-alternative') {
    const { preset, sparsity } = value as { preset?: unknown; sparsity?: unknown };
    return (preset === undefined || typeof preset === 'string') && (sparsity === undefined || (typeof sparsity === 'number' && Number.isFinite(sparsity))) && (preset !== undefined || sparsity !== undefined);
  }
  return t === 'ready' || t === 'cancel' || t === 'reveal-output' || t === 'open-markdown' || (t === 'reveal-layer' && typeof (value as { group?: unknown }).group === 'string');
}

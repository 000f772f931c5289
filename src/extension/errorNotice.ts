// Shows an ErrorDisplay (errorDisplay.ts) as a VS Code notification and carries out its buttons:
// Report Issue opens VS Code's issue reporter for this extension, Show Log the output channel.
import * as vscode from 'vscode';
import { REPORT_ISSUE, SHOW_LOG, type ErrorDisplay } from './errorDisplay';

/** package.json's publisher.name, which the issue reporter takes to prefill the extension. */
const EXTENSION_ID = 'qubo-prune.qubo-prune';

export function showErrorDisplay(d: ErrorDisplay, log: vscode.LogOutputChannel): void {
  if (d.level === 'none') return;
  const shown = d.level === 'info' ? vscode.window.showInformationMessage(d.text, ...d.actions) : vscode.window.showErrorMessage(d.text, ...d.actions);
  void shown.then((pick) => {
    if (pick === SHOW_LOG) log.show(true);
    if (pick === REPORT_ISSUE) void vscode.commands.executeCommand('workbench.action.openIssueReporter', { extensionId: EXTENSION_ID });
  });
}

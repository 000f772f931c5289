// Reads quboPrune.* from VS Code and hands it to the pure mapping; turns its errors into a message
// that names the setting and offers to open it.
import * as vscode from 'vscode';
import { readSettings, SECTION, SettingsError, type ExtensionSettings } from './settingsMapping';

export function rawSettings(scope?: vscode.Uri) {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    defaultPreset: c.get<unknown>('defaultPreset'),
    presets: c.get<unknown>('presets'),
    dataFolder: c.get<unknown>('dataFolder'),
    provider: c.get<unknown>('provider'),
    outputNaming: c.get<unknown>('outputNaming'),
    analysisSize: c.get<unknown>('analysisSize'),
  };
}

export function getSettings(scope?: vscode.Uri): ExtensionSettings {
  return readSettings(rawSettings(scope));
}

/** Shows a SettingsError with a button that opens the offending setting; returns true if it was one. */
export function reportSettingsError(err: unknown, log: vscode.LogOutputChannel): boolean {
  if (!(err instanceof SettingsError)) return false;
  log.error(err.message);
  const key = err.setting.split('.').slice(0, 2).join('.');
  void vscode.window.showErrorMessage(err.message, 'Open Settings').then((pick) => {
    if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', key);
  });
  return true;
}

/** Commands that read or run models refuse in untrusted workspaces, with a way out. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(`QUBO Prune: ${action} needs a trusted workspace, because it loads models and writes files. Trust this workspace first.`, 'Manage Workspace Trust')
    .then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}

// The HTML shell of both webviews: a strict CSP (scripts only with this load's nonce, styles and
// images only from the extension's own files), the theme-aware stylesheet and the bundled script.
// Everything the page shows is rendered by dist/webview.js from posted state.
import { createHash, randomBytes } from 'node:crypto';

/**
 * The one inline style the policy admits: an empty <style> element. The toolkit's FAST library
 * probes for `:focus-visible` support by appending an empty <style> to <head> and inserting a rule
 * through CSSOM (canUseFocusVisible in @microsoft/fast-web-utilities); refused, it logs a violation
 * and falls back to `:focus` rings on every click. An empty element carries no CSS of its own, and
 * CSSOM rules are outside CSP's reach anyway, so this admits nothing a page script could not
 * already do, unlike 'unsafe-inline' or a style nonce exposed in a <meta> for FAST to read.
 */
export const EMPTY_STYLE_HASH = `'sha256-${createHash('sha256').update('').digest('base64')}'`;

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function webviewHtml(opts: { cspSource: string; nonce: string; scriptUri: string; styleUri: string; view: 'report' | 'model'; title: string }): string {
  const csp = [
    "default-src 'none'",
    `img-src ${opts.cspSource} data:`,
    `style-src ${opts.cspSource} ${EMPTY_STYLE_HASH}`,
    `font-src ${opts.cspSource}`,
    `script-src 'nonce-${opts.nonce}'`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${esc(opts.styleUri)}">
<title>${esc(opts.title)}</title>
</head>
<body data-view="${opts.view}">
<script nonce="${opts.nonce}" src="${esc(opts.scriptUri)}"></script>
</body>
</html>`;
}

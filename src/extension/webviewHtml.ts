// The HTML shell of both webviews: a strict CSP (scripts only with this load's nonce, styles and
// images only from the extension's own files), the theme-aware stylesheet and the bundled script.
// Everything the page shows is rendered by dist/webview.js from posted state.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function webviewHtml(opts: { cspSource: string; nonce: string; scriptUri: string; styleUri: string; view: 'report' | 'model'; title: string }): string {
  const csp = [
    "default-src 'none'",
    `img-src ${opts.cspSource} data:`,
    `style-src ${opts.cspSource}`,
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

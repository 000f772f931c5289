// Escaping for the webviews' HTML strings: every text from outside (paths, messages, labels) goes
// through esc before it is placed in markup.
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

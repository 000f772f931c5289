/**
 * Error messages quote names taken from user files (tensor names, file names, JSON snippets), and
 * those may hold line breaks or terminal control characters. A coded error is shown as one line
 * (the CLI prints it after `error:`), so such characters (C0, DEL and C1, which holds the
 * terminal's CSI) are written as escapes.
 */
export function oneLine(message: string): string {
  return message.replace(/\p{Cc}/gu, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

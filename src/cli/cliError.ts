import { QuboPruneError } from '../core/errors';

/**
 * A bad command line: a missing or malformed flag or argument. The message is one line; `usage`
 * (the command's help) is printed after it, so the line that names the problem stays the first.
 */
export class CliError extends QuboPruneError<'bad-argument'> {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super('bad-argument', message, 'input');
    this.name = 'CliError';
  }
}

/** Exit codes of the command line, shared by every sub-command. */
export const EXIT = { ok: 0, badInput: 1, runtime: 2, cancelled: 130 } as const;

/** An error the CLI reports as one line, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.badInput,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cliError';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node's parseArgs with errors turned into one-line CLI errors. */
export function parseCliArgs<O extends Options>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${usage}`);
  }
}

export function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number, got '${value}'`);
  return n;
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cliError';

type Options = NonNullable<ParseArgsConfig['options']>;

const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity\b)/;

/**
 * node's parseArgs takes `--seed -3` for an option followed by another option and refuses it as
 * ambiguous, so a value that reads as a negative number is joined to its string option first
 * (`--seed=-3`); the option's own range check then gives the real message.
 */
export function joinNegativeValues(args: readonly string[], options: Options): string[] {
  const takesValue = (arg: string): boolean => {
    if (arg.startsWith('--')) return !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (/^-[^-]$/.test(arg)) return Object.values(options).some((o) => o.short === arg[1] && o.type === 'string');
    return false;
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (next !== undefined && NEGATIVE_NUMBER.test(next) && takesValue(arg)) {
      out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** node's parseArgs with errors turned into one-line CLI errors. */
export function parseCliArgs<O extends Options>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message, usage);
  }
}

export function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  // Number('') is 0: an empty value (an unset shell variable) would pass as a real setting.
  if (value.trim() === '') throw new CliError(`--${name} needs a value, got an empty string`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number, got '${value}'`);
  return n;
}

const BUDGET_KINDS = ['macs', 'params', 'latencyMs', 'latencyRatio'] as const;

/**
 * `--budget macs=0.5` (or params=, latencyRatio= with a fraction of the original's in (0, 1],
 * latencyMs= with milliseconds) as the preset key `budget`; `none` clears a preset's budget so
 * sparsity applies again.
 */
export function budgetOption(value: string): Record<string, number> | null {
  const v = value.trim();
  if (v === '') throw new CliError('--budget needs a value such as macs=0.5, params=0.4 or none; got an empty string');
  if (v === 'none') return null;
  const eq = v.indexOf('=');
  if (eq < 0) throw new CliError(`--budget must be KIND=VALUE (KIND one of ${BUDGET_KINDS.join(', ')}), e.g. macs=0.5; got '${value}'`);
  const kind = v.slice(0, eq).trim();
  const raw = v.slice(eq + 1).trim();
  if (!(BUDGET_KINDS as readonly string[]).includes(kind)) throw new CliError(`--budget: unknown kind '${kind}'; expected one of ${BUDGET_KINDS.join(', ')}`);
  // Number('') is 0 and Number('0x1') is 1: only plain decimals are budgets.
  const n = /^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) throw new CliError(`--budget ${kind} must be a number, got '${raw}'`);
  if (kind === 'latencyMs') {
    if (!(n > 0)) throw new CliError(`--budget latencyMs must be a positive number of milliseconds, got ${raw}`);
  } else if (!(n > 0 && n <= 1)) {
    throw new CliError(`--budget ${kind} is a fraction of the original's in (0, 1], got ${raw}${n > 1 && n <= 100 ? ` (for ${n}% write ${kind}=${n / 100})` : ''}`);
  }
  return { [kind]: n };
}

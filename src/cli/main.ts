#!/usr/bin/env node
// Entry point of the `qubo-prune` command line. Each sub-command lives in its own module under
// commands/ and is registered here, so adding one never touches another's code.
import { EXIT, reportFailure } from './exitCodes';
import type { CliCommand } from './command';

const registry: Record<string, () => Promise<CliCommand>> = {};

function usage(): string {
  const names = Object.keys(registry).sort();
  return [
    'usage: qubo-prune <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n}`),
    '',
    "run 'qubo-prune <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return name ? EXIT.ok : EXIT.input;
  }
  const load = registry[name];
  if (!load) {
    process.stderr.write(`qubo-prune: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT.input;
  }
  const command = await load();
  try {
    return await command.run(rest);
  } catch (err) {
    return reportFailure(err, (text) => process.stderr.write(text), `qubo-prune ${name}: `);
  }
}

/** Registers a sub-command; modules are loaded lazily so `--help` stays fast. */
export function register(name: string, load: () => Promise<CliCommand>): void {
  registry[name] = load;
}

// --- registered commands (one line each) ---
register('analyze', async () => (await import('./commands/analyze')).analyzeCommand);
register('demo', async () => (await import('./commands/demo')).demoCommand);
register('importance', async () => (await import('./commands/importance')).importanceCommand);
register('solve', async () => (await import('./commands/solve')).solveCommand);
register('prune', async () => (await import('./commands/prune')).pruneCommand);

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(EXIT.internal);
    },
  );
}

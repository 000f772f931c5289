// `qubo-prune solve`: solves a QUBO instance file (schema in docs/SOLVER.md) with the exact-sparsity
// capacity-driven search and prints the solution as JSON.
import {
  buildQubo,
  greedyStart,
  parseQuboJson,
  quboEnergy,
  quboLowerBound,
  solveExact,
  solveQubo,
  type QuboInstance,
} from '../../core/qubo';
import { readRegularFile } from '../../core/util/readRegularFile';
import { numberOption, parseCliArgs } from '../args';
import { CliError } from '../cliError';
import { EXIT } from '../exitCodes';
import type { CliCommand } from '../command';

const USAGE = `usage: qubo-prune solve <instance.json> [--seed S] [--time-ms T] [--iterations N] [--exact]

  --seed S         random seed (default: the instance's search.seed, else 1)
  --time-ms T      wall-clock budget in milliseconds (results then depend on machine speed)
  --iterations N   iteration budget (deterministic per seed); default 20000 + 50·n when no budget is given
  --exact          enumerate instead of searching (groups of at most 24 channels; ground truth)

Prints one JSON document to stdout: energy, per-group kept counts and indices, and the mask.`;

export interface SolveSettings {
  seed?: number;
  timeMs?: number;
  iterations?: number;
  exact?: boolean;
}

export interface SolveOutput {
  solver: 'capacity-tabu' | 'exact';
  objective: string;
  n: number;
  K: number;
  kRequested: number;
  energy: number;
  greedyEnergy: number;
  lowerBound: number;
  seed: number | null;
  iterations: number;
  timeMs: number;
  stopReason: string;
  groups: { id: string; size: number; floor: number; roundTo: number; kept: number; keep: number[] }[];
  mask: string;
}

/** Parses, builds and solves an instance given as JSON text; flags override the file's `search` block. */
export function solveInstanceText(text: string, settings: SolveSettings = {}): SolveOutput {
  const parsed = parseQuboJson(text);
  const inst = buildQubo(parsed.groups, parsed.options);
  const seed = settings.seed ?? parsed.search.seed ?? 1;
  const timeMs = settings.timeMs ?? parsed.search.timeMs;
  const iterations = settings.iterations ?? parsed.search.iterations;
  const greedyEnergy = quboEnergy(inst, greedyStart(inst));
  if (settings.exact) {
    const t0 = performance.now();
    const r = solveExact(inst);
    return describe(inst, 'exact', r.mask, r.energy, greedyEnergy, null, 0, performance.now() - t0, 'exact');
  }
  const r = solveQubo(inst, {
    seed,
    ...(timeMs !== undefined ? { timeMs } : {}),
    ...(iterations !== undefined ? { maxIterations: iterations } : {}),
  });
  return describe(inst, 'capacity-tabu', r.mask, r.energy, greedyEnergy, seed, r.iterations, r.timeMs, r.stopReason);
}

function describe(
  inst: QuboInstance,
  solver: SolveOutput['solver'],
  mask: Uint8Array,
  energy: number,
  greedyEnergy: number,
  seed: number | null,
  iterations: number,
  timeMs: number,
  stopReason: string,
): SolveOutput {
  const groups = inst.groupIds.map((id, g) => {
    const keep: number[] = [];
    const s = inst.groupStart[g]!;
    for (let a = 0; a < inst.groupSize[g]!; a++) if (mask[s + a]) keep.push(a);
    return { id, size: inst.groupSize[g]!, floor: inst.floors[g]!, roundTo: inst.roundTo[g]!, kept: keep.length, keep };
  });
  return {
    solver,
    objective: inst.objective,
    n: inst.n,
    K: inst.K,
    kRequested: inst.kRequested,
    energy,
    greedyEnergy,
    lowerBound: quboLowerBound(inst),
    seed,
    iterations,
    timeMs: Math.round(timeMs * 10) / 10,
    stopReason,
    groups,
    mask: Array.from(mask).join(''),
  };
}

/** Pretty JSON with each group on one line, so large solutions stay readable. */
export function formatSolveOutput(out: SolveOutput): string {
  const { groups, ...rest } = out;
  const head = JSON.stringify(rest, null, 2).split('\n');
  head.pop();
  const last = head.length - 1;
  head[last] = head[last] + ',';
  const lines = groups.map((g, k) => `    ${JSON.stringify(g)}${k < groups.length - 1 ? ',' : ''}`);
  return [...head, '  "groups": [', ...lines, '  ]', '}'].join('\n');
}

function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const v = numberOption(value, name, 0);
  if (!Number.isInteger(v) || v < min) throw new CliError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return v;
}

/** The command, writing its output through `write` (stdout by default; tests collect it). */
export function makeSolveCommand(write: (text: string) => void = (t) => void process.stdout.write(t)): CliCommand {
  return {
    summary: 'solve a QUBO instance (JSON) with exact sparsity',
    async run(args: string[]): Promise<number> {
      const { values, positionals } = parseCliArgs(
        args,
        {
          seed: { type: 'string' },
          'time-ms': { type: 'string' },
          iterations: { type: 'string' },
          exact: { type: 'boolean' },
        },
        USAGE,
      );
      if (values.help) {
        write(USAGE + '\n');
        return EXIT.ok;
      }
      if (positionals.length !== 1) throw new CliError('expected one instance file', USAGE);
      const file = positionals[0]!;
      let text: string;
      try {
        text = (await readRegularFile(file)).toString('utf8');
      } catch (err) {
        throw new CliError(`cannot read '${file}': ${(err as Error).message}`);
      }
      const settings: SolveSettings = {};
      const seed = integerOption(values.seed, 'seed', 0);
      if (seed !== undefined) settings.seed = seed;
      const timeMs = values['time-ms'] === undefined ? undefined : numberOption(values['time-ms'], 'time-ms', 0);
      if (timeMs !== undefined) {
        if (timeMs <= 0) throw new CliError('--time-ms must be positive');
        settings.timeMs = timeMs;
      }
      const iterations = integerOption(values.iterations, 'iterations', 1);
      if (iterations !== undefined) settings.iterations = iterations;
      if (values.exact) settings.exact = true;
      const out = solveInstanceText(text, settings);
      write(formatSolveOutput(out) + '\n');
      return EXIT.ok;
    },
  };
}

export const solveCommand: CliCommand = makeSolveCommand();

// Large fuzz run behind docs/RELIABILITY.md ("Fuzz suite"): thousands of seeded cases, in worker
// processes under a 60 s per-case watchdog, plus a sample through the CLI for exit codes.
//
//   npm run bench:fuzz -- [--seed S] [--count N per family] [--family F] [--jobs J] [--cli N] [--json out.json]
//
// Replay one case: --case model-structure/123 (with the same --seed).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FAMILIES, FIXTURES, type Family } from '../test/fuzz/cases';
import { FAILURES, snapshot, type Outcome } from '../test/fuzz/execute';
import { boundaryCount } from '../test/fuzz/modelMutators';
import { caseIds } from '../test/fuzz/mutators';
import { failures, formatTally, runCliCase, runFuzz, tally } from '../test/fuzz/runner';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const seed = Number(arg('seed', '1'));
  const count = Number(arg('count', '500'));
  const family = arg('family', '');
  const jobs = Number(arg('jobs', '1'));
  const cliCount = Number(arg('cli', '60'));
  const jsonOut = arg('json', '');
  const one = arg('case', '');
  const counts: Partial<Record<Family, number>> = {};
  for (const f of FAMILIES) if (!family || f === family) counts[f] = count;
  // Truncation at every field boundary: a third of the model-bytes cases, so enough of them to cover all.
  if (counts['model-bytes'] !== undefined) counts['model-bytes'] = Math.max(counts['model-bytes'], 3 * boundaryCount());
  const ids = one ? [one] : caseIds(counts);
  const fixturesBefore = snapshot(FIXTURES);
  const t0 = performance.now();
  let done = 0;
  const outcomes = await runFuzz({
    seed,
    ids,
    jobs,
    timeoutMs: 60_000,
    onOutcome: (o) => {
      done++;
      if (FAILURES.has(o.verdict) || one) process.stderr.write(`${o.verdict.toUpperCase()} ${o.id} ${o.name}\n    ${o.detail}\n`);
      if (done % 100 === 0) process.stderr.write(`… ${done}/${ids.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    },
  });
  const inProcessSeconds = (performance.now() - t0) / 1000;
  // The CLI sample: every family, spread over the run; data cases only where loading failed
  // (a good data folder would run the whole pipeline).
  const t1 = performance.now();
  const cli: Outcome[] = [];
  const byFamily = new Map<Family, Outcome[]>();
  for (const o of outcomes) byFamily.set(o.family, [...(byFamily.get(o.family) ?? []), o]);
  const perFamily = Math.ceil(cliCount / FAMILIES.length);
  for (const [f, list] of byFamily) {
    const pool = list.filter((o) => (f === 'data-folder' ? o.verdict === 'clear-error' : true));
    const step = Math.max(1, Math.floor(pool.length / (2 * perFamily)));
    for (let i = 0; i < pool.length && cli.filter((c) => c.family === f).length < perFamily; i += step) {
      const o = await runCliCase(seed, pool[i]!.id, 60_000);
      if (!o) continue;
      cli.push(o);
      if (FAILURES.has(o.verdict)) process.stderr.write(`CLI ${o.verdict.toUpperCase()} ${o.id} ${o.name}\n    ${o.detail}\n`);
    }
  }
  const cliSeconds = (performance.now() - t1) / 1000;
  const fixturesAfter = snapshot(FIXTURES);
  const fixturesChanged = [...fixturesBefore].filter(([k, h]) => fixturesAfter.get(k) !== h).map(([k]) => k);

  const report = [
    `seed ${seed}, ${outcomes.length} cases in-process (${jobs} worker${jobs === 1 ? '' : 's'}, ${inProcessSeconds.toFixed(0)} s), ${cli.length} through the CLI (${cliSeconds.toFixed(0)} s)`,
    '',
    formatTally(tally(outcomes)),
    '',
    'CLI sample:',
    '',
    formatTally(tally(cli)),
    '',
    `fixtures changed: ${fixturesChanged.length ? fixturesChanged.join(', ') : 'none'}`,
  ].join('\n');
  process.stdout.write(report + '\n');
  const bad = [...failures(outcomes), ...failures(cli)];
  if (bad.length) process.stdout.write(`\n${bad.length} failing case(s):\n${bad.map((o) => `  ${o.via} ${o.verdict} ${o.id}: ${o.name}\n      ${o.detail}`).join('\n')}\n`);
  if (jsonOut) {
    mkdirSync(path.dirname(jsonOut), { recursive: true });
    writeFileSync(jsonOut, JSON.stringify({ seed, inProcessSeconds, cliSeconds, tally: tally(outcomes), cliTally: tally(cli), fixturesChanged, outcomes, cli }, null, 1) + '\n');
  }
  process.exitCode = bad.length || fixturesChanged.length ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(2);
});

// Seeded fuzz run at a small count (the large one is `npm run bench:fuzz`): mutated models, external
// data, data folders and presets must each end in a correct result or a clear, coded error; never
// a crash, a hang, a file left behind or a changed source. The first cases of each family take
// every mutator once, so this run covers them all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAMILIES, FIXTURES } from './cases';
import { snapshot, type Outcome } from './execute';
import { caseIds } from './mutators';
import { failures, runCliCase, runFuzz, tally } from './runner';

const SEED = 20_240_917;
const COUNTS = { 'model-bytes': 45, 'model-structure': 40, 'external-data': 40, 'data-folder': 40, preset: 40 };

const show = (o: Outcome) => `${o.via} ${o.verdict} ${o.id} — ${o.name}\n    ${o.detail}`;

let outcomes: Outcome[] = [];

test('fuzz: every case ends in a correct result or a clear error, in-process', { timeout: 240_000 }, async () => {
  const before = snapshot(FIXTURES);
  outcomes = await runFuzz({ seed: SEED, ids: caseIds(COUNTS), timeoutMs: 30_000 });
  assert.deepEqual(failures(outcomes).map(show), []);
  const t = tally(outcomes);
  for (const f of FAMILIES) assert.ok(t[f]['clear-error'] > 0, `${f}: no case was refused; the mutators have stopped mutating`);
  // Good results must stay reachable too, or a tool that refuses everything would pass.
  for (const f of ['model-bytes', 'model-structure', 'external-data', 'data-folder'] as const) assert.ok(t[f].ok > 0, `${f}: no case produced a correct result`);
  const after = snapshot(FIXTURES);
  assert.deepEqual([...before].filter(([k, h]) => after.get(k) !== h).map(([k]) => k), [], 'fixtures changed');
});

test('fuzz: the CLI exits 1 with one line for bad input and 0 for good input', { timeout: 240_000 }, async () => {
  assert.ok(outcomes.length > 0, 'the in-process run did not happen');
  // One refused and one accepted case per family (data folders: refused only, an accepted one
  // would run the whole pipeline).
  const picks: string[] = [];
  for (const f of FAMILIES) {
    for (const verdict of f === 'data-folder' ? (['clear-error'] as const) : (['clear-error', 'ok'] as const)) {
      const o = outcomes.find((x) => x.family === f && x.verdict === verdict && !(f === 'preset' && x.name.startsWith('settings:')));
      if (o) picks.push(o.id);
    }
  }
  const cli: Outcome[] = [];
  for (const id of picks) {
    const o = await runCliCase(SEED, id, 60_000);
    if (o) cli.push(o);
  }
  assert.ok(cli.length >= 6, `only ${cli.length} CLI cases ran`);
  assert.deepEqual(failures(cli).map(show), []);
  // The CLI must agree with the in-process verdict.
  const disagree = cli.filter((c) => outcomes.find((o) => o.id === c.id)!.verdict !== c.verdict);
  assert.deepEqual(disagree.map(show), []);
});

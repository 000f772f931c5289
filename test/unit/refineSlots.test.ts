import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { satisfies } from '../../src/core/tt';
import { RefineError } from '../../src/core/refine/errors';
import { chooseSlots, encodeSlots, rankingKey, segmentCountConstraint, slotCapacity } from '../../src/core/refine/swapSlots';
import { partitionBlocks, pickLayers, swappableGroups } from '../../src/core/refine/scopes';
import { groupCounts, makeProblem } from './refineFixtures';

describe('chooseSlots', () => {
  test('slots are disjoint, inside one group, drop a kept and add a pruned channel, weakest/strongest first', () => {
    const p = makeProblem(3, 6, 10);
    const eligible = [0, 1, 2, 3, 4, 5];
    const slots = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible, count: 17 });
    assert.equal(slots.length, 17);
    const used = new Set<number>();
    for (const s of slots) {
      const vars = Array.from(p.groups[s.group]!.variables);
      assert.ok(vars.includes(s.drop) && vars.includes(s.add));
      assert.equal(p.start[s.drop], 1);
      assert.equal(p.start[s.add], 0);
      assert.ok(!used.has(s.drop) && !used.has(s.add), 'a channel in two slots');
      used.add(s.drop);
      used.add(s.add);
      assert.ok(Math.abs(s.margin - (p.gain[s.drop]! - p.gain[s.add]!)) < 1e-12);
    }
    for (const g of eligible) {
      const mine = slots.filter((s) => s.group === g);
      assert.ok(mine.length >= 1, 'every group gets a slot first');
      const kept = Array.from(p.groups[g]!.variables).filter((v) => p.start[v]);
      const pruned = Array.from(p.groups[g]!.variables).filter((v) => !p.start[v]);
      kept.sort((a, b) => p.gain[a]! - p.gain[b]!);
      pruned.sort((a, b) => p.gain[b]! - p.gain[a]!);
      assert.deepEqual(mine.map((s) => s.drop), kept.slice(0, mine.length));
      assert.deepEqual(mine.map((s) => s.add), pruned.slice(0, mine.length));
    }
    // Grouped by group, in eligible order (neighbours in the TT).
    const order = slots.map((s) => s.group);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  });

  test('extra slots go to the smallest margins; scarce slots go to the most uncertain groups', () => {
    const p = makeProblem(4, 5, 8);
    const eligible = [0, 1, 2, 3, 4];
    const all = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible, count: 100 });
    assert.equal(all.length, slotCapacity(p.start, p.groups, eligible));
    assert.equal(all.length, 20);
    const few = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible, count: 2 });
    const firstMargins = eligible.map((g) => all.find((s) => s.group === g)!.margin).sort((a, b) => a - b);
    assert.deepEqual(few.map((s) => s.margin).sort((a, b) => a - b), firstMargins.slice(0, 2));
    const nine = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible, count: 9 });
    // Without tried channels a group's margins rise slot by slot, so beyond one slot per group the
    // four extra slots are the four smallest margins among the groups' later slots.
    const firsts = new Set(eligible.map((g) => all.find((s) => s.group === g)!));
    const later = all.filter((s) => !firsts.has(s));
    const key = (s: { drop: number; add: number }) => `${s.drop}:${s.add}`;
    const expected = [...later].sort((a, b) => a.margin - b.margin).slice(0, 4).map(key).sort();
    const got = nine.filter((s) => !Array.from(firsts).some((f) => key(f) === key(s))).map(key).sort();
    assert.equal(nine.length, 9);
    assert.deepEqual(got, expected);
  });

  test('channels already tried rank after fresh ones', () => {
    const p = makeProblem(5, 2, 12);
    const first = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible: [0, 1], count: 4 });
    const tried = new Uint8Array(p.n);
    for (const s of first) tried[s.drop] = tried[s.add] = 1;
    const second = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible: [0, 1], count: 4, tried });
    for (const s of second) assert.ok(!tried[s.drop] && !tried[s.add]);
  });

  test('rankingKey mixes a hint on the same scale, and is h itself without one', () => {
    const h = Float64Array.from([1, 2, 3, 2]);
    assert.equal(rankingKey(h), h);
    const k = rankingKey(h, Float64Array.from([4, 0, 0, 0]), 1);
    // mean|h| = 2, mean|hint| = 1: key = h/2 + hint.
    assert.deepEqual(Array.from(k), [4.5, 1, 1.5, 1]);
  });
});

/** Every 0/1 vector of length d (as arrays). */
function allVectors(d: number): number[][] {
  const out: number[][] = [];
  for (let c = 0; c < 1 << d; c++) out.push(Array.from({ length: d }, (_, i) => (c >> i) & 1));
  return out;
}

/** Vectors the automaton can emit, by depth-first walk; fails if a reachable prefix has no allowed value. */
function walk(c: ReturnType<typeof segmentCountConstraint>, d: number): string[] {
  const out: string[] = [];
  const rec = (p: number, state: number, prefix: string) => {
    if (p === d) {
      out.push(prefix);
      return;
    }
    let any = false;
    for (const v of [0, 1]) {
      if (!c.allowed(p, state, v)) continue;
      any = true;
      rec(p + 1, c.next(p, state, v), prefix + v);
    }
    assert.ok(any, `dead end after prefix '${prefix}'`);
  };
  rec(0, c.initialState, '');
  return out.sort();
}

describe('segmentCountConstraint', () => {
  const lengths = Int32Array.from([4, 2, 3]);
  const seg = (i: number) => (i < 4 ? 0 : i < 6 ? 1 : 2);
  const count = (x: number[], s: number) => x.reduce((a, v, i) => a + (seg(i) === s ? v : 0), 0);

  test('per-segment exact counts: accepts exactly the vectors with those counts', () => {
    const min = Int32Array.from([2, 1, 1]);
    const c = segmentCountConstraint(lengths, min, min);
    const expected = allVectors(9)
      .filter((x) => count(x, 0) === 2 && count(x, 1) === 1 && count(x, 2) === 1)
      .map((x) => x.join(''))
      .sort();
    assert.equal(expected.length, 6 * 2 * 3);
    assert.deepEqual(walk(c, 9), expected);
    for (const x of allVectors(9)) assert.equal(satisfies(c, x), expected.includes(x.join('')));
  });

  test('exact total with per-segment bounds: accepts exactly the feasible vectors', () => {
    const min = Int32Array.from([1, 0, 2]);
    const max = Int32Array.from([3, 2, 3]);
    for (const total of [3, 4, 6, 8]) {
      const c = segmentCountConstraint(lengths, min, max, total);
      const expected = allVectors(9)
        .filter((x) => x.reduce((a, v) => a + v, 0) === total && [0, 1, 2].every((s) => count(x, s) >= min[s]! && count(x, s) <= max[s]!))
        .map((x) => x.join(''))
        .sort();
      assert.ok(expected.length > 0);
      assert.deepEqual(walk(c, 9), expected, `total ${total}`);
    }
    assert.throws(() => segmentCountConstraint(lengths, min, max, 2), (e: unknown) => e instanceof RefineError && e.code === 'bad-input');
  });
});

describe('encodeSlots', () => {
  const p = makeProblem(6, 3, 8);
  const slots = chooseSlots({ mask: p.start, key: p.gain, groups: p.groups, eligible: [0, 1, 2], count: 6 });

  test("'pairs': z = 0 is the base; z_k = 1 performs swap k", () => {
    const enc = encodeSlots(slots, 'pairs', p.start, p.groups);
    assert.equal(enc.d, 6);
    assert.deepEqual(enc.decode(enc.x0, p.start), p.start);
    const z = Uint8Array.from([1, 0, 0, 1, 0, 0]);
    const m = enc.decode(z, p.start);
    let diff = 0;
    for (let i = 0; i < p.n; i++) diff += m[i] !== p.start[i] ? 1 : 0;
    assert.equal(diff, 4);
    assert.equal(m[slots[0]!.drop], 0);
    assert.equal(m[slots[0]!.add], 1);
    assert.equal(enc.changes(z), 2);
    assert.deepEqual(groupCounts(m, p.groups), groupCounts(p.start, p.groups));
  });

  test("'boundary': positions are the slot channels, the base is feasible, counts per group are fixed", () => {
    const enc = encodeSlots(slots, 'boundary', p.start, p.groups);
    assert.equal(enc.d, 12);
    assert.deepEqual(enc.decode(enc.x0, p.start), p.start);
    assert.ok(satisfies(enc.constraint!, enc.x0));
    for (const x of allVectors(12)) {
      if (!satisfies(enc.constraint!, x)) continue;
      assert.deepEqual(groupCounts(enc.decode(x, p.start), p.groups), groupCounts(p.start, p.groups));
    }
  });

  test("'capacity': the total is fixed, floors hold, and round-to is refused", () => {
    const groups = p.groups.map((g) => ({ ...g, floor: 3 }));
    const enc = encodeSlots(slots, 'capacity', p.start, groups);
    const K = p.start.reduce((a, v) => a + v, 0);
    let moved = 0;
    for (const x of allVectors(12)) {
      if (!satisfies(enc.constraint!, x)) continue;
      const m = enc.decode(x, p.start);
      assert.equal(m.reduce((a, v) => a + v, 0), K);
      const counts = groupCounts(m, groups);
      counts.forEach((c) => assert.ok(c >= 3));
      if (counts.some((c, i) => c !== groupCounts(p.start, groups)[i])) moved++;
    }
    assert.ok(moved > 0, 'capacity moves between groups must be reachable');
    const rounded = p.groups.map((g) => ({ ...g, roundTo: 2 }));
    assert.throws(() => encodeSlots(slots, 'capacity', p.start, rounded), (e: unknown) => e instanceof RefineError && e.code === 'bad-option');
  });
});

describe('scopes', () => {
  test('pickLayers: the groups with the most pruned channels, or named ones, in network order', () => {
    const p = makeProblem(7, 5, 8);
    const mask = p.start.slice();
    // Prune more in groups 3 and 1 (keeping one channel each), none in group 4.
    for (const g of [3, 1]) Array.from(p.groups[g]!.variables).forEach((v, i) => (mask[v] = i === 0 ? 1 : 0));
    p.groups[4]!.variables.forEach((v) => (mask[v] = 1));
    assert.deepEqual(swappableGroups(mask, p.groups), [0, 1, 2, 3]);
    assert.deepEqual(pickLayers(mask, p.groups, 2), [1, 3]);
    assert.deepEqual(pickLayers(mask, p.groups, 10), [0, 1, 2, 3]);
    assert.deepEqual(pickLayers(mask, p.groups, ['g4', 'g2', 'g0']), [0, 2]);
    assert.throws(() => pickLayers(mask, p.groups, ['nope']), (e: unknown) => e instanceof RefineError && e.code === 'unknown-group');
  });

  test('partitionBlocks: consecutive blocks, shifted borders, no tiny tail', () => {
    const g = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.deepEqual(partitionBlocks(g, 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    assert.deepEqual(partitionBlocks(g, 4, 2), [[0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]);
    assert.deepEqual(partitionBlocks(g, 3), [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]);
    assert.deepEqual(partitionBlocks(g, 1).length, 10);
    assert.deepEqual(partitionBlocks(g, 20), [g]);
  });
});

// The recovery curve stored in reports: at most `max` points, validation points kept, last step kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleTrace } from '../../src/core/recover';

test('downsampleTrace keeps short traces whole and caps long ones, keeping validations and the last step', () => {
  const short = Array.from({ length: 50 }, (_, k) => ({ step: k + 1, loss: 1 / (k + 1) }));
  assert.deepEqual(downsampleTrace(short, 200), short);
  const long = Array.from({ length: 5000 }, (_, k) => ({ step: k + 1, loss: 1 / (k + 1), ...((k + 1) % 250 === 0 ? { validation: k } : {}) }));
  const d = downsampleTrace(long, 200);
  assert.ok(d.length <= 200 && d.length >= 190, `${d.length} points`);
  assert.equal(d[d.length - 1]!.step, 5000);
  assert.equal(d.filter((p) => p.validation !== undefined).length, 20, 'every validation point kept');
  for (let k = 1; k < d.length; k++) assert.ok(d[k]!.step > d[k - 1]!.step, 'steps increase');
  // Spread over the run, not bunched at the start.
  assert.ok(d.filter((p) => p.step > 2500).length > 60);
});

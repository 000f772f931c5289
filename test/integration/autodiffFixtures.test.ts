// Gradients of the trained fixtures, gated by the project's own gated-model builder
// (per-sample gates on every channel group), against finite differences.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel } from '../../src/core/autodiff';
import { openSession } from '../../src/core/runtime/session';
import { fixtureCase, type Feed } from '../helpers/autodiffGraphs';
import { toOrt, verifyCase, type WrtReport } from '../helpers/gradCheck';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}, |fd| ${r.fdNorm.toExponential(1)}, floor ${r.floor.toExponential(1)}`).join('; ');

describe('trained fixtures, gated per sample', () => {
  for (const name of ['dncnn', 'halfunet', 'unet', 'classifier']) {
    test(`${name}: gate and input gradients match finite differences`, async () => {
      const c = await fixtureCase(name, 2);
      const v = await verifyCase(c, { maxElements: 6, elementwise: true });
      assert.ok(v.ok, `(ε=${v.eps}) ${fmt(v.reports)}`);
      // Not a vacuous pass: the compared gradients stand well above the rounding allowance.
      const clear = v.reports.filter((r) => r.fdNorm > 5 * r.floor * Math.sqrt(r.compared));
      assert.ok(clear.length >= v.reports.length / 2 && clear.some((r) => !r.wrt.startsWith('gate/')), fmt(v.reports));
    });
  }

  test('halfunet and unet: a batch of 3 equals three batch-1 passes', async () => {
    for (const name of ['halfunet', 'unet']) {
      const c = await fixtureCase(name, 3, 32, 7);
      const gm = buildGradientModel(c.model, { wrt: c.wrt.filter((w) => w.startsWith('gate/')), loss: c.loss });
      const { session } = await openSession(gm.model.toBytes(), { provider: 'cpu', threads: 1 });
      const fetch = Object.values(gm.gradOutputs);
      const all = await session.run(toOrt({ ...c.feeds, target: c.lossFeed }), fetch);
      for (let n = 0; n < 3; n++) {
        const pick = (f: Feed): Feed => {
          const per = f.data.length / 3;
          return { dims: [1, ...f.dims.slice(1)], data: f.data.slice(n * per, (n + 1) * per) as Float32Array };
        };
        const one = await session.run(toOrt({ ...Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, pick(f)])), target: pick(c.lossFeed) }), fetch);
        for (const o of fetch) {
          const a = all[o]!.data as Float32Array;
          const b = one[o]!.data as Float32Array;
          const per = b.length;
          let scale = 0;
          for (const v of b) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < per; i++) assert.ok(Math.abs(a[n * per + i]! - b[i]!) <= 1e-4 * scale + 1e-8, `${name} ${o}[${n},${i}]: ${a[n * per + i]} vs ${b[i]}`);
        }
      }
      await session.release();
    }
  });
});

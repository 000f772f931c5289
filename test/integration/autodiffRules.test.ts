// Every backward rule against central differences of the per-sample loss, through onnxruntime.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientModel } from '../../src/core/autodiff';
import { ruleCases, classifierCases } from '../helpers/autodiffGraphs';
import { verifyCase, type WrtReport } from '../helpers/gradCheck';

const fmt = (rs: WrtReport[]) => rs.map((r) => `${r.wrt}: rel ${r.relErr.toExponential(2)}, worst ${r.worst.toFixed(3)}, |fd| ${r.fdNorm.toExponential(2)}`).join('; ');

describe('backward rules match finite differences', () => {
  for (const c of [...ruleCases(), ...classifierCases()]) {
    test(c.name, async () => {
      const v = await verifyCase(c);
      assert.ok(v.ok, `${c.name} (ε=${v.eps}): ${fmt(v.reports)}`);
    });
  }
});

describe('the check itself', () => {
  test('a wrong backward rule is caught', async () => {
    const c = ruleCases().find((k) => k.name === 'Relu')!;
    const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
    // Sabotage: the ReLU mask threshold moves from 0 to 0.3.
    const greater = gm.model.nodes.find((n) => n.opType === 'Greater' && n.name.startsWith('grad'))!;
    const thr = gm.model.graph.initializer.find((t) => t.name === greater.input[1])!;
    thr.rawData = new Uint8Array(Float32Array.of(0.3).buffer);
    gm.model.invalidate();
    const v = await verifyCase(c, { gm });
    assert.equal(v.ok, false, `sabotaged gradients passed: ${fmt(v.reports)}`);
  });
});

// The report validator: a hand-made valid report passes, and each kind of damage is named by path.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validateReport, validateReportMarkdown } from '../../src/core/pipeline/reportSchema';
import { renderMarkdown, type RunReport } from '../../src/core/pipeline/report';
import { DEFAULT_SETTINGS } from '../../src/core/presets';

function valid(): RunReport {
  return {
    schemaVersion: 1,
    kind: 'qubo-prune.report',
    createdAt: '2026-01-02T03:04:05.678Z',
    model: '/w/net.onnx',
    output: '/w/net.pruned.onnx',
    preset: 'fast',
    settings: structuredClone(DEFAULT_SETTINGS),
    provider: 'cpu',
    data: {
      root: '/w/data',
      layout: 'paired',
      presplit: true,
      task: 'denoise',
      channels: 3,
      patch: [32, 32],
      crop: 'center',
      cropsPerImage: 1,
      pad: 'error',
      noise: null,
      seed: 0,
      splits: { calib: { images: 4, samples: 4 }, val: { images: 2, samples: 2 }, test: { images: 3, samples: 3 } },
      nativeChannels: { gray: 0, color: 9 },
      imageSize: { minWidth: 128, minHeight: 128, maxWidth: 128, maxHeight: 128 },
    },
    calibration: { samples: 4, meanLoss: 0.002 },
    metrics: {
      before: { psnr: 31.9, ssim: 0.87, params: 1000, macs: 50000, latencyMs: 0.3 },
      after: { psnr: 31.7, ssim: 0.86, params: 600, macs: 30000, latencyMs: 0.2 },
      beforeRefine: { psnr: 31.6, params: 600, macs: 30000 },
    },
    search: { method: 'hybrid', K: 3, n: 4, energy: -2.5, iterations: 900, timeMs: 100, stopReason: 'time', trace: [{ iteration: 0, energy: -2, timeMs: 0.1 }, { iteration: 5, energy: -2.5, timeMs: 0.2 }] },
    refinement: { scope: 'network', startValue: 28.4, bestValue: 28.5, accepted: true, evaluations: 10, seconds: 0.1, blocks: [], trace: [{ iteration: 0, evaluations: 1, best: 28.4, eliteMean: 28.4 }] },
    export: { maxAbsDiffVsMasked: 2e-7 },
    groups: [
      {
        id: 'conv1',
        size: 4,
        kept: 3,
        producers: ['conv1'],
        consumers: ['conv2'],
        initializers: ['w1', 'b1', 'w2'],
        keep: [1, 0, 1, 1],
        channels: [0, 1, 2, 3].map((c) => ({ producer: 'conv1', channel: c, taylor: 0.1, fisher: 0.01, l1: 2, l2: 1, gain: 0.5 })),
      },
    ],
    locked: [{ source: 'input', tensor: 'input', channels: 3, reason: 'graph-input', detail: 'model input' }],
    layers: [{ node: 'conv1', op: 'Conv', before: { in: 3, out: 4, params: 112, macs: 100 }, after: { in: 3, out: 3, params: 84, macs: 75 } }],
    comparison: null,
    stageSeconds: { analyze: 0.1, search: 0.1 },
    seconds: 1.2,
  };
}

const has = (errors: string[], re: RegExp) => assert.ok(errors.some((e) => re.test(e)), `expected ${re} among:\n${errors.join('\n')}`);

describe('validateReport', () => {
  test('a well-formed report has no violations', () => {
    assert.deepEqual(validateReport(valid()), []);
    assert.deepEqual(validateReport(JSON.parse(JSON.stringify({ ...valid(), refinement: null, metrics: { ...valid().metrics, beforeRefine: null } }))), []);
  });

  test('wrong types, missing and unknown fields are named by path', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutated freely to build invalid reports
    const r = valid() as unknown as Record<string, any>;
    r.schemaVersion = 2;
    delete r.provider;
    r.extra = 1;
    r.metrics.after.psnr = null; // NaN after JSON
    r.groups[0].keep[1] = 2;
    r.settings.refine.rank = 'four';
    r.layers[0].after.out = 2.5;
    const e = validateReport(r);
    has(e, /^\$\.schemaVersion: must be 1, got 2$/);
    has(e, /^\$\.provider: is missing$/);
    has(e, /^\$\.extra: is not a known field$/);
    has(e, /^\$\.metrics\.after\.psnr: must be a finite number, got null$/);
    has(e, /^\$\.groups\[0\]\.keep\[1\]: must be 0 or 1, got 2$/);
    has(e, /^\$\.settings\.refine\.rank: must be a number/);
    has(e, /^\$\.layers\[0\]\.after\.out: must be a whole number, got 2\.5$/);
  });

  test('settings are checked by the settings schema; keys added later may be absent, new ones are checked', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutated freely to build invalid reports
    const r = valid() as any;
    delete r.settings.budget;
    delete r.settings.recover;
    delete r.settings.resize;
    assert.deepEqual(validateReport(r), []);
    r.settings.budget = { macs: 2 };
    r.settings.recover = { steps: 10 };
    const e = validateReport(r);
    has(e, /^\$\.settings\.budget\.macs: must be in \(0, 1\], got 2/);
    has(e, /^\$\.settings\.recover\.lr: is missing/);
  });

  test('fields that must agree with each other', () => {
    const r = valid();
    r.search.K = 2;
    r.groups[0]!.kept = 2;
    r.refinement!.bestValue = 28;
    r.search.trace[1]!.iteration = 0;
    r.search.trace.push({ iteration: -1 as number, energy: -3, timeMs: 0.3 });
    r.metrics.after.params = 2000;
    const e = validateReport(r);
    has(e, /^\$\.groups\[0\]\.kept: is 2 but keep has 3 ones$/);
    has(e, /^\$\.groups: keep 3 channels in all but search\.K is 2$/);
    has(e, /^\$\.refinement\.bestValue: is below startValue/);
    has(e, /^\$\.search\.trace\[2\]\.iteration: must be ≥ 0/);
    has(e, /^\$\.metrics\.after\.params: is larger than before/);
    const noRefine = { ...valid(), refinement: null };
    has(validateReport(noRefine), /^\$\.metrics\.beforeRefine: must be present exactly when refinement ran$/);
    // Evaluator counters are optional (older reports lack them) but checked when present.
    const withEval = valid();
    withEval.refinement!.evaluator = { runItems: 56, runs: 12, seconds: 0.4, splitBlocks: 2, wholeBlocks: 1, suffixEvaluations: 8 };
    assert.deepEqual(validateReport(withEval), []);
    withEval.refinement!.evaluator = { runItems: 0, runs: 1.5, seconds: 0.4, splitBlocks: 2, wholeBlocks: 1, suffixEvaluations: 11 };
    const ee = validateReport(withEval);
    has(ee, /^\$\.refinement\.evaluator\.runItems: must be ≥ 1/);
    has(ee, /^\$\.refinement\.evaluator\.runs: must be a whole number/);
    has(ee, /^\$\.refinement\.evaluator\.suffixEvaluations: exceeds evaluations \(11 > 10\)$/);
    const cls = valid();
    cls.data.task = 'classify';
    has(validateReport(cls), /^\$\.metrics\.before\.accuracy: is missing \(the data is a classify set\)$/);
  });

  test('not an object at all', () => {
    assert.deepEqual(validateReport([]), ['$: must be an object, got an array']);
  });
});

describe('validateReportMarkdown', () => {
  test('the rendered Markdown agrees with its report; a changed number or a missing section does not', () => {
    const r = valid();
    const md = renderMarkdown(r);
    assert.deepEqual(validateReportMarkdown(md, r), []);
    const other = valid();
    other.metrics.after.psnr = 30.1;
    has(validateReportMarkdown(md, other), /PSNR row .* does not show 31\.90 → 30\.10 dB/);
    has(validateReportMarkdown(md.replace('## Layers', '## Stuff'), r), /section '## Layers' is missing/);
    has(validateReportMarkdown(md, { ...r, refinement: null }), /section '## Tensor-Train refinement' must not be present/);
  });
});

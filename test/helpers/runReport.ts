// A run report made the way the pipeline makes one (buildReport from the parts a run has at its
// end), for tests of the code that reads report files. Only the fields buildReport reads are given;
// the analysis and search objects are cut down to those, so they are cast at that one point.
import { validateReport } from '../../src/core/pipeline/reportSchema';
import { buildReport, type ReportParts, type RunReport } from '../../src/core/pipeline/report';
import { resolvePreset } from '../../src/core/presets';
import type { RunSummary } from '../../src/protocol';

export interface ReportOptions {
  model?: string;
  output?: string;
  /** Denoising (PSNR) or classification (accuracy) metrics. */
  task?: 'denoise' | 'classify';
  /** With a refinement stage (its trace and the QUBO-only metrics). */
  refined?: boolean;
  summary?: Partial<RunSummary>;
}

/** A schema-valid report of a two-group model (4 + 2 channels, 4 kept), as JSON data. */
export function pipelineReport(opts: ReportOptions = {}): RunReport {
  const model = opts.model ?? '/ws/net.onnx';
  const output = opts.output ?? model.replace(/\.onnx$/, '.pruned.onnx');
  const preset = resolvePreset('balanced');
  const settings = preset.settings;
  const classify = opts.task === 'classify';
  const metric = (v: number) => (classify ? { accuracy: v / 40 } : { psnr: v, ssim: v / 40 });
  const summary: RunSummary = {
    model,
    output,
    reportJson: output.replace(/\.onnx$/, '.report.json'),
    reportMarkdown: output.replace(/\.onnx$/, '.report.md'),
    preset: 'balanced',
    method: settings.method,
    sparsity: settings.sparsity,
    provider: 'cpu',
    before: { ...metric(33.5), params: 57443, macs: 131383296, latencyMs: 2 },
    after: { ...metric(30.1), params: 24617, macs: 56090880, latencyMs: 1.5 },
    ...(opts.refined ? { beforeRefine: { ...metric(29.8), params: 24617, macs: 56090880 } } : {}),
    groups: [
      { id: 'conv1', kept: 3, total: 4 },
      { id: 'conv2', kept: 1, total: 2 },
    ],
    seconds: 2.5,
    stageSeconds: { analyze: 0.1, search: 0.3, ...(opts.refined ? { refine: 1.2 } : {}) },
    ...opts.summary,
  };
  const producers = ['conv1', 'conv1', 'conv1', 'conv1', 'conv2', 'conv2'];
  const deps = {
    groups: [
      { id: 'conv1', index: 0, size: 4, variables: Int32Array.from([0, 1, 2, 3]), producers: ['conv1'], consumers: ['conv2'], initializers: ['w1', 'b1', 'w2'] },
      { id: 'conv2', index: 1, size: 2, variables: Int32Array.from([4, 5]), producers: ['conv2'], consumers: ['conv3'], initializers: ['w2', 'b2', 'w3'] },
    ],
    variables: producers.map((producer, v) => ({ producer, channel: v < 4 ? v : v - 4 })),
    locked: [{ source: 'input', tensor: 'input', channels: 3, reason: 'graph-input', detail: 'model input' }],
  } as unknown as ReportParts['deps'];
  const scores = { taylor: new Float64Array(6).fill(0.1), fisher: new Float64Array(6).fill(0.01), l1: new Float64Array(6).fill(2), l2: new Float64Array(6).fill(1) };
  const keep = Uint8Array.from([1, 0, 1, 1, 0, 1]);
  const search = { energy: -2.5, iterations: 900, timeMs: 300, stopReason: 'time', trace: [{ iteration: 0, energy: -2, timeMs: 0.1 }, { iteration: 5, energy: -2.5, timeMs: 0.2 }] };
  const qubo = { keep, gain: new Float64Array(6).fill(0.5), instance: { K: 4, n: 6 }, search } as unknown as ReportParts['qubo'];
  const layer = (node: string, inC: number, outC: number) => ({ node, op: 'Conv' as const, inChannels: inC, outChannels: outC, params: inC * outC * 9 + outC, macs: inC * outC * 9 * 64 * 64 });
  const report = buildReport({
    request: { model, data: '/ws/data', out: output, presetName: 'balanced', settings, compare: false, timeBudgetSeconds: 0 },
    summary,
    deps,
    scores,
    gain: qubo.gain,
    keep,
    qubo,
    refinement: opts.refined
      ? { scope: 'network', startValue: 29.8, bestValue: 30.1, accepted: true, evaluations: 10, seconds: 1.2, blocks: [], trace: [{ iteration: 0, evaluations: 5, best: 29.9, eliteMean: 29.6 }, { iteration: 1, evaluations: 10, best: 30.1, eliteMean: 29.9 }] }
      : null,
    dataset: {
      root: '/ws/data',
      layout: classify ? 'classify' : 'paired',
      presplit: true,
      task: classify ? 'classify' : 'denoise',
      channels: 3,
      patch: [48, 48],
      crop: 'center',
      cropsPerImage: 1,
      pad: 'error',
      noise: null,
      seed: 0,
      ...(classify ? { classes: ['a', 'b'] } : {}),
      splits: { calib: { images: 8, samples: 8 }, val: { images: 12, samples: 12 }, test: { images: 12, samples: 12 } },
      nativeChannels: { gray: 0, color: 32 },
      imageSize: { minWidth: 128, minHeight: 128, maxWidth: 128, maxHeight: 128 },
    },
    exportMaxAbsDiff: 2e-7,
    exportFile: { sha256: 'a'.repeat(64), bytes: 1234 },
    calibrationLoss: 0.002,
    calibrationSamples: 8,
    layersBefore: [layer('conv1', 3, 4), layer('conv2', 4, 2)] as ReportParts['layersBefore'],
    layersAfter: [layer('conv1', 3, 3), layer('conv2', 3, 1)] as ReportParts['layersAfter'],
  });
  const errors = validateReport(report);
  if (errors.length > 0) throw new Error(`pipelineReport() no longer makes a valid report (the schema moved?):\n${errors.join('\n')}`);
  // Through JSON, as the file on disk is read.
  return JSON.parse(JSON.stringify(report)) as RunReport;
}

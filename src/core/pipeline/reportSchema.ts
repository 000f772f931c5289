// The schema of model.pruned.report.json (docs/REPORT.md) as code: a validator that lists every
// violation with its JSON path, so tests, the extension and users' scripts can check a report
// without a schema library. Keep it in step with RunReport in report.ts and with docs/REPORT.md.
import { STAGES } from '../../protocol';
import { joinPath, settingProblems } from '../settings/check';
import { METHODS, PruneSettingsSchema } from '../settings/schema';
import { RECOVERY_CURVE_POINTS, REPORT_SCHEMA_VERSION, type RunReport } from './report';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly errors: string[] = [];

  fail(at: string, message: string): void {
    this.errors.push(`${at}: ${message}`);
  }

  obj(v: unknown, at: string, keys: { required: string[]; optional?: string[] }): v is Obj {
    if (!isObj(v)) {
      this.fail(at, `must be an object, got ${kind(v)}`);
      return false;
    }
    for (const k of keys.required) if (!(k in v)) this.fail(`${at}.${k}`, 'is missing');
    const known = new Set([...keys.required, ...(keys.optional ?? [])]);
    for (const k of Object.keys(v)) if (!known.has(k)) this.fail(`${at}.${k}`, 'is not a known field');
    return true;
  }

  /** Records the problem and returns false, so checks read `if (bad) return c.no(...)`. */
  no(at: string, message: string): false {
    this.fail(at, message);
    return false;
  }

  str(v: unknown, at: string, opts: { nonEmpty?: boolean; oneOf?: readonly string[] } = {}): v is string {
    if (typeof v !== 'string') return this.no(at, `must be a string, got ${kind(v)}`);
    if (opts.nonEmpty && v.length === 0) return this.no(at, 'must not be empty');
    if (opts.oneOf && !opts.oneOf.includes(v)) return this.no(at, `must be one of ${opts.oneOf.map((x) => `'${x}'`).join(', ')}, got '${v}'`);
    return true;
  }

  num(v: unknown, at: string, opts: { int?: boolean; min?: number; max?: number } = {}): v is number {
    // NaN and ±Infinity arrive as null (JSON has no such numbers); kind() names what came.
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.no(at, `must be a finite number, got ${kind(v)}`);
    if (opts.int && !Number.isInteger(v)) return this.no(at, `must be a whole number, got ${v}`);
    if (opts.min !== undefined && v < opts.min) return this.no(at, `must be ≥ ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) return this.no(at, `must be ≤ ${opts.max}, got ${v}`);
    return true;
  }

  bool(v: unknown, at: string): void {
    if (typeof v !== 'boolean') this.fail(at, `must be true or false, got ${kind(v)}`);
  }

  arr(v: unknown, at: string, each: (x: unknown, at: string) => void): v is unknown[] {
    if (!Array.isArray(v)) return this.no(at, `must be an array, got ${kind(v)}`);
    v.forEach((x, i) => each(x, `${at}[${i}]`));
    return true;
  }

  strings(v: unknown, at: string): void {
    this.arr(v, at, (x, a) => this.str(x, a));
  }

  nullable(v: unknown, at: string, check: (v: unknown, at: string) => void): void {
    if (v !== null) check(v, at);
  }
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.slice(0, 40)}'`;
  return typeof v;
}

const METRIC_KEYS = ['psnr', 'ssim', 'accuracy', 'crossEntropy', 'pixelAgreement', 'meanIoU', 'latencyMs', 'latency', 'predictedLatencyMs'];

function metricSet(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['params', 'macs'], optional: METRIC_KEYS })) return;
  c.num(v.params, `${at}.params`, { int: true, min: 0 });
  c.num(v.macs, `${at}.macs`, { int: true, min: 0 });
  if (v.psnr !== undefined) c.num(v.psnr, `${at}.psnr`);
  if (v.ssim !== undefined) c.num(v.ssim, `${at}.ssim`, { min: -1, max: 1 });
  if (v.accuracy !== undefined) c.num(v.accuracy, `${at}.accuracy`, { min: 0, max: 1 });
  if (v.crossEntropy !== undefined) c.num(v.crossEntropy, `${at}.crossEntropy`, { min: 0 });
  for (const k of ['pixelAgreement', 'meanIoU']) if (v[k] !== undefined) c.num(v[k], `${at}.${k}`, { min: 0, max: 1 });
  if (v.latencyMs !== undefined) c.num(v.latencyMs, `${at}.latencyMs`, { min: 0 });
  if (v.predictedLatencyMs !== undefined) c.num(v.predictedLatencyMs, `${at}.predictedLatencyMs`, { min: 0 });
  if (v.latency !== undefined) latencyMeasurement(c, v.latency, `${at}.latency`);
}

/** A latency measurement (src/core/latency/measure.ts): median and IQR at batch 1, and at batch 8 or why not. */
function latencyMeasurement(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['provider', 'inputShape', 'batch1', 'batch8'], optional: ['batch8Skipped'] })) return;
  c.str(v.provider, `${at}.provider`, { oneOf: ['cpu', 'webgpu', 'cuda'] });
  c.arr(v.inputShape, `${at}.inputShape`, (x, a) => c.num(x, a, { int: true, min: 1 }));
  const timing = (t: unknown, a: string, batch: number) => {
    if (!c.obj(t, a, { required: ['batch', 'medianMs', 'q1Ms', 'q3Ms', 'iqrMs', 'runs'] })) return;
    if (t.batch !== batch) c.fail(`${a}.batch`, `must be ${batch}, got ${kind(t.batch)}`);
    for (const k of ['medianMs', 'q1Ms', 'q3Ms', 'iqrMs']) c.num(t[k], `${a}.${k}`, { min: 0 });
    c.num(t.runs, `${a}.runs`, { int: true, min: 1 });
    if (typeof t.q1Ms === 'number' && typeof t.medianMs === 'number' && typeof t.q3Ms === 'number' && !(t.q1Ms <= t.medianMs && t.medianMs <= t.q3Ms)) c.fail(a, 'quartiles out of order (q1 ≤ median ≤ q3)');
  };
  timing(v.batch1, `${at}.batch1`, 1);
  if (v.batch8 !== null) timing(v.batch8, `${at}.batch8`, 8);
  else if (typeof v.batch8Skipped !== 'string' || v.batch8Skipped === '') c.fail(`${at}.batch8Skipped`, 'must say why batch 8 was not measured');
}

function settings(c: Checker, v: unknown, at: string): void {
  // One definition of valid settings: the settings schema, whose keys added after the first
  // reports (LATER_KEYS) are optional so those reports stay valid.
  for (const p of settingProblems(PruneSettingsSchema, v)) c.fail(joinPath(at, p.path), p.message);
}

function dataSummary(c: Checker, v: unknown, at: string): void {
  const required = ['root', 'layout', 'presplit', 'task', 'channels', 'patch', 'crop', 'cropsPerImage', 'pad', 'noise', 'seed', 'splits', 'nativeChannels', 'imageSize'];
  if (!c.obj(v, at, { required, optional: ['classes', 'transform'] })) return;
  c.str(v.root, `${at}.root`, { nonEmpty: true });
  c.str(v.layout, `${at}.layout`, { oneOf: ['paired', 'sidd', 'clean', 'classify'] });
  c.bool(v.presplit, `${at}.presplit`);
  c.str(v.task, `${at}.task`, { oneOf: ['denoise', 'classify', 'segment'] });
  if (v.channels !== 1 && v.channels !== 3) c.fail(`${at}.channels`, `must be 1 or 3, got ${kind(v.channels)}`);
  c.nullable(v.patch, `${at}.patch`, (p, a) => {
    if (c.arr(p, a, (x, ax) => c.num(x, ax, { int: true, min: 1 })) && p.length !== 2) c.fail(a, `must be [height, width], got ${p.length} numbers`);
  });
  c.str(v.crop, `${at}.crop`, { oneOf: ['center', 'random'] });
  c.num(v.cropsPerImage, `${at}.cropsPerImage`, { int: true, min: 1 });
  c.str(v.pad, `${at}.pad`, { oneOf: ['error', 'reflect'] });
  c.nullable(v.noise, `${at}.noise`, (x, a) => c.str(x, a));
  c.num(v.seed, `${at}.seed`, { int: true, min: 0 });
  if (v.classes !== undefined) c.strings(v.classes, `${at}.classes`);
  if (c.obj(v.splits, `${at}.splits`, { required: ['calib', 'val', 'test'] })) {
    for (const k of ['calib', 'val', 'test']) {
      const s = (v.splits as Obj)[k];
      const a = `${at}.splits.${k}`;
      if (s !== undefined && c.obj(s, a, { required: ['images', 'samples'] })) {
        c.num(s.images, `${a}.images`, { int: true, min: 0 });
        c.num(s.samples, `${a}.samples`, { int: true, min: 0 });
      }
    }
  }
  if (c.obj(v.nativeChannels, `${at}.nativeChannels`, { required: ['gray', 'color'] })) {
    c.num(v.nativeChannels.gray, `${at}.nativeChannels.gray`, { int: true, min: 0 });
    c.num(v.nativeChannels.color, `${at}.nativeChannels.color`, { int: true, min: 0 });
  }
  if (v.transform !== undefined && c.obj(v.transform, `${at}.transform`, { required: ['resize', 'normalize'] })) {
    const t = v.transform;
    c.nullable(t.resize, `${at}.transform.resize`, (x, a) => c.num(x, a, { int: true, min: 1 }));
    c.nullable(t.normalize, `${at}.transform.normalize`, (n, a) => {
      if (!c.obj(n, a, { required: ['name', 'mean', 'std'] })) return;
      c.str(n.name, `${a}.name`, { oneOf: ['imagenet', 'custom'] });
      c.arr(n.mean, `${a}.mean`, (x, ax) => c.num(x, ax));
      c.arr(n.std, `${a}.std`, (x, ax) => c.num(x, ax, { min: 0 }));
    });
  }
  const sizes = ['minWidth', 'minHeight', 'maxWidth', 'maxHeight'];
  if (c.obj(v.imageSize, `${at}.imageSize`, { required: sizes })) for (const k of sizes) c.num((v.imageSize as Obj)[k], `${at}.imageSize.${k}`, { int: true, min: 0 });
}

function search(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['method', 'K', 'n', 'energy', 'iterations', 'timeMs', 'stopReason', 'trace'] })) return;
  c.str(v.method, `${at}.method`, { oneOf: METHODS });
  const okN = c.num(v.n, `${at}.n`, { int: true, min: 1 });
  if (c.num(v.K, `${at}.K`, { int: true, min: 0 }) && okN && (v.K as number) > (v.n as number)) c.fail(`${at}.K`, `must be ≤ n (${v.n}), got ${v.K}`);
  c.nullable(v.energy, `${at}.energy`, (x, a) => c.num(x, a));
  c.nullable(v.iterations, `${at}.iterations`, (x, a) => c.num(x, a, { int: true, min: 0 }));
  c.nullable(v.timeMs, `${at}.timeMs`, (x, a) => c.num(x, a, { min: 0 }));
  c.nullable(v.stopReason, `${at}.stopReason`, (x, a) => c.str(x, a, { oneOf: ['iterations', 'time', 'target', 'aborted', 'trivial'] }));
  let prev = -1;
  c.arr(v.trace, `${at}.trace`, (p, a) => {
    if (!c.obj(p, a, { required: ['iteration', 'energy', 'timeMs'] })) return;
    if (c.num(p.iteration, `${a}.iteration`, { int: true, min: 0 })) {
      if ((p.iteration as number) < prev) c.fail(`${a}.iteration`, `goes back from ${prev} to ${p.iteration}`);
      prev = p.iteration as number;
    }
    c.num(p.energy, `${a}.energy`);
    c.num(p.timeMs, `${a}.timeMs`, { min: 0 });
  });
}

function refinement(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['scope', 'startValue', 'bestValue', 'accepted', 'evaluations', 'seconds', 'blocks', 'trace'], optional: ['evaluator'] })) return;
  if (v.evaluator !== undefined && c.obj(v.evaluator, `${at}.evaluator`, { required: ['runItems', 'runs', 'seconds', 'splitBlocks', 'wholeBlocks', 'suffixEvaluations'] })) {
    const e = v.evaluator;
    c.num(e.runItems, `${at}.evaluator.runItems`, { int: true, min: 1 });
    for (const k of ['runs', 'splitBlocks', 'wholeBlocks', 'suffixEvaluations']) c.num(e[k], `${at}.evaluator.${k}`, { int: true, min: 0 });
    c.num(e.seconds, `${at}.evaluator.seconds`, { min: 0 });
    if (typeof e.suffixEvaluations === 'number' && typeof v.evaluations === 'number' && e.suffixEvaluations > v.evaluations) c.fail(`${at}.evaluator.suffixEvaluations`, `exceeds evaluations (${e.suffixEvaluations} > ${v.evaluations})`);
  }
  c.bool(v.accepted, `${at}.accepted`);
  c.str(v.scope, `${at}.scope`, { oneOf: ['layers', 'network'] });
  const okS = c.num(v.startValue, `${at}.startValue`);
  if (c.num(v.bestValue, `${at}.bestValue`) && okS && (v.bestValue as number) < (v.startValue as number)) c.fail(`${at}.bestValue`, `is below startValue (${v.bestValue} < ${v.startValue}); refinement never returns a worse mask`);
  c.num(v.evaluations, `${at}.evaluations`, { int: true, min: 0 });
  c.num(v.seconds, `${at}.seconds`, { min: 0 });
  c.arr(v.blocks, `${at}.blocks`, (b, a) => {
    if (!c.obj(b, a, { required: ['label', 'groups', 'sweep', 'slots', 'gain', 'evaluations', 'iterations', 'swaps', 'stopReason'] })) return;
    c.str(b.label, `${a}.label`);
    c.strings(b.groups, `${a}.groups`);
    for (const k of ['sweep', 'slots', 'evaluations', 'iterations', 'swaps']) c.num(b[k], `${a}.${k}`, { int: true, min: 0 });
    c.num(b.gain, `${a}.gain`, { min: 0 });
    c.str(b.stopReason, `${a}.stopReason`);
  });
  c.arr(v.trace, `${at}.trace`, (p, a) => {
    if (!c.obj(p, a, { required: ['iteration', 'evaluations', 'best', 'eliteMean'], optional: ['block'] })) return;
    c.num(p.iteration, `${a}.iteration`, { int: true, min: 0 });
    c.num(p.evaluations, `${a}.evaluations`, { int: true, min: 0 });
    c.num(p.best, `${a}.best`);
    c.num(p.eliteMean, `${a}.eliteMean`);
    if (p.block !== undefined) c.str(p.block, `${a}.block`);
  });
}

function group(c: Checker, g: unknown, at: string): number {
  if (!c.obj(g, at, { required: ['id', 'size', 'kept', 'producers', 'consumers', 'initializers', 'keep', 'channels'] })) return 0;
  c.str(g.id, `${at}.id`, { nonEmpty: true });
  const okSize = c.num(g.size, `${at}.size`, { int: true, min: 1 });
  const size = okSize ? (g.size as number) : -1;
  c.num(g.kept, `${at}.kept`, { int: true, min: 0, ...(okSize ? { max: size } : {}) });
  c.strings(g.producers, `${at}.producers`);
  c.strings(g.consumers, `${at}.consumers`);
  c.strings(g.initializers, `${at}.initializers`);
  let kept = 0;
  const bit = (x: unknown, a: string) => {
    if (x === 0 || x === 1) kept += x;
    else c.fail(a, `must be 0 or 1, got ${kind(x)}`);
  };
  if (c.arr(g.keep, `${at}.keep`, bit)) {
    if (okSize && g.keep.length !== size) c.fail(`${at}.keep`, `has ${g.keep.length} entries for a group of ${size}`);
    if (typeof g.kept === 'number' && kept !== g.kept) c.fail(`${at}.kept`, `is ${g.kept} but keep has ${kept} ones`);
  }
  if (
    c.arr(g.channels, `${at}.channels`, (ch, a) => {
      if (!c.obj(ch, a, { required: ['producer', 'channel', 'taylor', 'fisher', 'l1', 'l2', 'gain'] })) return;
      c.str(ch.producer, `${a}.producer`, { nonEmpty: true });
      c.num(ch.channel, `${a}.channel`, { int: true, min: 0 });
      for (const k of ['taylor', 'fisher', 'l1', 'l2']) c.num(ch[k], `${a}.${k}`, { min: 0 });
      c.num(ch.gain, `${a}.gain`);
    }) &&
    okSize &&
    g.channels.length !== size
  ) {
    c.fail(`${at}.channels`, `has ${g.channels.length} entries for a group of ${size}`);
  }
  return kept;
}

function layerCost(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['in', 'out', 'params', 'macs'] })) return;
  for (const k of ['in', 'out', 'params', 'macs']) c.num(v[k], `${at}.${k}`, { int: true, min: 0 });
}

function budgetOutcome(c: Checker, v: unknown, at: string): void {
  const counts = ['macsBefore', 'macsAfter', 'paramsBefore', 'paramsAfter'];
  const latencyKeys = ['latencyLimitMs', 'predictedLatencyBeforeMs', 'predictedLatencyAfterMs'];
  if (!c.obj(v, at, { required: ['kind', 'target', ...counts, 'ratio', 'met', 'refinementReverted'], optional: latencyKeys })) return;
  c.str(v.kind, `${at}.kind`, { oneOf: ['macs', 'params', 'latencyMs', 'latencyRatio'] });
  if (v.kind === 'latencyMs' || v.kind === 'latencyRatio') {
    for (const k of latencyKeys) c.num(v[k], `${at}.${k}`, { min: 0 });
    const lb = v.predictedLatencyBeforeMs;
    const la = v.predictedLatencyAfterMs;
    if (typeof lb === 'number' && typeof la === 'number' && typeof v.ratio === 'number' && lb > 0 && Math.abs(la / lb - v.ratio) > 1e-9) c.fail(`${at}.ratio`, `is ${v.ratio} but predictedLatencyAfterMs / predictedLatencyBeforeMs is ${la / lb}`);
    c.num(v.target, `${at}.target`, { min: 0 });
    for (const k of counts) c.num(v[k], `${at}.${k}`, { int: true, min: 0 });
    c.bool(v.met, `${at}.met`);
    c.bool(v.refinementReverted, `${at}.refinementReverted`);
    return;
  }
  c.num(v.target, `${at}.target`, { min: 0, max: 1 });
  for (const k of counts) c.num(v[k], `${at}.${k}`, { int: true, min: 0 });
  c.num(v.ratio, `${at}.ratio`, { min: 0 });
  c.bool(v.met, `${at}.met`);
  c.bool(v.refinementReverted, `${at}.refinementReverted`);
  const kind = v.kind === 'params' ? 'params' : 'macs';
  const before = v[`${kind}Before`];
  const after = v[`${kind}After`];
  if (typeof before === 'number' && typeof after === 'number' && typeof v.ratio === 'number' && before > 0 && Math.abs(after / before - v.ratio) > 1e-9) c.fail(`${at}.ratio`, `is ${v.ratio} but ${kind}After / ${kind}Before is ${after / before}`);
}

function recovery(c: Checker, v: unknown, at: string): void {
  const keys = ['metric', 'validationBefore', 'validationAfter', 'improved', 'steps', 'bestStep', 'stoppedBy', 'seconds', 'stepsPerSecond', 'recalibration', 'curve'];
  if (!c.obj(v, at, { required: keys })) return;
  c.str(v.metric, `${at}.metric`, { oneOf: ['psnr', 'accuracy'] });
  const okB = c.num(v.validationBefore, `${at}.validationBefore`);
  // The best checkpoint starts at the exported model: recovery never writes a worse one.
  if (c.num(v.validationAfter, `${at}.validationAfter`) && okB && (v.validationAfter as number) < (v.validationBefore as number)) c.fail(`${at}.validationAfter`, `is below validationBefore (${v.validationAfter} < ${v.validationBefore}); recovery keeps the best checkpoint`);
  c.bool(v.improved, `${at}.improved`);
  const okSteps = c.num(v.steps, `${at}.steps`, { int: true, min: 0 });
  if (c.num(v.bestStep, `${at}.bestStep`, { int: true, min: 0 }) && okSteps && (v.bestStep as number) > (v.steps as number)) c.fail(`${at}.bestStep`, `is after the last step (${v.bestStep} > ${v.steps})`);
  c.str(v.stoppedBy, `${at}.stoppedBy`, { oneOf: ['steps', 'time', 'patience', 'diverged'] });
  c.num(v.seconds, `${at}.seconds`, { min: 0 });
  c.num(v.stepsPerSecond, `${at}.stepsPerSecond`, { min: 0 });
  c.nullable(v.recalibration, `${at}.recalibration`, (x, a) => {
    if (!c.obj(x, a, { required: ['layers', 'validation', 'adopted'] })) return;
    c.num(x.layers, `${a}.layers`, { int: true, min: 1 });
    c.num(x.validation, `${a}.validation`);
    c.bool(x.adopted, `${a}.adopted`);
  });
  let prev = 0;
  if (c.arr(v.curve, `${at}.curve`, (p, a) => {
    if (!c.obj(p, a, { required: ['step', 'loss'], optional: ['validation'] })) return;
    if (c.num(p.step, `${a}.step`, { int: true, min: 1 })) {
      if ((p.step as number) <= prev) c.fail(`${a}.step`, `does not increase (${prev} then ${p.step})`);
      prev = p.step as number;
    }
    c.num(p.loss, `${a}.loss`, { min: 0 });
    if (p.validation !== undefined) c.num(p.validation, `${a}.validation`);
  }) && v.curve.length > RECOVERY_CURVE_POINTS) c.fail(`${at}.curve`, `has ${v.curve.length} points; at most ${RECOVERY_CURVE_POINTS}`);
}

function speedGuard(c: Checker, v: unknown, at: string): void {
  if (!c.obj(v, at, { required: ['roundToTimings', 'originalMs', 'attempts', 'shipped', 'faster', 'message'] })) return;
  c.arr(v.roundToTimings, `${at}.roundToTimings`, (t, a) => {
    if (!c.obj(t, a, { required: ['roundTo', 'medianMs', 'iqrMs'] })) return;
    c.num(t.roundTo, `${a}.roundTo`, { int: true, min: 1 });
    c.num(t.medianMs, `${a}.medianMs`, { min: 0 });
    c.num(t.iqrMs, `${a}.iqrMs`, { min: 0 });
  });
  c.num(v.originalMs, `${at}.originalMs`, { min: 0 });
  c.arr(v.attempts, `${at}.attempts`, (t, a) => {
    if (!c.obj(t, a, { required: ['roundTo', 'sparsity', 'medianMs', 'label'] })) return;
    c.num(t.roundTo, `${a}.roundTo`, { int: true, min: 1 });
    c.num(t.sparsity, `${a}.sparsity`, { min: 0, max: 1 });
    c.num(t.medianMs, `${a}.medianMs`, { min: 0 });
    c.str(t.label, `${a}.label`);
  });
  const n = Array.isArray(v.attempts) ? v.attempts.length : 0;
  c.num(v.shipped, `${at}.shipped`, { int: true, min: 0, max: Math.max(0, n - 1) });
  c.bool(v.faster, `${at}.faster`);
  c.str(v.message, `${at}.message`);
}

const TOP = ['schemaVersion', 'kind', 'createdAt', 'model', 'output', 'preset', 'settings', 'provider', 'data', 'calibration', 'metrics', 'search', 'refinement', 'export', 'groups', 'locked', 'layers', 'comparison', 'stageSeconds', 'seconds'];

/** Every way `doc` departs from the report schema, as 'path: problem' lines; empty when valid. */
export function validateReport(doc: unknown): string[] {
  const c = new Checker();
  if (!c.obj(doc, '$', { required: TOP, optional: ['evaluation', 'flags', 'budget', 'recovery', 'speedGuard'] })) return c.errors;
  const d = doc;
  if (d.schemaVersion !== REPORT_SCHEMA_VERSION) c.fail('$.schemaVersion', `must be ${REPORT_SCHEMA_VERSION}, got ${kind(d.schemaVersion)}`);
  if (d.kind !== 'qubo-prune.report') c.fail('$.kind', `must be 'qubo-prune.report', got ${kind(d.kind)}`);
  if (c.str(d.createdAt, '$.createdAt') && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(d.createdAt)) c.fail('$.createdAt', `must be an ISO 8601 UTC time, got '${d.createdAt}'`);
  c.str(d.model, '$.model', { nonEmpty: true });
  if (c.str(d.output, '$.output', { nonEmpty: true }) && d.output === d.model) c.fail('$.output', 'is the source model');
  c.str(d.preset, '$.preset', { nonEmpty: true });
  settings(c, d.settings, '$.settings');
  c.str(d.provider, '$.provider', { oneOf: ['cpu', 'webgpu', 'cuda'] });
  dataSummary(c, d.data, '$.data');
  if (c.obj(d.calibration, '$.calibration', { required: ['samples', 'meanLoss'] })) {
    c.num(d.calibration.samples, '$.calibration.samples', { int: true, min: 1 });
    c.num(d.calibration.meanLoss, '$.calibration.meanLoss', { min: 0 });
  }
  if (c.obj(d.metrics, '$.metrics', { required: ['before', 'after', 'beforeRefine'] })) {
    const m = d.metrics;
    metricSet(c, m.before, '$.metrics.before');
    metricSet(c, m.after, '$.metrics.after');
    c.nullable(m.beforeRefine, '$.metrics.beforeRefine', (x, a) => metricSet(c, x, a));
    const task = isObj(d.data) ? d.data.task : undefined;
    const need = task === 'denoise' ? 'psnr' : task === 'classify' ? 'accuracy' : task === 'segment' ? 'pixelAgreement' : undefined;
    if (need) for (const k of ['before', 'after'] as const) if (isObj(m[k]) && (m[k] as Obj)[need] === undefined) c.fail(`$.metrics.${k}.${need}`, `is missing (the data is a ${task} set)`);
    if (isObj(m.before) && isObj(m.after) && typeof m.before.params === 'number' && typeof m.after.params === 'number' && m.after.params > m.before.params) {
      c.fail('$.metrics.after.params', `is larger than before (${m.after.params} > ${m.before.params})`);
    }
    if ((m.beforeRefine === null) !== (d.refinement === null)) c.fail('$.metrics.beforeRefine', 'must be present exactly when refinement ran');
  }
  search(c, d.search, '$.search');
  c.nullable(d.refinement, '$.refinement', (x, a) => refinement(c, x, a));
  if (c.obj(d.export, '$.export', { required: ['maxAbsDiffVsMasked'], optional: ['sha256', 'bytes'] })) {
    c.num(d.export.maxAbsDiffVsMasked, '$.export.maxAbsDiffVsMasked', { min: 0 });
    if (d.export.sha256 !== undefined && c.str(d.export.sha256, '$.export.sha256') && !/^[0-9a-f]{64}$/.test(d.export.sha256)) c.fail('$.export.sha256', 'must be 64 lowercase hex digits');
    if (d.export.bytes !== undefined) c.num(d.export.bytes, '$.export.bytes', { int: true, min: 1 });
    if ((d.export.sha256 === undefined) !== (d.export.bytes === undefined)) c.fail('$.export', 'sha256 and bytes come together');
  }
  let kept = 0;
  const ids = new Set<string>();
  c.arr(d.groups, '$.groups', (g, a) => {
    kept += group(c, g, a);
    if (isObj(g) && typeof g.id === 'string') {
      if (ids.has(g.id)) c.fail(`${a}.id`, `'${g.id}' appears twice`);
      ids.add(g.id);
    }
  });
  if (isObj(d.search) && typeof d.search.K === 'number' && Array.isArray(d.groups) && kept !== d.search.K) c.fail('$.groups', `keep ${kept} channels in all but search.K is ${d.search.K}`);
  c.arr(d.locked, '$.locked', (l, a) => {
    if (!c.obj(l, a, { required: ['source', 'tensor', 'channels', 'reason', 'detail'] })) return;
    c.str(l.source, `${a}.source`);
    c.str(l.tensor, `${a}.tensor`);
    c.num(l.channels, `${a}.channels`, { int: true, min: 0 });
    c.str(l.reason, `${a}.reason`, { nonEmpty: true });
    c.str(l.detail, `${a}.detail`);
  });
  c.arr(d.layers, '$.layers', (l, a) => {
    if (!c.obj(l, a, { required: ['node', 'op', 'before', 'after'] })) return;
    c.str(l.node, `${a}.node`);
    c.str(l.op, `${a}.op`, { nonEmpty: true });
    layerCost(c, l.before, `${a}.before`);
    c.nullable(l.after, `${a}.after`, (x, ax) => layerCost(c, x, ax));
  });
  c.nullable(d.comparison, '$.comparison', (v, at) =>
    c.arr(v, at, (r, a) => {
      if (!c.obj(r, a, { required: ['method', 'params', 'macs', 'seconds'], optional: ['psnr', 'ssim', 'accuracy', 'pixelAgreement', 'meanIoU', 'latencyMs'] })) return;
      c.str(r.method, `${a}.method`, { nonEmpty: true });
      c.num(r.params, `${a}.params`, { int: true, min: 0 });
      c.num(r.macs, `${a}.macs`, { int: true, min: 0 });
      c.num(r.seconds, `${a}.seconds`, { min: 0 });
      for (const k of ['psnr', 'ssim', 'accuracy']) if (r[k] !== undefined) c.num(r[k], `${a}.${k}`);
      for (const k of ['pixelAgreement', 'meanIoU']) if (r[k] !== undefined) c.num(r[k], `${a}.${k}`, { min: 0, max: 1 });
      if (r.latencyMs !== undefined) c.num(r.latencyMs, `${a}.latencyMs`, { min: 0 });
    }),
  );
  if (c.obj(d.stageSeconds, '$.stageSeconds', { required: [], optional: [...STAGES] })) {
    for (const [k, v] of Object.entries(d.stageSeconds)) if ((STAGES as readonly string[]).includes(k)) c.num(v, `$.stageSeconds.${k}`, { min: 0 });
  }
  if (d.flags !== undefined) {
    c.arr(d.flags, '$.flags', (f, a) => {
      if (!c.obj(f, a, { required: ['kind', 'message', 'measured', 'threshold', 'alternatives'] })) return;
      c.str(f.kind, `${a}.kind`, { oneOf: ['slower', 'much-worse'] });
      c.str(f.message, `${a}.message`, { nonEmpty: true });
      c.num(f.measured, `${a}.measured`);
      c.num(f.threshold, `${a}.threshold`);
      c.arr(f.alternatives, `${a}.alternatives`, (x, ax) => {
        if (!c.obj(x, ax, { required: ['label'], optional: ['preset', 'sparsity'] })) return;
        c.str(x.label, `${ax}.label`, { nonEmpty: true });
        if (x.preset !== undefined) c.str(x.preset, `${ax}.preset`, { nonEmpty: true });
        if (x.sparsity !== undefined) c.num(x.sparsity, `${ax}.sparsity`, { min: 0, max: 1 });
      });
    });
  }
  if (d.evaluation !== undefined && c.obj(d.evaluation, '$.evaluation', { required: ['split', 'images', 'samples', 'patch', 'inputShape'], optional: ['test', 'calibration'] })) {
    const e = d.evaluation;
    c.str(e.split, '$.evaluation.split', { oneOf: ['test'] });
    c.num(e.images, '$.evaluation.images', { int: true, min: 0 });
    c.num(e.samples, '$.evaluation.samples', { int: true, min: 0 });
    c.arr(e.inputShape, '$.evaluation.inputShape', (x, a) => c.num(x, a, { int: true, min: 1 }));
    if (e.patch !== null) c.arr(e.patch, '$.evaluation.patch', (x, a) => c.num(x, a, { int: true, min: 1 }));
    if (e.test !== undefined) c.str(e.test, '$.evaluation.test', { nonEmpty: true });
    if (e.calibration !== undefined) c.str(e.calibration, '$.evaluation.calibration', { nonEmpty: true });
  }
  if (d.budget !== undefined) budgetOutcome(c, d.budget, '$.budget');
  if (d.speedGuard !== undefined) speedGuard(c, d.speedGuard, '$.speedGuard');
  if (d.recovery !== undefined) recovery(c, d.recovery, '$.recovery');
  c.num(d.seconds, '$.seconds', { min: 0 });
  return c.errors;
}

/** Narrowing form: true when the report has no schema violations. */
export function isRunReport(doc: unknown): doc is RunReport {
  return validateReport(doc).length === 0;
}

const MD_SECTIONS = ['## Metrics', '## Search', '## Channel groups', '## Layers'];

/**
 * Checks the Markdown report against its JSON twin: title, the fixed sections, the optional ones
 * exactly when their data exists, and the metric values (rounded as printed).
 */
export function validateReportMarkdown(md: string, report: RunReport): string[] {
  const errors: string[] = [];
  const base = report.model.split(/[\\/]/).pop();
  if (!md.startsWith(`# QUBO Prune report: ${base}\n`)) errors.push(`the first line must be '# QUBO Prune report: ${base}'`);
  for (const s of MD_SECTIONS) if (!md.includes(`\n${s}\n`)) errors.push(`section '${s}' is missing`);
  const optional: [string, boolean][] = [
    ['## Tensor-Train refinement', report.refinement !== null],
    ['## Locked channels', report.locked.length > 0],
    ['## Method comparison', report.comparison !== null],
    ['## Recovery fine-tuning', report.recovery !== undefined],
  ];
  for (const [s, want] of optional) if (md.includes(`\n${s}`) !== want) errors.push(`section '${s}' must ${want ? '' : 'not '}be present`);
  const m = report.metrics;
  if (m.before.psnr !== undefined && m.after.psnr !== undefined) {
    const row = md.split('\n').find((l) => l.startsWith('| PSNR (test) |'));
    const want = `| PSNR (test) | ${m.before.psnr.toFixed(2)} dB |`;
    if (!row) errors.push("the metrics table has no 'PSNR (test)' row");
    else if (!row.startsWith(want) || !row.includes(`| ${m.after.psnr.toFixed(2)} dB |`)) errors.push(`PSNR row '${row}' does not show ${m.before.psnr.toFixed(2)} → ${m.after.psnr.toFixed(2)} dB`);
  }
  for (const g of report.groups) if (!md.includes(`| \`${g.id}\` | ${g.kept} | ${g.size} |`)) errors.push(`group '${g.id}' (${g.kept}/${g.size}) is not in the channel-groups table`);
  if (!md.includes(`- Execution provider: \`${report.provider}\``)) errors.push(`the provider '${report.provider}' is not named`);
  // The digest ties the two reports to one run: a Markdown report from another run names another.
  if (report.export.sha256 && !md.includes(`sha256 \`${report.export.sha256}\``)) errors.push(`the model's sha256 ${report.export.sha256} is not named (a report from another run?)`);
  return errors;
}

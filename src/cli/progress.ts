// Terminal rendering of pipeline events: one progress line per stage (redrawn in place on a TTY,
// printed once per stage otherwise, so logs stay readable in CI).
import type { PipelineEvent, RunSummary, StageName } from '../protocol';
import type { RecoverPoint } from '../core/pipeline/events';
import { formatTiming, speedWording } from '../core/latency/stats';

export interface Writer {
  write(s: string): unknown;
  isTTY?: boolean;
}

const LABEL: Record<StageName, string> = {
  analyze: 'Analyze',
  calibrate: 'Calibrate (gradients)',
  importance: 'Importance',
  search: 'QUBO search',
  refine: 'TT refinement',
  export: 'Export',
  recover: 'Recovery fine-tuning',
  evaluate: 'Evaluate (test split)',
};

export class ProgressPrinter {
  private current: StageName | null = null;
  private fraction = 0;
  private detail = '';
  private lastValidation = '';
  private lastDraw = 0;

  constructor(
    private readonly out: Writer,
    private readonly quiet = false,
  ) {}

  private bar(f: number): string {
    const width = 24;
    const full = Math.round(Math.max(0, Math.min(1, f)) * width);
    return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
  }

  private draw(force = false): void {
    if (!this.out.isTTY || !this.current || this.quiet) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 80) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[2K${LABEL[this.current].padEnd(24)} ${this.bar(this.fraction)} ${this.detail}`.slice(0, 160));
  }

  handle(e: PipelineEvent): void {
    if (this.quiet && e.type !== 'log') return;
    switch (e.type) {
      case 'provider':
        this.line(`execution provider: ${e.provider}${e.skipped.length ? ` (skipped: ${e.skipped.join('; ')})` : ''}`);
        break;
      case 'stage-start':
        this.current = e.stage;
        this.fraction = 0;
        this.detail = '';
        this.lastValidation = '';
        this.draw(true);
        break;
      case 'stage-progress':
        this.fraction = e.fraction;
        if (e.message) this.detail = e.message;
        if (e.recover) {
          // Validation runs every few steps; between them the bar keeps showing the last figure.
          this.lastValidation = recoverValidation(e.recover) ?? this.lastValidation;
          if (e.recover.validation === undefined && this.lastValidation) this.detail += ` (last ${this.lastValidation})`;
        }
        this.draw();
        break;
      case 'refine-progress':
        this.detail = `best ${e.best.toFixed(3)}, ${e.evaluations} evals${e.block ? `, block ${e.block}` : ''}`;
        this.draw();
        break;
      case 'stage-end': {
        const text = `${LABEL[e.stage].padEnd(24)} ${e.skipped ? 'skipped' : `done in ${e.seconds.toFixed(1)} s`}`;
        if (this.out.isTTY && !this.quiet) this.out.write(`\r\x1b[2K${text}\n`);
        else if (!this.quiet) this.out.write(`${text}\n`);
        this.current = null;
        break;
      }
      case 'log':
        if (e.level !== 'info' || !this.quiet) this.line(`${e.level === 'info' ? '' : `${e.level}: `}${e.message}`);
        break;
      default:
        break;
    }
  }

  private line(text: string): void {
    if (this.out.isTTY && this.current) this.out.write(`\r\x1b[2K${text}\n`);
    else this.out.write(`${text}\n`);
    this.draw(true);
  }
}

/** A validation figure of recovery for the bar: 'val PSNR 30.12 dB' or 'val accuracy 71.2%'. */
export function recoverValidation(p: RecoverPoint): string | undefined {
  if (p.validation === undefined) return undefined;
  return `val ${p.metric === 'psnr' ? `PSNR ${p.validation.toFixed(2)} dB` : `accuracy ${(100 * p.validation).toFixed(1)}%`}`;
}

const fmt = new Intl.NumberFormat('en-US');

export function formatSummary(s: RunSummary): string {
  const rows: [string, string, string][] = [];
  const metric = (label: string, b?: number, a?: number, d = 2, unit = '') => {
    if (b !== undefined && a !== undefined) rows.push([label, `${b.toFixed(d)}${unit}`, `${a.toFixed(d)}${unit} (${a - b >= 0 ? '+' : ''}${(a - b).toFixed(d)})`]);
  };
  metric('PSNR (test)', s.before.psnr, s.after.psnr, 2, ' dB');
  metric('SSIM (test)', s.before.ssim, s.after.ssim, 4);
  metric('Accuracy (test)', s.before.accuracy, s.after.accuracy, 3);
  metric('Pixel agreement with the original (test)', s.before.pixelAgreement, s.after.pixelAgreement, 4);
  metric('Mean IoU vs the original (test)', s.before.meanIoU, s.after.meanIoU, 4);
  if (s.beforeRefine) {
    const q = s.beforeRefine.psnr ?? s.beforeRefine.accuracy;
    if (q !== undefined) rows.push(['QUBO only (no refinement)', '', `${q.toFixed(s.beforeRefine.psnr !== undefined ? 2 : 3)}`]);
  }
  rows.push(['Parameters', fmt.format(s.before.params), `${fmt.format(s.after.params)} (${((100 * s.after.params) / s.before.params).toFixed(1)}%)`]);
  rows.push(['MACs', fmt.format(s.before.macs), `${fmt.format(s.after.macs)} (${((100 * s.after.macs) / s.before.macs).toFixed(1)}%)`]);
  const lb = s.before.latency;
  const la = s.after.latency;
  if (lb && la) {
    rows.push(['Latency (batch 1, median)', formatTiming(lb.batch1), `${formatTiming(la.batch1)}, ${speedWording(lb.batch1.medianMs, la.batch1.medianMs)}`]);
    if (lb.batch8 && la.batch8) rows.push(['Latency (batch 8, median)', formatTiming(lb.batch8), `${formatTiming(la.batch8)}, ${speedWording(lb.batch8.medianMs, la.batch8.medianMs)}`]);
  } else if (s.before.latencyMs !== undefined && s.after.latencyMs !== undefined && s.before.latencyMs > 0 && s.after.latencyMs > 0) {
    rows.push(['Latency (batch 1)', `${s.before.latencyMs.toFixed(2)} ms`, `${s.after.latencyMs.toFixed(2)} ms, ${speedWording(s.before.latencyMs, s.after.latencyMs)}`]);
  }
  const r = s.recovery;
  if (r) {
    const f = (v: number) => (r.metric === 'psnr' ? `${v.toFixed(2)} dB` : `${(100 * v).toFixed(1)}%`);
    rows.push([`Recovery (validation ${r.metric === 'psnr' ? 'PSNR' : 'accuracy'})`, f(r.validationBefore), `${f(r.validationAfter)} after ${r.steps} steps, ${r.seconds.toFixed(1)} s${r.improved ? '' : ' (exported model kept)'}`]);
  }
  if (s.budget) {
    const b = s.budget;
    const name = b.kind === 'macs' ? 'MACs' : b.kind === 'params' ? 'parameters' : 'latency';
    rows.push([`Budget (${name})`, `${(100 * b.target).toFixed(1)}%`, `${(100 * b.ratio).toFixed(2)}% reached, ${b.met ? 'met' : 'NOT met'}`]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 8);
  const lines = [`${'Metric'.padEnd(w0)}  ${'Original'.padEnd(w1)}  Pruned`, `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(24)}`];
  for (const r of rows) lines.push(`${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`);
  if (s.comparison?.length) {
    lines.push('', 'Method comparison (same sparsity, test split):');
    for (const c of s.comparison) {
      const m = c.psnr !== undefined ? `${c.psnr.toFixed(2)} dB` : c.accuracy !== undefined ? c.accuracy.toFixed(3) : c.pixelAgreement !== undefined ? `${(100 * c.pixelAgreement).toFixed(2)}% agr.` : '–';
      lines.push(`  ${c.method.padEnd(12)} ${m.padStart(10)}  params ${fmt.format(c.params)}`);
    }
  }
  // The verdict goes above the paths, where it is read: a flagged run is not a plain success.
  for (const f of s.flags ?? []) {
    const alts = f.alternatives.map((a) => (a.preset ? `--preset ${a.preset}` : a.sparsity !== undefined ? `--sparsity ${a.sparsity}` : a.label));
    lines.push('', `WARNING (${f.kind}): ${f.message}${alts.length ? `\n  try: ${alts.join(' or ')}` : ''}`);
  }
  lines.push('', `provider ${s.provider}, ${s.seconds.toFixed(1)} s in all`);
  lines.push(`pruned model: ${s.output}`, `report:       ${s.reportMarkdown}`, `              ${s.reportJson}`);
  return lines.join('\n');
}

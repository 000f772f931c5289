// What the Results tab says beyond the metric table, and the banner of a flagged run: the trusted
// latency (median and IQR at batch 1 and 8, "1.42× faster"), the cost budget's outcome, recovery
// fine-tuning before/after, and the verdict with its alternatives as buttons. Pure HTML strings
// from the run summary, so they are tested in node.
import { formatTiming, speedWording, TIMED_RUNS } from '../src/core/latency/stats';
import type { BudgetOutcome, LatencyAtBatch, RunFlag, RunSummary } from '../src/core/pipeline/events';
import { flagAlternatives } from '../src/core/pipeline/verdict';
import type { RunViewState } from '../src/view/panelState';
import { formatShape } from '../src/view/runClock';
import { esc } from './html';
import { button } from './toolkit';

const FLAG_TITLE: Record<RunFlag['kind'], string> = { slower: 'Slower than the original', 'much-worse': 'Much worse than the original' };

const sentence = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * The verdict of a flagged run above the tabs (every tab shows it): each flag with its measured
 * figures, and one button per alternative (the same ones, in the same order, as the notification).
 */
export function renderFlagBanner(sum: RunSummary | undefined): string {
  const flags = sum && !sum.compareOnly ? (sum.flags ?? []) : [];
  if (!flags.length) return '';
  const items = flags.map((f) => `<li data-flag="${esc(f.kind)}"><b>${FLAG_TITLE[f.kind]}.</b> ${esc(sentence(f.message))}.</li>`).join('');
  const alts = flagAlternatives(flags).map((a) => button(a.label, 'flag-alternative', false, { ...(a.preset !== undefined ? { preset: a.preset } : {}), ...(a.sparsity !== undefined ? { sparsity: String(a.sparsity) } : {}) }));
  const offer = alts.length ? `<div class="actions flag-actions"><span>Try instead:</span>${alts.join('')}</div>` : '';
  return `<div class="flag-banner" role="alert" data-flags="${esc(flags.map((f) => f.kind).join(' '))}"><p class="flag-lead">The pruned model was written, but it is not a plain success:</p><ul>${items}</ul>${offer}</div>`;
}

/** The request a banner button stands for, from its data attributes (undefined when it names nothing). */
export function alternativeFromButton(data: { preset?: string; sparsity?: string }): { preset?: string; sparsity?: number } | undefined {
  const sparsity = data.sparsity !== undefined ? Number(data.sparsity) : undefined;
  if (sparsity !== undefined && !Number.isFinite(sparsity)) return undefined;
  if (data.preset === undefined && sparsity === undefined) return undefined;
  return { ...(data.preset !== undefined ? { preset: data.preset } : {}), ...(sparsity !== undefined ? { sparsity } : {}) };
}

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;

/** The budget in one line: 'MACs budget 50.0% of the original: reached 49.32% (met)'. */
export function describeBudgetOutcome(b: BudgetOutcome): string {
  const verdict = b.met ? 'met' : 'not met';
  const reverted = b.refinementReverted ? '; the refined mask exceeded it, so the search mask was exported' : '';
  if (b.kind === 'latencyMs' || b.kind === 'latencyRatio') {
    const limit = b.latencyLimitMs !== undefined ? `${b.latencyLimitMs.toFixed(2)} ms` : pct(b.target);
    const before = b.predictedLatencyBeforeMs !== undefined ? ` (${pct(b.target)} of the original's predicted ${b.predictedLatencyBeforeMs.toFixed(2)} ms)` : '';
    const after = b.predictedLatencyAfterMs !== undefined ? `predicted ${b.predictedLatencyAfterMs.toFixed(2)} ms` : `reached ${pct(b.ratio, 2)}`;
    return `Latency budget ${limit}${before}: ${after} (${verdict})${reverted}`;
  }
  const name = b.kind === 'macs' ? 'MACs' : 'Parameters';
  return `${name} budget ${pct(b.target)} of the original: reached ${pct(b.ratio, 2)} (${verdict})${reverted}`;
}

export function renderBudget(sum: RunSummary): string {
  const b = sum.budget;
  if (!b) return '';
  return `<h2>Cost budget</h2><p class="budget ${b.met ? 'good' : 'bad'}" data-budget-met="${b.met}">${esc(describeBudgetOutcome(b))}.</p>`;
}

function latencyRow(label: string, before: LatencyAtBatch, after: LatencyAtBatch): string {
  const faster = after.medianMs <= before.medianMs;
  return `<tr data-latency="${before.batch}"><td>${esc(label)}</td><td class="num">${esc(formatTiming(before))}</td><td class="num after">${esc(formatTiming(after))}</td><td class="num"><span class="${faster ? 'good' : 'bad'}">${esc(speedWording(before.medianMs, after.medianMs))}</span></td></tr>`;
}

/**
 * Latency as measured after warm-up: median and interquartile range at batch 1 and 8 with the
 * speed ratio in words; reports that kept only a batch-1 median show that.
 */
export function renderLatency(sum: RunSummary): string {
  const b = sum.before.latency;
  const a = sum.after.latency;
  const head = '<tr><th>Latency</th><th>Before</th><th>After</th><th>Change</th></tr>';
  if (!b || !a) {
    const lb = sum.before.latencyMs;
    const la = sum.after.latencyMs;
    if (lb === undefined || la === undefined || !(lb > 0 && la > 0)) return '';
    return `<h2>Latency</h2><table class="metrics latency"><thead>${head}</thead><tbody><tr data-latency="1"><td>median, batch 1</td><td class="num">${lb.toFixed(2)} ms</td><td class="num after">${la.toFixed(2)} ms</td><td class="num">${esc(speedWording(lb, la))}</td></tr></tbody></table>`;
  }
  const rows = [latencyRow('batch 1', b.batch1, a.batch1)];
  if (b.batch8 && a.batch8) rows.push(latencyRow('batch 8', b.batch8, a.batch8));
  else rows.push(`<tr data-latency="8"><td>batch 8</td><td colspan="3" class="muted">not measured: ${esc(b.batch8Skipped ?? a.batch8Skipped ?? 'skipped')}</td></tr>`);
  const predicted = sum.after.predictedLatencyMs !== undefined ? `<tr data-latency="predicted"><td>batch 1, predicted by the latency model</td><td class="num">–</td><td class="num">${sum.after.predictedLatencyMs.toFixed(2)} ms</td><td class="num muted">measured ${a.batch1.medianMs.toFixed(2)} ms</td></tr>` : '';
  const runs = Math.min(b.batch1.runs, a.batch1.runs);
  const note = `Median and interquartile range (IQR) of ${runs >= TIMED_RUNS ? `${runs}` : `only ${runs}`} timed runs after warm-up, at input ${formatShape(b.inputShape)} on ${b.provider}.`;
  return `<h2>Latency</h2><p class="muted latency-note">${esc(note)}</p><table class="metrics latency"><thead>${head}</thead><tbody>${rows.join('')}${predicted}</tbody></table>`;
}

/** Recovery fine-tuning: the validation metric of the exported model and of the one written. */
export function renderRecovery(sum: RunSummary): string {
  const r = sum.recovery;
  if (!r) return '';
  const psnr = r.metric === 'psnr';
  const fmt = (v: number) => (psnr ? `${v.toFixed(2)} dB` : pct(v));
  const d = r.validationAfter - r.validationBefore;
  const change = psnr ? `${d >= 0 ? '+' : ''}${d.toFixed(2)} dB` : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} points`;
  const outcome = r.improved ? 'the best validation checkpoint was written' : 'no step beat the exported model, which was written unchanged';
  return `<h2>Recovery fine-tuning</h2><table class="metrics recovery"><thead><tr><th>Validation split</th><th>Before recovery</th><th>After recovery</th><th>Change</th></tr></thead><tbody><tr data-recovery="${r.metric}"><td>${psnr ? 'PSNR' : 'Accuracy'}</td><td class="num">${esc(fmt(r.validationBefore))}</td><td class="num after">${esc(fmt(r.validationAfter))}</td><td class="num"><span class="${d >= 0 ? 'good' : 'bad'}">${esc(change)}</span></td></tr></tbody></table>
<p class="muted recovery-note">${r.steps} training step${r.steps === 1 ? '' : 's'} in ${r.seconds.toFixed(1)} s; ${outcome}. The test metrics above are the written model's.</p>`;
}

/** Whether the Live tab shows the recovery curve: once the stage runs or the run has its trace. */
export function showsRecoverChart(s: RunViewState | undefined): boolean {
  if (!s || s.compareOnly) return false;
  return (s.recover?.length ?? 0) > 0 || s.stages.some((st) => st.name === 'recover' && st.status === 'running');
}

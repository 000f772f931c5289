// Markdown tables from the suite's rows: means and spreads over seeds, paired differences for the
// claims, so a reader sees the margin and its variability side by side.
import { METHOD_LABEL, METHOD_ORDER, type BenchMethod, type MethodRow, type SuiteResults } from './types';

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Sample standard deviation (0 for one value). */
export function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

const pm = (xs: number[], digits: number) => (xs.length > 1 ? `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}` : mean(xs).toFixed(digits));
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const pmSigned = (xs: number[], digits: number) => (xs.length > 1 ? `${signed(mean(xs), digits)} ± ${sd(xs).toFixed(digits)}` : signed(mean(xs), digits));
const pct = (s: number) => `${Math.round(s * 100)} %`;
const thousands = (x: number) => Math.round(x).toLocaleString('en-US');

function rowsFor(r: SuiteResults, model: string, sparsity: number, method: BenchMethod): MethodRow[] {
  return r.methods.filter((m) => m.model === model && Math.abs(m.sparsity - sparsity) < 1e-9 && m.method === method);
}

/** Per model: every method at every sparsity, mean ± sd over seeds. */
export function methodTables(r: SuiteResults): string {
  const out: string[] = [];
  for (const model of r.config.models) {
    const dense = r.dense.find((d) => d.model === model)!;
    out.push(`#### ${model} (${dense.variables} prunable channels in ${dense.groups.length} groups)`, '');
    out.push('| sparsity | method | PSNR (dB) | SSIM | params | MACs | CPU latency (ms) | run time (s) |', '|---|---|---|---|---|---|---|---|');
    out.push(`| 0 % | original | ${dense.psnr.toFixed(3)} | ${dense.ssim.toFixed(4)} | ${thousands(dense.params)} | ${(dense.macs / 1e6).toFixed(1)} M | ${dense.latencyMs.toFixed(1)} | – |`);
    for (const s of r.config.sparsities) {
      let best = -Infinity;
      for (const m of METHOD_ORDER) {
        const rows = rowsFor(r, model, s, m);
        if (rows.length) best = Math.max(best, mean(rows.map((x) => x.psnr)));
      }
      for (const m of METHOD_ORDER) {
        const rows = rowsFor(r, model, s, m);
        if (!rows.length) continue;
        const p = mean(rows.map((x) => x.psnr));
        const psnr = pm(rows.map((x) => x.psnr), 3);
        out.push(
          `| ${pct(s)} | ${METHOD_LABEL[m]} | ${p === best ? `**${psnr}**` : psnr} | ${pm(rows.map((x) => x.ssim), 4)} | ${thousands(mean(rows.map((x) => x.params)))} | ${(mean(rows.map((x) => x.macs)) / 1e6).toFixed(1)} M | ${mean(rows.map((x) => x.latencyMs)).toFixed(1)} | ${mean(rows.map((x) => x.seconds)).toFixed(1)} |`,
        );
      }
    }
    out.push('');
  }
  return out.join('\n');
}

/** Paired (same seed) PSNR difference a − b per model at one sparsity. */
export function pairedDiff(r: SuiteResults, model: string, sparsity: number, a: BenchMethod, b: BenchMethod | 'best-greedy'): number[] {
  const diffs: number[] = [];
  for (const seed of r.config.seeds) {
    const get = (m: BenchMethod) => rowsFor(r, model, sparsity, m).find((x) => x.seed === seed)?.psnr;
    const pa = get(a);
    const pb = b === 'best-greedy' ? Math.max(...(['l1', 'taylor', 'fisher'] as const).map((m) => get(m) ?? -Infinity)) : get(b);
    if (pa !== undefined && pb !== undefined && Number.isFinite(pb)) diffs.push(pa - pb);
  }
  return diffs;
}

export interface Claim {
  label: string;
  a: BenchMethod;
  b: BenchMethod | 'best-greedy';
  /** Margin the claim needs (dB); positive = a must beat b by this much, negative = a must be below b. */
  target: number;
  paper: string;
}

export const CLAIMS: Claim[] = [
  { label: 'Hybrid QUBO (paper form) − greedy Taylor', a: 'hybrid-paper', b: 'taylor', target: 0.26, paper: '+0.26 dB (Half-UNet, SIDD)' },
  { label: 'Hybrid QUBO (defaults) − greedy Taylor', a: 'hybrid', b: 'taylor', target: 0.26, paper: '+0.26 dB (Half-UNet, SIDD)' },
  { label: 'Hybrid QUBO (paper form) − best greedy (L1, Taylor, Fisher; per seed)', a: 'hybrid-paper', b: 'best-greedy', target: 0.01, paper: '(our bar: > 0)' },
  { label: 'Hybrid QUBO (defaults) − best greedy (L1, Taylor, Fisher; per seed)', a: 'hybrid', b: 'best-greedy', target: 0.01, paper: '(our bar: > 0)' },
  { label: 'L1-QUBO − greedy Taylor', a: 'l1-qubo', b: 'taylor', target: -0.01, paper: 'L1-QUBO clearly below' },
  { label: 'TT (8 layers) − Hybrid QUBO', a: 'hybrid+tt-layers', b: 'hybrid', target: 0.12, paper: '+0.12 dB' },
  { label: 'TT (whole network) − Hybrid QUBO', a: 'hybrid+tt-network', b: 'hybrid', target: 0.01, paper: '≈ 0 (our goal: a gain)' },
];

/** Differences within this (dB) or within one standard error of 0 are called a tie, not a win or a loss. */
const TIE_DB = 0.05;

export function verdict(diffs: number[], target: number): string {
  if (!diffs.length) return 'not run';
  const m = mean(diffs);
  const noise = Math.max(TIE_DB, sd(diffs) / Math.sqrt(diffs.length));
  if (target >= 0) {
    if (m >= target && m > noise) return m >= 2 * target && target > TIE_DB ? 'exceeded' : 'met';
    if (Math.abs(m) <= noise) return 'tie';
    return m > 0 ? 'gain below target' : 'not met';
  }
  return m <= target && -m > noise ? 'met' : Math.abs(m) <= noise ? 'tie' : 'not met';
}

/** The claims table at one sparsity: one column per model. */
export function claimsTable(r: SuiteResults, sparsity: number): string {
  const models = r.config.models;
  const out = [`| claim (test PSNR, ${pct(sparsity)} sparsity) | paper | ${models.join(' | ')} |`, `|---|---|${models.map(() => '---').join('|')}|`];
  for (const c of CLAIMS) {
    const cells = models.map((m) => {
      const d = pairedDiff(r, m, sparsity, c.a, c.b);
      return d.length ? `${pmSigned(d, 3)} dB (${verdict(d, c.target)})` : '–';
    });
    out.push(`| ${c.label} | ${c.paper} | ${cells.join(' | ')} |`);
  }
  // What pruning cost at all: where Hybrid QUBO is already within noise of the original, no
  // refinement can gain, whatever its search.
  const headroom = models.map((m) => {
    const dense = r.dense.find((d) => d.model === m)?.psnr;
    const rows = rowsFor(r, m, sparsity, 'hybrid');
    return dense === undefined || !rows.length ? '–' : `${pmSigned(rows.map((x) => dense - x.psnr), 3)} dB`;
  });
  out.push(`| headroom: original − Hybrid QUBO (defaults) | (SIDD Half-UNet loses more) | ${headroom.join(' | ')} |`);
  return out.join('\n');
}

/** Hybrid vs each baseline at every sparsity (paired over seeds), one row per model × sparsity. */
export function marginsTable(r: SuiteResults): string {
  const cols: (BenchMethod | 'best-greedy')[] = ['taylor', 'fisher', 'l1', 'l1-qubo', 'hybrid-paper', 'best-greedy'];
  const out = [
    `| model | sparsity | ${cols.map((c) => `Hybrid − ${c === 'best-greedy' ? 'best greedy' : METHOD_LABEL[c]}`).join(' | ')} | TT 8 layers | TT network |`,
    `|---|---|${cols.map(() => '---').join('|')}|---|---|`,
  ];
  for (const model of r.config.models) {
    for (const s of r.config.sparsities) {
      const cells = cols.map((c) => pmSigned(pairedDiff(r, model, s, 'hybrid', c), 2));
      out.push(`| ${model} | ${pct(s)} | ${cells.join(' | ')} | ${pmSigned(pairedDiff(r, model, s, 'hybrid+tt-layers', 'hybrid'), 3)} | ${pmSigned(pairedDiff(r, model, s, 'hybrid+tt-network', 'hybrid'), 3)} |`);
    }
  }
  return out.join('\n');
}

/** Refinement objective gain vs test gain: where a gain is lost (overfitting to the scored crops). */
export function refineTable(r: SuiteResults): string {
  const out = ['| model | sparsity | scope | objective gain (dB) | kept (gain ≥ minGain) | test gain (dB) | evaluations | time (s) |', '|---|---|---|---|---|---|---|---|'];
  for (const model of r.config.models) {
    for (const s of r.config.sparsities) {
      for (const m of ['hybrid+tt-layers', 'hybrid+tt-network'] as const) {
        const rows = rowsFor(r, model, s, m);
        if (!rows.length) continue;
        const hyb = rowsFor(r, model, s, 'hybrid');
        const testGain = rows.map((x) => x.psnr - (hyb.find((h) => h.seed === x.seed)?.psnr ?? NaN));
        out.push(
          `| ${model} | ${pct(s)} | ${m === 'hybrid+tt-layers' ? '8 layers' : 'network'} | ${pmSigned(rows.map((x) => x.valBest! - x.valStart!), 3)} | ${rows.filter((x) => x.accepted !== false).length}/${rows.length} | ${pmSigned(testGain, 3)} | ${mean(rows.map((x) => x.evaluations!)).toFixed(0)} | ${mean(rows.map((x) => x.seconds)).toFixed(1)} |`,
        );
      }
    }
  }
  return out.join('\n');
}

export function ablationTables(r: SuiteResults): string {
  const models = r.config.models;
  const families = [...new Set(r.ablations.map((a) => a.family))];
  const out: string[] = [];
  for (const f of families) {
    const settings = [...new Set(r.ablations.filter((a) => a.family === f).map((a) => a.setting))];
    out.push(`**${f}** (Hybrid QUBO at 36 %, other settings at their defaults; validation / test PSNR in dB, mean over seeds; default in bold)`, '');
    out.push(`| setting | ${models.join(' | ')} | mean over models (val / test) |`, `|---|${models.map(() => '---').join('|')}|---|`);
    for (const s of settings) {
      const rows = r.ablations.filter((a) => a.family === f && a.setting === s);
      const isDefault = rows.some((a) => a.isDefault);
      const perModel = models.map((m) => rows.filter((a) => a.model === m));
      const safe = s.replace(/\|/g, '\\|');
      const label = isDefault ? `**${safe}**` : safe;
      const cell = (p: typeof rows) => (p.length ? `${mean(p.map((x) => x.valPsnr)).toFixed(3)} / ${mean(p.map((x) => x.psnr)).toFixed(3)}` : '–');
      const present = perModel.filter((p) => p.length);
      out.push(`| ${label} | ${perModel.map(cell).join(' | ')} | ${mean(present.map((p) => mean(p.map((x) => x.valPsnr)))).toFixed(3)} / ${mean(present.map((p) => mean(p.map((x) => x.psnr)))).toFixed(3)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function stageTable(r: SuiteResults): string {
  const names = ['analyze', 'calibrate', 'importance', 'search', 'refine', 'export', 'evaluate'];
  const out = [`| model | ${names.join(' | ')} | total |`, `|---|${names.map(() => '---').join('|')}|---|`];
  for (const model of r.config.models) {
    const rows = r.stages.filter((s) => s.model === model);
    if (!rows.length) continue;
    const cells = names.map((n) => mean(rows.map((x) => x.stages[n] ?? 0)));
    out.push(`| ${model} | ${cells.map((c) => c.toFixed(2)).join(' | ')} | ${cells.reduce((a, b) => a + b, 0).toFixed(2)} |`);
  }
  return out.join('\n');
}

export function scalingTables(r: SuiteResults): string {
  const out: string[] = [];
  const search = r.scaling.filter((s) => s.kind === 'search');
  if (search.length) {
    out.push('| n (variables) | greedy start energy | best energy | time to the best (s) |', '|---|---|---|---|');
    for (const s of search) out.push(`| ${s.x} | ${s.start?.toFixed(2) ?? '–'} | ${s.value.toFixed(2)} | ${s.seconds.toFixed(3)} |`);
    out.push('');
  }
  const refine = r.scaling.filter((s) => s.kind === 'refine');
  if (refine.length) {
    out.push('| model | refinement budget (evaluations) | used | time (s) | test gain over Hybrid QUBO (dB) |', '|---|---|---|---|---|');
    for (const s of refine) out.push(`| ${s.model} | ${s.x} | ${s.evaluations} | ${s.seconds.toFixed(1)} | ${signed(s.value, 3)} |`);
  }
  return out.join('\n');
}

// Finite-difference checks of gradient models built by src/core/autodiff (used by the
// autodiff integration tests and handy when adding a rule).
import { buildGradientModel, type GradientModel } from '../../src/core/autodiff';
import { openSession, ort } from '../../src/core/runtime/session';
import { Rng } from '../../src/core/util/rng';
import type { Feed, GradCase } from './autodiffGraphs';

export function toOrt(feeds: Record<string, Feed>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, f]) => [k, f.data instanceof BigInt64Array ? new ort.Tensor('int64', f.data, f.dims) : new ort.Tensor('float32', f.data, f.dims)]),
  );
}

export interface WrtReport {
  wrt: string;
  /** ‖g − fd‖ / ‖fd‖ over every compared value. */
  relErr: number;
  /** Largest |g − fd| / (|fd| + 0.05·max|fd|) over compared values. */
  worst: number;
  compared: number;
  fdNorm: number;
  /** Every element within 0.05·|fd_i| + 0.01·max|fd| + 2e-4. */
  worstAbsOk: boolean;
}

export interface CheckResult {
  gm: GradientModel;
  grads: Record<string, Float32Array>;
  loss: Float32Array;
  reports: WrtReport[];
}

/**
 * Gradients from the built model vs central differences of the per-sample loss. Gate-like inputs
 * (name starts with 'gate/') are perturbed one channel at a time for all samples at once: the
 * samples are independent, so loss_n moves only with sample n's gate. Other inputs get one random
 * direction v, compared per sample as ⟨g_n, v_n⟩ (or element-wise, with `elementwise`: in deep
 * ReLU nets a dense direction crosses many kinks and its sum cancels heavily).
 */
export interface CheckOptions {
  /** Compare at most this many (random) per-sample positions of each element-wise checked input. */
  maxElements?: number;
  /** Check every input element-wise (on maxElements positions), not only gates. */
  elementwise?: boolean;
  gm?: GradientModel;
}

export async function checkCase(c: GradCase, eps = 1e-3, seed = 5, opts: CheckOptions = {}): Promise<CheckResult> {
  const gm = opts.gm ?? buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
  const { session } = await openSession(gm.model.toBytes(), { provider: 'cpu', threads: 1 });
  const lossInput = c.loss.kind === 'mse' ? c.loss.target : c.loss.labels;
  const base: Record<string, Feed> = { ...c.feeds, [lossInput]: c.lossFeed };
  const out = await session.run(toOrt(base), [gm.lossOutput, ...Object.values(gm.gradOutputs)]);
  const grads: Record<string, Float32Array> = {};
  for (const w of c.wrt) grads[w] = out[gm.gradOutputs[w]!]!.data as Float32Array;
  const lossAt = async (name: string, data: Float32Array) => {
    const r = await session.run(toOrt({ ...base, [name]: { dims: base[name]!.dims, data } }), [gm.lossOutput]);
    return r[gm.lossOutput]!.data as Float32Array;
  };
  const rng = new Rng(seed);
  const reports: WrtReport[] = [];
  for (const w of c.wrt) {
    const feed = base[w]!;
    const x = feed.data as Float32Array;
    const n = feed.dims[0]!;
    const per = x.length / n;
    const g = grads[w]!;
    const fd: number[] = [];
    const an: number[] = [];
    if (w.startsWith('gate/') || opts.elementwise) {
      const picks = Array.from({ length: per }, (_, j) => j);
      if (opts.maxElements && per > opts.maxElements) {
        rng.shuffle(picks);
        picks.length = opts.maxElements;
      }
      for (const j of picks) {
        const p = x.slice();
        const m = x.slice();
        for (let s = 0; s < n; s++) {
          p[s * per + j] += eps;
          m[s * per + j] -= eps;
        }
        const lp = await lossAt(w, p);
        const lm = await lossAt(w, m);
        for (let s = 0; s < n; s++) {
          fd.push((lp[s]! - lm[s]!) / (2 * eps));
          an.push(g[s * per + j]!);
        }
      }
    } else {
      const v = Float32Array.from({ length: x.length }, () => rng.normal());
      const lp = await lossAt(w, x.map((xi, i) => xi + eps * v[i]!));
      const lm = await lossAt(w, x.map((xi, i) => xi - eps * v[i]!));
      for (let s = 0; s < n; s++) {
        fd.push((lp[s]! - lm[s]!) / (2 * eps));
        let dot = 0;
        for (let i = s * per; i < (s + 1) * per; i++) dot += g[i]! * v[i]!;
        an.push(dot);
      }
    }
    let num = 0;
    let den = 0;
    let maxFd = 0;
    for (let i = 0; i < fd.length; i++) {
      num += (an[i]! - fd[i]!) ** 2;
      den += fd[i]! ** 2;
      maxFd = Math.max(maxFd, Math.abs(fd[i]!));
    }
    let worst = 0;
    let worstAbsOk = true;
    for (let i = 0; i < fd.length; i++) {
      const d = Math.abs(an[i]! - fd[i]!);
      worst = Math.max(worst, d / (Math.abs(fd[i]!) + 0.05 * maxFd + 1e-12));
      if (d > 0.05 * Math.abs(fd[i]!) + 0.01 * maxFd + 2e-4) worstAbsOk = false;
    }
    reports.push({ wrt: w, relErr: Math.sqrt(num / Math.max(den, 1e-30)), worst, compared: fd.length, fdNorm: Math.sqrt(den), worstAbsOk });
  }
  const loss = out[gm.lossOutput]!.data as Float32Array;
  await session.release();
  return { gm, grads, loss, reports };
}

export interface Verdict {
  ok: boolean;
  eps: number;
  reports: WrtReport[];
}

/**
 * float32 losses carry ~1e-7 relative rounding, i.e. about 1e-4·|L|/ε absolute noise in a
 * central difference with ε = 1e-3; gradient checks therefore accept
 * ‖g − fd‖ ≤ 1e-2·‖fd‖ + 2e-4·√m (m compared values) and, element-wise,
 * |g_i − fd_i| ≤ 0.05·|fd_i| + 0.01·max|fd| + 2e-4.
 */
export function passes(r: WrtReport): boolean {
  const normOk = r.relErr * r.fdNorm <= 1e-2 * r.fdNorm + 2e-4 * Math.sqrt(r.compared);
  return normOk && r.worstAbsOk;
}

/**
 * Runs the check at ε = 1e-3 and, if it fails, at ε = 2.5e-4: a central difference that steps over
 * a kink (ReLU at 0, a change of MaxPool winner) is wrong by an amount that does not shrink with
 * ε, whereas a wrong rule fails at every ε.
 */
export async function verifyCase(c: GradCase, opts: CheckOptions = {}): Promise<Verdict & { result: CheckResult }> {
  let result = await checkCase(c, 1e-3, 5, opts);
  if (result.reports.every(passes)) return { ok: true, eps: 1e-3, reports: result.reports, result };
  result = await checkCase(c, 2.5e-4, 6, { ...opts, gm: result.gm });
  return { ok: result.reports.every(passes), eps: 2.5e-4, reports: result.reports, result };
}

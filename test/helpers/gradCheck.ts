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

/** Per-sample MSE or cross-entropy in float64, as the gradient model defines them. */
export function lossFromOutput(c: GradCase, y: Float32Array, lossFeed: Feed): Float64Array {
  const n = lossFeed.dims[0]!;
  const out = new Float64Array(n);
  const per = y.length / n;
  for (let s = 0; s < n; s++) {
    if (c.loss.kind === 'mse') {
      const t = lossFeed.data as Float32Array;
      let acc = 0;
      for (let i = s * per; i < (s + 1) * per; i++) acc += (y[i]! - t[i]!) ** 2;
      out[s] = acc / per;
    } else {
      let m = -Infinity;
      for (let i = s * per; i < (s + 1) * per; i++) m = Math.max(m, y[i]!);
      let z = 0;
      for (let i = s * per; i < (s + 1) * per; i++) z += Math.exp(y[i]! - m);
      const label = Number((lossFeed.data as BigInt64Array)[s]);
      out[s] = m + Math.log(z) - y[s * per + label]!;
    }
  }
  return out;
}

export interface WrtReport {
  wrt: string;
  /** ‖g − fd‖ / ‖fd‖ over every compared value. */
  relErr: number;
  /** Largest |g − fd| / (|fd| + 0.05·max|fd|) over compared values. */
  worst: number;
  compared: number;
  fdNorm: number;
  /** Every element within 0.05·|fd_i| + 0.01·max|fd| + floor. */
  worstAbsOk: boolean;
  /** Absolute allowance per difference quotient for float32 rounding in the forward pass. */
  floor: number;
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
  // Per-sample losses recomputed in float64 from the float32 model output: the in-graph float32
  // reduction's rounding would otherwise dominate the differences of small losses.
  const lossAt = async (name: string, data: Float32Array) => {
    const r = await session.run(toOrt({ ...base, [name]: { dims: base[name]!.dims, data } }), [c.loss.output]);
    return lossFromOutput(c, r[c.loss.output]!.data as Float32Array, base[lossInput]!);
  };
  const rng = new Rng(seed);
  const noise = await roundingNoise(c, base, async (feeds) => lossFromOutput(c, (await session.run(toOrt(feeds), [c.loss.output]))[c.loss.output]!.data as Float32Array, base[lossInput]!), rng);
  const floor = (3 * noise) / eps + 1e-9;
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
      if (d > 0.05 * Math.abs(fd[i]!) + 0.01 * maxFd + floor) worstAbsOk = false;
    }
    reports.push({ wrt: w, relErr: Math.sqrt(num / Math.max(den, 1e-30)), worst, compared: fd.length, fdNorm: Math.sqrt(den), worstAbsOk, floor });
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
 * Accepts ‖g − fd‖ ≤ 1e-2·‖fd‖ + floor·√m (m compared values) and, element-wise,
 * |g_i − fd_i| ≤ 0.05·|fd_i| + 0.01·max|fd| + floor, where floor = 3σ/ε and σ is the measured
 * rounding noise of the per-sample loss (see roundingNoise).
 */
export function passes(r: WrtReport): boolean {
  const normOk = r.relErr * r.fdNorm <= 1e-2 * r.fdNorm + r.floor * Math.sqrt(r.compared);
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

/**
 * Rounding noise σ of the per-sample losses: how much they move when every float input is nudged
 * by ±1 ulp at random (a change whose true effect is negligible but which reroutes the float32
 * rounding of the whole forward pass). The losses are differenced in float64, so σ is the noise
 * of the model's float32 outputs, which grows with depth and with the size of the logits.
 */
async function roundingNoise(c: GradCase, base: Record<string, Feed>, loss: (f: Record<string, Feed>) => Promise<Float64Array>, rng: Rng): Promise<number> {
  const ref = await loss(base);
  let sigma = 0;
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let trial = 0; trial < 3; trial++) {
    const feeds: Record<string, Feed> = { ...base };
    for (const w of c.wrt) {
      const data = (base[w]!.data as Float32Array).slice();
      for (let i = 0; i < data.length; i++) {
        f[0] = data[i]!;
        if (f[0] !== 0) bits[0] = bits[0]! + (rng.next() < 0.5 ? 1 : -1);
        data[i] = f[0];
      }
      feeds[w] = { dims: base[w]!.dims, data };
    }
    const l = await loss(feeds);
    for (let n = 0; n < l.length; n++) sigma = Math.max(sigma, Math.abs(l[n]! - ref[n]!));
  }
  return sigma;
}

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
 * direction v, compared per sample as ⟨g_n, v_n⟩.
 */
export async function checkCase(c: GradCase, eps = 1e-2, seed = 5): Promise<CheckResult> {
  const gm = buildGradientModel(c.model, { wrt: c.wrt, loss: c.loss });
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
    if (w.startsWith('gate/')) {
      for (let j = 0; j < per; j++) {
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
    for (let i = 0; i < fd.length; i++) worst = Math.max(worst, Math.abs(an[i]! - fd[i]!) / (Math.abs(fd[i]!) + 0.05 * maxFd + 1e-12));
    reports.push({ wrt: w, relErr: Math.sqrt(num / Math.max(den, 1e-30)), worst, compared: fd.length, fdNorm: Math.sqrt(den) });
  }
  const loss = out[gm.lossOutput]!.data as Float32Array;
  await session.release();
  return { gm, grads, loss, reports };
}

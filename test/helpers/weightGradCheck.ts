// Finite-difference checks of the recovery training graph's weight gradients.
import { buildTrainingGraph, type TrainingGraph } from '../../src/core/recover/trainingGraph';
import type { OnnxModel } from '../../src/core/onnx';
import { openSession, ort } from '../../src/core/runtime/session';
import { Rng } from '../../src/core/util/rng';

export interface WeightReport {
  weight: string;
  /** ‖g − fd‖ / ‖fd‖ over the compared elements. */
  relErr: number;
  /** Largest |g_i − fd_i| − (0.05·|fd_i| + 0.01·max|fd| + floor); ≤ 0 passes. */
  worstExcess: number;
  compared: number;
  fdMax: number;
  /** Allowance per difference quotient for the forward pass's float32 rounding. */
  floor: number;
}

export interface WeightCheck {
  graph: TrainingGraph;
  grads: Record<string, Float32Array>;
  reports: WeightReport[];
}

/** Σ_n mean((y − t)²) in float64, the summed loss the gradients are of. */
function summedLoss(y: Float32Array, t: Float32Array, n: number): number {
  const per = y.length / n;
  let acc = 0;
  for (let i = 0; i < y.length; i++) acc += (y[i]! - t[i]!) ** 2;
  return acc / per;
}

/**
 * Gradients from the training graph vs central differences of the summed loss, on up to
 * `perWeight` random elements of every trainable tensor. The float32 forward pass's rounding
 * is measured (every weight nudged by a relative 2⁻²³) and allowed for as `floor`.
 */
export async function checkWeightGradients(
  model: OnnxModel,
  x: { data: Float32Array; dims: number[] },
  teacher: { data: Float32Array; dims: number[] },
  opts: { eps?: number; perWeight?: number; seed?: number; tamper?: (grads: Record<string, Float32Array>) => void } = {},
): Promise<WeightCheck> {
  const eps = opts.eps ?? 1e-3;
  const graph = buildTrainingGraph(model);
  const { session } = await openSession(graph.model.toBytes(), { provider: 'cpu', threads: 1 });
  try {
    const values = new Map(graph.weights.map((w) => [w.name, Float32Array.from(w.initial)]));
    const tOut = (): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = { [graph.input]: new ort.Tensor('float32', x.data, x.dims) };
      for (const w of graph.weights) f[w.name] = new ort.Tensor('float32', values.get(w.name)!, w.dims);
      return f;
    };
    const teacherT = new ort.Tensor('float32', teacher.data, teacher.dims);
    const loss = async () => {
      const r = await session.run({ ...tOut(), [graph.teacher]: teacherT }, [graph.output]);
      return summedLoss(r[graph.output]!.data as Float32Array, teacher.data, x.dims[0]!);
    };
    const res = await session.run({ ...tOut(), [graph.teacher]: teacherT }, Object.values(graph.gradOutputs));
    const grads: Record<string, Float32Array> = {};
    for (const w of graph.weights) grads[w.name] = res[graph.gradOutputs[w.name]!]!.data as Float32Array;

    opts.tamper?.(grads);

    // Rounding noise of the forward pass: the loss change from a negligible nudge of every weight.
    const base = await loss();
    let sigma = 0;
    for (const f of [1 + 2 ** -23, 1 - 2 ** -23]) {
      for (const w of graph.weights) values.get(w.name)!.forEach((_v, i, a) => (a[i] = w.initial[i]! * f));
      sigma = Math.max(sigma, Math.abs((await loss()) - base));
    }
    for (const w of graph.weights) values.get(w.name)!.set(w.initial);
    const floor = (3 * sigma) / eps;

    const rng = new Rng(opts.seed ?? 3);
    const reports: WeightReport[] = [];
    for (const w of graph.weights) {
      const v = values.get(w.name)!;
      const g = grads[w.name]!;
      const picks = new Set<number>();
      const m = Math.min(v.length, opts.perWeight ?? 6);
      while (picks.size < m) picks.add(Math.floor(rng.next() * v.length));
      const fd: number[] = [];
      const gs: number[] = [];
      for (const i of picks) {
        const orig = v[i]!;
        v[i] = orig + eps;
        const up = await loss();
        v[i] = orig - eps;
        const down = await loss();
        v[i] = orig;
        fd.push((up - down) / (2 * eps));
        gs.push(g[i]!);
      }
      const fdMax = Math.max(...fd.map(Math.abs));
      let num = 0;
      let den = 0;
      let worstExcess = -Infinity;
      fd.forEach((f, k) => {
        num += (gs[k]! - f) ** 2;
        den += f * f;
        worstExcess = Math.max(worstExcess, Math.abs(gs[k]! - f) - (0.05 * Math.abs(f) + 0.01 * fdMax + floor));
      });
      reports.push({ weight: w.name, relErr: Math.sqrt(num / Math.max(den, 1e-300)), worstExcess, compared: fd.length, fdMax, floor });
    }
    return { graph, grads, reports };
  } finally {
    await session.release();
  }
}

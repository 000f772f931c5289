// Data-free importance: filter norms and filter-weight cosine similarity (the L1-QUBO baseline).
import type { OnnxModel } from '../onnx';
import type { DependencyAnalysis } from '../analysis/types';

/** Output-channel axis of a producer's weight, by op type (ConvTranspose stores [Cin, Cout/g, k, k]). */
function producerWeight(model: OnnxModel, nodeName: string): { initializer: string; axis: number } | undefined {
  const node = model.node(nodeName);
  if (!node) return undefined;
  const w = node.input[1];
  if (!w) return undefined;
  switch (node.opType) {
    case 'Conv':
      return { initializer: w, axis: 0 };
    case 'ConvTranspose':
      return { initializer: w, axis: 1 };
    case 'Gemm': {
      const transB = node.attribute.find((a) => a.name === 'transB');
      return { initializer: w, axis: transB && transB.i !== 0n ? 0 : 1 };
    }
    case 'MatMul':
      return { initializer: w, axis: 1 };
  }
  return undefined;
}

/**
 * Collects, for every variable, the weights that produce it: the slices of all producer weights
 * along their output axis (several producers when channels are coupled by residual adds).
 * Returned as one flat vector per variable so norms and cosines treat coupled filters as one.
 */
export function producerFilters(model: OnnxModel, deps: DependencyAnalysis): Float32Array[] {
  // Typed slices, concatenated once per variable: VGG's classifier alone is 10⁸ weights, which as
  // number arrays took seconds and gigabytes.
  const parts: Float32Array[][] = deps.variables.map(() => []);
  const seen = new Set<string>();
  for (const group of deps.groups) {
    for (const p of group.producers) {
      const pw = producerWeight(model, p);
      if (!pw || seen.has(`${p}|${pw.initializer}`)) continue;
      seen.add(`${p}|${pw.initializer}`);
      const slice = deps.params.find((s) => s.node === p && s.initializer === pw.initializer && s.axis === pw.axis);
      if (!slice) continue;
      const t = model.floatInitializer(pw.initializer);
      const dims = t.dims;
      const outer = dims.slice(0, pw.axis).reduce((a, b) => a * b, 1);
      const len = dims[pw.axis]!;
      const inner = dims.slice(pw.axis + 1).reduce((a, b) => a * b, 1);
      for (let c = 0; c < len; c++) {
        const v = slice.variable[Math.floor(c / slice.block)]!;
        if (v < 0) continue;
        const filter = new Float32Array(outer * inner);
        for (let o = 0; o < outer; o++) {
          const base = (o * len + c) * inner;
          for (let k = 0; k < inner; k++) filter[o * inner + k] = t.data[base + k]!;
        }
        parts[v]!.push(filter);
      }
    }
  }
  return parts.map((ps) => {
    if (ps.length === 1) return ps[0]!;
    const out = new Float32Array(ps.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of ps) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });
}

export interface WeightScores {
  l2: Float64Array;
}

/**
 * ‖W_i‖₂ of each variable's producing filters (reported, not used for selection). The L1 score is
 * prune/masks.ts l1Scores: one definition for the data-free and the pipeline methods.
 */
export function weightNorms(filters: Float32Array[]): WeightScores {
  const n = filters.length;
  const l2 = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const f = filters[v]!;
    let b = 0;
    for (let k = 0; k < f.length; k++) b += f[k]! * f[k]!;
    l2[v] = Math.sqrt(b);
  }
  return { l2 };
}

/** |cos| between the filters of each pair of variables in a group: size×size, row-major. */
export function weightCosine(filters: Float32Array[], variables: Int32Array): Float64Array {
  const c = variables.length;
  const s = new Float64Array(c * c);
  const norms = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    const f = filters[variables[i]!]!;
    let q = 0;
    for (let k = 0; k < f.length; k++) q += f[k]! * f[k]!;
    norms[i] = Math.sqrt(q);
  }
  for (let i = 0; i < c; i++) {
    s[i * c + i] = 1;
    const fi = filters[variables[i]!]!;
    for (let j = i + 1; j < c; j++) {
      const fj = filters[variables[j]!]!;
      let dot = 0;
      const len = Math.min(fi.length, fj.length);
      for (let k = 0; k < len; k++) dot += fi[k]! * fj[k]!;
      const den = norms[i]! * norms[j]!;
      const v = den > 0 ? Math.min(1, Math.abs(dot) / den) : 0;
      s[i * c + j] = v;
      s[j * c + i] = v;
    }
  }
  return s;
}

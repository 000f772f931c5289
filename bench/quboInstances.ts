// Realistic synthetic QUBO instances for the solver benchmarks: layer-sized groups, log-normal
// importance with per-layer scale, and |cos| similarity of random low-rank "activations".
import { Rng } from '../src/core/util/rng';
import { buildQubo, type QuboGroupInput, type QuboInstance } from '../src/core/qubo';

export function groupSizesFor(n: number, rng: Rng): number[] {
  const choices = [16, 32, 64, 128, 256].filter((c) => c <= Math.max(16, n / 4));
  const sizes: number[] = [];
  let left = n;
  while (left > 0) {
    const c = Math.min(left, choices[rng.nextInt(choices.length)]!);
    sizes.push(c);
    left -= c;
  }
  return sizes;
}

export function featureSimilarity(rng: Rng, size: number): Float64Array {
  const dim = 64;
  const rank = 4 + rng.nextInt(13);
  const basis = Array.from({ length: rank }, () => Float64Array.from({ length: dim }, () => rng.normal()));
  const feats = new Float64Array(size * dim);
  for (let i = 0; i < size; i++) {
    for (let r = 0; r < rank; r++) {
      const w = rng.normal();
      const b = basis[r]!;
      for (let d = 0; d < dim; d++) feats[i * dim + d]! += w * b[d]!;
    }
    for (let d = 0; d < dim; d++) feats[i * dim + d]! += 0.7 * Math.sqrt(rank) * rng.normal();
  }
  const norm = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += feats[i * dim + d]! ** 2;
    norm[i] = Math.sqrt(s);
  }
  const S = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    S[i * size + i] = 1;
    for (let j = i + 1; j < size; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += feats[i * dim + d]! * feats[j * dim + d]!;
      S[i * size + j] = S[j * size + i] = Math.min(1, Math.abs(dot) / (norm[i]! * norm[j]!));
    }
  }
  return S;
}

export function realisticInstance(n: number, seed: number, opts: { beta?: number; sparsity?: number; roundTo?: number; sigma?: number } = {}): QuboInstance {
  const rng = new Rng(seed);
  const groups: QuboGroupInput[] = groupSizesFor(n, rng).map((size, g) => {
    const layerScale = Math.exp(0.5 * (opts.sigma ?? 1) * rng.normal());
    const sigma = opts.sigma ?? 1;
    const taylor = Float64Array.from({ length: size }, () => layerScale * Math.exp(sigma * rng.normal()));
    // Fisher correlates with Taylor but is not the same ranking.
    const fisher = Float64Array.from(taylor, (t) => t * t * Math.exp(0.5 * (opts.sigma ?? 1) * rng.normal()));
    return { id: `layer${g}`, size, taylor, fisher, similarity: featureSimilarity(rng, size) };
  });
  return buildQubo(groups, { beta: opts.beta ?? 0.1, sparsity: opts.sparsity ?? 0.36, roundTo: opts.roundTo ?? 1 });
}

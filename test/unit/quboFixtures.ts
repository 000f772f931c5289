import { Rng } from '../../src/core/util/rng';
import { buildQubo, instanceLevels, type QuboGroupInput, type QuboInstance } from '../../src/core/qubo';

/** |cos| between rows of random low-rank features: realistic redundancy structure in [0,1]. */
export function lowRankSimilarity(rng: Rng, size: number, rank: number, noise: number): Float64Array {
  const feats: Float64Array[] = [];
  const basis: Float64Array[] = [];
  const dim = 16;
  for (let r = 0; r < rank; r++) basis.push(Float64Array.from({ length: dim }, () => rng.normal()));
  for (let i = 0; i < size; i++) {
    const v = new Float64Array(dim);
    for (let r = 0; r < rank; r++) {
      const w = rng.normal();
      for (let d = 0; d < dim; d++) v[d]! += w * basis[r]![d]!;
    }
    for (let d = 0; d < dim; d++) v[d]! += noise * rng.normal();
    feats.push(v);
  }
  const S = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let dot = 0;
      let ni = 0;
      let nj = 0;
      for (let d = 0; d < dim; d++) {
        dot += feats[i]![d]! * feats[j]![d]!;
        ni += feats[i]![d]! ** 2;
        nj += feats[j]![d]! ** 2;
      }
      S[i * size + j] = Math.min(1, Math.abs(dot) / Math.sqrt(ni * nj + 1e-300));
    }
  }
  return S;
}

export interface RandomInstanceSpec {
  sizes: number[];
  beta: number;
  rho: number;
  roundTo: number;
  /** 'tight-low' near the floors, 'tight-high' near n, 'loose' anywhere. */
  kMode: 'tight-low' | 'tight-high' | 'loose';
}

export function randomSpec(rng: Rng, maxN: number): RandomInstanceSpec {
  const G = 1 + rng.nextInt(5);
  const sizes: number[] = [];
  let total = 0;
  for (let g = 0; g < G; g++) {
    const room = maxN - total - (G - g - 1);
    if (room < 1) break;
    const s = 1 + rng.nextInt(Math.min(room, g === 0 ? 14 : 10));
    sizes.push(s);
    total += s;
  }
  const betas = [0, 0.05, 0.2, 0.5, 1.5];
  const modes = ['tight-low', 'tight-high', 'loose', 'loose'] as const;
  return {
    sizes,
    beta: betas[rng.nextInt(betas.length)]!,
    rho: [0, 0.1, 0.3][rng.nextInt(3)]!,
    roundTo: rng.next() < 0.3 ? 2 + rng.nextInt(3) : 1,
    kMode: modes[rng.nextInt(modes.length)]!,
  };
}

export function instanceFromSpec(rng: Rng, spec: RandomInstanceSpec): { inst: QuboInstance; groups: QuboGroupInput[] } {
  const groups: QuboGroupInput[] = spec.sizes.map((size, g) => ({
    id: `g${g}`,
    size,
    h: Float64Array.from({ length: size }, () => Math.exp(0.8 * rng.normal())),
    similarity: lowRankSimilarity(rng, size, 1 + rng.nextInt(3), 0.3 + rng.next()),
  }));
  const inst = buildQubo(groups, { objective: 'direct', beta: spec.beta, rho: spec.rho, roundTo: spec.roundTo, sparsity: 0 });
  const levels = instanceLevels(inst);
  const ok: number[] = [];
  for (let k = 0; k <= inst.n; k++) if (levels.reach[k]) ok.push(k);
  let K: number;
  if (spec.kMode === 'tight-low') K = ok[Math.min(ok.length - 1, rng.nextInt(2))]!;
  else if (spec.kMode === 'tight-high') K = ok[Math.max(0, ok.length - 1 - rng.nextInt(2))]!;
  else K = ok[rng.nextInt(ok.length)]!;
  inst.K = K;
  inst.kRequested = K;
  return { inst, groups };
}

import { Rng } from '../util/rng';
import { DataError } from './errors';

export type NoiseSpec =
  | { kind: 'gaussian'; /** σ in 0–255 units, as in the denoising literature. */ sigma255: number }
  | { kind: 'poisson-gaussian'; a: number; b: number };

const NUM = '([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)';
const GAUSSIAN = new RegExp(`^gaussian:${NUM}$`);
const POISSON_GAUSSIAN = new RegExp(`^poisson-gaussian:${NUM},${NUM}$`);

/** Parses `gaussian:σ` (σ in 0–255 units) or `poisson-gaussian:a,b` (variance a·x + b on [0, 1]). */
export function parseNoiseSpec(spec: string): NoiseSpec {
  const s = spec.trim().toLowerCase().replace(/\s+/g, '');
  let m = GAUSSIAN.exec(s);
  if (m) return { kind: 'gaussian', sigma255: Number(m[1]) };
  m = POISSON_GAUSSIAN.exec(s);
  if (m) return { kind: 'poisson-gaussian', a: Number(m[1]), b: Number(m[2]) };
  throw new DataError(
    'unknown-noise-spec',
    `Unknown noise spec "${spec}". Use "gaussian:<sigma 0-255>" (e.g. gaussian:25) or "poisson-gaussian:<a>,<b>" (e.g. poisson-gaussian:0.01,0.0004).`,
  );
}

export function formatNoiseSpec(n: NoiseSpec): string {
  return n.kind === 'gaussian' ? `gaussian:${n.sigma255}` : `poisson-gaussian:${n.a},${n.b}`;
}

/** Mixes integers into one 32-bit seed, so each (seed, image, crop) gets its own independent stream. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/**
 * Returns a noisy copy of `clean` (values in [0, 1]). Not clipped unless asked: clipping changes
 * the noise statistics the model was trained against.
 */
export function addNoise(clean: Float32Array, spec: NoiseSpec, rng: Rng, clip = false): Float32Array {
  const out = new Float32Array(clean.length);
  if (spec.kind === 'gaussian') {
    const sd = spec.sigma255 / 255;
    for (let i = 0; i < clean.length; i++) out[i] = clean[i]! + sd * rng.normal();
  } else {
    for (let i = 0; i < clean.length; i++) {
      const x = clean[i]!;
      const v = spec.a * x + spec.b;
      out[i] = x + (v > 0 ? Math.sqrt(v) : 0) * rng.normal();
    }
  }
  if (clip) for (let i = 0; i < out.length; i++) out[i] = out[i]! < 0 ? 0 : out[i]! > 1 ? 1 : out[i]!;
  return out;
}

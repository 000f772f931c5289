// Shared vocabulary of the fuzz suite: what a case is, what it builds, and the seeded helpers the
// mutators draw from. A case is a pure function of (seed, family, index), so a worker process can
// rebuild exactly the case the parent asked for, and a failure is replayed from its id alone.
import * as path from 'node:path';
import { Rng } from '../../src/core/util/rng';

export const FAMILIES = ['model-bytes', 'model-structure', 'external-data', 'data-folder', 'preset'] as const;
export type Family = (typeof FAMILIES)[number];

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** What a case's build step leaves in its folder, and how the executor is to run it. */
export type CaseInput =
  | {
      kind: 'model';
      /** The (mutated) model, inside the case folder. */
      model: string;
      task: 'denoise' | 'classify';
    }
  | {
      kind: 'data';
      data: string;
      task: 'denoise' | 'classify';
      /** Extra check of a loaded dataset (e.g. exact 16-bit values); returns what is wrong. */
      verify?: (batch: { input: Float32Array; shape: number[]; names: string[] }) => string | undefined;
    }
  | {
      kind: 'preset';
      /** The config file's text (a JSONC preset file given to --config), if any. */
      configText?: string;
      /** Overrides handed to validateOverrides/resolvePreset as they are (workspace settings). */
      overrides?: unknown;
      userPresets?: Record<string, unknown>;
      presetName?: string;
      /** CLI flags the case adds (e.g. --sparsity). */
      flags?: Record<string, string>;
    };

export interface FuzzCase {
  /** `family/index`: with the seed, all it takes to rebuild the case. */
  id: string;
  family: Family;
  /** The mutation, in words (logged with every non-ok outcome). */
  name: string;
  /**
   * The input is bad in a way that must be refused (an external-data path that escapes the
   * model's folder, a link to a device): a successful run is then a failure ('accepted-bad').
   */
  mustFail?: boolean;
  /** Writes the case's files into `dir` (an empty folder of its own). */
  build(dir: string): Promise<CaseInput> | CaseInput;
}

export type CaseMaker = (rng: Rng, index: number) => FuzzCase | Omit<FuzzCase, 'id' | 'family'>;

/** An independent stream per (seed, family, index): cases do not shift when others are added. */
export function caseRng(seed: number, family: Family, index: number): Rng {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${family}/${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return new Rng(h >>> 0);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)]!;
}

/** Picks one of several weighted makers. */
export function weighted<T>(rng: Rng, items: readonly [number, T][]): T {
  const total = items.reduce((a, [w]) => a + w, 0);
  let r = rng.next() * total;
  for (const [w, v] of items) {
    r -= w;
    if (r < 0) return v;
  }
  return items[items.length - 1]![1];
}

// Latency fits cost seconds to measure and depend only on the model, the provider and the input
// size, so they are kept on disk under a key of exactly those. The CLI keeps them in
// $XDG_CACHE_HOME/qubo-prune/latency (else ~/.cache/qubo-prune/latency), the extension in its
// globalStorage; the caller passes the folder. Writes are atomic, so a killed run leaves either
// the old file or the new one, and a damaged or foreign file is ignored (re-measured), not trusted.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite';

/** Bumped when what a cached entry means changes, so old files are re-measured (4: whole-model fits replaced per-layer tables). */
export const LATENCY_CACHE_VERSION = 4;

export interface LatencyCacheKey {
  /** sha256 of the model bytes (hex). */
  modelSha256: string;
  provider: string;
  /** [1, C, H, W] the tables were measured at. */
  inputShape: number[];
}

export function modelDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** File name of a key: a digest of every field, so any change of model, provider or size misses. */
export function latencyCacheFile(dir: string, key: LatencyCacheKey): string {
  const id = createHash('sha256').update(JSON.stringify([LATENCY_CACHE_VERSION, key.modelSha256, key.provider, key.inputShape])).digest('hex').slice(0, 32);
  return path.join(dir, `${id}.json`);
}

/** The CLI's cache folder for `env` (XDG_CACHE_HOME when set and absolute, as the XDG spec asks). */
export function defaultLatencyCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache');
  return path.join(base, 'qubo-prune', 'latency');
}

export function readCached<T>(dir: string, key: LatencyCacheKey, isValid: (v: unknown) => v is T): T | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(latencyCacheFile(dir, key), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as { version?: unknown; key?: unknown; value?: unknown };
  // The key is stored in full and compared, so a (vanishingly unlikely) digest collision cannot serve another model's table.
  if (d.version !== LATENCY_CACHE_VERSION || JSON.stringify(d.key) !== JSON.stringify(key)) return undefined;
  return isValid(d.value) ? d.value : undefined;
}

export async function writeCached(dir: string, key: LatencyCacheKey, value: unknown): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeFileAtomic(latencyCacheFile(dir, key), JSON.stringify({ version: LATENCY_CACHE_VERSION, key, value }) + '\n');
}

// Up-front size checks. Allocating a typed array past V8's limit throws a bare RangeError, and one
// that fits the limit but not the machine takes the process down with it; either way the user
// learns nothing about which input was too big. Callers estimate what they are about to allocate
// and compare it with these limits first.
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

const GiB = 1024 ** 3;

/** Longest typed array V8 (Node ≥ 20, 64-bit) will allocate. */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32 - 1;

/**
 * Bytes one working structure (an activation, the QUBO matrices) may take: a quarter of the
 * machine's memory, at most 4 GiB. Other buffers (onnxruntime's own, the model, the data cache)
 * live beside it, so the budget stays well under what the machine has.
 */
export function memoryBudgetBytes(): number {
  return Math.min(os.totalmem() / 4, 4 * GiB);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 4) return `${(n / 1024 ** 4).toFixed(1)} TiB`;
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/** Environment variable that caps the memory a run may assume (e.g. `1G`, `512M`, bytes). */
export const MEMORY_LIMIT_ENV = 'QUBO_PRUNE_MEMORY_LIMIT';

export interface MemoryLimit {
  bytes: number;
  /** Where the figure comes from, for messages. */
  source: string;
}

/** `1G`, `1.5GiB`, `512M`, `64k` or a plain byte count; undefined when unparseable. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Number(m[1]) * scale;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

function readNumber(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const n = Number(text);
    return text !== '' && Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Memory this process can still count on: QUBO_PRUNE_MEMORY_LIMIT when set (it wins, so tests and
 * users can lower it), else the machine's available memory, lowered to what the container's
 * cgroup (v2 or v1) still allows. A process over a cgroup limit is killed by the OOM killer with
 * no message, which is what the up-front checks against this figure prevent.
 */
export function memoryLimit(): MemoryLimit {
  const env = process.env[MEMORY_LIMIT_ENV];
  if (env !== undefined && env !== '') {
    const bytes = parseByteSize(env);
    if (bytes !== undefined) return { bytes, source: `${MEMORY_LIMIT_ENV}=${env}` };
  }
  let limit: MemoryLimit = { bytes: os.freemem(), source: 'available memory' };
  const cgroups: [string, string][] = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ];
  for (const [maxFile, usedFile] of cgroups) {
    const max = readNumber(maxFile);
    // v2 writes 'max' (no number) and v1 a huge number when there is no limit.
    if (max === undefined || max >= 2 ** 60) continue;
    // Inactive page cache counts as used but is given back under pressure.
    const free = Math.max(0, max - (readNumber(usedFile) ?? 0) + inactiveFileBytes(maxFile));
    if (free < limit.bytes) limit = { bytes: free, source: `the container's memory limit (${formatBytes(max)})` };
    break;
  }
  return limit;
}

function inactiveFileBytes(maxFile: string): number {
  try {
    const stat = readFileSync(maxFile.replace(/memory\.(max|limit_in_bytes)$/, 'memory.stat'), 'utf8');
    const m = /^(?:total_)?inactive_file (\d+)$/m.exec(stat);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// Up-front size checks. Allocating a typed array past V8's limit throws a bare RangeError, and one
// that fits the limit but not the machine takes the process down with it; either way the user
// learns nothing about which input was too big. Callers estimate what they are about to allocate
// and compare it with these limits first.
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

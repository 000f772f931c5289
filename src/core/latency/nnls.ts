// Non-negative least squares (Lawson and Hanson's active-set method, "Solving Least Squares
// Problems", 1974, ch. 23): min ‖A·x − b‖ subject to x ≥ 0. The latency model's coefficients are
// times per MAC, per activation element and a fixed cost; a negative one would make a pruned
// model predict slower than an unpruned one, so the constraint is what keeps the cost monotone in
// the kept counts. Problems here are tiny (≤ a dozen rows and columns), so the inner least-squares
// solves go through the normal equations, on columns scaled to unit norm.

export interface NnlsResult {
  x: Float64Array;
  /** ‖A·x − b‖². */
  residual: number;
}

/** Solves the n×n system m·x = r (row-major) by Gaussian elimination with partial pivoting; undefined when singular. */
function solveSquare(m: Float64Array, r: Float64Array, n: number): Float64Array | undefined {
  const a = Float64Array.from(m);
  const y = Float64Array.from(r);
  const scale = Math.max(1e-300, ...a.map(Math.abs));
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(a[i * n + col]!) > Math.abs(a[p * n + col]!)) p = i;
    if (Math.abs(a[p * n + col]!) < 1e-12 * scale) return undefined;
    if (p !== col) {
      for (let k = 0; k < n; k++) [a[col * n + k], a[p * n + k]] = [a[p * n + k]!, a[col * n + k]!];
      [y[col], y[p]] = [y[p]!, y[col]!];
    }
    for (let i = col + 1; i < n; i++) {
      const f = a[i * n + col]! / a[col * n + col]!;
      if (f === 0) continue;
      for (let k = col; k < n; k++) a[i * n + k] -= f * a[col * n + k]!;
      y[i] -= f * y[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= a[i * n + k]! * x[k]!;
    x[i] = s / a[i * n + i]!;
  }
  return x;
}

/** Unconstrained least squares on the columns in `set` (others 0); undefined when they are linearly dependent. */
function leastSquaresOn(a: Float64Array, b: Float64Array, rows: number, cols: number, set: readonly number[]): Float64Array | undefined {
  const k = set.length;
  const m = new Float64Array(k * k);
  const r = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < k; p++) {
      const ap = a[i * cols + set[p]!]!;
      r[p] += ap * b[i]!;
      for (let q = 0; q < k; q++) m[p * k + q] += ap * a[i * cols + set[q]!]!;
    }
  }
  const z = solveSquare(m, r, k);
  if (!z) return undefined;
  const x = new Float64Array(cols);
  set.forEach((j, p) => (x[j] = z[p]!));
  return x;
}

function residualOf(a: Float64Array, b: Float64Array, x: Float64Array, rows: number, cols: number): Float64Array {
  const res = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = b[i]!;
    for (let j = 0; j < cols; j++) s -= a[i * cols + j]! * x[j]!;
    res[i] = s;
  }
  return res;
}

/**
 * min ‖A·x − b‖ over x ≥ 0, A row-major rows×cols. Columns are scaled to unit norm internally (an
 * all-zero column keeps coefficient 0), so features in MACs (10⁹) and in elements (10⁵) mix.
 */
export function nnls(aIn: ArrayLike<number>, bIn: ArrayLike<number>, rows: number, cols: number): NnlsResult {
  if (aIn.length !== rows * cols || bIn.length !== rows) throw new RangeError(`nnls: A must be ${rows}×${cols} and b ${rows} long, got ${aIn.length} and ${bIn.length} entries`);
  for (let i = 0; i < aIn.length; i++) if (!Number.isFinite(aIn[i]!)) throw new RangeError('nnls: A has a NaN or infinite entry');
  for (let i = 0; i < rows; i++) if (!Number.isFinite(bIn[i]!)) throw new RangeError('nnls: b has a NaN or infinite entry');
  const norm = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += aIn[i * cols + j]! ** 2;
    norm[j] = Math.sqrt(s);
  }
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) a[i * cols + j] = norm[j]! > 0 ? aIn[i * cols + j]! / norm[j]! : 0;
  const b = Float64Array.from(bIn);
  const bNorm = Math.sqrt(b.reduce((s, v) => s + v * v, 0));
  const tol = 1e-12 * Math.max(1, bNorm) * Math.max(1, rows, cols);
  const x = new Float64Array(cols);
  const passive = new Set<number>();
  // Columns found to duplicate the passive ones: never tried again.
  const dependent = new Set<number>();
  const usable = (j: number) => norm[j]! > 0 && !dependent.has(j);
  const gradient = () => {
    const res = residualOf(a, b, x, rows, cols);
    const w = new Float64Array(cols);
    for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) w[j] += a[i * cols + j]! * res[i]!;
    return w;
  };
  // Each outer step adds a column for good; 3·cols bounds the outer loop as the usual implementations do.
  for (let outer = 0; outer < 3 * cols + 3; outer++) {
    const w = gradient();
    let j = -1;
    for (let k = 0; k < cols; k++) if (!passive.has(k) && usable(k) && w[k]! > tol && (j < 0 || w[k]! > w[j]!)) j = k;
    if (j < 0) break;
    passive.add(j);
    for (let inner = 0; inner < 3 * cols + 3; inner++) {
      const set = [...passive].sort((p, q) => p - q);
      const z = leastSquaresOn(a, b, rows, cols, set);
      if (!z) {
        // The new column duplicates the passive ones: it cannot lower the residual, so it leaves.
        passive.delete(j);
        dependent.add(j);
        break;
      }
      if (set.every((k) => z[k]! > 0)) {
        x.set(z);
        break;
      }
      // Step from x towards z as far as feasibility allows, and drop the columns that hit zero.
      let alpha = 1;
      for (const k of set) if (z[k]! <= 0) alpha = Math.min(alpha, x[k]! / (x[k]! - z[k]!));
      for (let k = 0; k < cols; k++) x[k] += alpha * (z[k]! - x[k]!);
      for (const k of set) if (x[k]! <= 1e-15) {
        x[k] = 0;
        passive.delete(k);
      }
    }
  }
  const res = residualOf(a, b, x, rows, cols);
  const out = Float64Array.from(x, (v, j) => (norm[j]! > 0 ? Math.max(0, v) / norm[j]! : 0));
  return { x: out, residual: res.reduce((s, v) => s + v * v, 0) };
}

/** One channel group as the pruning pipeline hands it to the QUBO builder. */
export interface QuboGroupInput {
  /** Stable name of the group (used in reports and in the CLI's JSON). */
  id: string;
  /** Number of channels (binary variables) in the group. */
  size: number;
  /** First-order Taylor importance T_i (≥ 0), length `size`. */
  taylor?: Float64Array;
  /** Diagonal Fisher importance F_i (≥ 0), length `size`. */
  fisher?: Float64Array;
  /** Filter L1 norms (≥ 0), length `size`; linear term of the L1-QUBO baseline. */
  l1?: Float64Array;
  /** Linear gains used as they are by the 'direct' objective (any finite values). */
  h?: Float64Array;
  /** Activation |cos| similarity, size×size row-major, values in [0,1]; diagonal ignored. */
  similarity?: Float64Array;
  /** Filter-weight |cos| similarity, size×size row-major; quadratic term of the L1-QUBO. */
  weightSimilarity?: Float64Array;
  /** Minimum kept count; default max(1, ceil(rho·size)). Raised to the next allowed count under round-to. */
  floor?: number;
  /** Kept count must be a multiple of this or the full size; overrides the global option. */
  roundTo?: number;
  /** All channels kept (floor = size); excluded from the count sparsity applies to. */
  locked?: boolean;
}

/**
 * 'hybrid': h = α·T/mean(T) + (1−α)·F/mean(F), S = activation similarity (METHOD §3–5).
 * 'l1': h = L1/mean(L1), S = filter-weight similarity (METHOD §7 baseline).
 * 'direct': h taken from the `h` field, S = activation similarity (benchmarks, external scores).
 */
export type QuboObjective = 'hybrid' | 'l1' | 'direct';

export interface QuboBuildOptions {
  objective?: QuboObjective;
  /** Taylor/Fisher mix, in [0,1]. */
  alpha?: number;
  /** Scale of the redundancy term, ≥ 0 (dimensionless: multiplied by the group's mean h). */
  beta?: number;
  /** Floor fraction in [0,1]. */
  rho?: number;
  /** Global round-to multiple (1 = none). */
  roundTo?: number;
  /** Filter sparsity s in [0,1]: K = locked + round((1−s)·unlocked), moved to the nearest achievable count. */
  sparsity?: number;
  /** Exact total kept count K (locked channels included); must be achievable. Takes precedence over sparsity. */
  keep?: number;
}

/** Lower-level group description: linear gains and an already scaled quadratic block. */
export interface QuboTermsGroup {
  id: string;
  size: number;
  h: Float64Array;
  /** size×size symmetric, zero diagonal; absent = no quadratic term. */
  Q?: Float64Array;
  floor: number;
  roundTo?: number;
  locked?: boolean;
}

/**
 * A built instance: minimise E(x) = −Σ h_i x_i + Σ_g Σ_{i<j in g} Q_ij x_i x_j subject to Σx = K,
 * each group's kept count in its allowed levels (floor..size, multiples of roundTo or size).
 * Variables are laid out group after group.
 */
export interface QuboInstance {
  n: number;
  groupCount: number;
  groupIds: string[];
  /** Group of each variable. */
  groupOf: Int32Array;
  groupStart: Int32Array;
  groupSize: Int32Array;
  h: Float64Array;
  /** Per group, dense size×size, symmetric, zero diagonal (already β·mean_h scaled). */
  Q: Float64Array[];
  /** Effective floors (already raised to an allowed count; = size when locked). */
  floors: Int32Array;
  /** Per group round-to multiple (1 = none). */
  roundTo: Int32Array;
  locked: Uint8Array;
  /** Exact number of kept variables. */
  K: number;
  /** K before moving it to an achievable count (equals K unless round-to forced a change). */
  kRequested: number;
  objective: QuboObjective | 'terms';
  alpha: number;
  beta: number;
}

export interface TracePoint {
  iteration: number;
  energy: number;
  timeMs: number;
}

export interface SearchProgress {
  iteration: number;
  bestEnergy: number;
  currentEnergy: number;
  timeMs: number;
}

export interface SearchOptions {
  seed?: number;
  /** Iteration budget (one iteration = one move). Default when neither budget is given: defaultIterations(n). */
  maxIterations?: number;
  /** Wall-clock budget; makes the result depend on machine speed. */
  timeMs?: number;
  /** Stop as soon as the best energy is ≤ this (benchmarks: time to target). */
  targetEnergy?: number;
  /** Start from this feasible mask instead of the greedy start. */
  initial?: Uint8Array;
  /** Candidate list length per group (best kept/pruned by field). */
  candidates?: number;
  /** Iterations without a new best before a perturbation. */
  stallIterations?: number;
  /** Base tabu tenure; default from n and K. */
  tenure?: number;
  onProgress?: (p: SearchProgress) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
  /** Maximum number of trace points kept (older points are thinned). */
  traceLimit?: number;
}

export type StopReason = 'iterations' | 'time' | 'target' | 'aborted' | 'trivial';

export interface SearchResult {
  mask: Uint8Array;
  energy: number;
  /** Kept count per group. */
  capacities: Int32Array;
  iterations: number;
  timeMs: number;
  /** (iteration, best energy, time) at every improvement of the best, thinned to traceLimit. */
  trace: TracePoint[];
  stopReason: StopReason;
  /** Iteration at which the returned best was first reached. */
  bestIteration: number;
  restarts: number;
}

// Rows the suite records; results.json holds them as they are, tables and charts are derived.

export type BenchMethod = 'random' | 'l1' | 'taylor' | 'fisher' | 'l1-qubo' | 'hybrid-paper' | 'hybrid' | 'hybrid+tt-layers' | 'hybrid+tt-network';

export const METHOD_ORDER: readonly BenchMethod[] = ['random', 'l1', 'taylor', 'fisher', 'l1-qubo', 'hybrid-paper', 'hybrid', 'hybrid+tt-layers', 'hybrid+tt-network'];

export const METHOD_LABEL: Record<BenchMethod, string> = {
  random: 'random',
  l1: 'L1 greedy',
  taylor: 'Taylor greedy',
  fisher: 'Fisher greedy',
  'l1-qubo': 'L1-QUBO',
  'hybrid-paper': 'Hybrid QUBO (paper form)',
  hybrid: 'Hybrid QUBO (defaults)',
  'hybrid+tt-layers': 'Hybrid + TT (8 layers)',
  'hybrid+tt-network': 'Hybrid + TT (network)',
};

export interface MethodRow {
  model: string;
  seed: number;
  sparsity: number;
  method: BenchMethod;
  /** Test split, measured on the exported (physically pruned) model. */
  psnr: number;
  ssim: number;
  params: number;
  macs: number;
  /** Median CPU latency of the exported model at latencyShape, ms. */
  latencyMs: number;
  /** Wall time of the run for this method: its share of preparation, selection and refinement, s. */
  seconds: number;
  /** Kept channels per group, in group order. */
  kept: number[];
  /** Refinement only: validation PSNR before/after and distinct evaluations. */
  valStart?: number;
  valBest?: number;
  evaluations?: number;
  /** Refinement only: whether the refined mask was kept (objective gain ≥ refine.minGain). */
  accepted?: boolean;
}

export interface DenseRow {
  model: string;
  psnr: number;
  ssim: number;
  params: number;
  macs: number;
  latencyMs: number;
  groups: string[];
  groupSizes: number[];
  variables: number;
}

export interface AblationRow {
  model: string;
  seed: number;
  family: string;
  setting: string;
  /** Test PSNR of the selected mask (gated model on the test split). */
  psnr: number;
  /** Validation PSNR of the same mask: the split the defaults are chosen on. */
  valPsnr: number;
  isDefault: boolean;
}

export interface StageRow {
  model: string;
  seed: number;
  /** Seconds per stage of the default configuration (hybrid, network refinement). */
  stages: Record<string, number>;
}

export interface ScalingRow {
  kind: 'search' | 'refine';
  model: string;
  /** search: variables n; refine: evaluation budget. */
  x: number;
  seconds: number;
  /** search: best energy found; refine: test gain of the refined mask over the QUBO mask (dB, before the minGain rule). */
  value: number;
  /** search: energy of the greedy start. */
  start?: number;
  evaluations?: number;
}

/** Budgets and data sizes shared by every model of a suite run. */
export interface SuiteConfig {
  models: string[];
  seeds: number[];
  sparsities: number[];
  samples: number;
  patch: number;
  valSamples: number;
  refineEvaluations: number;
  refineSeconds: number;
  searchTimeMs: number;
  latencyShape: number[];
}

export interface SuiteResults {
  schema: 1;
  quick: boolean;
  started: string;
  machine: { cpu: string; cores: number; node: string; ort: string; provider: string; platform: string };
  config: SuiteConfig;
  dense: DenseRow[];
  methods: MethodRow[];
  ablations: AblationRow[];
  stages: StageRow[];
  scaling: ScalingRow[];
  seconds: number;
}

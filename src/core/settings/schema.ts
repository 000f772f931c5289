// The settings of a pruning run as one TypeBox schema. The TypeScript types are derived from it
// (Static<>), presets and workspace settings are checked against it (settings/check.ts), and
// package.json's contributes.configuration and docs/SETTINGS.md are generated from it
// (tools/gen-config.ts), so a setting is added or changed here and nowhere else.
//
// Options beyond JSON Schema that the generator reads: `expects` (how an error message words what
// a value must be), `enumDescriptions` (shown by VS Code's settings UI for a list of literals).
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

/** A list of string literals, checked as an anyOf of consts and written to package.json as an enum. */
function choice<const T extends readonly string[]>(values: T, options: { description?: string; markdownDescription?: string; enumDescriptions?: string[] } = {}): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

export const METHODS = ['hybrid', 'taylor', 'l1-qubo', 'l1', 'random'] as const;
export const PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export const REFINE_SCOPES = ['off', 'layers', 'network'] as const;

export const MethodSchema = choice(METHODS, {
  description: 'Pruning method.',
  enumDescriptions: [
    'Hybrid QUBO: gradient importance (Taylor/Fisher) with joint-Fisher and activation-redundancy interactions',
    'Greedy first-order Taylor (baseline)',
    'L1-norm QUBO with weight similarity (data-free baseline)',
    'Greedy L1 magnitude (baseline)',
    'Random channels (sanity check)',
  ],
});
export const ProviderChoiceSchema = choice(PROVIDERS, { description: "onnxruntime execution provider requested ('auto' = the fastest that starts, falling back to CPU)." });
export const RefineScopeSchema = choice(REFINE_SCOPES, { description: "What the Tensor-Train refinement searches over: 'layers' = the `layers` largest groups, 'network' = every group." });

export const RefineSettingsSchema = Type.Object(
  {
    scope: RefineScopeSchema,
    layers: Type.Integer({ minimum: 1, maximum: 1000, description: "Number of groups refined in the 'layers' scope (the paper's setting is 8)." }),
    evaluations: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Most distinct masks the refinement may score.' }),
    seconds: Type.Number({ minimum: 0.1, maximum: 86400, description: 'Wall-time limit of the refinement in seconds (also capped by the run time budget).' }),
    rank: Type.Integer({ minimum: 1, maximum: 32, description: 'Tensor-Train rank of the search distribution.' }),
    valSamples: Type.Integer({ minimum: 1, maximum: 10000, description: 'Validation images per candidate evaluation.' }),
    // 'calib+val' scores on 7 photographs instead of 2 on the fixtures, which stops gains on
    // validation from turning into losses on test (docs/BENCHMARKS.md).
    data: choice(['val', 'calib+val'] as const, { description: 'Score refinement candidates on the validation crops alone, or on calibration and validation crops (default; generalises better).' }),
    // Smaller gains were measured to be noise that costs on test.
    minGain: Type.Number({ minimum: 0, maximum: 100, description: 'Keep the refined mask only when it gains at least this much on the refinement objective (dB of PSNR, or accuracy).' }),
  },
  { additionalProperties: false, description: 'Tensor-Train refinement against the true metric.' },
);

const ratio = (description: string) => Type.Number({ exclusiveMinimum: 0, maximum: 1, description });

/** Exactly one constraint: each branch admits one key, so a value naming two matches none. */
export const BudgetSchema = Type.Union(
  [
    Type.Object({ macs: ratio("MACs of the pruned model as a fraction of the original's.") }, { additionalProperties: false }),
    Type.Object({ params: ratio("Parameters of the pruned model as a fraction of the original's.") }, { additionalProperties: false }),
    Type.Object({ latencyMs: Type.Number({ exclusiveMinimum: 0, maximum: 3_600_000, description: 'Median latency of the pruned model in milliseconds.' }) }, { additionalProperties: false }),
    Type.Object({ latencyRatio: ratio("Latency of the pruned model as a fraction of the original's.") }, { additionalProperties: false }),
  ],
  {
    expects: 'an object with exactly one of macs, params, latencyMs, latencyRatio',
    markdownDescription: "Resource budget that replaces `sparsity` as the exact constraint: exactly one of `macs`, `params`, `latencyRatio` (fractions of the original's, in (0, 1]) or `latencyMs`. `null` (default) = use `sparsity`.",
  },
);

export const RecoverSchema = Type.Object(
  {
    steps: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Fine-tuning steps after pruning.' }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Learning rate.' }),
    batch: Type.Integer({ minimum: 1, maximum: 4096, description: 'Samples per step.' }),
    distill: choice(['output', 'features'] as const, { description: "What the pruned model learns from the original: its outputs, or its intermediate features as well." }),
    timeBudget: Type.Number({ exclusiveMinimum: 0, maximum: 86400, description: 'Wall-time limit of the fine-tuning in seconds.' }),
    patience: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Validation checks without a gain before stopping early.' }),
  },
  { additionalProperties: false },
);

const RECOVER_DOC = 'Fine-tuning after pruning (knowledge distillation from the original model): `{ steps, lr, batch, distill, timeBudget, patience }`, or `false` / `null` for none.';
const RecoverSettingSchema = Type.Union([Type.Literal(false), Type.Null(), RecoverSchema], {
  expects: 'false, null or { steps, lr, batch, distill, timeBudget, patience }',
  markdownDescription: RECOVER_DOC,
});

const NoiseSchema = Type.Union([Type.Null(), Type.String({ pattern: '^(gaussian:[0-9.]+|poisson-gaussian:[0-9.eE-]+,[0-9.eE-]+)$' })], {
  expects: "null, 'gaussian:σ' or 'poisson-gaussian:a,b'",
  description: "Synthetic noise for clean-only data folders: 'gaussian:sigma' (sigma on 0-255) or 'poisson-gaussian:a,b'.",
});

const ResizeSchema = Type.Union([Type.Integer({ minimum: 8, maximum: 8192 }), Type.Literal('auto'), Type.Null()], {
  expects: "null, 'auto' or a whole number of pixels",
  markdownDescription:
    "Classifier data: resize each image's shorter side to this many pixels (bilinear, antialiased) before the centre crop at the model's input size, as torchvision's `Resize` + `CenterCrop`. `\"auto\"` = crop size / 0.875 (256 for 224); `null` (default) crops images as they are.",
});

// One value per channel for gray models, three for colour; two fits neither.
const channelList = <T extends TSchema>(item: T, description: string) => Type.Union([Type.Tuple([item]), Type.Tuple([item, item, item])], { expects: 'a list of 1 or 3 numbers', description });

export const InputNormalizationSchema = Type.Union(
  [
    choice(['none', 'imagenet'] as const),
    Type.Object(
      {
        mean: channelList(Type.Number({ minimum: -10, maximum: 10 }), 'Subtracted per channel (one value for all channels, or one per RGB channel), each in [-10, 10].'),
        std: channelList(Type.Number({ exclusiveMinimum: 0, maximum: 10 }), 'Divided by per channel, each in (0, 10].'),
      },
      { additionalProperties: false },
    ),
  ],
  {
    expects: `'none', 'imagenet' or { "mean": [...], "std": [...] }`,
    markdownDescription:
      'Model-input normalisation `(x − mean) / std` after scaling pixels to [0, 1]: `"none"` (default), `"imagenet"` (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225) or `{ "mean": [...], "std": [...] }` with 1 or 3 values.',
  },
);

/** Every key of a run's settings with its schema; the full and the partial (preset) forms are built from it. */
const FIELDS = {
  method: MethodSchema,
  sparsity: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Fraction of prunable channels removed (filter sparsity), e.g. 0.36.' }),
  alpha: Type.Number({ minimum: 0, maximum: 1, description: 'Mix of normalised Taylor (alpha) and Fisher (1 - alpha) importance in the linear term.' }),
  beta: Type.Number({ minimum: 0, maximum: 100, description: 'Weight of the activation-redundancy (quadratic) term; 0 = off (the benchmark\'s default).' }),
  similarity: choice(['cosine', 'pearson'] as const, { description: 'Activation similarity used by the redundancy term: absolute cosine or absolute Pearson correlation.' }),
  gamma: Type.Number({ minimum: 0, maximum: 10, description: 'Weight of the joint-Fisher interaction between channels of a group (0 = off).' }),
  floor: Type.Number({ minimum: 0, maximum: 1, description: 'Minimum kept fraction per channel group (keeps max(1, ceil(floor * C))).' }),
  roundTo: Type.Integer({ minimum: 1, maximum: 256, description: 'Round kept channel counts to multiples of this (1 = off).' }),
  samples: Type.Integer({ minimum: 1, maximum: 100000, description: 'Calibration samples for gradients and statistics.' }),
  patch: Type.Integer({ minimum: 8, maximum: 4096, description: 'Square crop size of calibration/validation/test patches.' }),
  noise: NoiseSchema,
  searchTimeMs: Type.Number({ minimum: 1, maximum: 3_600_000, description: 'Time budget of the capacity search in milliseconds.' }),
  refine: RefineSettingsSchema,
  provider: ProviderChoiceSchema,
  seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seed of every random choice (crops, noise, search, refinement).' }),
  resize: ResizeSchema,
  normalize: InputNormalizationSchema,
  budget: Type.Union([Type.Null(), BudgetSchema], { expects: BudgetSchema.expects as string, markdownDescription: BudgetSchema.markdownDescription as string }),
  recover: RecoverSettingSchema,
  task: choice(['auto', 'classify', 'denoise', 'segment'] as const, {
    markdownDescription:
      "What the model does, which decides the loss and the metrics: `\"auto\"` (default) reads it from the output shape ([N, K] → classify; [N, K, H, W] with K = the input's channels → denoise; K ≠ the input's channels, K ≥ 2 → segment); set it when that guess is wrong, e.g. a 3-class segmentation model of RGB images.",
  }),
  allowLayerNormPruning: Type.Boolean({
    markdownDescription:
      'Also prune channels that a LayerNorm normalises together over the channel axis (ConvNeXt; fused `LayerNormalization` or the `ReduceMean … Div` chain of exports before opset 17). The kept channels are then normalised by their own mean and variance, so the pruned model is **not** equivalent to the masked one: fine-tune after pruning. Off by default (those channels stay locked).',
  }),
};

/**
 * Keys added after the first reports were written: optional in the full settings so those reports
 * (and settings objects written before them) stay valid.
 */
export const LATER_KEYS = ['resize', 'normalize', 'budget', 'recover', 'task'] as const;

/** Settings of one pruning run. */
export const PruneSettingsSchema = Type.Object(
  {
    method: FIELDS.method,
    sparsity: FIELDS.sparsity,
    alpha: FIELDS.alpha,
    beta: FIELDS.beta,
    similarity: FIELDS.similarity,
    gamma: FIELDS.gamma,
    floor: FIELDS.floor,
    roundTo: FIELDS.roundTo,
    samples: FIELDS.samples,
    patch: FIELDS.patch,
    noise: FIELDS.noise,
    searchTimeMs: FIELDS.searchTimeMs,
    refine: FIELDS.refine,
    provider: FIELDS.provider,
    seed: FIELDS.seed,
    resize: Type.Optional(FIELDS.resize),
    normalize: Type.Optional(FIELDS.normalize),
    budget: Type.Optional(FIELDS.budget),
    recover: Type.Optional(FIELDS.recover),
    task: Type.Optional(FIELDS.task),
    allowLayerNormPruning: Type.Optional(FIELDS.allowLayerNormPruning),
  },
  { additionalProperties: false },
);

/** A preset: any subset of the settings; `refine` and `recover` may name some of their keys only. */
export const PresetOverridesSchema = Type.Object(
  {
    method: Type.Optional(FIELDS.method),
    sparsity: Type.Optional(FIELDS.sparsity),
    alpha: Type.Optional(FIELDS.alpha),
    beta: Type.Optional(FIELDS.beta),
    similarity: Type.Optional(FIELDS.similarity),
    gamma: Type.Optional(FIELDS.gamma),
    floor: Type.Optional(FIELDS.floor),
    roundTo: Type.Optional(FIELDS.roundTo),
    samples: Type.Optional(FIELDS.samples),
    patch: Type.Optional(FIELDS.patch),
    noise: Type.Optional(FIELDS.noise),
    searchTimeMs: Type.Optional(FIELDS.searchTimeMs),
    refine: Type.Optional(Type.Partial(RefineSettingsSchema, { additionalProperties: false, description: RefineSettingsSchema.description as string })),
    provider: Type.Optional(FIELDS.provider),
    seed: Type.Optional(FIELDS.seed),
    resize: Type.Optional(FIELDS.resize),
    normalize: Type.Optional(FIELDS.normalize),
    budget: Type.Optional(FIELDS.budget),
    task: Type.Optional(FIELDS.task),
    allowLayerNormPruning: Type.Optional(FIELDS.allowLayerNormPruning),
    recover: Type.Optional(
      Type.Union([Type.Literal(false), Type.Null(), Type.Partial(RecoverSchema, { additionalProperties: false })], {
        expects: RecoverSettingSchema.expects as string,
        markdownDescription: `${RECOVER_DOC} Keys left out keep the preset's values (or the balanced preset's when the preset had none).`,
      }),
    ),
  },
  { additionalProperties: false },
);

export type Method = Static<typeof MethodSchema>;
export type ProviderChoice = Static<typeof ProviderChoiceSchema>;
export type RefineScope = Static<typeof RefineScopeSchema>;
export type RefineSettings = Static<typeof RefineSettingsSchema>;
export type InputNormalization = Static<typeof InputNormalizationSchema>;
export type Budget = Static<typeof BudgetSchema>;
export type RecoverSettings = Static<typeof RecoverSchema>;
export type PruneSettings = Static<typeof PruneSettingsSchema>;
export type PresetOverrides = Static<typeof PresetOverridesSchema>;

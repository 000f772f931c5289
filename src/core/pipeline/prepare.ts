// The front half of the pipeline, shared by `prune` and `importance`: analysis, data, the
// calibration pass through the gradient model, and per-channel importance and similarity.
import type { PipelineEvent, PruneSettings, StageName } from '../../protocol';
import { loadModel, normalizeGraph, valueInfoDims, type OnnxModel } from '../onnx';
import { type ProviderName } from '../runtime/session';
import { openModelSession } from '../runtime/modelSession';
import { inferShapes } from '../analysis/shapes';
import { analyzeLayers } from '../analysis/layers';
import { analyzeDependencies } from '../analysis/dependencyGroups';
import type { DependencyAnalysis } from '../analysis/types';
import { IMAGENET_MEAN, IMAGENET_STD, autoResize, loadDataset, type Dataset, type LoadDatasetOptions, type Task } from '../data';
import { buildGatedModel } from '../prune/gatedModel';
import { buildGradientModel, type GradientLoss } from '../autodiff';
import { producerFilters, weightCosine, weightNorms } from '../importance/weightImportance';
import { checkRoundTo, l1Scores } from '../prune/masks';
import { cosineFromGram, pearsonFromGram, subMatrix } from '../importance/gradientStats';
import type { GateLayout } from '../refine/batchedEvaluator';
import { calibrate, type GateInput, type GramRequest } from './calibrate';
import type { ChannelScores, GroupTerms } from './selectMask';
import { PipelineError } from './cancel';
import { decideTask, type ModelTask } from './modelTask';

export interface StageContext {
  emit: (e: PipelineEvent) => void;
  log: (message: string, level?: 'info' | 'warn' | 'error') => void;
  signal?: AbortSignal;
  stage: <T>(name: StageName, fn: () => Promise<T>) => Promise<T>;
}

export interface PrepareInput {
  model: string;
  data: string;
  settings: PruneSettings;
  inputShape?: number[];
  /** Called once the task is known, before any data is read: a caller refuses what it cannot do for that task. */
  checkTask?: (task: ModelTask) => void;
  /** The caller handles segmentation models (its metrics and evaluators); without it they are refused as before. */
  segmentation?: boolean;
}

/** Per-sample gate layout of the gated model, read from its graph inputs. */
function gateLayout(gated: OnnxModel, gateInputs: { group: string; name: string; size: number }[], deps: DependencyAnalysis): { gates: GateInput[]; layout: GateLayout } {
  const gates: GateInput[] = gateInputs.map((g) => {
    const group = deps.groups.findIndex((x) => x.id === g.group);
    if (group < 0) throw new PipelineError('internal', `gate '${g.name}' names unknown group '${g.group}'`);
    const v = gated.graph.input.find((i) => i.name === g.name);
    const dims = v ? valueInfoDims(v) : undefined;
    return { group, name: g.name, size: g.size, trailing: dims ? Math.max(0, dims.length - 2) : 2 };
  });
  return {
    gates,
    layout: { names: gates.map((g) => g.name), variables: gates.map((g) => deps.groups[g.group]!.variables), trailing: gates.map((g) => g.trailing) },
  };
}

/** For each group, a tensor that carries all of its variables (for its Gram matrix). */
function gramTensors(deps: DependencyAnalysis): { perGroup: { tensor: string; index: Int32Array }[]; requests: GramRequest[] } {
  const gated = new Set(deps.gates.map((g) => g.tensor));
  const candidates = [...deps.tensors.values()].sort((a, b) => Number(gated.has(b.tensor)) - Number(gated.has(a.tensor)));
  const requests = new Map<string, GramRequest>();
  const perGroup = deps.groups.map((g) => {
    for (const t of candidates) {
      const pos = new Map<number, number>();
      t.variable.forEach((v, c) => {
        if (v >= 0 && !pos.has(v)) pos.set(v, c);
      });
      if (Array.from(g.variables).every((v) => pos.has(v))) {
        if (!requests.has(t.tensor)) requests.set(t.tensor, { output: `gram/${t.tensor}`, tensor: t.tensor, channels: t.variable.length, ...(t.axis !== 1 ? { channelsLast: true } : {}) });
        return { tensor: t.tensor, index: Int32Array.from(g.variables, (v) => pos.get(v)!) };
      }
    }
    throw new PipelineError('internal', `no tensor carries every channel of group '${g.id}'`);
  });
  return { perGroup, requests: [...requests.values()] };
}

/** The settings' resize and normalisation as loadDataset options (torchvision's Resize → CenterCrop → Normalize). */
function inputTransform(s: PruneSettings, patch: number): Pick<LoadDatasetOptions, 'resize' | 'normalize'> {
  const out: Pick<LoadDatasetOptions, 'resize' | 'normalize'> = {};
  if (s.resize === 'auto') out.resize = autoResize(patch);
  else if (typeof s.resize === 'number') out.resize = s.resize;
  const n = s.normalize ?? 'none';
  if (n === 'imagenet') out.normalize = { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  else if (n !== 'none') out.normalize = { mean: [...n.mean], std: [...n.std] };
  return out;
}

async function prepareAny(request: PrepareInput, ctx: StageContext) {
  const { emit, log, signal, stage } = ctx;
  const s = request.settings;
  // ---------------------------------------------------------------- analyze
  const a = await stage('analyze', async () => {
    const model = await loadModel(request.model);
    normalizeGraph(model);
    if (model.realInputs.length !== 1 || model.outputNames.length === 0) {
      throw new PipelineError('unsupported-model', `models with exactly one input and one output are supported; '${request.model}' has ${model.realInputs.length} inputs and ${model.outputNames.length} outputs`);
    }
    const input = model.realInputs[0]!;
    const declared = valueInfoDims(input) ?? [];
    const channels = typeof declared[1] === 'number' ? declared[1] : 3;
    const fixedH = typeof declared[2] === 'number' ? declared[2] : undefined;
    const fixedW = typeof declared[3] === 'number' ? declared[3] : undefined;
    const patch = request.inputShape ? request.inputShape[2]! : fixedH ?? s.patch;
    const inputShape = request.inputShape ?? [1, channels, fixedH ?? patch, fixedW ?? patch];
    const shapes = await inferShapes(model, inputShape);
    const deps = analyzeDependencies(model, shapes, { allowLayerNormPruning: s.allowLayerNormPruning === true });
    checkRoundTo(deps, s.roundTo);
    const layers = analyzeLayers(model, shapes);
    if (deps.variables.length === 0) throw new PipelineError('nothing-to-prune', `no prunable channels were found in '${request.model}' (locked: ${deps.locked.map((l) => `${l.source}: ${l.reason}`).slice(0, 5).join('; ')})`);
    log(`${deps.groups.length} channel groups, ${deps.variables.length} prunable channels, ${deps.locked.length} locked sets`);
    if (deps.unknownOps.length) log(`ops not understood (their channels are locked): ${deps.unknownOps.join(', ')}`, 'warn');
    const outShape = shapes.get(model.outputNames[0]!) ?? [];
    const decision = decideTask(channels, outShape, s.task, request.model);
    if (model.outputNames.length > 1) {
      // torchvision's segmentation models can export their auxiliary head as a second output:
      // the first ('out') is the prediction; the others are computed but neither scored nor differentiated.
      if (decision.task !== 'segment') {
        throw new PipelineError('unsupported-model', `models with exactly one input and one output are supported (segmentation models may have more, the first is used); '${request.model}' has ${model.outputNames.length} outputs`);
      }
      log(`${model.outputNames.length} outputs: the first, '${model.outputNames[0]}', is the segmentation map used for loss and metrics; ${model.outputNames.slice(1).map((o) => `'${o}'`).join(', ')} ignored`, 'warn');
    }
    log(`task: ${decision.task === 'segment' ? 'segmentation' : decision.task === 'classify' ? 'classification' : 'image to image (denoising)'} (${decision.reason})`);
    if (decision.task === 'segment' && !request.segmentation) {
      throw new PipelineError('task-mismatch', `'${request.model}' is a segmentation model (${decision.reason}); this tool scores classifiers and image-to-image models only`);
    }
    request.checkTask?.(decision.task);
    return { model, shapes, deps, layers, inputShape, channels, patch, inputName: input.name, outputName: model.outputNames[0]!, outRank: outShape.length, task: decision };
  });
  const { model, deps } = a;

  // ---------------------------------------------------------------- data + calibrate
  const modelTask = a.task.task;
  const data: Dataset<ModelTask> = await loadDataset(request.data, {
    // Segmentation is scored on the images as they are; a denoiser's noise setting does not apply.
    noise: modelTask === 'segment' ? undefined : s.noise ?? undefined,
    patch: a.patch,
    channels: a.channels === 1 ? 1 : 3,
    seed: s.seed,
    task: modelTask === 'denoise' ? undefined : modelTask,
    modelTask,
    classes: classNames(model),
    maxPerSplit: { calib: s.samples, val: Math.max(s.refine.valSamples, 1) },
    ...inputTransform(s, a.patch),
    // The test split is first read by the last stage; a corrupt file must not surface only after the search and export.
    decodeAll: true,
    // The pipeline has neither loadDataset's `pad` nor `splits`: advise what its settings can do.
    advice: {
      smallImages: `Use a smaller patch: the setting 'patch' (now ${a.patch}) in --config, or --input-shape${modelTask !== 'denoise' ? `; or resize the images: the setting 'resize' ('auto' or the shorter side in pixels)` : ''}.`,
      missingSplit: (split) => `add a ${split}/ sub-folder, or put all images in one folder without calib/, val/, test/ and they are split automatically`,
    },
  });
  const task = data.task;
  if (task !== modelTask) {
    throw new PipelineError('task-mismatch', `the data folder looks like a ${task} set but the model is a ${modelTask} model (${a.task.reason})`);
  }
  log(`data: ${data.layout} layout, calib ${data.calib.count} / val ${data.val.count} / test ${data.test.count} samples, patch ${a.patch}`);

  const gatedPerSample = buildGatedModel(model, deps, { layout: 'per-sample' });
  const { gates, layout } = gateLayout(gatedPerSample.model, gatedPerSample.gateInputs, deps);
  const grams = gramTensors(deps);
  let provider: ProviderName = 'cpu';
  const calibration = await stage('calibrate', async () => {
    const targetName = task === 'denoise' ? '__target' : '__labels';
    // Segmentation: per-pixel cross-entropy against the unpruned model's own argmax (no labels).
    const loss: GradientLoss =
      task === 'denoise' ? { kind: 'mse', output: a.outputName, target: targetName } : task === 'classify' ? { kind: 'cross-entropy', output: a.outputName, labels: targetName } : { kind: 'self-cross-entropy', output: a.outputName };
    const grad = buildGradientModel(gatedPerSample.model, {
      wrt: gates.map((g) => g.name),
      loss,
      grams: grams.requests.map((r) => ({ name: r.output, tensor: r.tensor, channelsLast: r.channelsLast })),
    });
    // A gradient model may exceed protobuf's 2 GiB: then it is opened from a file with external data.
    const opened = await openModelSession(grad.model, { provider: s.provider });
    provider = opened.provider;
    emit({ type: 'provider', provider: opened.provider, skipped: opened.skipped });
    try {
      const requests = grams.requests.map((r) => ({ ...r, output: grad.gramOutputs[r.output] ?? r.output, sumOutput: grad.channelSumOutputs[r.output] }));
      return await calibrate({
        session: opened.session,
        inputName: a.inputName,
        targetName,
        task,
        lossOutput: grad.lossOutput,
        gates,
        gradOutputs: grad.gradOutputs,
        grams: requests,
        deps,
        split: data.calib,
        batchSize: Math.max(1, Math.min(8, s.samples)),
        maxSamples: s.samples,
        signal,
        onProgress: (f) => emit({ type: 'stage-progress', stage: 'calibrate', fraction: f }),
      });
    } finally {
      await opened.release();
    }
  });
  log(`calibration: ${calibration.samples} samples, mean loss ${calibration.meanLoss.toPrecision(4)}`);

  // ---------------------------------------------------------------- importance
  const imp = await stage('importance', async () => {
    const filters = producerFilters(model, deps);
    // One L1 for every method: mean |w| per producer filter (summed over coupled producers), the
    // rule `prune --method l1` uses. Across layers the raw sum ‖W_i‖₁ ranks by fan-in first; the
    // benchmark measured the fan-in-normalised form far better (docs/BENCHMARKS.md).
    const l1 = l1Scores(model, deps);
    const { l2 } = weightNorms(filters);
    const scores: ChannelScores = { taylor: calibration.accumulator.taylor(), fisher: calibration.accumulator.fisher(), l1, l2 };
    const terms: GroupTerms[] = deps.groups.map((g, gi) => {
      const { tensor, index } = grams.perGroup[gi]!;
      const gram = calibration.grams.get(tensor)!;
      const m = Math.round(Math.sqrt(gram.length));
      const sub = subMatrix(gram, m, index);
      const sums = calibration.channelSums.get(tensor);
      // Positions per sample: the tensor's non-batch, non-channel extent at the calibration patch.
      const dims = a.shapes.get(tensor) ?? [];
      const axis = deps.tensors.get(tensor)?.axis ?? 1;
      const perSample = dims.reduce((x, y, k) => (k === 0 || k === axis ? x : x * y), 1);
      const activationPearson = sums ? pearsonFromGram(sub, Float64Array.from(index, (i) => sums[i]!), calibration.gramSamples * perSample, index.length) : undefined;
      // Filter cosines cost C²·fan-in (4096²·25088 for VGG's first classifier layer: minutes in JS)
      // and only the l1-qubo method reads them: computed on first use.
      let weightSimilarity: Float64Array | undefined;
      return {
        id: g.id,
        variables: g.variables,
        activationSimilarity: cosineFromGram(sub, index.length),
        activationPearson,
        fisherBlock: calibration.accumulator.fisherBlock(g.variables),
        get weightSimilarity(): Float64Array {
          return (weightSimilarity ??= weightCosine(filters, g.variables));
        },
      };
    });
    return { scores, terms };
  });

  return { a, data, task, gates, layout, gatedPerSample, calibration, imp, provider };
}

type PreparedAny = Awaited<ReturnType<typeof prepareAny>>;
/** What the front half hands on, for callers that handle the tasks T. */
export type PreparedAs<T extends ModelTask> = Omit<PreparedAny, 'data' | 'task'> & { data: Dataset<T>; task: T };
export type Prepared = PreparedAs<Task>;

export async function prepareImportance(request: PrepareInput & { segmentation: true }, ctx: StageContext): Promise<PreparedAs<ModelTask>>;
export async function prepareImportance(request: PrepareInput, ctx: StageContext): Promise<Prepared>;
export async function prepareImportance(request: PrepareInput, ctx: StageContext): Promise<PreparedAs<ModelTask>> {
  return prepareAny(request, ctx);
}

/** Class names stored by exporters in metadata ('classes' as JSON or comma list), else undefined. */
function classNames(model: OnnxModel): string[] | undefined {
  const entry = model.proto.metadataProps.find((p) => p.key === 'classes' || p.key === 'class_names');
  if (!entry) return undefined;
  try {
    const v = JSON.parse(entry.value);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // fall through to the comma form
  }
  return entry.value.split(',').map((x) => x.trim()).filter(Boolean);
}


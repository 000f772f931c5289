// The extension's workspace settings (quboPrune.*) as TypeBox schemas: the extension checks what
// VS Code returns against them (src/extension/settingsMapping.ts) and package.json's
// contributes.configuration is generated from them (tools/gen-config.ts). VS Code-only keywords
// (order, scope, enumDescriptions, markdownDescription) ride along as schema options.
import { Type, type Static } from '@sinclair/typebox';
import { BUILTIN_PRESETS, DEFAULT_PRESET } from '../presets';
import { PresetOverridesSchema, PROVIDERS } from './schema';

export const SECTION = 'quboPrune';
export const PRESET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const DEFAULT_OUTPUT_NAMING = '${name}.pruned.onnx';
export const DEFAULT_ANALYSIS_SIZE = 256;

const builtinNames = Object.keys(BUILTIN_PRESETS);

export const WorkspaceSettingsSchema = Type.Object(
  {
    defaultPreset: Type.Optional(
      Type.Union(
        [
          Type.Union(
            builtinNames.map((n) => Type.Literal(n)),
            { enumDescriptions: builtinNames.map((n) => BUILTIN_PRESETS[n]!.description) },
          ),
          Type.String({ pattern: PRESET_NAME_PATTERN, description: 'The name of a preset in quboPrune.presets' }),
        ],
        {
          expects: 'a preset name',
          default: DEFAULT_PRESET,
          markdownDescription: `Preset used by **Prune model**: ${builtinNames.map((n) => `\`${n}\``).join(', ')}, or the name of one of your \`#quboPrune.presets#\`.`,
          order: 0,
        },
      ),
    ),
    presets: Type.Optional(
      Type.Record(Type.String({ pattern: PRESET_NAME_PATTERN }), PresetOverridesSchema, {
        additionalProperties: false,
        default: {},
        expects: 'an object mapping preset names to settings',
        markdownDescription:
          'Named pruning presets for this workspace. Each entry overrides the defaults (and a built-in preset of the same name). Example: `{ "small": { "sparsity": 0.5, "refine": { "scope": "off" } } }`. Unknown keys and out-of-range values are reported by name when a run starts.',
        order: 1,
      }),
    ),
    dataFolder: Type.Optional(
      Type.String({
        default: '',
        scope: 'resource',
        expects: 'a folder path',
        markdownDescription:
          "Folder with the calibration and validation images (`calib/`, `val/`, `test/` splits; see the README). Relative paths are resolved against the workspace folder. When empty, **Prune model** asks for a folder and offers to remember it here (in the workspace folder's settings).",
        order: 2,
      }),
    ),
    provider: Type.Optional(
      Type.Union(
        PROVIDERS.map((p) => Type.Literal(p)),
        {
          default: 'auto',
          enumDescriptions: [
            "Use the preset's provider (itself 'auto': the fastest one that starts, falling back to CPU)",
            'CPU',
            'WebGPU (needs a Vulkan-capable GPU)',
            "CUDA (needs onnxruntime-node's CUDA libraries, NVIDIA driver, CUDA 12 and cuDNN 9)",
          ],
          description: "onnxruntime execution provider for pruning runs; anything but 'auto' overrides the preset.",
          order: 3,
        },
      ),
    ),
    outputNaming: Type.Optional(
      Type.String({
        default: DEFAULT_OUTPUT_NAMING,
        pattern: '^[^/\\\\].*\\.onnx$',
        expects: "a relative file name ending in '.onnx'",
        markdownDescription:
          "File name of the pruned model, relative to the model's folder. Variables: `${name}` (model file name without `.onnx`), `${preset}`, `${sparsity}` (percent), `${method}`. The reports are written beside it (`.report.json`, `.report.md`).",
        order: 4,
      }),
    ),
    analysisSize: Type.Optional(
      Type.Integer({
        default: DEFAULT_ANALYSIS_SIZE,
        minimum: 8,
        maximum: 8192,
        markdownDescription:
          'Height and width used to analyse models whose input size is symbolic (dynamic axes), for the model editor and the **Model Layers** view. Parameters do not depend on it; MACs do.',
        order: 5,
      }),
    ),
  },
  { title: 'QUBO Prune' },
);

export type WorkspaceSettings = Static<typeof WorkspaceSettingsSchema>;

import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import './ortEnv';
import * as ort from 'onnxruntime-node';
import { OnnxModelError } from '../onnx/errors';
import { QuboPruneError } from '../errors';

export type ProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export type ProviderName = 'cpu' | 'webgpu' | 'cuda';

/** The chosen execution provider cannot start here: the user's choice or machine, so `input`. */
export class ProviderError extends QuboPruneError<'provider-unavailable'> {
  constructor(message: string) {
    super('provider-unavailable', message, 'input');
    this.name = 'ProviderError';
  }
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
  /** Why earlier providers in the `auto` order were skipped. */
  skipped: string[];
}

export interface SessionOptions {
  provider?: ProviderChoice;
  /** Intra-op threads for the CPU provider (default: onnxruntime's choice). */
  threads?: number;
  /** Graph optimisation level; 'all' by default. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * onnxruntime's memory pattern (default on) plans one buffer per input shape on the second run,
   * which on this kind of machine makes the first two runs of every shape slow (fresh memory is
   * expensive); sessions that run few times per shape are faster without it.
   */
  memPattern?: boolean;
  /**
   * onnxruntime's CPU arena (default on) keeps every block it ever allocated; a session that runs
   * once can turn it off so large transient tensors go back to the system when freed.
   */
  memArena?: boolean;
  /**
   * Whether idle intra-op threads spin (onnxruntime's default: yes). Several sessions run in turn
   * (recovery's teacher, training and validation sessions) must not: each pool's spinning threads
   * take the cores the running session needs.
   */
  spinning?: boolean;
}

function providerConfig(p: ProviderName): ort.InferenceSession.ExecutionProviderConfig {
  if (p === 'cuda') return { name: 'cuda', deviceId: 0 } as ort.InferenceSession.ExecutionProviderConfig;
  return p;
}

function cudaInstalled(): boolean {
  return ort.listSupportedBackends?.().some((b) => b.name === 'cuda' && b.bundled) ?? false;
}

/**
 * onnxruntime does not fall back by itself (a list like ['webgpu','cpu'] throws when WebGPU cannot
 * start), so each provider is tried in turn and the one that worked is reported.
 */
export async function openSession(model: Uint8Array | string, opts: SessionOptions = {}): Promise<OpenedSession> {
  const choice = opts.provider ?? 'cpu';
  const order: ProviderName[] = choice === 'auto' ? ['cuda', 'webgpu', 'cpu'] : [choice];
  const skipped: string[] = [];
  for (const p of order) {
    if (p === 'cuda' && choice === 'auto' && !cudaInstalled()) {
      skipped.push('cuda: provider libraries not installed');
      continue;
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [providerConfig(p)],
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: 3,
    };
    if (opts.threads) options.intraOpNumThreads = opts.threads;
    if (opts.memPattern === false) options.enableMemPattern = false;
    if (opts.memArena === false) options.enableCpuMemArena = false;
    if (opts.spinning === false) options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    if (p === 'webgpu') prepareWebGpuEnvironment();
    try {
      const session =
        typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
      return { session, provider: p, skipped };
    } catch (err) {
      const raw = (err as Error).message;
      const msg = shortReason(raw);
      // The model is at fault only if the last provider tried (CPU, for 'auto') refuses it too: a
      // GPU provider can fail on a valid model, and CPU then decides.
      if (isModelError(raw) && (choice !== 'auto' || p === order[order.length - 1])) throw invalidGraph(raw);
      if (choice !== 'auto') {
        throw new ProviderError(`execution provider '${p}' could not start: ${msg}${p === 'cuda' ? ' (install the CUDA provider: see README, "GPU")' : ''}`);
      }
      skipped.push(`${p}: ${msg}`);
    }
  }
  throw new ProviderError(`no execution provider could start: ${skipped.join('; ')}`);
}

/**
 * onnxruntime reports a model it cannot load or type-check through the same exception as a
 * provider that cannot start; these are the phrases of its graph loading, resolution and shape
 * inference (onnx checker included), none of which a provider start-up uses.
 */
const MODEL_ERROR =
  /Load model from .* failed|INVALID_GRAPH|INVALID_PROTOBUF|Protobuf parsing failed|Type Error:|ShapeInferenceError|\bNode \([^)]*\) Op \(|invalid model|Unrecognized attribute|No Op registered for|Could not find an implementation for|Unsupported model IR version|is not a graph input|Type \([^)]*\) of (input|output) arg|Invalid rank|Mismatch between/i;

export function isModelError(message: string): boolean {
  return MODEL_ERROR.test(message);
}

function invalidGraph(message: string): OnnxModelError {
  const why = shortReason(message.replace(/^Load model from .*? failed:\s*/, ''));
  if (/Could not find an implementation for/i.test(why)) {
    return new OnnxModelError('invalid-graph', `onnxruntime cannot run the model: it has no kernel for an operator with these types: ${why}`);
  }
  return new OnnxModelError('invalid-graph', `the model is not a valid ONNX graph: onnxruntime refuses it: ${why}`);
}

/**
 * Probing WebGPU makes Dawn start Vulkan, whose loader and drivers may open a Wayland connection;
 * libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." to stderr
 * whenever that variable is unset or relative (containers, ssh sessions, CI), even when the probe
 * succeeds. A private empty runtime folder satisfies it (the connection then fails quietly: there
 * is no compositor socket in it). The variable is read natively, so it is set in the real
 * environment, before Dawn starts, and only when the user's is unusable.
 */
let webGpuEnvReady = false;
export function prepareWebGpuEnvironment(): void {
  if (webGpuEnvReady || process.platform !== 'linux') return;
  webGpuEnvReady = true;
  const current = process.env.XDG_RUNTIME_DIR;
  if (current && path.isAbsolute(current) && isPrivateDir(current)) return;
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qubo-prune-xdg-'));
    chmodSync(dir, 0o700);
    process.env.XDG_RUNTIME_DIR = dir;
    process.once('exit', () => {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Left behind in the temporary folder; harmless.
      }
    });
  } catch {
    // Without a folder the probe still works; it only prints the warning.
  }
}

function isPrivateDir(dir: string): boolean {
  try {
    const st = statSync(dir);
    return st.isDirectory() && (typeof process.getuid !== 'function' || st.uid === process.getuid());
  } catch {
    return false;
  }
}

/** onnxruntime's messages carry source paths and lambdas; keep the part a user can act on. */
function shortReason(message: string): string {
  const first = message.split('\n')[0]!;
  const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/.exec(first);
  if (adapter) return `no WebGPU adapter (${adapter[1] || 'none found'}; needs a GPU with Vulkan, Metal or D3D12 drivers)`;
  return first.replace(/^\/onnxruntime_src\/\S+\s+/, '');
}

export { ort };

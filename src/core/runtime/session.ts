import * as ort from 'onnxruntime-node';

export type ProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export type ProviderName = 'cpu' | 'webgpu' | 'cuda';

export class ProviderError extends Error {
  readonly code = 'provider-unavailable';
  constructor(message: string) {
    super(message);
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
    try {
      const session =
        typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
      return { session, provider: p, skipped };
    } catch (err) {
      const msg = shortReason((err as Error).message);
      if (choice !== 'auto') {
        throw new ProviderError(`execution provider '${p}' could not start: ${msg}${p === 'cuda' ? ' (install the CUDA provider: see README, "GPU")' : ''}`);
      }
      skipped.push(`${p}: ${msg}`);
    }
  }
  throw new ProviderError(`no execution provider could start: ${skipped.join('; ')}`);
}

/** onnxruntime's messages carry source paths and lambdas; keep the part a user can act on. */
function shortReason(message: string): string {
  const first = message.split('\n')[0]!;
  const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/.exec(first);
  if (adapter) return `no WebGPU adapter (${adapter[1] || 'none found'}; needs a GPU with Vulkan, Metal or D3D12 drivers)`;
  return first.replace(/^\/onnxruntime_src\/\S+\s+/, '');
}

export { ort };

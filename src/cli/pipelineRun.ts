// Runs the pipeline for the CLI: progress on stderr, summary on stdout, Ctrl-C → cancellation
// (exit 130, no output files), bad input → exit 1, anything else → exit 2.
import type { PruneRequest } from '../protocol';
import { runPipeline, CancelledError } from '../core/pipeline';
import { EXIT } from './cliError';
import { ProgressPrinter, formatSummary, type Writer } from './progress';

export interface PipelineCliIo {
  stdout: Writer;
  stderr: Writer;
  /** Lets tests cancel without signals. */
  signal?: AbortSignal;
  quiet?: boolean;
}

/**
 * Errors that mean the user's input (model, data, settings) is at fault, by class: each core
 * module reports bad input with its own error class. Internal pipeline faults keep exit code 2.
 */
const INPUT_ERRORS = new Set(['OnnxModelError', 'DataError', 'PresetError', 'ShapeInferenceError', 'ProviderError', 'QuboError', 'PruneError', 'PipelineError', 'CliError', 'OutputError']);
const INTERNAL_CODES = new Set(['internal', 'export-mismatch', 'invalid-export']);

export function isInputError(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown };
  return typeof e?.name === 'string' && INPUT_ERRORS.has(e.name) && !(typeof e.code === 'string' && INTERNAL_CODES.has(e.code));
}

export async function runPipelineCli(request: PruneRequest, io: PipelineCliIo): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => {
    io.stderr.write('\ncancelling…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const progress = new ProgressPrinter(io.stderr, io.quiet);
  try {
    const summary = await runPipeline(request, { signal: controller.signal, onEvent: (e) => progress.handle(e) });
    // The outputs are committed in one synchronous step after the last cancellation check, so an
    // interrupt seen here came too late to stop them; say so rather than claim a cancel.
    if (controller.signal.aborted) io.stderr.write('the interrupt came after the outputs were written; they are complete and kept\n');
    io.stdout.write(formatSummary(summary) + '\n');
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CancelledError || controller.signal.aborted) {
      io.stderr.write('cancelled; nothing was written\n');
      return EXIT.cancelled;
    }
    const e = err as { code?: unknown; message?: string; stack?: string };
    if (isInputError(err)) {
      io.stderr.write(`error: ${e.message}\n`);
      return EXIT.badInput;
    }
    io.stderr.write(`error: ${e.stack ?? e.message ?? String(err)}\n`);
    return EXIT.runtime;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

// Runs the pipeline for the CLI: progress on stderr, summary on stdout, Ctrl-C → cancellation;
// failures are printed and mapped to exit codes by exitCodes.ts, like every other command's.
import type { PruneRequest } from '../protocol';
import { runPipeline } from '../core/pipeline';
import { EXIT, reportFailure } from './exitCodes';
import { ProgressPrinter, formatSummary, type Writer } from './progress';

export interface PipelineCliIo {
  stdout: Writer;
  stderr: Writer;
  /** Lets tests cancel without signals. */
  signal?: AbortSignal;
  quiet?: boolean;
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
    return reportFailure(err, (text) => io.stderr.write(text), 'error: ', controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

import * as path from 'node:path';

/** Where a run writes: the pruned model and its two reports side by side. */
export interface OutputPaths {
  model: string;
  reportJson: string;
  reportMarkdown: string;
}

export function outputPathsFor(out: string): OutputPaths {
  const abs = path.resolve(out);
  const stem = abs.toLowerCase().endsWith('.onnx') ? abs.slice(0, -5) : abs;
  return { model: abs, reportJson: `${stem}.report.json`, reportMarkdown: `${stem}.report.md` };
}

/** Default output name: model.onnx → model.pruned.onnx in the same folder. */
export function defaultOutputFor(model: string, naming = '${name}.pruned.onnx'): string {
  const abs = path.resolve(model);
  const name = path.basename(abs).replace(/\.onnx$/i, '');
  return path.join(path.dirname(abs), naming.replace(/\$\{name\}/g, name));
}

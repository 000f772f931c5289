#!/usr/bin/env node
// Bundles the extension, the worker process, the CLI and the webview script into dist/ with
// esbuild. `--watch` rebuilds on change (used by the VS Code "Run Extension" task).
// A missing entry point fails the build: a package without its worker or webview would install
// and then break at run time.
import { build, context } from 'esbuild';
import { chmod, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const minify = process.argv.includes('--minify');

// onnxruntime-node is a native module and must stay in node_modules; 'vscode' is provided by
// the extension host at run time.
const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minify,
  external: ['vscode', 'onnxruntime-node'],
  // jsonc-parser's "main" is a UMD build whose require('./impl/…') esbuild cannot follow (the
  // extension then fails to activate with "Cannot find module './impl/format'"); its ESM build bundles.
  mainFields: ['module', 'main'],
  logLevel: 'info',
};

const entries = [
  { name: 'extension', src: 'src/extension/extension.ts', out: 'dist/extension.js', options: nodeCommon },
  { name: 'worker', src: 'src/worker/worker.ts', out: 'dist/worker.js', options: nodeCommon },
  {
    name: 'cli',
    src: 'src/cli/main.ts',
    out: 'dist/cli.js',
    options: nodeCommon,
    executable: true,
  },
  // Benchmarks that must run where only node and the built code exist (the GPU machine, bench/gpu/).
  { name: 'bench-stage-times', src: 'bench/stage-times.ts', out: 'dist/bench/stage-times.js', options: nodeCommon },
  { name: 'bench-refine', src: 'bench/refine.ts', out: 'dist/bench/refine.js', options: nodeCommon },
  {
    name: 'webview',
    src: 'webview/main.ts',
    out: 'dist/webview.js',
    options: { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, minify, logLevel: 'info' },
  },
];

/** Marks the CLI executable after every (re)build. */
function chmodPlugin(file) {
  return {
    name: 'chmod-executable',
    setup(b) {
      b.onEnd(async (result) => {
        if (result.errors.length === 0 && existsSync(file)) await chmod(file, 0o755);
      });
    },
  };
}

async function main() {
  await mkdir(join(root, 'dist'), { recursive: true });
  const missing = entries.filter((e) => !existsSync(join(root, e.src)));
  if (missing.length > 0) {
    throw new BuildError(`missing entry point${missing.length > 1 ? 's' : ''}: ${missing.map((e) => `${e.name} (${e.src})`).join(', ')}`);
  }
  const configs = entries.map((e) => ({
    ...e.options,
    // esbuild keeps an entry point's own '#!' line; add one only where the source lacks it.
    ...(e.executable && !readFileSync(join(root, e.src), 'utf8').startsWith('#!') ? { banner: { js: '#!/usr/bin/env node' } } : {}),
    absWorkingDir: root,
    entryPoints: [e.src],
    outfile: e.out,
    plugins: e.executable ? [chmodPlugin(join(root, e.out))] : [],
  }));
  if (watch) {
    const contexts = await Promise.all(configs.map((c) => context(c)));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log(`build: watching ${entries.map((e) => e.name).join(', ')}`);
    return;
  }
  await Promise.all(configs.map((c) => build(c)));
}

/** A problem the build itself finds (not esbuild), printed as one line. */
class BuildError extends Error {}

main().catch((err) => {
  // esbuild has already printed its own diagnostics.
  if (err instanceof BuildError) console.error(`build: ${err.message}`);
  else if (!err?.errors) console.error(err);
  process.exit(1);
});

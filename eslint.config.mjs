// ESLint: typescript-eslint's recommended rules (syntactic only: type-aware linting costs minutes
// on a 2-core machine, and `npm run typecheck` already runs the compiler) plus the import
// boundaries of the architecture (README, "Development"):
//   src/core              never imports vscode, the extension, the views or the webview;
//   webview/, src/view    (bundled for the browser) never import Node built-ins, native modules,
//                         vscode, or a src/core module that uses Node, directly or through others;
//   src/worker, src/cli   never import vscode.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));

const nodeBuiltins = [...new Set(builtinModules.filter((m) => !m.startsWith('_')).flatMap((m) => [m, `node:${m}`]))];
/** Modules that only exist in a Node process. */
const nodeOnlyPackages = ['onnxruntime-node', 'onnx-buf', '@bufbuild/protobuf', 'jpeg-js', 'pngjs', '@napi-rs/canvas', 'tsx'];

const IMPORT_RE = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/**
 * Modules under src/ (outside src/view) that reach Node: those importing a built-in or a
 * Node-only package, and every module importing one of those (type-only imports included: they
 * pull the module's Node types into the browser's type-check). Computed from the sources so the
 * list never goes stale; paths relative to src/, without '.ts' or '/index'.
 */
function nodeBoundModules() {
  const files = tsFiles(join(root, 'src'));
  const imports = new Map();
  const direct = new Set();
  for (const f of files) {
    const specs = [...readFileSync(f, 'utf8').matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
    if (specs.some((s) => nodeBuiltins.includes(s) || nodeOnlyPackages.some((p) => s === p || s.startsWith(`${p}/`)))) direct.add(f);
    imports.set(
      f,
      specs.filter((s) => s.startsWith('.')).flatMap((s) => {
        const base = resolve(dirname(f), s);
        return [`${base}.ts`, join(base, 'index.ts')].filter((c) => imports.has(c) || files.includes(c));
      }),
    );
  }
  const bound = new Set(direct);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [f, deps] of imports) {
      if (!bound.has(f) && deps.some((d) => bound.has(d))) {
        bound.add(f);
        grew = true;
      }
    }
  }
  const srcDir = join(root, 'src');
  return [...bound].map((f) => relative(srcDir, f)).filter((f) => !f.startsWith('view/')).map((f) => f.replace(/\.ts$/, '').replace(/\/index$/, ''));
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// The edges that cross from browser code into Node are flagged, not every webview module above them.
const nodeBound = nodeBoundModules();

const VSCODE = { name: 'vscode', message: 'only src/extension may use the VS Code API' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/out/**', 'test-results/**', 'demo-output/**', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_` marks a parameter a signature requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Build scripts run in Node as plain ES modules.
    files: ['**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [VSCODE],
          patterns: [{ regex: '(^|/)(extension|view|webview)(/|$)', message: 'src/core is the pure pipeline: front ends depend on it, never the reverse' }],
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts', 'src/view/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [VSCODE, ...[...nodeBuiltins, ...nodeOnlyPackages].map((name) => ({ name, message: 'webview code runs in the browser' }))],
          patterns: [
            { regex: '^node:', message: 'webview code runs in the browser' },
            ...(nodeBound.length
              ? [{ regex: `(^|/)(${nodeBound.map(escapeRe).join('|')})$`, message: 'this module reaches Node (directly or through its imports); webview code runs in the browser' }]
              : []),
            { regex: '(^|/)(extension|worker|cli)(/|$)', message: 'webview code may use src/view, src/protocol and pure src/core modules only' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/worker/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [VSCODE], patterns: [{ regex: '(^|/)(extension|webview)(/|$)', message: 'the worker and the CLI run without VS Code' }] }],
    },
  },
);

// `npm run package`: one VSIX per platform target (dist/qubo-prune-<target>.vsix), each with
// only its own onnxruntime-node binaries. Targets the installed onnxruntime-node has no binaries
// for are skipped with the reason. `--target a,b` builds only those; `--no-build` reuses dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TARGETS, ignoreFileFor, napiDirs, planTargets } from './packageTargets';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const targetArg = args.includes('--target') ? args[args.indexOf('--target') + 1] : undefined;
// `npm run package` runs this through tsx (node --import tsx tools/package.ts).
const targets = targetArg ? targetArg.split(',').map((t) => t.trim()) : TARGETS;

function run(cmd: string, argv: string[]): void {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`package: '${cmd} ${argv.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(2);
  }
}

if (!args.includes('--no-build')) run(process.execPath, [join(root, 'tools', 'build.mjs'), '--minify']);

const ortRoot = join(root, 'node_modules', 'onnxruntime-node');
const version = JSON.parse(readFileSync(join(ortRoot, 'package.json'), 'utf8')).version;
const plan = planTargets(targets, napiDirs(ortRoot), (rel) => existsSync(join(ortRoot, rel)));
const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'qubo-prune-package-'));
const vsce = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
const built: { target: string; out: string; bytes: number }[] = [];
try {
  for (const p of plan) {
    if (p.skip !== undefined) {
      console.warn(`package: skipping ${p.target}: ${p.skip} (onnxruntime-node ${version})`);
      continue;
    }
    const ignore = join(work, `${p.target}.vscodeignore`);
    writeFileSync(ignore, ignoreFileFor(base, p.binDir));
    const out = join('dist', `qubo-prune-${p.target}.vsix`);
    run(vsce, ['package', '--target', p.target, '--ignoreFile', ignore, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', out]);
    built.push({ target: p.target, out, bytes: statSync(join(root, out)).size });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log('\nVSIX per target:');
for (const b of built) console.log(`  ${b.target.padEnd(13)} ${(b.bytes / 1e6).toFixed(1).padStart(6)} MB  ${b.out}`);
const skipped = plan.filter((p) => p.skip).map((p) => p.target);
if (skipped.length) console.log(`  skipped: ${skipped.join(', ')} (no onnxruntime-node ${version} binaries)`);
if (built.length === 0) process.exit(1);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ignoreFileFor, napiDirs, planTargets, splitTarget, TARGETS } from '../../tools/packageTargets';

const root = path.join(__dirname, '..', '..');

function globRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^$(){}|[\]\\]/g, '\\$&');
  const body = escaped.replace(/\*\*\//g, '\u{E001}').replace(/\*\*/g, '\u{E000}').replace(/\*/g, '[^/]*').replace(/\u{E001}/gu, '(?:.*/)?').replace(/\u{E000}/gu, '.*');
  return new RegExp('^' + body + '$');
}

/** A minimal gitignore-style matcher for the patterns .vscodeignore uses (double star, a double-star folder matching zero or more folders, star, negation; the last match wins). */
function included(ignore: string, file: string): boolean {
  let keep = true;
  for (const raw of ignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pat = negate ? line.slice(1) : line;
    const re = globRegExp(pat);
    if (re.test(file)) keep = negate;
  }
  return keep;
}

test('targets split into onnxruntime-node folder names; unknown ones are refused by name', () => {
  assert.deepEqual(splitTarget('win32-arm64'), { platform: 'win32', arch: 'arm64' });
  assert.deepEqual(splitTarget('darwin-x64'), { platform: 'darwin', arch: 'x64' });
  assert.throws(() => splitTarget('linux-riscv64'), /unknown target 'linux-riscv64'/);
  assert.equal(TARGETS.length, 6);
});

test('each target gets its own folder, from the newest napi ABI that has it; missing ones say why', () => {
  const present = new Set(['bin/napi-v6/linux/x64', 'bin/napi-v3/linux/arm64', 'bin/napi-v6/win32/x64']);
  const plan = planTargets(['linux-x64', 'linux-arm64', 'darwin-x64', 'win32-x64'], ['bin/napi-v6', 'bin/napi-v3'], (d) => present.has(d));
  assert.deepEqual(plan[0], { target: 'linux-x64', binDir: 'bin/napi-v6/linux/x64' });
  assert.deepEqual(plan[1], { target: 'linux-arm64', binDir: 'bin/napi-v3/linux/arm64' });
  assert.equal(plan[2]!.binDir, undefined);
  assert.match(plan[2]!.skip!, /no binaries for darwin\/x64 \(looked in bin\/napi-v6\/darwin\/x64, bin\/napi-v3\/darwin\/x64\)/);
  assert.deepEqual(plan[3], { target: 'win32-x64', binDir: 'bin/napi-v6/win32/x64' });
  assert.match(planTargets(['linux-x64'], [], () => true)[0]!.skip!, /none found/);
});

test('the per-target ignore file admits only that target\'s binaries, and the rest of the base', () => {
  const base = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  const bin = (p: string, a: string, f: string) => `node_modules/onnxruntime-node/bin/napi-v6/${p}/${a}/${f}`;
  // The checked-in base carries no native binary at all: only tools/package.ts adds one.
  assert.equal(included(base, bin('linux', 'x64', 'onnxruntime_binding.node')), false);
  for (const [target, own, other] of [
    ['linux-x64', bin('linux', 'x64', 'libonnxruntime.so.1'), bin('linux', 'arm64', 'libonnxruntime.so.1')],
    ['win32-arm64', bin('win32', 'arm64', 'DirectML.dll'), bin('win32', 'x64', 'DirectML.dll')],
    ['darwin-arm64', bin('darwin', 'arm64', 'libonnxruntime.1.dylib'), bin('linux', 'x64', 'onnxruntime_binding.node')],
  ] as const) {
    const { platform, arch } = splitTarget(target);
    const ignore = ignoreFileFor(base, `bin/napi-v6/${platform}/${arch}`);
    assert.equal(included(ignore, own), true, `${target} keeps ${own}`);
    assert.equal(included(ignore, other), false, `${target} drops ${other}`);
    for (const f of ['dist/extension.js', 'dist/worker.js', 'node_modules/onnxruntime-node/dist/index.js', 'test/fixtures/halfunet.onnx', 'media/walkthrough/open.md']) assert.equal(included(ignore, f), true, `${target} keeps ${f}`);
    for (const f of ['src/extension/extension.ts', 'test/fixtures/unet.onnx', 'node_modules/onnxruntime-common/dist/cjs/index.js.map']) assert.equal(included(ignore, f), false, `${target} drops ${f}`);
  }
});

test('a stale binary line in the base is replaced, not kept beside the target\'s', () => {
  const ignore = ignoreFileFor('**\n!node_modules/onnxruntime-node/bin/napi-v6/linux/x64/**\n', 'bin/napi-v6/win32/x64');
  assert.equal(included(ignore, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'), false);
  assert.equal(included(ignore, 'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll'), true);
});

test('the installed onnxruntime-node is read as it is laid out', () => {
  const dirs = napiDirs(path.join(root, 'node_modules', 'onnxruntime-node'));
  assert.ok(dirs.length >= 1 && dirs.every((d) => /^bin\/napi-v\d+$/.test(d)), dirs.join(', '));
});

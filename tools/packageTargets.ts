// Which files go into the VSIX of each platform target. onnxruntime-node ships its native
// binaries for every platform under bin/napi-v<N>/<platform>/<arch> (~290 MB in all); a VSIX for
// one target must carry only that target's folder. Pure functions, so the selection is testable
// without running vsce (test/unit/packageTargets.test.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The targets VS Code Marketplace knows that onnxruntime-node publishes binaries for (some releases skip one). */
export const TARGETS: readonly string[] = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** `linux-x64` → `{ platform: 'linux', arch: 'x64' }` (the folder names onnxruntime-node uses). */
export function splitTarget(target: string): { platform: string; arch: string } {
  const at = target.indexOf('-');
  if (at <= 0 || !TARGETS.includes(target)) throw new Error(`unknown target '${target}'; known: ${TARGETS.join(', ')}`);
  return { platform: target.slice(0, at), arch: target.slice(at + 1) };
}

/** The `napi-v<N>` folders under onnxruntime-node's bin/ (relative paths), newest ABI first. */
export function napiDirs(ortRoot: string): string[] {
  const bin = join(ortRoot, 'bin');
  if (!existsSync(bin)) return [];
  return readdirSync(bin)
    .filter((d) => /^napi-v\d+$/.test(d))
    .sort((a, b) => Number(b.slice(6)) - Number(a.slice(6)))
    .map((d) => `bin/${d}`);
}

/**
 * For each target, the binary folder (relative to onnxruntime-node's root) or the reason it is
 * missing. `exists` answers whether a relative folder exists in the installed package.
 */
export type TargetPlan = { target: string; binDir: string; skip?: undefined } | { target: string; skip: string; binDir?: undefined };

export function planTargets(targets: readonly string[], dirs: readonly string[], exists: (relative: string) => boolean): TargetPlan[] {
  return targets.map((target): TargetPlan => {
    const { platform, arch } = splitTarget(target);
    const found = dirs.map((d) => `${d}/${platform}/${arch}`).find(exists);
    return found
      ? { target, binDir: found }
      : { target, skip: `onnxruntime-node ships no binaries for ${platform}/${arch} (looked in ${dirs.length ? dirs.map((d) => `${d}/${platform}/${arch}`).join(', ') : 'bin/napi-v*/ (none found)'})` };
  });
}

/**
 * The ignore file for one target: the shared base (which admits no native binary) plus the one
 * folder of that target. vsce applies the last matching pattern, so the negation comes last.
 */
export function ignoreFileFor(base: string, binDir: string): string {
  const lines = base.split('\n').filter((l) => !/^!node_modules\/onnxruntime-node\/bin\//.test(l.trim()));
  return `${lines.join('\n').trimEnd()}\n# added by tools/package.mjs for this target only\n!node_modules/onnxruntime-node/${binDir}/**\n`;
}

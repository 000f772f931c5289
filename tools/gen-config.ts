// Writes what is generated from the settings schemas (src/core/settings): package.json's
// contributes.configuration and docs/SETTINGS.md. `--check` writes nothing and exits 1 when either
// is out of date. Run by `npm run gen:config` and by `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { configurationContribution, settingsMarkdown } from '../src/core/settings/contribution';

const root = path.resolve(__dirname, '..');
const pkgFile = path.join(root, 'package.json');
const docFile = path.join(root, 'docs', 'SETTINGS.md');

const pkgText = readFileSync(pkgFile, 'utf8');
const pkg = JSON.parse(pkgText) as { contributes: Record<string, unknown> };
pkg.contributes.configuration = configurationContribution();
// package.json is kept in npm's own layout (two spaces, final newline), so only the generated part changes.
const wantPkg = JSON.stringify(pkg, null, 2) + '\n';
const wantDoc = settingsMarkdown();
let docText = '';
try {
  docText = readFileSync(docFile, 'utf8');
} catch {
  // Missing: written below, or reported as out of date.
}

const stale = [...(pkgText !== wantPkg ? ['package.json contributes.configuration'] : []), ...(docText !== wantDoc ? ['docs/SETTINGS.md'] : [])];
if (process.argv.includes('--check')) {
  if (stale.length) {
    process.stderr.write(`out of date with src/core/settings: ${stale.join(', ')}; run npm run gen:config\n`);
    process.exit(1);
  }
} else {
  if (pkgText !== wantPkg) writeFileSync(pkgFile, wantPkg);
  if (docText !== wantDoc) writeFileSync(docFile, wantDoc);
  process.stdout.write(stale.length ? `wrote ${stale.join(', ')}\n` : 'settings outputs are up to date\n');
}

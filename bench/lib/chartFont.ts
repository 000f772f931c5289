// The font family PNG charts are drawn with. @napi-rs/canvas ships no fonts; it loads the system's,
// so a machine with fontconfig has at least DejaVu or Liberation. QP_CHART_FONT=/path/to/font.ttf
// picks a file instead (or supplies one on a machine without fonts).
import { GlobalFonts } from '@napi-rs/canvas';

const PREFERRED = ['DejaVu Sans', 'Liberation Sans', 'Noto Sans', 'Arial', 'Helvetica', 'Roboto', 'Open Sans'];
const ALIAS = 'QP Chart Font';

/** Family per font file ('' = the system's), so each file is registered once. */
const chosen = new Map<string, string>();

/** A sans-serif family present on this machine, or the one in fontFile (default QP_CHART_FONT). */
export function chartFontFamily(fontFile = process.env.QP_CHART_FONT ?? ''): string {
  const known = chosen.get(fontFile);
  if (known) return known;
  if (fontFile) {
    const alias = `${ALIAS} ${chosen.size + 1}`;
    if (!GlobalFonts.registerFromPath(fontFile, alias)) throw new Error(`QP_CHART_FONT=${fontFile}: not a font file @napi-rs/canvas can load (TTF, OTF or WOFF2)`);
    chosen.set(fontFile, alias);
    return alias;
  }
  const families = GlobalFonts.families.map((f) => f.family);
  const pick =
    PREFERRED.find((p) => families.includes(p)) ??
    // Any text face beats none; monospace and maths faces only when nothing else exists.
    families.find((f) => !/mono|math|symbol|emoji/i.test(f)) ??
    families[0];
  if (!pick) {
    throw new Error('no font for chart text: this machine has no system fonts (install e.g. fonts-dejavu-core) and QP_CHART_FONT is not set to a .ttf file');
  }
  chosen.set('', pick);
  return pick;
}

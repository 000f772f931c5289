/**
 * A proportional bitmap font for ASCII 32-126, drawn for this project: capitals and digits are 7 rows tall,
 * lower-case letters have a 5-row x-height, and g j p q y , ; _ use two descender rows below the baseline.
 * Each glyph is written as rows of '#' (ink) and '.' (paper) separated by spaces; rows left out at the
 * bottom are blank. Digits all share one width so tick labels line up.
 */
const GLYPH_SOURCE: Record<string, string> = {
  ' ': '... ... ... ... ... ... ...',
  '!': '# # # # # . #',
  '"': '#.# #.# ...',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  "'": '# # .',
  '(': '..# .#. #.. #.. #.. #.. .#. ..#',
  ')': '#.. .#. ..# ..# ..# ..# .#. #..',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ',': '.. .. .. .. .. .# .# #.',
  '-': '.... .... .... #### .... .... ....',
  '.': '. . . . . . #',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '.###. #...# ....# ..##. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '. . # . . . #',
  ';': '.. .. .# .. .. .# .# #.',
  '<': '...# ..#. .#.. #... .#.. ..#. ...#',
  '=': '.... .... #### .... #### .... ....',
  '>': '#... .#.. ..#. ...# ..#. .#.. #...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '@': '.###. #...# #.### #.#.# #.### #.... .####',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '### .#. .#. .#. .#. .#. ###',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.###. #...# #.... .###. ....# #...# .###.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '[': '### #.. #.. #.. #.. #.. #.. ###',
  '\\': '#.... #.... .#... ..#.. ...#. ....# ....#',
  ']': '### ..# ..# ..# ..# ..# ..# ###',
  '^': '..#.. .#.#. #...#',
  _: '..... ..... ..... ..... ..... ..... ..... #####',
  '`': '#. .#',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '.... .... .### #... #... #... .###',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..## .#.. ###. .#.. .#.. .#.. .#..',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '# . # # # # #',
  j: '..# ... .## ..# ..# ..# ..# ..# ##.',
  k: '#... #... #..# #.#. ##.. #.#. #..#',
  l: '#. #. #. #. #. #. .#',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '.... .... #.## ##.. #... #... #...',
  s: '..... ..... .#### #.... .###. ....# ####.',
  t: '.... .#.. ###. .#.. .#.. .#.. ..##',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '{': '..# .#. .#. #.. .#. .#. ..#',
  '|': '# # # # # # # # #',
  '}': '#.. .#. .#. ..# .#. .#. #..',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
};

/** Rows per glyph at scale 1: 7 above the baseline, 2 below. */
export const GLYPH_ROWS = 9;
/** Rows above the baseline (cap height) at scale 1. */
export const CAP_ROWS = 7;
/** Blank columns between glyphs at scale 1. */
const SPACING = 1;

export interface Glyph {
  readonly width: number;
  /** GLYPH_ROWS x width, 1 = ink. */
  readonly bits: Uint8Array;
}

function parseGlyph(ch: string, src: string): Glyph {
  const rows = src.split(' ');
  const width = rows[0]!.length;
  if (rows.length > GLYPH_ROWS || rows.some((r) => r.length !== width || /[^#.]/.test(r))) {
    throw new Error(`font: malformed glyph for ${JSON.stringify(ch)}`);
  }
  const bits = new Uint8Array(width * GLYPH_ROWS);
  rows.forEach((row, y) => {
    for (let x = 0; x < width; x++) bits[y * width + x] = row[x] === '#' ? 1 : 0;
  });
  return { width, bits };
}

const GLYPHS = new Map<string, Glyph>();
for (const [ch, src] of Object.entries(GLYPH_SOURCE)) GLYPHS.set(ch, parseGlyph(ch, src));

/** Characters outside ASCII that benchmark labels are likely to contain, spelled in ASCII. */
const SUBSTITUTES: Record<string, string> = {
  '\u2013': '-',
  '\u2014': '-',
  '\u2212': '-',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u00d7': 'x',
  '\u00b1': '+-',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u2026': '...',
  '\u00b5': 'u',
  '\u03bc': 'u',
  '\u03b1': 'a',
  '\u03b2': 'b',
  '\u00a0': ' ',
};

/** Maps text onto the font's repertoire: known look-alikes are spelled out, anything else becomes '?'. */
export function normalizeText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (GLYPHS.has(ch)) out += ch;
    else if (ch === '\t' || ch === '\n' || ch === '\r') out += ' ';
    else out += SUBSTITUTES[ch] ?? '?';
  }
  return out;
}

export function glyph(ch: string): Glyph {
  return GLYPHS.get(ch) ?? GLYPHS.get('?')!;
}

/** Width in pixels of `text` drawn at `scale` (no trailing spacing). */
export function textWidth(text: string, scale: number): number {
  const s = normalizeText(text);
  if (s.length === 0) return 0;
  let w = 0;
  for (const ch of s) w += glyph(ch).width + SPACING;
  return (w - SPACING) * scale;
}

/** Height of a text line including descenders, in pixels. */
export function textHeight(scale: number): number {
  return GLYPH_ROWS * scale;
}

/** A 1-bit image of rendered text; row-major, 1 = ink. */
export interface TextMask {
  readonly width: number;
  readonly height: number;
  readonly bits: Uint8Array;
}

/**
 * Scale2x (EPX), additive: doubles a 1-bit image and fills the inner corner where two strokes meet diagonally, so
 * diagonals of the doubled glyphs look like lines rather than staircases of 2x2 blocks.
 */
function scale2x(src: TextMask): TextMask {
  const { width: w, height: h, bits } = src;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : bits[y * w + x]!);
  const W = w * 2;
  const out = new Uint8Array(W * h * 2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = at(x, y);
      const a = at(x, y - 1);
      const b = at(x + 1, y);
      const c = at(x - 1, y);
      const d = at(x, y + 1);
      // Only ink is added: plain Scale2x would also shave the outer corner of every L-shaped stroke,
      // which turns D into O and E into a rounded shape.
      const e0 = p | (c === a && c !== d && a !== b ? a : 0);
      const e1 = p | (a === b && a !== c && b !== d ? b : 0);
      const e2 = p | (d === c && d !== b && c !== a ? c : 0);
      const e3 = p | (b === d && b !== a && d !== c ? d : 0);
      const o = 2 * y * W + 2 * x;
      out[o] = e0;
      out[o + 1] = e1;
      out[o + W] = e2;
      out[o + W + 1] = e3;
    }
  }
  return { width: W, height: h * 2, bits: out };
}

function scaleNearest(src: TextMask, k: number): TextMask {
  const W = src.width * k;
  const H = src.height * k;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) out[y * W + x] = src.bits[((y / k) | 0) * src.width + ((x / k) | 0)]!;
  }
  return { width: W, height: H, bits: out };
}

/**
 * Renders one line of text. Scale 1 is the raw font; even scales are smoothed with Scale2x, odd ones are
 * pixel-doubled. The mask is textHeight(scale) tall with the baseline CAP_ROWS*scale from the top.
 */
export function renderText(text: string, scale: number): TextMask {
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new Error(`font: bad text scale ${scale}`);
  const s = normalizeText(text);
  const width = textWidth(s, 1);
  let mask: TextMask = { width, height: GLYPH_ROWS, bits: new Uint8Array(width * GLYPH_ROWS) };
  let x0 = 0;
  for (const ch of s) {
    const g = glyph(ch);
    for (let y = 0; y < GLYPH_ROWS; y++) {
      for (let x = 0; x < g.width; x++) if (g.bits[y * g.width + x]) mask.bits[y * width + x0 + x] = 1;
    }
    x0 += g.width + SPACING;
  }
  if (width === 0) return { width: 0, height: GLYPH_ROWS * scale, bits: new Uint8Array(0) };
  let k = scale;
  while (k % 2 === 0) {
    mask = scale2x(mask);
    k /= 2;
  }
  return k === 1 ? mask : scaleNearest(mask, k);
}

/** The characters the font draws itself (ASCII 32-126). */
export function fontCharacters(): string[] {
  return [...GLYPHS.keys()];
}

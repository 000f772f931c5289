import { ChartError } from './errors';
import { type TextMask, renderText, textWidth, textHeight, CAP_ROWS } from './font';

export type Rgb = readonly [number, number, number];

export function parseColor(hex: string, what = 'colour'): Rgb {
  const m = /^#([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(hex);
  if (!m) throw new ChartError('bad-color', `${what} must be '#rrggbb', got ${JSON.stringify(hex)}`);
  let h = m[1]!;
  if (h.length === 3) h = h[0]! + h[0]! + h[1]! + h[1]! + h[2]! + h[2]!;
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

export interface Rect {
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  /** Exclusive. */
  y1: number;
}

export interface TextOptions {
  scale: number;
  color: Rgb;
  /** Horizontal anchor of x (for rotated text: of the drawn, rotated box). */
  align?: 'left' | 'center' | 'right';
  /** Vertical anchor of y: top of the line box, its middle, or its bottom. */
  valign?: 'top' | 'middle' | 'bottom';
  /** Reads bottom-to-top (rotated 90 degrees counter-clockwise). */
  vertical?: boolean;
  bold?: boolean;
}

/**
 * An opaque RGBA canvas. Shapes are drawn as coverage masks blended once over the background, which gives
 * anti-aliased edges without seams where the segments of one polyline overlap.
 */
export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = background[0];
      this.data[i + 1] = background[1];
      this.data[i + 2] = background[2];
      this.data[i + 3] = 255;
    }
  }

  pixel(x: number, y: number): Rgb {
    const o = (y * this.width + x) * 4;
    return [this.data[o]!, this.data[o + 1]!, this.data[o + 2]!];
  }

  blend(x: number, y: number, c: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const o = (y * this.width + x) * 4;
    const d = this.data;
    if (alpha >= 1) {
      d[o] = c[0];
      d[o + 1] = c[1];
      d[o + 2] = c[2];
      return;
    }
    d[o] = Math.round(d[o]! + (c[0] - d[o]!) * alpha);
    d[o + 1] = Math.round(d[o + 1]! + (c[1] - d[o + 1]!) * alpha);
    d[o + 2] = Math.round(d[o + 2]! + (c[2] - d[o + 2]!) * alpha);
  }

  /** Fills integer pixel columns [x0, x1) and rows [y0, y1), clipped to the canvas. */
  fillRect(x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha = 1): void {
    const xa = Math.max(0, Math.round(x0));
    const ya = Math.max(0, Math.round(y0));
    const xb = Math.min(this.width, Math.round(x1));
    const yb = Math.min(this.height, Math.round(y1));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.blend(x, y, c, alpha);
  }

  /** A 1-pixel rectangle outline around [x0, x1) x [y0, y1). */
  strokeRect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    this.fillRect(x0, y0, x1, y0 + 1, c);
    this.fillRect(x0, y1 - 1, x1, y1, c);
    this.fillRect(x0, y0, x0 + 1, y1, c);
    this.fillRect(x1 - 1, y0, x1, y1, c);
  }

  /**
   * Strokes a polyline of the given width with round joins and caps. Pixel centres sit at integer + 0.5, so a
   * point (x, y) in canvas coordinates lies inside pixel (floor x, floor y). `dash` = [on, off] lengths.
   */
  strokePolyline(points: readonly (readonly [number, number])[], width: number, c: Rgb, clip?: Rect, dash?: readonly [number, number]): void {
    const segs = dash ? dashSegments(points, dash) : toSegments(points);
    if (segs.length === 0) return;
    const half = width / 2;
    const cov = new Map<number, number>();
    const r = clip ?? { x0: 0, y0: 0, x1: this.width, y1: this.height };
    for (const [ax, ay, bx, by] of segs) {
      const xa = Math.max(r.x0, Math.floor(Math.min(ax, bx) - half - 1));
      const xb = Math.min(r.x1, Math.ceil(Math.max(ax, bx) + half + 1));
      const ya = Math.max(r.y0, Math.floor(Math.min(ay, by) - half - 1));
      const yb = Math.min(r.y1, Math.ceil(Math.max(ay, by) + half + 1));
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      for (let y = ya; y < yb; y++) {
        for (let x = xa; x < xb; x++) {
          const px = x + 0.5 - ax;
          const py = y + 0.5 - ay;
          let t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const ex = px - t * dx;
          const ey = py - t * dy;
          const a = half + 0.5 - Math.sqrt(ex * ex + ey * ey);
          if (a <= 0) continue;
          const k = y * this.width + x;
          const prev = cov.get(k) ?? 0;
          if (a > prev) cov.set(k, a > 1 ? 1 : a);
        }
      }
    }
    this.applyCoverage(cov, c);
  }

  /** Fills a disc, anti-aliased. */
  fillCircle(cx: number, cy: number, radius: number, c: Rgb, clip?: Rect): void {
    const cov = new Map<number, number>();
    this.forBox(cx, cy, radius + 1, clip, (x, y) => {
      const a = radius + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (a > 0) cov.set(y * this.width + x, a > 1 ? 1 : a);
    });
    this.applyCoverage(cov, c);
  }

  /** Fills a convex polygon given counter-clockwise or clockwise, anti-aliased by distance to the edges. */
  fillConvex(pts: readonly (readonly [number, number])[], c: Rgb, clip?: Rect): void {
    let area = 0;
    for (let i = 0; i < pts.length; i++) {
      const [ax, ay] = pts[i]!;
      const [bx, by] = pts[(i + 1) % pts.length]!;
      area += ax * by - bx * ay;
    }
    const sign = area >= 0 ? 1 : -1;
    const edges = pts.map((p, i) => {
      const q = pts[(i + 1) % pts.length]!;
      const ex = q[0] - p[0];
      const ey = q[1] - p[1];
      const l = Math.hypot(ex, ey) || 1;
      // Inward unit normal for the winding found above.
      return { px: p[0], py: p[1], nx: (-ey / l) * sign, ny: (ex / l) * sign };
    });
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const cov = new Map<number, number>();
    const r = clip ?? { x0: 0, y0: 0, x1: this.width, y1: this.height };
    for (let y = Math.max(r.y0, Math.floor(Math.min(...ys)) - 1); y < Math.min(r.y1, Math.ceil(Math.max(...ys)) + 1); y++) {
      for (let x = Math.max(r.x0, Math.floor(Math.min(...xs)) - 1); x < Math.min(r.x1, Math.ceil(Math.max(...xs)) + 1); x++) {
        let d = Infinity;
        for (const e of edges) d = Math.min(d, (x + 0.5 - e.px) * e.nx + (y + 0.5 - e.py) * e.ny);
        const a = d + 0.5;
        if (a > 0) cov.set(y * this.width + x, a > 1 ? 1 : a);
      }
    }
    this.applyCoverage(cov, c);
  }

  private forBox(cx: number, cy: number, r: number, clip: Rect | undefined, f: (x: number, y: number) => void): void {
    const c = clip ?? { x0: 0, y0: 0, x1: this.width, y1: this.height };
    const xa = Math.max(c.x0, Math.floor(cx - r));
    const xb = Math.min(c.x1, Math.ceil(cx + r));
    const ya = Math.max(c.y0, Math.floor(cy - r));
    const yb = Math.min(c.y1, Math.ceil(cy + r));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) f(x, y);
  }

  private applyCoverage(cov: Map<number, number>, c: Rgb): void {
    for (const [k, a] of cov) this.blend(k % this.width, (k / this.width) | 0, c, a);
  }

  /** Draws a 1-bit mask with its top-left corner at (x, y); `vertical` rotates it 90 degrees counter-clockwise. */
  drawMask(m: TextMask, x: number, y: number, c: Rgb, vertical = false): void {
    for (let my = 0; my < m.height; my++) {
      for (let mx = 0; mx < m.width; mx++) {
        if (!m.bits[my * m.width + mx]) continue;
        if (vertical) this.blend(x + my, y + (m.width - 1 - mx), c, 1);
        else this.blend(x + mx, y + my, c, 1);
      }
    }
  }

  /** Draws one line of text and returns the box it occupies. */
  text(s: string, x: number, y: number, o: TextOptions): Rect {
    const m = renderText(s, o.scale);
    const boldExtra = o.bold ? 1 : 0;
    const along = m.width + boldExtra;
    const across = m.height;
    const w = o.vertical ? across : along;
    const h = o.vertical ? along : across;
    const align = o.align ?? 'left';
    const valign = o.valign ?? 'top';
    const left = Math.round(align === 'left' ? x : align === 'center' ? x - w / 2 : x - w);
    const top = Math.round(valign === 'top' ? y : valign === 'middle' ? y - h / 2 : y - h);
    this.drawMask(m, left, top, o.color, o.vertical);
    if (o.bold) {
      if (o.vertical) this.drawMask(m, left, top + 1, o.color, true);
      else this.drawMask(m, left + 1, top, o.color, false);
    }
    return { x0: left, y0: top, x1: left + w, y1: top + h };
  }
}

/** Size of a text box as Canvas.text would draw it. */
export function measureText(s: string, scale: number, bold = false): { width: number; height: number } {
  return { width: textWidth(s, scale) + (bold ? 1 : 0), height: textHeight(scale) };
}

/** Distance from the top of a text box to its baseline. */
export function textAscent(scale: number): number {
  return CAP_ROWS * scale;
}

type Seg = [number, number, number, number];

function toSegments(points: readonly (readonly [number, number])[]): Seg[] {
  if (points.length === 1) return [[points[0]![0], points[0]![1], points[0]![0], points[0]![1]]];
  const out: Seg[] = [];
  for (let i = 1; i < points.length; i++) out.push([points[i - 1]![0], points[i - 1]![1], points[i]![0], points[i]![1]]);
  return out;
}

/** Cuts a polyline into the "on" pieces of a dash pattern that continues across vertices. */
function dashSegments(points: readonly (readonly [number, number])[], dash: readonly [number, number]): Seg[] {
  const [on, off] = dash;
  const period = on + off;
  const out: Seg[] = [];
  let phase = 0;
  for (let i = 1; i < points.length; i++) {
    const [ax, ay] = points[i - 1]!;
    const [bx, by] = points[i]!;
    const len = Math.hypot(bx - ax, by - ay);
    let s = 0;
    while (s < len) {
      const inOn = phase < on;
      const step = Math.min(len - s, inOn ? on - phase : period - phase);
      if (inOn) {
        const t0 = s / len;
        const t1 = (s + step) / len;
        out.push([ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1, ay + (by - ay) * t1]);
      }
      s += step;
      phase = (phase + step) % period;
      if (step <= 0) break;
    }
  }
  return out;
}

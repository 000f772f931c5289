// Just enough of the protobuf wire format to find field boundaries and length prefixes in model
// bytes, so truncations and forged lengths land where a real decoder makes decisions, not only at
// random offsets.

export interface Span {
  field: number;
  wire: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the length varint (wire type 2), else -1. */
  lenAt: number;
  /** Offset of the payload. */
  dataStart: number;
  /** One past the field's last byte. */
  end: number;
}

export function readVarint(b: Uint8Array, p: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= b.length) throw new Error('varint past the end');
    const byte = b[p++]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, p];
    mul *= 128;
  }
  throw new Error('varint too long');
}

export function encodeVarint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** The fields of one message occupying b[start, end); throws on malformed input. */
export function fieldSpans(b: Uint8Array, start = 0, end = b.length): Span[] {
  const out: Span[] = [];
  let p = start;
  while (p < end) {
    const s = p;
    const [tag, afterTag] = readVarint(b, p);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let lenAt = -1;
    let dataStart = afterTag;
    let q: number;
    if (wire === 0) q = readVarint(b, afterTag)[1];
    else if (wire === 1) q = afterTag + 8;
    else if (wire === 5) q = afterTag + 4;
    else if (wire === 2) {
      lenAt = afterTag;
      const [len, afterLen] = readVarint(b, afterTag);
      dataStart = afterLen;
      q = afterLen + len;
    } else throw new Error(`wire type ${wire}`);
    if (q > end) throw new Error('field past the end');
    out.push({ field, wire, start: s, lenAt, dataStart, end: q });
    p = q;
  }
  return out;
}

/**
 * Model spans at three levels: ModelProto's fields, GraphProto's (field 7), and the fields of each
 * initializer (graph field 5), which hold dims, types, raw data and external-data entries.
 */
export function modelSpans(b: Uint8Array): Span[] {
  const top = fieldSpans(b);
  const out = [...top];
  for (const g of top.filter((s) => s.field === 7 && s.wire === 2)) {
    const graph = fieldSpans(b, g.dataStart, g.end);
    out.push(...graph);
    for (const init of graph.filter((s) => s.field === 5 && s.wire === 2)) out.push(...fieldSpans(b, init.dataStart, init.end));
  }
  return out;
}

/** Every offset where a top-level or graph-level field starts or ends (0 and the full length excluded). */
export function fieldBoundaries(b: Uint8Array): number[] {
  const top = fieldSpans(b);
  const set = new Set<number>();
  for (const s of top) set.add(s.start).add(s.end);
  for (const g of top.filter((s) => s.field === 7 && s.wire === 2)) {
    set.add(g.dataStart);
    for (const s of fieldSpans(b, g.dataStart, g.end)) set.add(s.start).add(s.end);
  }
  set.delete(0);
  set.delete(b.length);
  return [...set].sort((x, y) => x - y);
}

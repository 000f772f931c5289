// Graph order shared by every pass that walks nodes producer-first (channel analysis, symbolic
// shapes, backward construction). ONNX requires nodes in topological order but exporters do not
// always comply, so the order is computed rather than trusted.
import type { GraphProto, NodeProto } from 'onnx-buf';
import { OnnxModelError } from './errors';

export interface TopoOptions {
  /**
   * 'append' keeps the nodes on a cycle (never valid ONNX) in file order after the rest, for passes
   * that lock what they cannot follow; 'throw' refuses the graph.
   */
  onCycle?: 'append' | 'throw';
}

/**
 * Kahn's order with ties broken by file position, so an already sorted graph comes back exactly
 * as written and results that depend on node order (group ids, variable numbering) do not move.
 * Edges include the names an If/Loop/Scan body reads from the enclosing graph.
 */
export function topoOrder(nodes: readonly NodeProto[], opts: TopoOptions = {}): NodeProto[] {
  const produced = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => o && produced.set(o, i)));
  const indeg = new Int32Array(nodes.length);
  const next: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const inp of [...n.input, ...subgraphRefs(n)]) {
      const p = inp ? produced.get(inp) : undefined;
      if (p !== undefined && p !== i) deps.add(p);
    }
    for (const d of deps) {
      next[d]!.push(i);
      indeg[i]!++;
    }
  });
  const ready = new MinHeap();
  for (let i = 0; i < nodes.length; i++) if (indeg[i] === 0) ready.push(i);
  const out: NodeProto[] = [];
  const placed = new Uint8Array(nodes.length);
  while (ready.size > 0) {
    const i = ready.pop();
    out.push(nodes[i]!);
    placed[i] = 1;
    for (const j of next[i]!) if (--indeg[j]! === 0) ready.push(j);
  }
  if (out.length < nodes.length) {
    const stuck = nodes.filter((_, i) => !placed[i]);
    if (opts.onCycle === 'throw') {
      throw new OnnxModelError('invalid-graph', `the graph has a cycle through ${stuck.length} node${stuck.length === 1 ? '' : 's'}, starting at '${stuck[0]!.name}'`);
    }
    out.push(...stuck);
  }
  return out;
}

/** Names an If/Loop/Scan body reads from the enclosing graph (invisible in node.input). */
export function subgraphRefs(node: NodeProto): string[] {
  const refs: string[] = [];
  const visit = (g: GraphProto) => {
    const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
    for (const n of g.node) for (const o of n.output) local.add(o);
    for (const n of g.node) {
      for (const i of n.input) if (i && !local.has(i)) refs.push(i);
      for (const a of n.attribute) {
        if (a.g) visit(a.g);
        for (const sg of a.graphs) visit(sg);
      }
    }
  };
  for (const a of node.attribute) {
    if (a.g) visit(a.g);
    for (const sg of a.graphs) visit(sg);
  }
  return refs;
}

/** Binary min-heap of node indices: the ready node earliest in the file goes first. */
class MinHeap {
  private a: number[] = [];

  get size(): number {
    return this.a.length;
  }

  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

// Turns the finished union-find into the shared result types: variables (one per unlocked
// component with a source), groups (variables with the same producer set), channel maps, constant
// slices, gate points and the locked-channel report.
import type { NodeProto } from 'onnx-buf';
import { lockPriority, type ChannelGraph, type Lock } from './channelGraph';
import type { ChannelGroup, DependencyAnalysis, GatePoint, LockedChannels, LockReason, ParamSlice, TensorChannels, Variable } from './types';

interface Component {
  sources: Set<number>;
  lock: number;
}

export function assembleAnalysis(g: ChannelGraph, order: NodeProto[], unknownOps: string[]): DependencyAnalysis {
  const n = g.uf.length;
  const comps = new Map<number, Component>();
  const rootOf = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    const r = g.uf.find(s);
    rootOf[s] = r;
    let c = comps.get(r);
    if (!c) comps.set(r, (c = { sources: new Set(), lock: -1 }));
    if (g.source[s]! >= 0) c.sources.add(g.source[s]!);
    const l = g.lockOf[s]!;
    if (l >= 0 && (c.lock < 0 || lockPriority(g.locks[l]!.reason) > lockPriority(g.locks[c.lock]!.reason))) c.lock = l;
  }

  // Group variable components by their producer set; order groups by their producers' topological order.
  const byKey = new Map<string, { producers: number[]; roots: number[] }>();
  for (const [root, c] of comps) {
    if (c.sources.size === 0 || c.lock >= 0) continue;
    const producers = [...c.sources].sort((a, b) => a - b);
    const key = producers.join(',');
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { producers, roots: [] }));
    e.roots.push(root);
  }
  const entries = [...byKey.values()].sort((a, b) => {
    for (let i = 0; i < Math.min(a.producers.length, b.producers.length); i++) {
      if (a.producers[i] !== b.producers[i]) return a.producers[i]! - b.producers[i]!;
    }
    return a.producers.length - b.producers.length;
  });

  const variables: Variable[] = [];
  const varOfRoot = new Map<number, number>();
  const groups: ChannelGroup[] = [];
  entries.forEach((e, gi) => {
    const first = order[e.producers[0]!]!;
    const firstSlots = g.slots.get(first.output[0]!)!;
    // Variables in channel order of the first producer: its lowest channel in each component.
    const minChannel = new Map<number, number>();
    const wanted = new Set(e.roots);
    for (let c = 0; c < firstSlots.count; c++) {
      const r = rootOf[firstSlots.base + c]!;
      if (wanted.has(r) && !minChannel.has(r)) minChannel.set(r, c);
    }
    const roots = [...e.roots].sort((a, b) => minChannel.get(a)! - minChannel.get(b)!);
    const ids = new Int32Array(roots.length);
    roots.forEach((r, k) => {
      const v = variables.length;
      ids[k] = v;
      varOfRoot.set(r, v);
      variables.push({ group: gi, index: k, producer: first.name, channel: minChannel.get(r)! });
    });
    const producers = e.producers.map((p) => order[p]!.name);
    groups.push({ id: producers.join('+'), index: gi, size: roots.length, variables: ids, producers, consumers: [], nodes: [], initializers: [] });
  });

  const tensors = new Map<string, TensorChannels>();
  for (const [name, s] of g.slots) {
    const variable = new Int32Array(s.count);
    for (let c = 0; c < s.count; c++) variable[c] = varOfRoot.get(rootOf[s.base + c]!) ?? -1;
    tensors.set(name, { tensor: name, axis: s.axis ?? 1, variable, rank: s.rank });
  }

  const params: ParamSlice[] = [];
  for (const p of g.pending) {
    const t = tensors.get(p.tensor)!;
    if (!t.variable.some((v) => v >= 0)) continue;
    params.push({ initializer: p.initializer, axis: p.axis, block: p.block, variable: t.variable.slice(), node: p.node, role: p.role });
  }

  const gates: GatePoint[] = g.gates.filter((gp) => tensors.get(gp.tensor)?.variable.some((v) => v >= 0));

  fillGroupMembers(groups, variables, tensors, params, gates, order);

  const locked: LockedChannels[] = [];
  for (const [name, s] of g.slots) {
    if (s.origin === 'derived') continue;
    const byReason = new Map<LockReason, { count: number; lock: Lock | undefined }>();
    for (let c = 0; c < s.count; c++) {
      const r = rootOf[s.base + c]!;
      if (varOfRoot.has(r)) continue;
      const comp = comps.get(r)!;
      const lock = comp.lock >= 0 ? g.locks[comp.lock] : undefined;
      const reason: LockReason = lock?.reason ?? 'unresolved';
      const e = byReason.get(reason);
      if (e) e.count++;
      else byReason.set(reason, { count: 1, lock });
    }
    for (const [reason, e] of byReason) {
      locked.push({
        source: s.originName,
        tensor: name,
        channels: e.count,
        reason,
        detail: e.lock?.detail ?? `channels of '${name}' are not consumed by any layer the analysis can shrink`,
      });
    }
  }

  return { groups, variables, locked, tensors, params, gates, unknownOps };
}

function fillGroupMembers(
  groups: ChannelGroup[],
  variables: Variable[],
  tensors: Map<string, TensorChannels>,
  params: ParamSlice[],
  gates: GatePoint[],
  order: NodeProto[],
): void {
  const topo = new Map(order.map((n, i) => [n.name, i]));
  const nodeSets = groups.map(() => new Set<string>());
  const consumerSets = groups.map(() => new Set<string>());
  const initSets = groups.map(() => new Set<string>());
  const groupsOf = (t: TensorChannels | undefined): Set<number> => {
    const s = new Set<number>();
    if (t) for (const v of t.variable) if (v >= 0) s.add(variables[v]!.group);
    return s;
  };
  for (const node of order) {
    for (const name of [...node.input, ...node.output]) {
      for (const gi of groupsOf(tensors.get(name))) nodeSets[gi]!.add(node.name);
    }
  }
  for (const p of params) {
    const gs = new Set<number>();
    for (const v of p.variable) if (v >= 0) gs.add(variables[v]!.group);
    for (const gi of gs) {
      nodeSets[gi]!.add(p.node);
      initSets[gi]!.add(p.initializer);
      if (p.role.endsWith('.in')) consumerSets[gi]!.add(p.node);
    }
  }
  for (const gp of gates) for (const gi of groupsOf(tensors.get(gp.tensor))) consumerSets[gi]!.add(gp.node);
  const byTopo = (a: string, b: string) => (topo.get(a) ?? 0) - (topo.get(b) ?? 0);
  groups.forEach((grp, gi) => {
    grp.nodes = [...nodeSets[gi]!].sort(byTopo);
    grp.consumers = [...consumerSets[gi]!].sort(byTopo);
    grp.initializers = [...initSets[gi]!];
  });
}

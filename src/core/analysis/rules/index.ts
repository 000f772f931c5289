// The channel rules by op type (default ONNX domain), and what follows from the table: which ops
// the analysis knows, and the strict mode that refuses the others.
import type { NodeProto } from 'onnx-buf';
import { OnnxModelError, type OnnxModel } from '../../onnx';
import { mixingRules } from './mixing';
import { perChannelRules } from './perChannel';
import { reduceRules } from './reduce';
import { shapeRules } from './shape';
import { spatialRules } from './spatial';
import { structureRules } from './structure';
import type { RuleTable } from './types';
import { weightRules } from './weights';

export type { AnalysisContext, ChannelRule, RuleTable } from './types';
export { RuleContext } from './context';
export { channelsLast, readsChannelsLast } from './channelsLast';
export { WEIGHT_OPS } from './weights';
export { CHANNEL_NORMS } from './perChannel';

/** Merges the rule modules; an op claimed by two of them is a mistake in the tables, caught at load. */
function merge(...tables: RuleTable[]): RuleTable {
  const out: RuleTable = {};
  for (const t of tables) {
    for (const [op, rule] of Object.entries(t)) {
      if (op in out) throw new Error(`channel rule for '${op}' defined twice`);
      out[op] = rule;
    }
  }
  return out;
}

export const RULES: RuleTable = merge(weightRules, perChannelRules, structureRules, spatialRules, reduceRules, shapeRules, mixingRules);

export function isDefaultDomain(node: NodeProto): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** Op name as reported to users: plain for the default domain, `domain:Op` otherwise. */
export function opLabel(node: NodeProto): string {
  return isDefaultDomain(node) ? node.opType : `${node.domain}:${node.opType}`;
}

export function isKnownOp(node: NodeProto): boolean {
  return isDefaultDomain(node) && Object.hasOwn(RULES, node.opType);
}

/** Unknown op labels with their node counts, in order of first appearance. */
export function unknownOpCounts(model: OnnxModel): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.nodes) {
    if (isKnownOp(node)) continue;
    const label = opLabel(node);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/**
 * Strict mode: refuses models with ops the analysis does not understand instead of locking their
 * channels, so a user learns why fewer channels than expected are prunable.
 */
export function assertKnownOps(model: OnnxModel): void {
  const counts = unknownOpCounts(model);
  if (counts.size === 0) return;
  const list = [...counts].map(([op, n]) => `${op} (${n} node${n === 1 ? '' : 's'})`).join(', ');
  throw new OnnxModelError('unknown-ops', `the model uses ops the channel analysis does not know: ${list}; their channels cannot be pruned`);
}


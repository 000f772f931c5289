import type { NodeProto } from 'onnx-buf';
import type { OnnxModel } from '../../onnx';
import type { ChannelGraph, Slots } from '../channelGraph';
import type { LockReason } from '../types';

/** A LayerNorm over channels that the opt-in lets lose channels: its first node and normalised output. */
export interface LayerNormUse {
  name: string;
  output: string;
  /** ReduceMean … Div as exported before opset 17, rather than one LayerNormalization node. */
  decomposed: boolean;
}

/** What a channel rule may use: the channel graph being built, the model, and the shared moves. */
export interface AnalysisContext {
  readonly g: ChannelGraph;
  readonly model: OnnxModel;
  readonly opset: number;
  /** allowLayerNormPruning: LayerNorm over a channels-last axis joins its channels instead of locking them. */
  readonly allowLayerNorm: boolean;
  /** LayerNorms (fused, or decomposed before opset 17) made prunable by the opt-in, for the analysis' notes. */
  readonly layerNorms: LayerNormUse[];
  /** Position of a node in the walk; sources are numbered by it so groups come out in network order. */
  index(node: NodeProto): number;
  /** A node already followed as part of a multi-node pattern (channel shuffle): its own rule is skipped. */
  markHandled(node: NodeProto): void;
  slots(name: string | undefined): Slots | undefined;
  /**
   * Channels of a run-time input a rule needs. When nothing has produced channels for it (a graph
   * input without a shape, an op whose outputs were not followed), they are created locked.
   */
  need(name: string, count: number | undefined, rank: number | undefined): Slots | undefined;
  /** Locks everything a node touches: run-time inputs and (where their channel count is known) outputs. */
  lockNode(node: NodeProto, reason: LockReason, detail: string): void;
  /** Channel c of `to` is channel c of `from`. Spatial dims are inherited unless the op changes them. */
  pass(node: NodeProto, from: string, to: string | undefined, opts?: { spatial?: number[] | 'unknown'; rank?: number }): Slots | undefined;
  /** Records a constant sliced along `axis` by the channels of `tensor`, if its length matches. */
  param(node: NodeProto, init: string | undefined, axis: number, tensor: string, role: string, block?: number): void;
  /** A consumption edge, where a gate multiplies the channels (METHOD §2). */
  gate(tensor: string, node: NodeProto, inputIndex: number): void;
  /** Product of a tensor's spatial dims (1 for [N, F] features), when known. */
  spatialProduct(tensor: string): number | undefined;
  /** Axes given as an attribute (older opsets) or as a constant input (newer ones); null if run-time. */
  axesOf(node: NodeProto, inputIndex: number): number[] | undefined | null;
}

/** Joins, locks or records the channels of one node whose inputs already have their slots. */
export type ChannelRule = (ctx: AnalysisContext, node: NodeProto) => void;

export type RuleTable = Record<string, ChannelRule>;

/** One rule for a family of op types. */
export function forOps(ops: Iterable<string>, rule: ChannelRule): RuleTable {
  return Object.fromEntries([...ops].map((op) => [op, rule]));
}

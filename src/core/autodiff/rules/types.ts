import type { NodeProto } from 'onnx-buf';
import type { OnnxModel } from '../../onnx';
import type { Emitter } from '../emitter';
import type { Dim, ShapeInfo } from '../shapes';
import type { AutodiffErrorCode } from '../errors';

/** What a backward rule may use: the emitter, the (forward) model and its inferred shapes. */
export interface RuleContext {
  e: Emitter;
  model: OnnxModel;
  shapes: ShapeInfo;
  opset: number;
  /**
   * Sums `g` over the axes along which `like` was broadcast, and reshapes it to `like`'s shape.
   * `gShape` is g's shape: the name of a forward tensor shaped like g, or the dims themselves
   * (undefined when unknown: the axes are then found at run time).
   */
  reduceTo(g: string, gShape: string | Dim[] | undefined, like: string): string;
  /** Rank of a forward tensor; throws 'shape-unknown' naming the node when inference has none. */
  rank(tensor: string, node: NodeProto): number;
  fail(node: NodeProto, code: AutodiffErrorCode, detail: string): never;
  /** Returns when the gradient graph's opset is at least `min`; otherwise the graph is rebuilt at `min`. */
  needOpset(node: NodeProto, min: number, detail: string): void;
}

/**
 * `dY[k]` is the gradient of output k (undefined when nothing downstream needs it); `need[i]`
 * says whether input i needs a gradient. Returns one entry per input (undefined where not needed).
 */
export type Backward = (ctx: RuleContext, node: NodeProto, dY: (string | undefined)[], need: boolean[]) => (string | undefined)[];

export interface GradRule {
  /** Input positions gradients flow into (default: all). */
  inputs?: (node: NodeProto) => number[];
  /** Output positions that carry gradients (default: all). */
  outputs?: number[];
  backward: Backward;
}

export type RuleTable = Record<string, GradRule>;

/** For ops that do not pass gradients at all (shapes, comparisons, indices). */
export const NON_DIFFERENTIABLE: GradRule = { inputs: () => [], backward: () => [] };

// Shared result types of the model analysis. The pruning engine, importance, QUBO and reports all
// read these, so they are declared once here.

/** Shapes of every tensor for one concrete input shape (activations and constants). */
export type ShapeMap = Map<string, number[]>;

export interface LayerInfo {
  /** ONNX node name. */
  node: string;
  op: 'Conv' | 'ConvTranspose' | 'Gemm' | 'MatMul';
  inChannels: number;
  outChannels: number;
  kernel: number[];
  stride: number[];
  dilation: number[];
  groups: number;
  /** Weight and bias parameters of this node. */
  params: number;
  /** Multiply-accumulates at the analysed input shape (batch 1). */
  macs: number;
  /** Activation applied to the output (after any norm), e.g. 'Relu', 'LeakyRelu', or null. */
  activation: string | null;
  /** Norm directly after the layer ('BatchNormalization' | 'InstanceNormalization') or null. */
  norm: string | null;
  weight: string;
  bias: string | null;
  outputShape: number[];
}

export type LockReason =
  | 'graph-output'
  | 'graph-input'
  | 'unknown-op'
  | 'channel-mixing'
  | 'grouped-conv'
  | 'unresolved';

/** Where a run-time tensor carries channels: the axis and, per channel, the variable it belongs to. */
export interface TensorChannels {
  tensor: string;
  /** 1, or rank − 1 for channels-last tensors (between a Transpose to [N, …, C] and back). */
  axis: number;
  /** Length = channel count; entry = global variable index, or -1 when the channel is not prunable. */
  variable: Int32Array;
  /** Rank of the tensor (4 for NCHW maps, 2 for [N, F] features); set by analyzeDependencies. */
  rank?: number;
}

/**
 * A slice of a constant tensor that shrinks with pruning: along `axis`, index i belongs to
 * variable `variable[Math.floor(i / block)]` (block > 1 for flattened features feeding a Gemm).
 */
export interface ParamSlice {
  initializer: string;
  axis: number;
  block: number;
  variable: Int32Array;
  /** Node that uses the parameter and why (for reports): e.g. 'Conv.weight.out', 'BatchNormalization.scale'. */
  node: string;
  role: string;
}

/** An edge where a channel is consumed: gates multiply here (METHOD §2). */
export interface GatePoint {
  tensor: string;
  node: string;
  inputIndex: number;
}

/** A set of variables pruned under one capacity: the output channels of one layer, or of layers tied by residual adds. */
export interface ChannelGroup {
  /** Stable id derived from the producing node names, e.g. 'conv3' or 'conv3+conv5'. */
  id: string;
  index: number;
  /** Number of variables (prunable channels). */
  size: number;
  /** Global variable indices, in channel order of the first producer. */
  variables: Int32Array;
  /** Nodes whose output channels form this group, with the weights sliced on their output axis. */
  producers: string[];
  /** Nodes that lose input channels when a variable of this group is pruned. */
  consumers: string[];
  /** Every node touched (producers, norms, activations, pass-through, consumers). */
  nodes: string[];
  /** Every initializer touched. */
  initializers: string[];
}

export interface LockedChannels {
  /** Node producing them (or the tensor for graph inputs). */
  source: string;
  tensor: string;
  channels: number;
  reason: LockReason;
  detail: string;
}

export interface Variable {
  group: number;
  /** Position inside its group. */
  index: number;
  /** Producer node and output channel that define this variable (first producer). */
  producer: string;
  channel: number;
}

export interface DependencyAnalysis {
  groups: ChannelGroup[];
  variables: Variable[];
  locked: LockedChannels[];
  /** Channel maps of every run-time tensor with a channel axis. */
  tensors: Map<string, TensorChannels>;
  /** Every constant slice that shrinks when variables are pruned. */
  params: ParamSlice[];
  gates: GatePoint[];
  /** Op types the analysis does not understand (channels through them are locked). */
  unknownOps: string[];
  /**
   * Caveats of an opted-in rule that make the pruned model differ from the gated (masked) one,
   * e.g. a LayerNorm over channels whose statistics change when channels go. Absent when none.
   */
  notes?: string[];
}

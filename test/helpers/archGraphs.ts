// Small graphs shaped like the blocks of torchvision's classifiers (issue 14 §3): squeeze-excitation
// (EfficientNet, MobileNetV3), fire modules (SqueezeNet), grouped convolutions (ResNeXt, RegNet),
// channel shuffle (ShuffleNet), ConvNeXt's channels-last LayerNorm block and Flatten→Gemm heads
// over a spatial map (VGG, AlexNet). Node names follow the pattern so assertions read like it.
import { GraphBuilder, type TestGraph } from './graphs';
import type { OnnxModel } from '../../src/core/onnx';

/**
 * conv1(16) → relu → depthwise(16) → relu = x; SE: GlobalAveragePool(x) → se_sq 1×1 (16→4) → relu →
 * se_ex 1×1 (4→16) → Sigmoid | HardSigmoid → Mul(x, s) → proj 1×1 (8) → relu → conv_out → output.
 * `reduce`: the squeeze is ReduceMean over H, W (keepdims) instead of a GlobalAveragePool.
 */
export function seGraph(gate: 'Sigmoid' | 'HardSigmoid' = 'Sigmoid', opts: { reduce?: boolean; residual?: boolean } = {}, seed = 21): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 16));
  const x = b.relu('relu2', b.conv('dw', r1, 16, 16, { group: 16 }));
  const pooled = opts.reduce ? b.node('ReduceMean', [x], 'se_pool', { axes: [2, 3], keepdims: 1 }) : b.node('GlobalAveragePool', [x], 'se_pool');
  const sq = b.relu('se_relu', b.conv('se_sq', pooled, 16, 4, { k: 1 }));
  const ex = b.conv('se_ex', sq, 4, 16, { k: 1 });
  const s = gate === 'Sigmoid' ? b.node('Sigmoid', [ex], 'se_gate') : b.node('HardSigmoid', [ex], 'se_gate', { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
  const y = b.node('Mul', [x, s], 'se_mul');
  let p = b.conv('proj', y, 16, 8, { k: 1 });
  // MobileNetV3 / EfficientNet blocks with stride 1 and equal widths add the block input back.
  if (opts.residual) p = b.node('Add', [p, b.conv('skip', r1, 16, 8, { k: 1 })], 'add');
  const r3 = b.relu('relu3', p);
  b.conv('conv_out', r3, 8, 3);
  return b.build('conv_out');
}

/** SqueezeNet fire: conv1(8) → relu → squeeze 1×1 (4) → relu → [expand1x1 (6), expand3x3 (6)] → relu each → Concat → conv_out → output. */
export function fireGraph(seed = 22): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const sq = b.relu('sq_relu', b.conv('squeeze', r1, 8, 4, { k: 1 }));
  const e1 = b.relu('e1_relu', b.conv('expand1x1', sq, 4, 6, { k: 1 }));
  const e3 = b.relu('e3_relu', b.conv('expand3x3', sq, 4, 6));
  const cat = b.node('Concat', [e1, e3], 'concat', { axis: 1 });
  b.conv('conv_out', cat, 12, 3);
  return b.build('conv_out');
}

/**
 * ResNeXt-style bottleneck: conv1(16) → relu → conv_a 1×1 (16) → BN → relu → gconv 3×3 (group G,
 * 16→cout) → BN → relu → conv_b 1×1 (→16) → Add(relu1) → relu → conv_out → output.
 */
export function groupedBlockGraph(G = 4, cout = 16, seed = 23): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 16));
  const a = b.relu('relu_a', b.bn('bn_a', b.conv('conv_a', r1, 16, 16, { k: 1, bias: false }), 16));
  const g = b.relu('relu_g', b.bn('bn_g', b.conv('gconv', a, 16, cout, { group: G, bias: false }), cout));
  const c = b.conv('conv_b', g, cout, 16, { k: 1 });
  const r2 = b.relu('relu2', b.node('Add', [c, r1], 'add'));
  b.conv('conv_out', r2, 16, 3);
  return b.build('conv_out');
}

/**
 * ShuffleNet unit: conv1(12) → relu → Reshape [N, g, 12/g, H, W] → Transpose (0,2,1,3,4) →
 * Reshape [N, 12, H, W] → conv2 1×1 (8) → relu → conv_out → output. `batch` is the leading dim
 * of both targets (-1 as exported with a dynamic batch, 0 to copy it).
 */
export function shuffleGraph(g = 3, batch = -1, seed = 24): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 12));
  const r = b.node('Reshape', [r1, b.ints('shuffle.shape5', [batch, g, 12 / g, 8, 8])], 'shuffle_in');
  const t = b.node('Transpose', [r], 'shuffle_t', { perm: [0, 2, 1, 3, 4] });
  const back = b.node('Reshape', [t, b.ints('shuffle.shape4', [batch, 12, 8, 8])], 'shuffle_out');
  const r2 = b.relu('relu2', b.conv('conv2', back, 12, 8, { k: 1 }));
  b.conv('conv_out', r2, 8, 3);
  return b.build('conv_out', { input: ['N', 3, 8, 8] });
}

/**
 * ConvNeXt block on C channels: stem conv(C) = x → depthwise 7×7 → Transpose (0,2,3,1) →
 * LayerNormalization(axis -1) → MatMul [C, 4C] + bias → Gelu → MatMul [4C, C] + bias → Mul γ [C] →
 * Transpose (0,3,1,2) → Add(x) → conv_out → output.
 */
export function convnextGraph(C = 8, seed = 25): OnnxModel {
  const b = new GraphBuilder(seed);
  const x = b.conv('stem', 'input', 3, C);
  const dw = b.conv('dwconv', x, C, C, { group: C, k: 7 });
  const t = b.node('Transpose', [dw], 'to_nhwc', { perm: [0, 2, 3, 1] });
  const ln = b.node('LayerNormalization', [t, b.floats('ln.scale', b.randn(C, 0.2).map((v) => 1 + v), [C]), b.floats('ln.bias', b.randn(C, 0.2), [C])], 'ln', { axis: -1, epsilon: { float: 1e-6 } });
  const h = b.node('Add', [b.node('MatMul', [ln, b.weight('pw1.w', [C, 4 * C], 1 / Math.sqrt(C))], 'pw1'), b.floats('pw1.b', b.randn(4 * C, 0.1), [4 * C])], 'pw1_bias');
  const gl = b.node('Gelu', [h], 'gelu');
  const o = b.node('Add', [b.node('MatMul', [gl, b.weight('pw2.w', [4 * C, C], 1 / Math.sqrt(4 * C))], 'pw2'), b.floats('pw2.b', b.randn(C, 0.1), [C])], 'pw2_bias');
  const sc = b.node('Mul', [o, b.floats('gamma', b.randn(C, 0.3).map((v) => 1 + v), [C])], 'layer_scale');
  const back = b.node('Transpose', [sc], 'to_nchw', { perm: [0, 3, 1, 2] });
  const r = b.node('Add', [x, back], 'add');
  b.conv('conv_out', r, C, 3);
  return b.build('conv_out', { input: ['N', 3, 8, 8], opset: 20 });
}

/** VGG/AlexNet head: conv1(8) → relu → MaxPool to S×S → Flatten (8·S·S) → Gemm(10, transB) → relu → Dropout → Gemm(4, transB) → output; input 2S×2S. */
export function flattenGemmGraph(S = 7, seed = 26): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8));
  const p = b.node('MaxPool', [r1], 'pool', { kernel_shape: [2, 2], strides: [2, 2] });
  const f = b.node('Flatten', [p], 'flatten', { axis: 1 });
  const g1 = b.relu('relu2', b.node('Gemm', [f, b.weight('fc1.w', [10, 8 * S * S]), b.floats('fc1.b', b.randn(10, 0.1), [10])], 'fc1', { transB: 1 }));
  const d = b.node('Dropout', [g1], 'drop');
  b.node('Gemm', [d, b.weight('fc2.w', [4, 10], 0.3), b.floats('fc2.b', b.randn(4, 0.1), [4])], 'fc2', { transB: 1 });
  return b.build('fc2', { input: ['N', 3, 2 * S, 2 * S] });
}

/** conv1(8, stride 2) → relu → ConvTranspose(8→6, k2 s2, group 2) → relu → conv_out → output. */
export function groupedConvTransposeGraph(seed = 27): OnnxModel {
  const b = new GraphBuilder(seed);
  const r1 = b.relu('relu1', b.conv('conv1', 'input', 3, 8, { stride: 2 }));
  // ConvTranspose weights are [C_in, C_out / group, k, k].
  const w = b.weight('convT.w', [8, 3, 2, 2], 0.3);
  b.floats('convT.b', b.randn(6, 0.1), [6]);
  const t = b.relu('relu2', b.node('ConvTranspose', [r1, w, 'convT.b'], 'convT', { kernel_shape: [2, 2], strides: [2, 2], group: 2 }));
  b.conv('conv_out', t, 6, 3);
  return b.build('conv_out');
}

/** Every architecture graph with the input shape its tests run at. */
export function archGraphs(): TestGraph[] {
  const s = [2, 3, 8, 8];
  return [
    { name: 'se-sigmoid', model: seGraph('Sigmoid'), inputShape: s, runnable: true },
    { name: 'se-hardsigmoid', model: seGraph('HardSigmoid'), inputShape: s, runnable: true },
    { name: 'se-reducemean-residual', model: seGraph('Sigmoid', { reduce: true, residual: true }), inputShape: s, runnable: true },
    { name: 'fire', model: fireGraph(), inputShape: s, runnable: true },
    { name: 'grouped-g4', model: groupedBlockGraph(4, 16), inputShape: s, runnable: true },
    { name: 'grouped-g4-widen', model: groupedBlockGraph(4, 32), inputShape: s, runnable: true },
    { name: 'grouped-depthwise', model: groupedBlockGraph(16, 16), inputShape: s, runnable: true },
    { name: 'grouped-convtranspose', model: groupedConvTransposeGraph(), inputShape: s, runnable: true },
    { name: 'shuffle-g3', model: shuffleGraph(3, -1), inputShape: s, runnable: true },
    { name: 'shuffle-g2-copybatch', model: shuffleGraph(2, 0), inputShape: s, runnable: true },
    { name: 'flatten-gemm-7x7', model: flattenGemmGraph(7), inputShape: [2, 3, 14, 14], runnable: true },
    { name: 'flatten-gemm-2x2', model: flattenGemmGraph(2), inputShape: [2, 3, 4, 4], runnable: true },
    { name: 'convnext', model: convnextGraph(), inputShape: s, runnable: true },
  ];
}

// Hand-built graphs for the shape and layer analysis tests: every layer kind with known shapes,
// parameter counts and MACs.
import { floatTensor, int64Tensor, makeModel, makeNode, makeValueInfo, OnnxModel } from '../../src/core/onnx';
import { Rng } from '../../src/core/util/rng';

function randn(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * 0.2);
}

/**
 * x[N,4,H,W] → Conv(8, k3, stride 2, pad 1) → BN → LeakyRelu
 *   → Conv(8, k3, group 2, dilation 2, pad 2) → Relu
 *   → ConvTranspose(6, k2, stride 2, group 2) → Resize(scales 1) → GlobalAveragePool → Flatten
 *   → Gemm(5, transB) → MatMul(const [5,7]) → Mul(0.5) → y[N,7]
 * plus gram = MatMul(Transpose(gemm), gemm), a product of two activations (not a layer).
 *
 * Parameters as PyTorch counts them: 288+8 (conv1) + 8+8 (BN affine) + 288 (conv2) + 96+6 (convT)
 * + 30+5 (gemm) + 35 (matmul) = 772; BN running stats 16; the Resize scales (4) and the 0.5
 * literal (1) are initializers but not parameters.
 */
export function layerZoo(inputDims: (number | string)[] = ['N', 4, 'H', 'W'], seed = 7): OnnxModel {
  const rng = new Rng(seed);
  const proto = makeModel({
    nodes: [
      makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], 'conv_s', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
      makeNode('BatchNormalization', ['c1', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], ['n1'], 'bn'),
      makeNode('LeakyRelu', ['n1'], ['a1'], 'lrelu', { alpha: { float: 0.1 } }),
      makeNode('Conv', ['a1', 'w2'], ['c2'], 'conv_g', { kernel_shape: [3, 3], group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] }),
      makeNode('Relu', ['c2'], ['a2'], 'relu'),
      makeNode('ConvTranspose', ['a2', 'w3', 'b3'], ['c3'], 'convT', { kernel_shape: [2, 2], strides: [2, 2], group: 2 }),
      makeNode('Resize', ['c3', '', 'scales'], ['rs'], 'resize', { mode: 'nearest' }),
      makeNode('GlobalAveragePool', ['rs'], ['gp'], 'gap'),
      makeNode('Flatten', ['gp'], ['flat'], 'flatten', { axis: 1 }),
      makeNode('Gemm', ['flat', 'wg', 'bg'], ['g'], 'gemm', { transB: 1 }),
      makeNode('MatMul', ['g', 'wm'], ['mm'], 'matmul'),
      makeNode('Mul', ['mm', 'half'], ['y'], 'scale'),
      makeNode('Transpose', ['g'], ['gT'], 'transpose', { perm: [1, 0] }),
      makeNode('MatMul', ['gT', 'g'], ['gram'], 'gram_mm'),
    ],
    inputs: [makeValueInfo('x', inputDims)],
    outputs: [makeValueInfo('y', ['N', 7]), makeValueInfo('gram', [5, 5])],
    initializers: [
      floatTensor('w1', randn(rng, 8 * 4 * 9), [8, 4, 3, 3]),
      floatTensor('b1', randn(rng, 8), [8]),
      floatTensor('bn_s', Float32Array.from({ length: 8 }, () => 1 + rng.next() * 0.1), [8]),
      floatTensor('bn_b', randn(rng, 8), [8]),
      floatTensor('bn_m', randn(rng, 8), [8]),
      floatTensor('bn_v', Float32Array.from({ length: 8 }, () => 0.5 + rng.next()), [8]),
      floatTensor('w2', randn(rng, 8 * 4 * 9), [8, 4, 3, 3]),
      floatTensor('w3', randn(rng, 8 * 3 * 4), [8, 3, 2, 2]),
      floatTensor('b3', randn(rng, 6), [6]),
      floatTensor('scales', [1, 1, 1, 1], [4]),
      floatTensor('wg', randn(rng, 5 * 6), [5, 6]),
      floatTensor('bg', randn(rng, 5), [5]),
      floatTensor('wm', randn(rng, 5 * 7), [5, 7]),
      floatTensor('half', [0.5], []),
    ],
  });
  return new OnnxModel(proto);
}

/** Two inputs (image and a per-pixel mask) so named input shapes can be tested. */
export function twoInputNet(): OnnxModel {
  const rng = new Rng(3);
  const proto = makeModel({
    nodes: [
      makeNode('Concat', ['img', 'mask'], ['cat'], 'concat', { axis: 1 }),
      makeNode('Conv', ['cat', 'w'], ['y'], 'conv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    ],
    inputs: [makeValueInfo('img', [1, 3, 'H', 'W']), makeValueInfo('mask', [1, 1, 'H', 'W'])],
    outputs: [makeValueInfo('y')],
    initializers: [floatTensor('w', randn(rng, 2 * 4 * 9), [2, 4, 3, 3])],
  });
  return new OnnxModel(proto);
}

/**
 * Token model x[N,T,16] → MatMul(const [16,32]) → Add(bias [32]) → PRelu(slope [1]) → Reshape → y.
 * Exercises MatMul on 3-D input, a bias added by a separate node (as PyTorch exports nn.Linear on
 * 3-D input), a one-element PRelu slope (a parameter) and an int64 shape constant (not one).
 */
export function tokenNet(tokens = 10): OnnxModel {
  const rng = new Rng(11);
  const proto = makeModel({
    nodes: [
      makeNode('MatMul', ['x', 'w'], ['mm'], 'proj'),
      makeNode('Add', ['mm', 'bias'], ['biased'], 'add_bias'),
      makeNode('PRelu', ['biased', 'slope'], ['act'], 'prelu'),
      makeNode('Reshape', ['act', 'shape'], ['y'], 'reshape'),
    ],
    inputs: [makeValueInfo('x', [1, tokens, 16])],
    outputs: [makeValueInfo('y')],
    initializers: [
      floatTensor('w', randn(rng, 16 * 32), [16, 32]),
      floatTensor('bias', randn(rng, 32), [32]),
      floatTensor('slope', [0.25], [1]),
      int64Tensor('shape', [1, -1]),
    ],
  });
  return new OnnxModel(proto);
}

/** x[1,3,8,8] → Conv(4) → Shrink → Conv(3) → y. Shrink is a real ONNX op the channel analysis does not know. */
export function unknownOpNet(): OnnxModel {
  const rng = new Rng(5);
  const proto = makeModel({
    nodes: [
      makeNode('Conv', ['x', 'w1'], ['c1'], 'conv1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      makeNode('Shrink', ['c1'], ['s1'], 'shrink', { lambd: { float: 0.1 } }),
      makeNode('Conv', ['s1', 'w2'], ['y'], 'conv2', { kernel_shape: [1, 1] }),
    ],
    inputs: [makeValueInfo('x', [1, 3, 8, 8])],
    outputs: [makeValueInfo('y', [1, 3, 8, 8])],
    initializers: [floatTensor('w1', randn(rng, 4 * 3 * 9), [4, 3, 3, 3]), floatTensor('w2', randn(rng, 3 * 4), [3, 4, 1, 1])],
  });
  return new OnnxModel(proto);
}

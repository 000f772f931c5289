// Small graphs built in code, for tests that need a model before (or beside) the trained fixtures.
import { floatTensor, makeModel, makeNode, makeValueInfo, OnnxModel } from '../../src/core/onnx';
import { Rng } from '../../src/core/util/rng';

function randn(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** input[N,3,H,W] -> Conv(8) -> Relu -> Conv(3) -> output. */
export function tinyConvNet(seed = 1, opset = 17): OnnxModel {
  const rng = new Rng(seed);
  const proto = makeModel({
    opset,
    nodes: [
      makeNode('Conv', ['input', 'w1', 'b1'], ['c1'], 'conv1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      makeNode('Relu', ['c1'], ['r1'], 'relu1'),
      makeNode('Conv', ['r1', 'w2', 'b2'], ['output'], 'conv2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    ],
    inputs: [makeValueInfo('input', ['N', 3, 'H', 'W'])],
    outputs: [makeValueInfo('output', ['N', 3, 'H', 'W'])],
    initializers: [
      floatTensor('w1', randn(rng, 8 * 3 * 9, 0.3), [8, 3, 3, 3]),
      floatTensor('b1', randn(rng, 8, 0.1), [8]),
      floatTensor('w2', randn(rng, 3 * 8 * 9, 0.3), [3, 8, 3, 3]),
      floatTensor('b2', randn(rng, 3, 0.1), [3]),
    ],
  });
  return new OnnxModel(proto);
}

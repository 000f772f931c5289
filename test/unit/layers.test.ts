import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeLayers } from '../../src/core/analysis/layers';
import { ShapeInferenceError } from '../../src/core/analysis/shapes';
import type { ShapeMap } from '../../src/core/analysis/types';
import { layerZoo, tokenNet } from '../helpers/analysisGraphs';

// Shapes written by hand for x = [2, 4, 16, 16]: batch 2 checks that MACs are per sample.
function zooShapes(): ShapeMap {
  return new Map<string, number[]>([
    ['x', [2, 4, 16, 16]],
    ['c1', [2, 8, 8, 8]],
    ['n1', [2, 8, 8, 8]],
    ['a1', [2, 8, 8, 8]],
    ['c2', [2, 8, 8, 8]],
    ['a2', [2, 8, 8, 8]],
    ['c3', [2, 6, 16, 16]],
    ['rs', [2, 6, 16, 16]],
    ['gp', [2, 6, 1, 1]],
    ['flat', [2, 6]],
    ['g', [2, 5]],
    ['mm', [2, 7]],
    ['y', [2, 7]],
    ['gT', [5, 2]],
    ['gram', [5, 5]],
  ]);
}

describe('layer analysis', () => {
  test('finds every layer with channels, kernel, stride, dilation and groups', () => {
    const { layers } = analyzeLayers(layerZoo(), zooShapes());
    assert.deepEqual(
      layers.map((l) => [l.node, l.op, l.inChannels, l.outChannels, l.kernel, l.stride, l.dilation, l.groups]),
      [
        ['conv_s', 'Conv', 4, 8, [3, 3], [2, 2], [1, 1], 1],
        ['conv_g', 'Conv', 8, 8, [3, 3], [1, 1], [2, 2], 2],
        ['convT', 'ConvTranspose', 8, 6, [2, 2], [2, 2], [1, 1], 2],
        ['gemm', 'Gemm', 6, 5, [], [], [], 1],
        ['matmul', 'MatMul', 5, 7, [], [], [], 1],
      ],
      'the activation-by-activation MatMul (gram_mm) is not a layer',
    );
  });

  test('MACs follow the documented formulas, per sample', () => {
    const byNode = new Map(analyzeLayers(layerZoo(), zooShapes()).layers.map((l) => [l.node, l]));
    // Conv: Cout·(Cin/g)·kH·kW·Hout·Wout
    assert.equal(byNode.get('conv_s')!.macs, 8 * 4 * 3 * 3 * 8 * 8);
    assert.equal(byNode.get('conv_g')!.macs, 8 * (8 / 2) * 3 * 3 * 8 * 8);
    // ConvTranspose: Cin·(Cout/g)·kH·kW·Hin·Win
    assert.equal(byNode.get('convT')!.macs, 8 * (6 / 2) * 2 * 2 * 8 * 8);
    // Gemm / MatMul: in·out
    assert.equal(byNode.get('gemm')!.macs, 6 * 5);
    assert.equal(byNode.get('matmul')!.macs, 5 * 7);
  });

  test('parameters per layer and totals as PyTorch counts them', () => {
    const { layers, totals } = analyzeLayers(layerZoo(), zooShapes());
    assert.deepEqual(
      layers.map((l) => [l.node, l.params, l.bias]),
      [
        ['conv_s', 8 * 4 * 9 + 8, 'b1'],
        ['conv_g', 8 * 4 * 9, null],
        ['convT', 8 * 3 * 4 + 6, 'b3'],
        ['gemm', 30 + 5, 'bg'],
        ['matmul', 35, null],
      ],
    );
    assert.equal(totals.params, 772);
    assert.equal(totals.convParams, 296 + 288 + 102);
    assert.equal(totals.linearParams, 70);
    assert.equal(totals.normParams, 16);
    assert.equal(totals.otherParams, 0);
    assert.equal(totals.bufferElements, 16, 'BN running mean and variance');
    assert.equal(totals.initializerElements, 772 + 16 + 4 + 1, 'plus Resize scales and the 0.5 literal');
    assert.equal(totals.macs, 18432 + 18432 + 6144 + 30 + 35);
    assert.equal(totals.layers, 5);
  });

  test('norm and activation that follow a layer', () => {
    const byNode = new Map(analyzeLayers(layerZoo(), zooShapes()).layers.map((l) => [l.node, l]));
    assert.equal(byNode.get('conv_s')!.norm, 'BatchNormalization');
    assert.equal(byNode.get('conv_s')!.activation, 'LeakyRelu');
    assert.equal(byNode.get('conv_g')!.norm, null);
    assert.equal(byNode.get('conv_g')!.activation, 'Relu');
    assert.equal(byNode.get('convT')!.activation, null, 'Resize is not an activation');
    assert.equal(byNode.get('gemm')!.activation, null, 'gemm fans out to MatMul and Transpose');
  });

  test('MatMul on tokens, separate bias add, one-element PReLU slope, int64 shape constant', () => {
    const shapes: ShapeMap = new Map([
      ['x', [1, 10, 16]],
      ['mm', [1, 10, 32]],
      ['biased', [1, 10, 32]],
      ['act', [1, 10, 32]],
      ['y', [1, 320]],
    ]);
    const { layers, totals } = analyzeLayers(tokenNet(10), shapes);
    assert.equal(layers.length, 1);
    const l = layers[0]!;
    assert.deepEqual([l.op, l.inChannels, l.outChannels, l.bias, l.activation], ['MatMul', 16, 32, 'bias', 'PRelu']);
    assert.equal(l.macs, 10 * 16 * 32, 'every token row costs in·out');
    assert.equal(l.params, 16 * 32 + 32);
    assert.equal(totals.params, 16 * 32 + 32 + 1, 'the PReLU slope counts, the Reshape shape does not');
    assert.equal(totals.linearParams, 16 * 32 + 32);
    assert.equal(totals.otherParams, 1);
    assert.equal(totals.initializerElements, 16 * 32 + 32 + 1 + 2);
  });

  test('a missing activation shape is a specific error', () => {
    const shapes = zooShapes();
    shapes.delete('c2');
    assert.throws(
      () => analyzeLayers(layerZoo(), shapes),
      (e: ShapeInferenceError) => e instanceof ShapeInferenceError && e.code === 'missing-shape' && e.message.includes("'c2'") && e.message.includes('conv_g'),
    );
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, GraphProtoSchema, type NodeProto } from 'onnx-buf';
import { makeNode } from '../../src/core/onnx';
import { OnnxModelError } from '../../src/core/onnx/errors';
import { subgraphRefs, topoOrder } from '../../src/core/onnx/graph';

const names = (ns: NodeProto[]) => ns.map((n) => n.name);

describe('topoOrder', () => {
  test('a sorted graph comes back in file order, branches included', () => {
    // A FIFO of ready nodes would emit c (ready from the start) before b (ready after a).
    const nodes = [makeNode('Relu', ['x'], ['a'], 'a'), makeNode('Relu', ['a'], ['b'], 'b'), makeNode('Relu', ['x'], ['c'], 'c'), makeNode('Add', ['b', 'c'], ['y'], 'y')];
    assert.deepEqual(names(topoOrder(nodes)), ['a', 'b', 'c', 'y']);
  });

  test('unsorted nodes: producers first, otherwise the earliest in the file', () => {
    const nodes = [makeNode('Add', ['p', 'q'], ['y'], 'sum'), makeNode('Relu', ['q0'], ['q'], 'q'), makeNode('Relu', ['x'], ['p'], 'p'), makeNode('Relu', ['x'], ['q0'], 'q0')];
    assert.deepEqual(names(topoOrder(nodes)), ['p', 'q0', 'q', 'sum']);
  });

  test('a cycle: appended in file order, or refused', () => {
    const nodes = [makeNode('Relu', ['b'], ['a'], 'a'), makeNode('Relu', ['a'], ['b'], 'b'), makeNode('Relu', ['x'], ['c'], 'c')];
    assert.deepEqual(names(topoOrder(nodes)), ['c', 'a', 'b']);
    assert.throws(() => topoOrder(nodes, { onCycle: 'throw' }), (e: unknown) => e instanceof OnnxModelError && e.code === 'invalid-graph' && /cycle through 2 nodes, starting at 'a'/.test(e.message));
  });

  test('an If body reading an outer tensor orders the If after its producer', () => {
    const body = create(GraphProtoSchema, { name: 'then', node: [makeNode('Relu', ['late'], ['out'], 'inner')] });
    const cond = makeNode('If', ['flag'], ['y'], 'if');
    cond.attribute.push(create(AttributeProtoSchema, { name: 'then_branch', type: 5, g: body }));
    assert.deepEqual(subgraphRefs(cond), ['late']);
    const nodes = [cond, makeNode('Relu', ['x'], ['late'], 'producer')];
    assert.deepEqual(names(topoOrder(nodes)), ['producer', 'if']);
  });
});
